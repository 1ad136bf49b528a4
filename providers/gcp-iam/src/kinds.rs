//! The record kinds of the Google Cloud IAM connector.
//!
//! | kind | id and key |
//! | --- | --- |
//! | `gcp.service_account` | id: the unique id; key: the email |
//! | `gcp.iam_member` | `RESOURCE ROLE[ if "TITLE" #HASH]\|MEMBER`: `projects/acme-prod roles/viewer\|group:ops@example.com` |
//! | `gcp.audit_config` | `RESOURCE\|SERVICE`: `organizations/123\|allServices` |
//! | `gcp.custom_role` | id and key: its name, `organizations/123/roles/ID` or `projects/PROJECT_ID/roles/ID` |
//! | `gcp.service_account_member` | `projects/PROJECT_ID/serviceAccounts/EMAIL ROLE[ if "TITLE" #HASH]\|MEMBER` |
//! | `gcp.service_account_key` | id and key: its name, `projects/PROJECT_ID/serviceAccounts/EMAIL/keys/KEY_ID` |
//! | `gcp.deny_policy` | id and key: `RESOURCE\|POLICY_ID`: `organizations/123\|no-sa-key-creation` |
//!
//! `RESOURCE` is `organizations/ID`, `folders/ID` or `projects/PROJECT_ID`. A conditional
//! binding's key names its condition's title and the first 8 hex digits of the SHA-256 of its
//! expression, so that two conditions with one title stay apart.

use iamsnap_provider::{Capabilities, KindInfo, Parent};

pub const SERVICE_ACCOUNT: &str = "gcp.service_account";
pub const IAM_MEMBER: &str = "gcp.iam_member";
pub const AUDIT_CONFIG: &str = "gcp.audit_config";
pub const CUSTOM_ROLE: &str = "gcp.custom_role";
pub const SERVICE_ACCOUNT_MEMBER: &str = "gcp.service_account_member";
pub const SERVICE_ACCOUNT_KEY: &str = "gcp.service_account_key";
pub const DENY_POLICY: &str = "gcp.deny_policy";

/// The kinds in restore order.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: SERVICE_ACCOUNT,
        description: "service account of a project: email, display name, description, disabled; a deleted one is undeleted with its unique id",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: CUSTOM_ROLE,
        description: "custom role of the organization or a project: title, description, permissions, launch stage (deleted ones grant nothing and are not kept); one deleted within 7 days is undeleted",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: DENY_POLICY,
        description: "IAM v2 deny policy attached to the organization, a folder or a project: display name and rules (denied and excepted principals and permissions, denial condition) kept byte for byte",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original uid: a re-created deny policy gets a new uid (its name and policy id are kept)",
            "annotations changed on a live deny policy: IAM sets them only at creation; delete the policy and restore again to get them back",
        ],
    },
    KindInfo {
        name: IAM_MEMBER,
        description: "one member of one role binding (with its condition, kept byte for byte) in the IAM policy of the organization, a folder or a project",
        // A deleted service account comes back first, so its members turn plain again.
        // A deleted custom role comes back first, so that it can be granted again.
        // Deny policies come back first, so that no grant is restored before what restricts it.
        depends_on: &[SERVICE_ACCOUNT, CUSTOM_ROLE, DENY_POLICY],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "binding",
            members: "members",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: SERVICE_ACCOUNT_MEMBER,
        description: "one member of one role binding (with its condition, kept byte for byte) in a service account's own IAM policy: who may act as it or mint its tokens",
        // The account comes back (undeleted or created again) before its policy can be written.
        depends_on: &[SERVICE_ACCOUNT, CUSTOM_ROLE],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "binding",
            members: "members",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: SERVICE_ACCOUNT_KEY,
        description: "user-managed key of a service account, by id, algorithm and validity dates (never its private half); a key disabled or enabled since is set back",
        depends_on: &[SERVICE_ACCOUNT],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: AUDIT_CONFIG,
        description: "the Data Access audit logging of one service in the IAM policy of the organization, a folder or a project: log types and exempted members",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "policy",
            members: "audit configs",
        }),
        cannot_restore: &[],
    },
];
