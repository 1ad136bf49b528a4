//! Identity providers and their signing certificates, as records. An IdP is keyed by its
//! name; the certificate it trusts (`protocol.credentials.trust.kid`) and the groups its
//! users are provisioned into are refs. A certificate is keyed by its SHA-256 thumbprint
//! (`x5t#S256`), which a re-upload keeps while its `kid` changes. Client secrets are never
//! recorded.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::Value;

use super::{cleaned, refs_at, required};
use crate::kinds::*;

pub(crate) fn idp(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", IDP)?.to_string();
    let name = required(&v, "/name", IDP)?.to_string();
    let mut refs = refs_at(
        &v,
        "/policy/provisioning/groups/assignments",
        "provisions",
        GROUP,
    );
    if let Some(kid) = v
        .pointer("/protocol/credentials/trust/kid")
        .and_then(Value::as_str)
    {
        refs.push(Ref::new("signing_key", IDP_KEY, kid));
    }
    let attrs = cleaned(v, &["protocol.credentials.client.client_secret"]);
    Ok(Record::new(IDP, id, name, attrs, refs))
}

pub(crate) fn idp_key(v: Value) -> Result<Record, ProviderError> {
    let kid = required(&v, "/kid", IDP_KEY)?.to_string();
    let thumbprint = required(&v, "/x5t#S256", IDP_KEY)?.to_string();
    let attrs = cleaned(v, &["kid"]);
    Ok(Record::new(IDP_KEY, kid, thumbprint, attrs, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_oidc_idp_never_keeps_its_client_secret() {
        let v = json!({"id": "0oa1", "type": "OIDC", "name": "Contractors", "status": "ACTIVE",
            "protocol": {"credentials": {"client": {"client_id": "c", "client_secret": "s3cret"}}},
            "policy": {"provisioning": {"groups": {"action": "ASSIGN", "assignments": ["00g1"]}}}});
        let r = idp(v).unwrap();
        assert!(!r.to_canonical_json().contains("s3cret"));
        assert_eq!(
            r.attrs["protocol"]["credentials"]["client"],
            json!({"client_id": "c"})
        );
        assert_eq!(r.target("provisions").unwrap().id, "00g1");
    }

    #[test]
    fn a_saml_idp_references_its_certificate_keyed_by_thumbprint() {
        let v = json!({"id": "0oa2", "type": "SAML2", "name": "Partner",
            "protocol": {"credentials": {"trust": {"kid": "kid1", "issuer": "https://idp"}}}});
        assert_eq!(idp(v).unwrap().target("signing_key").unwrap().id, "kid1");
        let key = json!({"kid": "kid1", "x5t#S256": "thumb", "x5c": ["MII…"], "kty": "RSA",
                         "created": "x", "lastUpdated": "x"});
        let r = idp_key(key).unwrap();
        assert_eq!((r.id.as_str(), r.key.as_str()), ("kid1", "thumb"));
        assert_eq!(
            r.attrs,
            json!({"x5t#S256": "thumb", "x5c": ["MII…"], "kty": "RSA"})
        );
    }
}
