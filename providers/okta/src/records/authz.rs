//! Custom authorization servers and what belongs to them, as records. A server is keyed by
//! its name; its scopes, claims and access policies by `SERVER|member` (a claim's member is
//! `TYPE:name`, as an access-token and an ID-token claim may share a name), a policy's rules
//! by `SERVER|POLICY|rule`. Scopes are named by name everywhere, so they need no refs; the
//! client apps of a policy and the groups and users of a rule are ids, kept as refs.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::Value;

use super::{cleaned, refs_at, required, str_at};
use crate::kinds::*;

/// A server's key and live id, for the records of what belongs to it.
#[derive(Debug, Clone)]
pub(crate) struct ServerHead {
    pub id: String,
    pub name: String,
}

impl ServerHead {
    pub(crate) fn of(v: &Value) -> ServerHead {
        ServerHead {
            id: str_at(v, "/id").to_string(),
            name: str_at(v, "/name").to_string(),
        }
    }

    fn as_ref(&self) -> Ref {
        Ref::new("server", AUTH_SERVER, &self.id)
    }
}

/// What is left of a server: its signing key's id and rotation dates and its issuer (which
/// holds its id) change with every re-creation; the rotation mode stays.
pub(crate) fn server(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", AUTH_SERVER)?.to_string();
    let name = required(&v, "/name", AUTH_SERVER)?.to_string();
    let attrs = cleaned(
        v,
        &[
            "issuer",
            "credentials.signing.kid",
            "credentials.signing.lastRotated",
            "credentials.signing.nextRotation",
        ],
    );
    Ok(Record::new(AUTH_SERVER, id, name, attrs, Vec::new()))
}

pub(crate) fn scope(server: &ServerHead, v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", AUTH_SCOPE)?.to_string();
    let name = required(&v, "/name", AUTH_SCOPE)?.to_string();
    let key = format!("{}|{name}", server.name);
    Ok(Record::new(
        AUTH_SCOPE,
        id,
        key,
        cleaned(v, &[]),
        vec![server.as_ref()],
    ))
}

pub(crate) fn claim_member(v: &Value) -> String {
    format!("{}:{}", str_at(v, "/claimType"), str_at(v, "/name"))
}

pub(crate) fn claim(server: &ServerHead, v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", AUTH_CLAIM)?.to_string();
    required(&v, "/name", AUTH_CLAIM)?;
    let key = format!("{}|{}", server.name, claim_member(&v));
    Ok(Record::new(
        AUTH_CLAIM,
        id,
        key,
        cleaned(v, &[]),
        vec![server.as_ref()],
    ))
}

/// Ids in the array at `pointer` other than the literals Okta puts beside them
/// (`ALL_CLIENTS`, `EVERYONE`), as refs.
fn id_refs(v: &Value, pointer: &str, rel: &str, kind: &str, literal: &str) -> Vec<Ref> {
    refs_at(v, pointer, rel, kind)
        .into_iter()
        .filter(|r| r.id != literal)
        .collect()
}

pub(crate) fn policy(server: &ServerHead, v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", AUTH_POLICY)?.to_string();
    let name = required(&v, "/name", AUTH_POLICY)?.to_string();
    let mut refs = vec![server.as_ref()];
    refs.extend(id_refs(
        &v,
        "/conditions/clients/include",
        "client",
        APP,
        "ALL_CLIENTS",
    ));
    let key = format!("{}|{name}", server.name);
    Ok(Record::new(AUTH_POLICY, id, key, cleaned(v, &[]), refs))
}

pub(crate) fn rule(
    server: &ServerHead,
    policy_id: &str,
    policy_key: &str,
    v: Value,
) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", AUTH_RULE)?.to_string();
    let name = required(&v, "/name", AUTH_RULE)?.to_string();
    let mut refs = vec![server.as_ref(), Ref::new("policy", AUTH_POLICY, policy_id)];
    // A token inline hook that adds claims to the tokens the rule grants.
    if let Some(hook) = v
        .pointer("/actions/token/inlineHook/id")
        .and_then(Value::as_str)
    {
        refs.push(Ref::new("inline_hook", INLINE_HOOK, hook));
    }
    for (list, rel) in [("include", "includes"), ("exclude", "excludes")] {
        let groups = format!("/conditions/people/groups/{list}");
        refs.extend(id_refs(&v, &groups, rel, GROUP, "EVERYONE"));
        refs.extend(refs_at(
            &v,
            &format!("/conditions/people/users/{list}"),
            rel,
            USER,
        ));
    }
    Ok(Record::new(
        AUTH_RULE,
        id,
        format!("{policy_key}|{name}"),
        cleaned(v, &[]),
        refs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payments() -> ServerHead {
        ServerHead {
            id: "aus1".into(),
            name: "Payments API".into(),
        }
    }

    #[test]
    fn a_server_keeps_its_rotation_mode_but_not_its_key_or_issuer() {
        let v = json!({"id": "aus1", "name": "Payments API", "audiences": ["api://payments"],
            "issuer": "https://acme.okta.com/oauth2/aus1", "issuerMode": "ORG_URL", "status": "ACTIVE",
            "credentials": {"signing": {"kid": "k1", "rotationMode": "MANUAL", "use": "sig",
                                        "lastRotated": "x", "nextRotation": "y"}},
            "created": "x", "lastUpdated": "x", "_links": {}});
        let r = server(v).unwrap();
        assert_eq!(r.key, "Payments API");
        assert_eq!(
            r.attrs,
            json!({"name": "Payments API", "audiences": ["api://payments"], "issuerMode": "ORG_URL",
                   "status": "ACTIVE", "credentials": {"signing": {"rotationMode": "MANUAL", "use": "sig"}}})
        );
    }

    #[test]
    fn claims_of_both_token_types_have_their_own_keys() {
        let access = json!({"id": "ocl1", "name": "groups", "claimType": "RESOURCE"});
        let id_token = json!({"id": "ocl2", "name": "groups", "claimType": "IDENTITY"});
        let (a, b) = (
            claim(&payments(), access).unwrap(),
            claim(&payments(), id_token).unwrap(),
        );
        assert_eq!(a.key, "Payments API|RESOURCE:groups");
        assert_eq!(b.key, "Payments API|IDENTITY:groups");
        assert_eq!(a.target("server").unwrap().id, "aus1");
    }

    #[test]
    fn policies_and_rules_reference_apps_groups_and_users_but_not_okta_literals() {
        let p = json!({"id": "00p1", "name": "Clients", "type": "OAUTH_AUTHORIZATION_POLICY",
            "conditions": {"clients": {"include": ["0oa1", "ALL_CLIENTS"]}}});
        let p = policy(&payments(), p).unwrap();
        assert_eq!(p.key, "Payments API|Clients");
        let clients: Vec<&str> = p
            .refs
            .iter()
            .filter(|r| r.rel == "client")
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(clients, ["0oa1"]);
        let r = json!({"id": "0pr1", "name": "Staff", "conditions": {
            "people": {"groups": {"include": ["EVERYONE", "00g1"]}, "users": {"exclude": ["00u1"]}},
            "scopes": {"include": ["payments:read"]}}});
        let r = rule(&payments(), "00p1", &p.key, r).unwrap();
        assert_eq!(r.key, "Payments API|Clients|Staff");
        let refs: std::collections::BTreeSet<(&str, &str)> = r
            .refs
            .iter()
            .map(|r| (r.kind.as_str(), r.id.as_str()))
            .collect();
        assert_eq!(
            refs,
            std::collections::BTreeSet::from([
                (AUTH_SERVER, "aus1"),
                (AUTH_POLICY, "00p1"),
                (GROUP, "00g1"),
                (USER, "00u1")
            ])
        );
    }
}
