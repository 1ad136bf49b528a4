//! What an error answer or a failed connection becomes: a [`ProviderError`] carrying the
//! provider's own explanation, read by the connector's [`ErrorBody`] parser.

use std::fmt;

use iamsnap_provider::{ProviderError, redact};
use serde_json::Value;
use url::Url;

/// Reads a provider's own explanation out of the body of an error answer. Each connector sets
/// the parser of its provider's format in [`HttpConfig::error_body`](crate::HttpConfig).
pub trait ErrorBody: fmt::Debug + Send + Sync {
    /// The explanation `body` carries, or `None` when `body` is not in this provider's format.
    fn message(&self, body: &[u8]) -> Option<String>;
}

/// The error body of RFC 6749 §5.2, which every OAuth2 token endpoint sends:
/// `{"error": "invalid_client", "error_description": "…"}`. The default parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct OAuth2Error;

impl ErrorBody for OAuth2Error {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let code = value.get("error")?.as_str()?;
        let description = value
            .get("error_description")
            .and_then(Value::as_str)
            .unwrap_or("");
        Some(
            format!("{code}: {description}")
                .trim_end_matches([':', ' '])
                .to_string(),
        )
    }
}

/// The explanation of an error answer: what `provider` reads in `body`, else a standard OAuth2
/// error, else the start of the body itself (an HTML page from a proxy, plain text). Secrets and
/// credentials are scrubbed from it ([`redact::scrub`]): proxies and gateways echo the request's
/// headers, the credential's among them, in their error pages.
pub fn error_message(body: &[u8], provider: &dyn ErrorBody) -> String {
    if let Some(message) = provider.message(body).or_else(|| OAuth2Error.message(body)) {
        return redact::scrubbed(message);
    }
    // Scrubbed before it is cut, so that a secret cut in two is still found whole.
    let text = String::from_utf8_lossy(&body[..body.len().min(SCRUBBED_PREFIX)]);
    let text = redact::scrub(text.trim());
    if text.is_empty() {
        return "no error body".to_string();
    }
    text.chars().take(300).collect()
}

/// How much of a body that is not in the provider's format is read for its explanation.
const SCRUBBED_PREFIX: usize = 16 * 1024;

/// A read whose 404 means "does not exist": `Ok(None)` then, other errors kept.
pub fn found<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if status_of(&e) == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The HTTP status of an error the provider answered with, if it answered.
pub fn status_of(error: &ProviderError) -> Option<u16> {
    match error {
        ProviderError::Http { status, .. }
        | ProviderError::Unauthorized { status, .. }
        | ProviderError::Forbidden { status, .. } => Some(*status),
        _ => None,
    }
}

/// A connection that failed (refused, reset, timed out, body cut short), said in full.
pub(crate) fn transport_error(url: &Url, error: &reqwest::Error) -> ProviderError {
    // reqwest's own message may repeat the URL; the chain of sources says what went wrong.
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        source = e.source();
    }
    if error.is_timeout() {
        message.push_str(" (timed out)");
    }
    ProviderError::Transport {
        url: redact::scrubbed(url.as_str()),
        message: redact::scrubbed(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fault;

    #[test]
    fn the_provider_reads_its_own_bodies_and_the_rest_is_generic() {
        let body = br#"{"fault":{"id":"F42","text":"Resource does not exist."}}"#;
        assert_eq!(error_message(body, &Fault), "F42: Resource does not exist.");
        assert_eq!(
            error_message(body, &OAuth2Error),
            r#"{"fault":{"id":"F42","text":"Resource does not exist."}}"#,
            "another format reads as text"
        );
        assert_eq!(error_message(b"", &Fault), "no error body");
        assert_eq!(
            error_message(b"<html>bad gateway</html>", &Fault),
            "<html>bad gateway</html>"
        );
        let long = "x".repeat(1000);
        assert_eq!(error_message(long.as_bytes(), &Fault).len(), 300);
    }

    #[test]
    fn echoed_credentials_never_reach_the_message() {
        let token = iamsnap_provider::Secret::new("00Tok-echoed-by-a-gateway-4242");
        let echo = |prefix: usize| {
            format!(
                "<html>{}GET /api/v1/users HTTP/1.1\r\naccept: application/json\r\nauthorization: SSWS {}\r\nuser-agent: iamsnap</html>",
                " ".repeat(prefix),
                token.expose()
            )
        };
        // The token whole, and cut by the 300 characters kept.
        for prefix in [0, 200] {
            let message = error_message(echo(prefix).as_bytes(), &Fault);
            assert!(!message.contains("00Tok-echoed"), "{message}");
            assert!(!message.contains("00Tok"), "{message}");
        }
        let json = format!(
            r#"{{"fault":{{"id":"E1","text":"headers: Authorization=SSWS {}"}}}}"#,
            token.expose()
        );
        let message = error_message(json.as_bytes(), &Fault);
        assert_eq!(message, "E1: headers: Authorization=[redacted]");
    }

    #[test]
    fn oauth2_errors_read_as_code_and_description() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        assert_eq!(
            error_message(body, &Fault),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_grant"}"#, &OAuth2Error),
            "invalid_grant"
        );
    }

    #[test]
    fn found_reads_404_as_absent_and_keeps_other_errors() {
        let http = |status| ProviderError::Http {
            method: "GET".into(),
            url: "https://api.example.com/v1/users/1".into(),
            status,
            message: "m".into(),
        };
        assert_eq!(found(Ok::<_, ProviderError>(1)).unwrap(), Some(1));
        assert_eq!(found::<u8>(Err(http(404))).unwrap(), None);
        let kept = found::<u8>(Err(http(500))).unwrap_err();
        assert_eq!(status_of(&kept), Some(500));
        assert_eq!(status_of(&ProviderError::Cancelled), None);
    }
}
