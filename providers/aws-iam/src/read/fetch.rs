//! `fetch`: one object by kind and natural key, to verify a restore.
//!
//! IAM has no single read that gives a whole record with its refs, so the family a kind comes
//! from is read with the calls of a snapshot ([`scope_of`]), and the records of the kind are
//! kept for further fetches of it: verifying many objects after a restore reads each kind's
//! family once instead of once per object.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_iam::Client;
use iamsnap_provider::{ProviderError, Record};

use super::Scope;
use crate::kinds;

/// How long the records of a kind are reused.
const TTL: Duration = Duration::from_secs(60);

/// The records of each kind read by `fetch`, with when they were read. Cleared by every
/// `apply`, which may have changed them.
#[derive(Debug, Default)]
pub(crate) struct FetchCache {
    by_kind: tokio::sync::Mutex<HashMap<String, (Instant, Vec<Record>)>>,
}

impl FetchCache {
    /// The record of `kind` with key `key`, from a read of the kind's family made at most
    /// [`TTL`] ago.
    pub async fn fetch(
        &self,
        client: &Client,
        concurrency: usize,
        kind: &str,
        key: &str,
    ) -> Result<Option<Record>, ProviderError> {
        let scope = scope_of(kind).ok_or_else(|| ProviderError::Unsupported {
            kind: kind.to_string(),
            key: key.to_string(),
            action: "fetch".into(),
            reason: "not a kind of the aws-iam connector".into(),
        })?;
        // Held across the read: concurrent fetches of a kind wait for one read of it.
        let mut by_kind = self.by_kind.lock().await;
        let fresh = by_kind.get(kind).is_some_and(|(at, _)| at.elapsed() < TTL);
        if !fresh {
            let records = read_kind(client, scope, concurrency, kind).await?;
            by_kind.insert(kind.to_string(), (Instant::now(), records));
        }
        Ok(by_kind[kind].1.iter().find(|r| r.key == key).cloned())
    }

    pub async fn clear(&self) {
        self.by_kind.lock().await.clear();
    }
}

/// Every record of `kind`, from a read of `scope`: the other records that read gives are
/// dropped as they come.
async fn read_kind(
    client: &Client,
    scope: Scope,
    concurrency: usize,
    kind: &str,
) -> Result<Vec<Record>, ProviderError> {
    let (sink, mut records) = tokio::sync::mpsc::channel::<Record>(64);
    let keep = async {
        let mut kept = Vec::new();
        while let Some(record) = records.recv().await {
            if record.kind == kind {
                kept.push(record);
            }
        }
        kept
    };
    let (read, kept) = tokio::join!(super::snapshot(client, scope, concurrency, sink), keep);
    read.map(|()| kept)
}

/// The reads that produce records of `kind` with their refs.
fn scope_of(kind: &str) -> Option<Scope> {
    let none = Scope::default();
    Some(match kind {
        kinds::USER => Scope {
            users: true,
            user_extras: true,
            policies: true,
            ..none
        },
        kinds::GROUP => Scope {
            groups: true,
            ..none
        },
        kinds::GROUP_MEMBERSHIP => Scope {
            users: true,
            groups: true,
            ..none
        },
        kinds::ROLE => Scope {
            roles: true,
            users: true,
            policies: true,
            ..none
        },
        kinds::POLICY => Scope {
            policies: true,
            policy_tags: true,
            ..none
        },
        kinds::POLICY_ATTACHMENT | kinds::INLINE_POLICY => Scope {
            users: true,
            groups: true,
            roles: true,
            policies: true,
            ..none
        },
        kinds::INSTANCE_PROFILE => Scope {
            instance_profiles: true,
            ..none
        },
        kinds::SAML_PROVIDER => Scope { saml: true, ..none },
        kinds::OIDC_PROVIDER => Scope { oidc: true, ..none },
        kinds::PASSWORD_POLICY => Scope {
            password_policy: true,
            ..none
        },
        kinds::ACCOUNT_ALIAS => Scope {
            alias: true,
            ..none
        },
        kinds::SSH_PUBLIC_KEY | kinds::SIGNING_CERTIFICATE => Scope {
            users: true,
            ssh_keys: true,
            signing_certificates: true,
            ..none
        },
        kinds::SERVER_CERTIFICATE => Scope {
            server_certificates: true,
            ..none
        },
        kinds::VIRTUAL_MFA_DEVICE => Scope {
            mfa_devices: true,
            ..none
        },
        _ => return None,
    })
}
