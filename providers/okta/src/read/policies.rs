//! Policies of every type and their rules. Okta lists policies one type at a time (`type` is
//! required) and has no list of the types an org has: every type of the reference is asked
//! for ([`POLICY_TYPES`]), and a type the org lacks (400 `E0000002 Invalid policy type
//! specified`) has no policies. What the org answers is trusted over what was asked: a policy
//! is recorded under the `type` its body gives, once whatever list it came in. Policies the
//! lists left out but the org points at (the app sign-in policy an app is bound to, in the
//! app's `_links.accessPolicy`) are read by id, and the list of their type, if it was not
//! asked for, is read too. A policy of a type the connector does not know is saved as Okta
//! returns it, and each such type is counted in the log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use futures::TryStreamExt;
use iamsnap_http::status_of;
use iamsnap_provider::ProviderError;
use serde_json::Value;

use super::{Snapshot, limits};
use crate::client::OktaClient;
use crate::records::{self, str_at};

/// Every policy type of the Management API reference.
pub(crate) const POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
    "POST_AUTH_SESSION",
    "ENTITY_RISK",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
    "SELF_SERVICE_REGISTRATION",
];

/// What the policy read has seen: the policies recorded, the types listed, and the policies
/// of each type the connector does not know.
#[derive(Debug, Default)]
pub(crate) struct Census {
    seen: Mutex<BTreeSet<String>>,
    listed: Mutex<BTreeSet<String>>,
    unknown: Mutex<BTreeMap<String, usize>>,
    /// Policies the org points at (apps' `_links.accessPolicy`), by id.
    bound: Mutex<BTreeSet<String>>,
}

impl Census {
    /// Notes that something in the org points at policy `id`.
    pub(crate) fn bound(&self, id: &str) {
        lock(&self.bound).insert(id.to_string());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The policies of `policy_type`, or none when the org does not have the type (400).
pub(crate) async fn list(c: &OktaClient, policy_type: &str) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(
        "/api/v1/policies",
        &[("type", policy_type), ("limit", limits::POLICIES)],
    );
    match c.all(url).await {
        Ok(policies) => Ok(policies),
        // `E0000002 Invalid policy type specified`: the org does not have this type.
        Err(e) if status_of(&e) == Some(400) => {
            tracing::debug!(policy_type, "the org has no policies of this type");
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

impl Snapshot<'_> {
    /// Every type of the reference, listed at once.
    pub(super) async fn policies(&self, census: &Census) -> Result<(), ProviderError> {
        futures::stream::iter(POLICY_TYPES.iter().map(Ok))
            .try_for_each_concurrent(self.fan_out, |policy_type| async move {
                self.policies_of_type(census, policy_type).await
            })
            .await
    }

    async fn policies_of_type(
        &self,
        census: &Census,
        policy_type: &str,
    ) -> Result<(), ProviderError> {
        if !lock(&census.listed).insert(policy_type.to_string()) {
            return Ok(());
        }
        for policy in list(self.client, policy_type).await? {
            let answered = str_at(&policy, "/type");
            if answered != policy_type {
                tracing::debug!(
                    requested = policy_type,
                    answered,
                    "the org listed a policy under another type: recorded as the type it gives"
                );
            }
            self.policy(census, policy).await?;
        }
        Ok(())
    }

    /// One policy and its rules, unless already recorded.
    async fn policy(&self, census: &Census, policy: Value) -> Result<(), ProviderError> {
        let c = self.client;
        let id = str_at(&policy, "/id").to_string();
        if !lock(&census.seen).insert(id.clone()) {
            return Ok(());
        }
        let policy_type = str_at(&policy, "/type").to_string();
        let known = POLICY_TYPES.contains(&policy_type.as_str());
        if !known {
            *lock(&census.unknown)
                .entry(policy_type.clone())
                .or_default() += 1;
        }
        let key = records::policy_key(&policy);
        self.send(records::policy(policy)?).await?;
        let url = c.url(
            &format!("/api/v1/policies/{id}/rules"),
            &[("limit", limits::POLICY_RULES)],
        );
        let rules = match c.all(url).await {
            Ok(rules) => rules,
            // A type the connector does not know may take no rules.
            Err(e) if !known && matches!(status_of(&e), Some(400 | 404)) => Vec::new(),
            Err(e) => return Err(e),
        };
        for rule in rules {
            self.send(records::policy_rule(&id, &key, rule)?).await?;
        }
        Ok(())
    }

    /// After the lists: the policies the org points at that no list held, each read by id
    /// with the list of its type; then the count of each type the connector does not know.
    pub(super) async fn unlisted_policies(&self, census: &Census) -> Result<(), ProviderError> {
        let c = self.client;
        let missing: Vec<String> = {
            let seen = lock(&census.seen);
            lock(&census.bound)
                .iter()
                .filter(|id| !seen.contains(*id))
                .cloned()
                .collect()
        };
        for id in missing {
            if lock(&census.seen).contains(&id) {
                continue;
            }
            let url = c.url(&format!("/api/v1/policies/{id}"), &[]);
            let Some(policy) = c.get_opt(&url).await? else {
                continue;
            };
            let policy_type = str_at(&policy, "/type").to_string();
            tracing::info!(
                policy = id,
                policy_type,
                "an app is bound to a policy no list held: its type is read too"
            );
            self.policies_of_type(census, &policy_type).await?;
            self.policy(census, policy).await?;
        }
        for (policy_type, count) in lock(&census.unknown).iter() {
            tracing::warn!(
                policy_type,
                count,
                "policies of a type iamsnap does not know: saved as Okta returns them"
            );
        }
        Ok(())
    }
}
