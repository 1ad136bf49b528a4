//! The record kinds of the Identity Center connector, their keys and their canonical attributes.
//!
//! | kind | id | key |
//! | --- | --- | --- |
//! | `sso.instance` | instance ARN | `instance` |
//! | `sso.user` | Identity Store user id | user name |
//! | `sso.group` | Identity Store group id | display name |
//! | `sso.group_membership` | membership id | `group display name\|user name` |
//! | `sso.permission_set` | permission set ARN | name |
//! | `sso.account_assignment` | `PERMISSIONSETARN\|ACCOUNT\|TYPE\|PRINCIPALID` | `permission set\|account/user/user name` or `…/group/display name` |
//!
//! Keys never use the store's generated ids: a re-created user or group gets a new id, and the
//! memberships and assignments that name it follow through their refs.

use iamsnap_provider::{Capabilities, KindInfo, Parent};

pub const INSTANCE: &str = "sso.instance";
pub const USER: &str = "sso.user";
pub const GROUP: &str = "sso.group";
pub const GROUP_MEMBERSHIP: &str = "sso.group_membership";
pub const PERMISSION_SET: &str = "sso.permission_set";
pub const ACCOUNT_ASSIGNMENT: &str = "sso.account_assignment";

/// The key of the instance record: a source reads one instance.
pub const INSTANCE_KEY: &str = "instance";

/// The Identity Store's enterprise extension, the only one `ListUsers` returns.
pub const ENTERPRISE: &str = "aws:identitystore:enterprise";

/// The kinds in restore order: each comes after every kind it depends on.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: INSTANCE,
        description: "the Identity Center instance: name, owner account, status (read only)",
        depends_on: &[],
        capabilities: Capabilities::NONE,
        parent: None,
        cannot_restore: &[
            "the instance itself: enable Identity Center in the organization's management account (or re-create the account instance), then restore into it",
        ],
    },
    KindInfo {
        name: USER,
        description: "Identity Store user: names, display name, emails, addresses, phone numbers, title, enterprise fields, external ids",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "password and MFA devices: a re-created user sets a password through the sign-up email and registers MFA again",
            "external ids: only the identity provider that synchronizes the store (SCIM) sets them",
        ],
    },
    KindInfo {
        name: GROUP,
        description: "Identity Store group: display name, description, external ids",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "external ids: only the identity provider that synchronizes the store (SCIM) sets them",
        ],
    },
    KindInfo {
        name: GROUP_MEMBERSHIP,
        description: "user member of an Identity Store group",
        depends_on: &[GROUP, USER],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "group",
            members: "members",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: PERMISSION_SET,
        description: "permission set: description, session duration, relay state, tags, AWS managed policies, customer managed policy references, inline policy, permissions boundary",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: ACCOUNT_ASSIGNMENT,
        description: "a permission set assigned to a user or group on an AWS account",
        depends_on: &[PERMISSION_SET, USER, GROUP],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "permission set",
            members: "account assignments",
        }),
        cannot_restore: &[],
    },
];

/// `USER` or `GROUP`, as the assignment APIs name a principal's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    User,
    Group,
}

impl Principal {
    /// The type as the API writes it.
    pub fn as_api(self) -> &'static str {
        match self {
            Principal::User => "USER",
            Principal::Group => "GROUP",
        }
    }

    /// The word in keys: `user`, `group`.
    pub fn word(self) -> &'static str {
        match self {
            Principal::User => "user",
            Principal::Group => "group",
        }
    }

    /// The record kind of the principal.
    pub fn kind(self) -> &'static str {
        match self {
            Principal::User => USER,
            Principal::Group => GROUP,
        }
    }

    pub fn from_api(s: &str) -> Option<Principal> {
        match s {
            "USER" => Some(Principal::User),
            "GROUP" => Some(Principal::Group),
            _ => None,
        }
    }
}

/// The key of an account assignment: `Admin|111122223333/user/ada`. Permission set names
/// cannot hold `|` or `/`; reports take the parent up to the last `|`, the permission set unless
/// a principal's name holds a `|`.
pub fn assignment_key(
    permission_set: &str,
    account: &str,
    principal: Principal,
    name: &str,
) -> String {
    format!("{permission_set}|{account}/{}/{name}", principal.word())
}

/// The id of an account assignment, made of the ids it joins.
pub fn assignment_id(
    permission_set_arn: &str,
    account: &str,
    principal: Principal,
    principal_id: &str,
) -> String {
    format!(
        "{permission_set_arn}|{account}|{}|{principal_id}",
        principal.as_api()
    )
}

/// The key of a group membership: `group display name|user name`.
pub fn membership_key(group: &str, user: &str) -> String {
    format!("{group}|{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_declared_in_dependency_order() {
        for (i, kind) in KINDS.iter().enumerate() {
            for dep in kind.depends_on {
                let at = KINDS.iter().position(|k| k.name == *dep).unwrap();
                assert!(at < i, "{} depends on {dep}, declared later", kind.name);
            }
        }
    }

    #[test]
    fn relationship_keys_split_into_parent_and_member() {
        let key = assignment_key("Admin", "111122223333", Principal::Group, "ops team");
        assert_eq!(key, "Admin|111122223333/group/ops team");
        assert_eq!(
            Parent::split(&key),
            ("Admin", "111122223333/group/ops team")
        );
        assert_eq!(Parent::split(&membership_key("ops", "ada")), ("ops", "ada"));
        assert_eq!(Principal::from_api("GROUP"), Some(Principal::Group));
        assert_eq!(Principal::from_api("ROLE"), None);
    }
}
