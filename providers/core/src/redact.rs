//! Keeping secrets out of everything iamsnap prints, logs or stores.
//!
//! Every [`Secret`](crate::Secret) registers its value here when it is made, so the process
//! knows each token, client secret and password it holds. [`scrub`] replaces them in a text,
//! whatever way they took to get there (a proxy echoing the request's headers in its error
//! page, a URL, a body), and masks what looks like a credential even when it was never
//! registered: `Authorization`-style header values, `Bearer`/`SSWS`/`Basic` credentials and age
//! secret keys. The command line scrubs at its few exits (error rendering, the log writer,
//! plans and reports); connectors and the HTTP kit scrub the messages they build from what a
//! provider answered.
//!
//! ```
//! use iamsnap_provider::{Secret, redact::scrub};
//!
//! let token = Secret::new("00aBcD-example-token-93f");
//! let echoed = "502 Bad Gateway: GET /api/v1/users\r\nx-token: 00aBcD-example-token-93f";
//! assert_eq!(scrub(echoed), "502 Bad Gateway: GET /api/v1/users\r\nx-token: [redacted]");
//! # drop(token);
//! ```

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret or credential is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not registered: no real credential is that short, and replacing
/// every occurrence of a few common characters would garble messages.
pub const MIN_SECRET_LEN: usize = 8;

/// Registered values and their encodings, longest first (so that a secret containing another
/// is replaced whole).
static REGISTRY: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `value` as a secret for the rest of the process: [`scrub`] replaces it, its
/// JSON-escaped and its percent-encoded forms. Values shorter than [`MIN_SECRET_LEN`] are
/// ignored.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let mut forms = vec![value.to_string()];
    let json = serde_json::to_string(value).unwrap_or_default();
    if let Some(inner) = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')) {
        forms.push(inner.to_string());
    }
    forms.push(percent_encoded(value));
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !registry.contains(&form) {
            registry.push(form);
        }
    }
    registry.sort_by_key(|f| std::cmp::Reverse(f.len()));
}

/// `text` without any registered secret and without anything that looks like a credential,
/// each replaced by [`REDACTED`].
pub fn scrub(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
        for secret in registry.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
    }
    for mask in [mask_schemes, mask_headers, mask_age_keys] {
        if let Some(masked) = mask(&out) {
            out = Cow::Owned(masked);
        }
    }
    out
}

/// [`scrub`] into an owned string.
pub fn scrubbed(text: impl AsRef<str>) -> String {
    scrub(text.as_ref()).into_owned()
}

/// Authentication schemes whose next word is a credential.
const SCHEMES: &[&str] = &["bearer", "ssws", "basic"];

/// Headers (and JSON fields, query parameters) whose value is a credential.
const CREDENTIAL_NAMES: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "x-amz-security-token",
    "client_secret",
    "access_token",
    "refresh_token",
];

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

/// A word after a scheme is taken for a credential when it is long and not plain prose: it
/// holds a digit or a token symbol (`Bearer authentication` stays as it is).
fn looks_like_credential(word: &str) -> bool {
    word.len() >= MIN_SECRET_LEN
        && word != REDACTED
        && word
            .chars()
            .any(|c| c.is_ascii_digit() || "-._~+/=".contains(c))
}

/// Where `name` occurs in `text` as a word of its own, ASCII case ignored.
fn words<'t>(text: &'t str, name: &'t str) -> impl Iterator<Item = usize> + 't {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(found) = lower[from..].find(name) {
            let at = from + found;
            from = at + name.len();
            let before = lower[..at].chars().next_back();
            let after = lower[at + name.len()..].chars().next();
            let bounded = |c: Option<char>| {
                c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            };
            // A line break escaped in a JSON string (`\r\nauthorization: …` in a JSON log
            // line) starts a word too.
            let escaped = [r"\n", r"\r", r"\t"]
                .iter()
                .any(|e| lower[..at].ends_with(e));
            if (bounded(before) || escaped) && bounded(after) {
                return Some(at);
            }
        }
        None
    })
}

/// `Bearer eyJ…`, `SSWS 00a…`, `Basic dXNlcjpw…` → `Bearer [redacted]`.
fn mask_schemes(text: &str) -> Option<String> {
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for scheme in SCHEMES {
        for at in words(text, scheme) {
            let rest = &text[at + scheme.len()..];
            let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            if spaces == 0 {
                continue;
            }
            let start = at + scheme.len() + spaces;
            let len = text[start..]
                .find(|c: char| !token_char(c))
                .unwrap_or(text.len() - start);
            if looks_like_credential(&text[start..start + len]) {
                cuts.push((start, start + len));
            }
        }
    }
    replace_ranges(text, cuts)
}

/// `Authorization: …` to the end of its line, `"authorization": "…"` to its closing quote,
/// `client_secret=…` to the next `&`.
fn mask_headers(text: &str) -> Option<String> {
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for name in CREDENTIAL_NAMES {
        for at in words(text, name) {
            let mut i = at + name.len();
            let bytes = text.as_bytes();
            let quoted_name = bytes.get(i) == Some(&b'"');
            if quoted_name {
                i += 1;
            }
            while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
                i += 1;
            }
            let separator = bytes.get(i).copied();
            if separator != Some(b':') && separator != Some(b'=') {
                continue;
            }
            i += 1;
            while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
                i += 1;
            }
            let quoted_value = bytes.get(i) == Some(&b'"');
            if quoted_value {
                i += 1;
            }
            let start = i;
            let end = if quoted_value {
                end_of_json_string(text, start)
            } else if separator == Some(b'=') && !quoted_name {
                // A query parameter or form field, or `Authorization=SSWS …` in a dump.
                let value = &text[start..];
                let scheme = SCHEMES.iter().find_map(|s| {
                    let head = value.get(..s.len())?;
                    let rest = &value[s.len()..];
                    (head.eq_ignore_ascii_case(s) && rest.starts_with([' ', '\t']))
                        .then(|| value.len() - rest.trim_start_matches([' ', '\t']).len())
                });
                let from = start + scheme.unwrap_or(0);
                text[from..]
                    .find(['&', ' ', '\r', '\n', '"', '\''])
                    .map_or(text.len(), |n| from + n)
            } else {
                // To the end of the header line, written out or escaped as in a JSON string
                // (a log line in JSON), whose closing quote also ends it.
                text[start..]
                    .find(['\r', '\n', '\\', '"'])
                    .map_or(text.len(), |n| start + n)
            };
            if end > start && &text[start..end] != REDACTED {
                cuts.push((start, end));
            }
        }
    }
    replace_ranges(text, cuts)
}

/// Where the JSON string starting at `start` (after its opening quote) ends.
fn end_of_json_string(text: &str, start: usize) -> usize {
    let mut escaped = false;
    for (n, c) in text[start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return start + n,
            '\r' | '\n' => return start + n,
            _ => {}
        }
    }
    text.len()
}

/// `AGE-SECRET-KEY-1…` → `[redacted]`.
fn mask_age_keys(text: &str) -> Option<String> {
    const PREFIX: &str = "AGE-SECRET-KEY-1";
    let mut cuts = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(PREFIX) {
        let start = from + found;
        let len = text[start..]
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(text.len() - start);
        cuts.push((start, start + len));
        from = start + len;
    }
    replace_ranges(text, cuts)
}

/// `text` with each range replaced by [`REDACTED`]; `None` when there is none.
fn replace_ranges(text: &str, mut cuts: Vec<(usize, usize)>) -> Option<String> {
    if cuts.is_empty() {
        return None;
    }
    cuts.sort();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in cuts {
        if start < at {
            at = at.max(end);
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// `value` as it would appear in a URL's query or a form body.
fn percent_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_replaced_in_every_form() {
        register("s3cr3t/with+symbols \"q\"");
        let text = "a s3cr3t/with+symbols \"q\" b s3cr3t%2Fwith%2Bsymbols%20%22q%22 c s3cr3t/with+symbols \\\"q\\\"";
        assert_eq!(scrub(text), "a [redacted] b [redacted] c [redacted]");
    }

    #[test]
    fn short_values_are_not_registered() {
        register("abc");
        assert_eq!(scrub("abc abcd"), "abc abcd");
    }

    #[test]
    fn credentials_are_masked_without_being_registered() {
        let cases = [
            (
                "GET /api/v1/users HTTP/1.1\r\nauthorization: SSWS 00QCjAl4MlV-WPXM-ABCDEF\r\nhost: x",
                "GET /api/v1/users HTTP/1.1\r\nauthorization: [redacted]\r\nhost: x",
            ),
            (
                r#"{"headers":{"Authorization":"Bearer eyJ0eXAi.eyJzdWIi.c2ln","Accept":"*/*"}}"#,
                r#"{"headers":{"Authorization":"[redacted]","Accept":"*/*"}}"#,
            ),
            (
                "upstream said: bearer eyJ0eXAi.eyJzdWIi.c2ln, retry",
                "upstream said: bearer [redacted], retry",
            ),
            (
                "Basic dXNlcjpwYXNzd29yZA== was refused",
                "Basic [redacted] was refused",
            ),
            (
                "grant_type=client_credentials&client_secret=abc~def&scope=x",
                "grant_type=client_credentials&client_secret=[redacted]&scope=x",
            ),
            (
                "key AGE-SECRET-KEY-1GPZCT065JGZ69CT4WK2L543KMDDTJRVRJAKCC002QVXN8YDDKSSQ55LNVX end",
                "key [redacted] end",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(scrub(text), want, "{text}");
        }
    }

    #[test]
    fn json_log_lines_stay_json() {
        let line = serde_json::json!({
            "level": "ERROR",
            "error": "HTTP 502: GET /x HTTP/1.1\r\nauthorization: SSWS 00Aa-never-registered-1\r\nhost: h",
        })
        .to_string();
        let scrubbed = scrub(&line);
        let parsed: serde_json::Value = serde_json::from_str(&scrubbed).unwrap();
        assert_eq!(
            parsed["error"],
            "HTTP 502: GET /x HTTP/1.1\r\nauthorization: [redacted]\r\nhost: h"
        );
    }

    #[test]
    fn prose_is_left_alone() {
        for text in [
            "Authorization_RequestDenied: Insufficient privileges to complete the operation.",
            "the provider refused the credentials (HTTP 401): Invalid token provided",
            "Bearer authentication failed; Basic auth is disabled",
            "okta.user ada@example.com: update: the authorization server is unavailable",
        ] {
            assert_eq!(scrub(text), text);
        }
    }
}
