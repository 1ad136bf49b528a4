//! Backup: reads an account with `GetAccountAuthorizationDetails` (one paged listing per entity
//! filter) plus the calls it lacks, and sends each page's records to the sink as soon as they
//! are built, so memory holds a few pages and small lookups, never the account.
//!
//! Refs point by id, and some answers name the other end of a relation by name or ARN only: a
//! user's groups by name, attachments and boundaries by policy ARN, trust policies by user or
//! role ARN. So the families are read in an order where those ids are known first:
//!
//! 1. customer-managed policies, beside `ListRoles` (role ids, descriptions, max session);
//! 2. groups; then users; then roles (trust policies name users and roles);
//!
//! with instance profiles (after `ListRoles`), identity providers and account settings beside
//! them. What is held while streaming is listed at `Read::identities`.

mod account;
mod fetch;
mod identities;
mod keys;
pub(crate) mod me;
mod report;

pub(crate) use fetch::FetchCache;

use aws_sdk_iam::Client;
use aws_sdk_iam::operation::get_account_authorization_details::{
    GetAccountAuthorizationDetailsError, GetAccountAuthorizationDetailsOutput,
};
use aws_sdk_iam::types::EntityType;
use iamsnap_provider::{ProviderError, Record, RecordSink};

use crate::client::{Api, Pages, Paginated};

/// Which parts of the account to read: everything for a snapshot, the parts one kind needs
/// for a fetch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope {
    pub users: bool,
    /// Login profile, MFA devices and access keys: three calls per user, needed only for
    /// `aws.user` records themselves.
    pub user_extras: bool,
    /// SSH public keys: a call per user and one per key.
    pub ssh_keys: bool,
    /// Signing certificates: a call per user the credential report shows with one.
    pub signing_certificates: bool,
    pub server_certificates: bool,
    pub mfa_devices: bool,
    /// Whether the credential report may answer for `user_extras` (see [`report`]): a backup
    /// uses it, restore's reads ask each user for facts as of now.
    pub credential_report: bool,
    pub groups: bool,
    pub roles: bool,
    pub policies: bool,
    /// One call per policy, needed only for `aws.policy` records themselves.
    pub policy_tags: bool,
    pub instance_profiles: bool,
    pub saml: bool,
    pub oidc: bool,
    pub password_policy: bool,
    pub alias: bool,
}

impl Scope {
    /// Everything but the kinds in `excluded` whose reads can be skipped on their own.
    pub fn excluding(excluded: &std::collections::BTreeSet<String>) -> Scope {
        let read = |kind: &str| !excluded.contains(kind);
        Scope {
            ssh_keys: read(crate::kinds::SSH_PUBLIC_KEY),
            signing_certificates: read(crate::kinds::SIGNING_CERTIFICATE),
            server_certificates: read(crate::kinds::SERVER_CERTIFICATE),
            mfa_devices: read(crate::kinds::VIRTUAL_MFA_DEVICE),
            ..Scope::ALL
        }
    }

    pub const ALL: Scope = Scope {
        users: true,
        user_extras: true,
        ssh_keys: true,
        signing_certificates: true,
        server_certificates: true,
        mfa_devices: true,
        credential_report: true,
        policy_tags: true,
        groups: true,
        roles: true,
        policies: true,
        instance_profiles: true,
        saml: true,
        oidc: true,
        password_policy: true,
        alias: true,
    };
}

/// The first read a snapshot makes: one page of `GetAccountAuthorizationDetails`.
pub(crate) async fn healthcheck(client: &Client, source: &str) -> Result<(), ProviderError> {
    client
        .get_account_authorization_details()
        .max_items(1)
        .send()
        .await
        .api("GetAccountAuthorizationDetails")
        .map(|_| ())
        .map_err(|e| e.context(&format!("healthcheck of source {source}")))
}

/// Reads the parts of the account in `scope` and sends their records to `sink`.
pub(crate) async fn snapshot(
    client: &Client,
    scope: Scope,
    concurrency: usize,
    sink: RecordSink,
) -> Result<(), ProviderError> {
    let read = Read {
        client,
        scope,
        concurrency,
        sink,
    };
    tokio::try_join!(
        read.identities(),
        read.saml_providers(),
        read.oidc_providers(),
        read.password_policy(),
        read.aliases(),
        read.server_certificates(),
        read.virtual_mfa_devices(),
    )?;
    Ok(())
}

struct Read<'a> {
    client: &'a Client,
    scope: Scope,
    /// Per-object reads in flight at once, in each family.
    concurrency: usize,
    sink: RecordSink,
}

impl Read<'_> {
    async fn send(&self, record: Record) -> Result<(), ProviderError> {
        self.sink
            .send(record)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    async fn send_all(&self, records: Vec<Record>) -> Result<(), ProviderError> {
        for record in records {
            self.send(record).await?;
        }
        Ok(())
    }

    /// The credential report, when the scope reads users' extras and may use it.
    async fn credential_report(&self) -> Result<Option<report::CredentialReport>, ProviderError> {
        let wanted = self.scope.users && self.scope.user_extras && self.scope.credential_report;
        Ok(if wanted {
            report::read(self.client).await
        } else {
            None
        })
    }

    /// Every page of `GetAccountAuthorizationDetails` for one entity filter.
    fn details(
        &self,
        filter: EntityType,
    ) -> Pages<GetAccountAuthorizationDetailsOutput, GetAccountAuthorizationDetailsError> {
        self.client
            .get_account_authorization_details()
            .filter(filter)
            .into_paginator()
            .send()
            .pages("GetAccountAuthorizationDetails")
    }

    /// Policies, groups, users, roles and instance profiles, in the order their refs need.
    ///
    /// Held until the roles are sent: customer policy ids by ARN, group ids by name, user and
    /// role ids by ARN, and per role its id, ARN, description and max session duration from
    /// `ListRoles`. That is a few short strings per object, where the records carry policy
    /// documents (every version), trust policies, inline policies and tags, which go to the
    /// sink page by page and are not kept.
    async fn identities(&self) -> Result<(), ProviderError> {
        let (policies, roles, report) =
            tokio::try_join!(self.policies(), self.role_heads(), self.credential_report())?;
        let chain = async {
            let groups = self.groups(&policies).await?;
            let principals = self.users(&policies, &groups, report.as_ref()).await?;
            self.roles(&policies, principals, &roles).await
        };
        tokio::try_join!(chain, self.instance_profiles(&roles))?;
        Ok(())
    }
}
