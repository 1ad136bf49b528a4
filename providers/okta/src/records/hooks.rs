//! Event hooks, inline hooks and log streams, as records, keyed by name.
//!
//! Their secrets are write-only in the API (the value of a channel's auth header, an OAuth
//! client secret, a Splunk HEC token) and are never recorded, even should an answer hold one.
//! Each keeps its `created` time: an object Okta made at another time than the snapshot's is
//! not the original but one a restore re-created without its secret, which
//! [`crate::restore`] leaves inactive.

use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;

use super::{cleaned, required};
use crate::kinds::*;

/// What the API never returns, or should never be kept if it did.
const SECRETS: &[&str] = &[
    "channel.config.authScheme.value",
    "channel.config.clientSecret",
    "settings.token",
];

fn hook(kind: &str, v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", kind)?.to_string();
    let name = required(&v, "/name", kind)?.to_string();
    let created = v.get("created").cloned();
    let mut attrs = cleaned(v, SECRETS);
    if let Some(created) = created {
        attrs["created"] = created;
    }
    Ok(Record::new(kind, id, name, attrs, Vec::new()))
}

pub(crate) fn event_hook(v: Value) -> Result<Record, ProviderError> {
    hook(EVENT_HOOK, v)
}

pub(crate) fn inline_hook(v: Value) -> Result<Record, ProviderError> {
    hook(INLINE_HOOK, v)
}

pub(crate) fn log_stream(v: Value) -> Result<Record, ProviderError> {
    hook(LOG_STREAM, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hooks_keep_their_config_and_creation_time_but_no_secret() {
        let v = json!({"id": "who1", "name": "SIEM", "status": "ACTIVE", "verificationStatus": "VERIFIED",
            "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://siem.example.com/okta",
                "headers": [{"key": "X-Source", "value": "okta"}],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": "s3cret"}}},
            "created": "2025-01-01T00:00:00.000Z", "createdBy": "00u1", "lastUpdated": "x", "_links": {}});
        let r = event_hook(v).unwrap();
        assert_eq!(r.key, "SIEM");
        assert!(!r.to_canonical_json().contains("s3cret"));
        assert_eq!(
            r.attrs["channel"]["config"]["authScheme"],
            json!({"type": "HEADER", "key": "Authorization"})
        );
        assert_eq!(r.attrs["created"], "2025-01-01T00:00:00.000Z");
        assert!(r.attrs.get("createdBy").is_none() && r.attrs.get("lastUpdated").is_none());
        let stream = json!({"id": "0oa1", "name": "Splunk", "type": "splunk_cloud_logstreaming",
            "settings": {"host": "acme.splunkcloud.com", "edition": "aws", "token": "t0ken"}});
        assert!(
            !log_stream(stream)
                .unwrap()
                .to_canonical_json()
                .contains("t0ken")
        );
    }
}
