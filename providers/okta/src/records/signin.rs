//! Authenticators, behavior detection rules and group owners, as records.
//!
//! An authenticator is keyed by its `key` (`okta_password`, `okta_verify`, `webauthn`, …), the
//! same in every org; the keys that may repeat (`custom_otp`, `custom_app`) by `key:name`. Its
//! provider's secrets (Duo's `secretKey`, a RADIUS `sharedSecret`) are never recorded. A
//! behavior detection rule is keyed by its name, which global session policy rules use to name
//! it. A group owner is keyed `GROUP|user:LOGIN` or `GROUP|group:NAME`.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use super::{cleaned, required, str_at};
use crate::kinds::*;

/// Provider configuration fields that are secrets: write-only in Okta, never recorded.
pub(crate) const PROVIDER_SECRETS: &[&str] = &[
    "provider.configuration.secretKey",
    "provider.configuration.sharedSecret",
];

/// Authenticator keys that an org may hold more than once, each under its own name.
const REPEATABLE: &[&str] = &["custom_otp", "custom_app"];

/// The natural key of an authenticator (as the API returns it).
pub(crate) fn authenticator_key(v: &Value) -> String {
    let key = str_at(v, "/key");
    if REPEATABLE.contains(&key) {
        format!("{key}:{}", str_at(v, "/name"))
    } else {
        key.to_string()
    }
}

pub(crate) fn authenticator(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", AUTHENTICATOR)?.to_string();
    required(&v, "/key", AUTHENTICATOR)?;
    let key = authenticator_key(&v);
    let mut refs = Vec::new();
    // An IdP authenticator verifies people through an identity provider, named by id.
    if let Some(idp) = v
        .pointer("/provider/configuration/idpId")
        .and_then(Value::as_str)
    {
        refs.push(Ref::new("idp", IDP, idp));
    }
    let attrs = cleaned(v, PROVIDER_SECRETS);
    Ok(Record::new(AUTHENTICATOR, id, key, attrs, refs))
}

/// The authenticator ids an app sign-in policy rule's verification method names: every object
/// of its `constraints` that has both a `key` and an `id`.
pub(crate) fn constraint_authenticators(rule: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let (Some(Value::String(id)), Some(Value::String(_))) =
                    (map.get("id"), map.get("key"))
                {
                    out.push(id.clone());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(c) = rule.pointer("/actions/appSignOn/verificationMethod/constraints") {
        walk(c, &mut out);
    }
    out
}

pub(crate) fn behavior(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", BEHAVIOR)?.to_string();
    let name = required(&v, "/name", BEHAVIOR)?.to_string();
    let attrs = cleaned(v, &[]);
    Ok(Record::new(BEHAVIOR, id, name, attrs, Vec::new()))
}

/// Who owns a group: a user (by login) or a group (by name), with its live id.
#[derive(Debug, Clone)]
pub(crate) enum Owner {
    User { id: String, login: String },
    Group { id: String, name: String },
}

impl Owner {
    pub(crate) fn member(&self) -> String {
        match self {
            Owner::User { login, .. } => format!("user:{login}"),
            Owner::Group { name, .. } => format!("group:{name}"),
        }
    }

    fn as_ref(&self) -> Ref {
        match self {
            Owner::User { id, .. } => Ref::new("owner", USER, id),
            Owner::Group { id, .. } => Ref::new("owner", GROUP, id),
        }
    }

    fn id(&self) -> &str {
        match self {
            Owner::User { id, .. } | Owner::Group { id, .. } => id,
        }
    }
}

/// An owner of group `group` (id, name), as the owners list returns it (`v`) once resolved to
/// a login or group name (`owner`). Where the ownership comes from (`originType`: Okta, or an
/// app that imports it) is kept.
pub(crate) fn group_owner(
    group: (&str, &str),
    owner: &Owner,
    v: &Value,
) -> Result<Record, ProviderError> {
    let (group_id, group_name) = group;
    let origin = match str_at(v, "/originType") {
        "" => "OKTA_DIRECTORY",
        other => other,
    };
    Ok(Record::new(
        GROUP_OWNER,
        format!("{group_id}:{}", owner.id()),
        format!("{group_name}|{}", owner.member()),
        json!({"group": group_name, "owner": owner.member(), "type": str_at(v, "/type"),
               "originType": origin}),
        vec![Ref::new("group", GROUP, group_id), owner.as_ref()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authenticator_is_keyed_by_its_key_without_its_providers_secret() {
        let v = json!({"type": "app", "id": "aut1", "key": "duo", "status": "ACTIVE",
            "name": "Duo Security", "created": "x", "lastUpdated": "x", "_links": {},
            "provider": {"type": "DUO", "configuration": {"host": "api.duo", "integrationKey": "DI1",
                                                          "secretKey": "s3cret"}}});
        let r = authenticator(v).unwrap();
        assert_eq!((r.id.as_str(), r.key.as_str()), ("aut1", "duo"));
        assert!(!r.to_canonical_json().contains("s3cret"));
        assert_eq!(
            r.attrs["provider"]["configuration"],
            json!({"host": "api.duo", "integrationKey": "DI1"})
        );
        let otp = json!({"id": "aut2", "key": "custom_otp", "name": "Hardware token"});
        assert_eq!(authenticator(otp).unwrap().key, "custom_otp:Hardware token");
    }

    #[test]
    fn an_access_rule_names_authenticators_by_id_in_its_constraints() {
        let rule = json!({"actions": {"appSignOn": {"verificationMethod": {"constraints": [
            {"possession": {"authenticationMethods": [{"key": "webauthn", "method": "webauthn", "id": "aut9"}]},
             "knowledge": {"types": ["password"]}}]}}}});
        assert_eq!(constraint_authenticators(&rule), ["aut9"]);
        assert!(constraint_authenticators(&json!({})).is_empty());
    }

    #[test]
    fn a_group_owner_is_keyed_by_group_name_and_owner() {
        let owner = Owner::User {
            id: "00u1".into(),
            login: "ada@example.com".into(),
        };
        let v = json!({"id": "00u1", "type": "USER", "displayName": "Ada", "originType": "OKTA_DIRECTORY",
                       "resolved": true, "lastUpdated": "x"});
        let r = group_owner(("00g1", "Sales"), &owner, &v).unwrap();
        assert_eq!(r.key, "Sales|user:ada@example.com");
        assert_eq!(r.id, "00g1:00u1");
        assert_eq!(r.target("owner").unwrap().kind, USER);
        assert_eq!(r.target("group").unwrap().id, "00g1");
    }
}
