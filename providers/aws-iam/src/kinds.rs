//! The record kinds of the AWS IAM connector, their keys and their canonical attributes.
//!
//! | kind | id | key |
//! | --- | --- | --- |
//! | `aws.user`, `aws.group`, `aws.role` | unique id (`AIDA…`, `AGPA…`, `AROA…`) | name |
//! | `aws.policy` (customer-managed) | unique id (`ANPA…`) | name |
//! | `aws.instance_profile` | unique id (`AIPA…`) | name |
//! | `aws.group_membership` | `GROUPID\|USERID` | `group-name\|user-name` |
//! | `aws.policy_attachment` | `PRINCIPALID\|policy-arn` | `role/name\|policy-arn` |
//! | `aws.inline_policy` | `PRINCIPALID\|policy-name` | `role/name\|policy-name` |
//! | `aws.saml_provider`, `aws.oidc_provider` | ARN | name / issuer URL without scheme |
//! | `aws.password_policy`, `aws.account_alias` | `password-policy` / the alias | same as id |
//! | `aws.ssh_public_key` | key id (`APKA…`) | `user-name\|MD5 fingerprint` |
//! | `aws.signing_certificate` | certificate id | `user-name\|SHA-256 of the certificate body` (16 hex digits) |
//! | `aws.server_certificate` | id (`ASCA…`) | name |
//! | `aws.virtual_mfa_device` | serial number (ARN) | path and name (`ada-phone`) |

use iamsnap_provider::{Capabilities, KindInfo, Parent, ProviderError};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

pub const USER: &str = "aws.user";
pub const GROUP: &str = "aws.group";
pub const GROUP_MEMBERSHIP: &str = "aws.group_membership";
pub const ROLE: &str = "aws.role";
pub const POLICY: &str = "aws.policy";
pub const POLICY_ATTACHMENT: &str = "aws.policy_attachment";
pub const INLINE_POLICY: &str = "aws.inline_policy";
pub const INSTANCE_PROFILE: &str = "aws.instance_profile";
pub const SAML_PROVIDER: &str = "aws.saml_provider";
pub const OIDC_PROVIDER: &str = "aws.oidc_provider";
pub const PASSWORD_POLICY: &str = "aws.password_policy";
pub const ACCOUNT_ALIAS: &str = "aws.account_alias";
pub const SSH_PUBLIC_KEY: &str = "aws.ssh_public_key";
pub const SIGNING_CERTIFICATE: &str = "aws.signing_certificate";
pub const SERVER_CERTIFICATE: &str = "aws.server_certificate";
pub const VIRTUAL_MFA_DEVICE: &str = "aws.virtual_mfa_device";

/// Kinds restore can only report: it creates none of them (`refuses` says why, per object),
/// changes or deletes none.
const REPORTED: Capabilities = Capabilities {
    create: true,
    update: false,
    delete: false,
};

/// The id and key of the account password policy, of which an account has at most one.
pub const PASSWORD_POLICY_KEY: &str = "password-policy";

/// What a re-created user never gets back.
pub const USER_CANNOT_RESTORE: &[&str] = &[
    "console password: set a new one (aws iam create-login-profile) and hand it to the user",
    "access key secrets: create new access keys and distribute them; the old key ids are gone",
    "MFA devices: the user must register their MFA devices again",
];

/// The kinds in restore order: each comes after every kind it depends on.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: POLICY,
        description: "customer-managed policy with every version and which one is default",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: GROUP,
        description: "IAM group",
        depends_on: &[POLICY],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: USER,
        description: "IAM user: path, tags, permissions boundary, console password present, MFA serials, access key ids",
        depends_on: &[POLICY],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: USER_CANNOT_RESTORE,
    },
    KindInfo {
        name: GROUP_MEMBERSHIP,
        description: "user member of a group",
        depends_on: &[GROUP, USER],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "group",
            members: "members",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: ROLE,
        description: "IAM role: trust policy, max session duration, tags, permissions boundary, description",
        depends_on: &[POLICY, USER],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: POLICY_ATTACHMENT,
        description: "managed policy (AWS-managed or customer) attached to a user, group or role",
        depends_on: &[POLICY, USER, GROUP, ROLE],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "principal",
            members: "policy attachments",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: INLINE_POLICY,
        description: "inline policy of a user, group or role",
        depends_on: &[USER, GROUP, ROLE],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "principal",
            members: "inline policies",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: INSTANCE_PROFILE,
        description: "EC2 instance profile and its role",
        depends_on: &[ROLE],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: SAML_PROVIDER,
        description: "SAML identity provider with its metadata document",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: OIDC_PROVIDER,
        description: "OpenID Connect identity provider: URL, client ids, thumbprints",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: PASSWORD_POLICY,
        description: "the account password policy",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: SSH_PUBLIC_KEY,
        description: "SSH public key of a user (for CodeCommit): the public key and its status",
        depends_on: &[USER],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "user",
            members: "SSH public keys",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: SIGNING_CERTIFICATE,
        description: "X.509 signing certificate of a user: the certificate (public) and its status",
        depends_on: &[USER],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "user",
            members: "signing certificates",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: SERVER_CERTIFICATE,
        description: "server certificate: name, path, expiry; listed, never re-created (its private key never leaves IAM)",
        depends_on: &[],
        capabilities: REPORTED,
        parent: None,
        cannot_restore: &[
            "server certificates: IAM never gives back a private key; upload the certificate again with its key (aws iam upload-server-certificate)",
        ],
    },
    KindInfo {
        name: VIRTUAL_MFA_DEVICE,
        description: "virtual MFA device and the user it is assigned to; listed, never re-created (its seed never leaves IAM)",
        depends_on: &[USER],
        capabilities: REPORTED,
        parent: None,
        cannot_restore: &[
            "virtual MFA devices: IAM never gives back a device's seed; the user registers a new device",
        ],
    },
    KindInfo {
        name: ACCOUNT_ALIAS,
        description: "the account alias",
        depends_on: &[],
        capabilities: Capabilities::LINK,
        parent: None,
        cannot_restore: &[],
    },
];

/// The three kinds of principal a managed or inline policy belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Principal {
    User,
    Group,
    Role,
}

impl Principal {
    /// `user`, `group`, `role`: the prefix of relationship keys, as in IAM ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Principal::User => "user",
            Principal::Group => "group",
            Principal::Role => "role",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Principal::User => USER,
            Principal::Group => GROUP,
            Principal::Role => ROLE,
        }
    }

    pub fn parse(s: &str) -> Option<Principal> {
        match s {
            "user" => Some(Principal::User),
            "group" => Some(Principal::Group),
            "role" => Some(Principal::Role),
            _ => None,
        }
    }
}

/// `role/deploy|arn:aws:iam::aws:policy/ReadOnlyAccess`, `user/ada|inline-name`.
pub fn relation_key(principal: Principal, name: &str, target: &str) -> String {
    format!("{}/{name}|{target}", principal.as_str())
}

/// Splits a relationship key back into principal, principal name and target.
pub fn parse_relation_key(
    kind: &str,
    key: &str,
) -> Result<(Principal, String, String), ProviderError> {
    let bad = || ProviderError::Precondition {
        kind: kind.to_string(),
        key: key.to_string(),
        message: "malformed key: expected user/NAME|TARGET, group/NAME|TARGET or role/NAME|TARGET"
            .into(),
    };
    let (who, target) = key.split_once('|').ok_or_else(bad)?;
    let (principal, name) = who.split_once('/').ok_or_else(bad)?;
    let principal = Principal::parse(principal).ok_or_else(bad)?;
    Ok((principal, name.to_string(), target.to_string()))
}

/// Turns a policy document as IAM returns it into JSON. IAM percent-encodes documents in most
/// answers but not all (and emulators differ), so the text is decoded only when it is not
/// already JSON: a literal `%` inside a plain JSON document stays as it is.
pub fn parse_document(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    let json = if trimmed.starts_with('{') {
        std::borrow::Cow::Borrowed(text)
    } else {
        percent_decode_str(text).decode_utf8().map_err(|e| {
            format!("policy document is neither JSON nor percent-encoded UTF-8: {e}")
        })?
    };
    serde_json::from_str(&json).map_err(|e| format!("policy document is not valid JSON: {e}"))
}

/// The document text sent back to IAM: canonical JSON (sorted keys, compact).
pub fn document_text(doc: &Value) -> String {
    iamsnap_provider::canonical::to_string(doc)
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

/// The last segment of an ARN's resource part: `arn:aws:iam::1:saml-provider/Okta` → `Okta`.
pub fn arn_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// True for an ARN of an AWS-managed policy (`arn:aws:iam::aws:policy/…`, any partition).
pub fn is_aws_managed(policy_arn: &str) -> bool {
    policy_arn.split(':').nth(4) == Some("aws")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_only_encoded_documents() {
        let plain = r#"{"Statement":[{"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/100%"}]}"#;
        assert_eq!(
            parse_document(plain).unwrap()["Statement"][0]["Resource"],
            "arn:aws:s3:::b/100%"
        );
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D";
        assert_eq!(
            parse_document(encoded).unwrap(),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert!(parse_document("%7Bnot json").is_err());
    }

    #[test]
    fn documents_are_written_back_canonically() {
        let a = parse_document(r#"{"b": 1, "a": {"d": 2, "c": 3}}"#).unwrap();
        assert_eq!(document_text(&a), r#"{"a":{"c":3,"d":2},"b":1}"#);
    }

    #[test]
    fn relation_keys_round_trip() {
        let key = relation_key(Principal::Role, "deploy", "arn:aws:iam::aws:policy/a|b");
        let (p, name, target) = parse_relation_key(POLICY_ATTACHMENT, &key).unwrap();
        assert_eq!(
            (p, name.as_str(), target.as_str()),
            (Principal::Role, "deploy", "arn:aws:iam::aws:policy/a|b")
        );
        assert!(parse_relation_key(POLICY_ATTACHMENT, "deploy|x").is_err());
    }

    #[test]
    fn kinds_are_declared_in_dependency_order() {
        let ordered: Vec<_> = iamsnap_provider::kind::dependency_order(KINDS)
            .iter()
            .map(|k| k.name)
            .collect();
        let declared: Vec<_> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(ordered, declared);
        assert!(is_aws_managed(
            "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"
        ));
        assert!(!is_aws_managed("arn:aws:iam::123456789012:policy/x"));
    }
}
