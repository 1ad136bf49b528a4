//! The record kinds of the AWS Organizations connector, their keys and their canonical
//! attributes.
//!
//! | kind | id | key |
//! | --- | --- | --- |
//! | `aws_org.root` | root id (`r-…`) | `root` |
//! | `aws_org.organizational_unit` | OU id (`ou-…`) | path of names from the root: `Workloads/Prod` |
//! | `aws_org.account` | account id | account id |
//! | `aws_org.policy` | policy id (`p-…`) | `TYPE/name`: `SERVICE_CONTROL_POLICY/DenyLeaveOrg` |
//! | `aws_org.policy_attachment` | `TARGETID\|POLICYID` | `TARGET\|TYPE/name`, TARGET `root`, `ou/PATH` or `account/ID` |
//! | `aws_org.delegated_administrator` | `ACCOUNTID\|service` | `ACCOUNTID\|service` |

use iamsnap_provider::{Capabilities, KindInfo, Parent};
use serde_json::{Map, Value};

pub const ROOT: &str = "aws_org.root";
pub const UNIT: &str = "aws_org.organizational_unit";
pub const ACCOUNT: &str = "aws_org.account";
pub const POLICY: &str = "aws_org.policy";
pub const ATTACHMENT: &str = "aws_org.policy_attachment";
pub const DELEGATED_ADMIN: &str = "aws_org.delegated_administrator";

/// The key of the organization's one root, and the target part of keys that name it.
pub const ROOT_KEY: &str = "root";

/// What a restore never does to accounts.
pub const ACCOUNT_CANNOT_RESTORE: &[&str] = &[
    "accounts: a restore never creates, invites, closes or removes an account; an account that left or was closed is brought back by hand (reopen it through AWS Support within 90 days of closing, or invite it again), then restore again to put it back in its OU with its policies",
];

/// The kinds in restore order: each comes after every kind it depends on.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: ROOT,
        description: "the organization's root: the policy types enabled on it",
        depends_on: &[],
        capabilities: Capabilities {
            create: false,
            update: true,
            delete: false,
        },
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: UNIT,
        description: "organizational unit: its place in the tree (the key), tags",
        depends_on: &[ROOT],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: POLICY,
        description: "customer policy of an enabled type (SCP, RCP, tag, backup, AI opt-out, chat…): name, description, content, tags",
        depends_on: &[ROOT],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: ACCOUNT,
        description: "member account: name, email, status, the OU it is in, tags; moved back, never created or closed",
        depends_on: &[UNIT],
        // Created only to say why not (`refuses`); never deleted: a restore never closes or
        // removes an account.
        capabilities: Capabilities {
            create: true,
            update: true,
            delete: false,
        },
        parent: None,
        cannot_restore: ACCOUNT_CANNOT_RESTORE,
    },
    KindInfo {
        name: ATTACHMENT,
        description: "policy (customer or AWS-managed) attached to the root, an OU or an account",
        depends_on: &[ROOT, UNIT, ACCOUNT, POLICY],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "target",
            members: "policies",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: DELEGATED_ADMIN,
        description: "account registered as delegated administrator of a service",
        depends_on: &[ACCOUNT],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "account",
            members: "delegated services",
        }),
        cannot_restore: &[],
    },
];

/// What a policy attachment or an account's place names: the root, an OU by path, an account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Root,
    Unit(String),
    Account(String),
}

impl Target {
    /// `root`, `ou/Workloads/Prod`, `account/123456789012`.
    pub fn key(&self) -> String {
        match self {
            Target::Root => ROOT_KEY.to_string(),
            Target::Unit(path) => format!("ou/{path}"),
            Target::Account(id) => format!("account/{id}"),
        }
    }

    pub fn parse(key: &str) -> Option<Target> {
        if key == ROOT_KEY {
            return Some(Target::Root);
        }
        if let Some(path) = key.strip_prefix("ou/").filter(|p| !p.is_empty()) {
            return Some(Target::Unit(path.to_string()));
        }
        key.strip_prefix("account/")
            .filter(|id| !id.is_empty())
            .map(|id| Target::Account(id.to_string()))
    }

    /// The kind of the record the target is.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Root => ROOT,
            Target::Unit(_) => UNIT,
            Target::Account(_) => ACCOUNT,
        }
    }
}

/// `TYPE/name`, the key of a policy.
pub fn policy_key(policy_type: &str, name: &str) -> String {
    format!("{policy_type}/{name}")
}

/// `(TYPE, name)` of a policy key.
pub fn split_policy_key(key: &str) -> Option<(&str, &str)> {
    key.split_once('/')
}

/// `(target, policy key)` of an attachment key; the policy key holds no `|`, the target's path
/// might.
pub fn split_attachment_key(key: &str) -> Option<(Target, &str)> {
    let (target, policy) = key.rsplit_once('|')?;
    Some((Target::parse(target)?, policy))
}

/// The path of an OU below `parent` (`None`: the root).
pub fn child_path(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(p) => format!("{p}/{name}"),
        None => name.to_string(),
    }
}

/// Tags as a JSON object `{key: value}`: one tag per key, order-free.
pub fn tags_value<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let mut map = Map::new();
    for (k, v) in tags {
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    Value::Object(map)
}

/// Tags from a record's `tags` attribute, sorted by key.
pub fn tags_of(attrs: &Value) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = attrs
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

/// A policy's content as JSON when it is JSON (every policy type's content is), else the text.
pub fn content_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The content sent back to Organizations: canonical JSON, or the text as it was saved.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        other => iamsnap_provider::canonical::to_string(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_declared_in_dependency_order() {
        let ordered: Vec<_> = iamsnap_provider::kind::dependency_order(KINDS)
            .iter()
            .map(|k| k.name)
            .collect();
        let declared: Vec<_> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(ordered, declared);
    }

    #[test]
    fn targets_and_attachment_keys_round_trip() {
        for target in [
            Target::Root,
            Target::Unit("Workloads/Prod".into()),
            Target::Account("123456789012".into()),
        ] {
            let key = format!(
                "{}|{}",
                target.key(),
                policy_key("SERVICE_CONTROL_POLICY", "Deny")
            );
            let (back, policy) = split_attachment_key(&key).unwrap();
            assert_eq!(back, target);
            assert_eq!(
                split_policy_key(policy),
                Some(("SERVICE_CONTROL_POLICY", "Deny"))
            );
        }
        assert_eq!(Target::parse("ou/"), None);
        assert_eq!(Target::parse("Workloads"), None);
        assert_eq!(child_path(Some("A/B"), "C"), "A/B/C");
        assert_eq!(child_path(None, "A"), "A");
    }

    #[test]
    fn contents_keep_their_text_when_not_json() {
        let doc = content_value(r#"{"b": 1, "a": 2}"#);
        assert_eq!(content_text(&doc), r#"{"a":2,"b":1}"#);
        assert_eq!(content_text(&content_value("not json")), "not json");
    }
}
