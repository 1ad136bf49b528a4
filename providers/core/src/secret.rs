//! A string that never shows itself in `Debug` or `Display` output, and that
//! [`redact::scrub`](crate::redact::scrub) removes from any text it reaches.

use std::fmt;

/// A token, password or key. Read it with [`Secret::expose`] at the one place it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it with [`redact`](crate::redact), so that no message,
    /// log line or report of this process shows it, however it got there.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Secret(value)
    }

    /// The value itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_its_value() {
        let s = Secret::new("tok-123");
        assert!(!format!("{s:?} {s}").contains("tok-123"));
        assert_eq!(s.expose(), "tok-123");
    }

    #[test]
    fn is_scrubbed_from_any_text_once_made() {
        let s = Secret::new("tok-4f2a-9c1e-registered");
        let echoed = format!("<html>x-forwarded-token: {}</html>", s.expose());
        assert_eq!(
            crate::redact::scrub(&echoed),
            "<html>x-forwarded-token: [redacted]</html>"
        );
    }
}

/// Reads a secret from the environment variable `env` or the file `file`, whichever is set.
/// `what` names the configuration field in errors (`sources.okta-prod.token_env`).
pub fn resolve(
    env: Option<&str>,
    file: Option<&std::path::Path>,
    what: &str,
) -> Result<Secret, crate::ProviderError> {
    use crate::ProviderError::Config;
    match (env, file) {
        (Some(_), Some(_)) => Err(Config(format!(
            "{what}: set either the _env or the _file form, not both"
        ))),
        (Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            Ok(_) => Err(Config(format!(
                "{what}: environment variable {var} is empty; export the secret in it"
            ))),
            Err(_) => Err(Config(format!(
                "{what}: environment variable {var} is not set; export the secret in it"
            ))),
        },
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            Ok(_) => Err(Config(format!("{what}: {} is empty", path.display()))),
            Err(e) => Err(Config(format!(
                "{what}: cannot read {}: {e}",
                path.display()
            ))),
        },
        (None, None) => Err(Config(format!(
            "{what}: no secret configured; set the _env or the _file form"
        ))),
    }
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    #[test]
    fn missing_variable_is_named_and_value_never_shown() {
        let err = resolve(
            Some("IAMSNAP_TEST_SURELY_UNSET"),
            None,
            "sources.x.token_env",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("IAMSNAP_TEST_SURELY_UNSET"), "{err}");
        assert!(err.contains("sources.x.token_env"), "{err}");
    }

    #[test]
    fn reads_and_trims_a_file() {
        let dir = std::env::temp_dir().join(format!("iamsnap-secret-{}", std::process::id()));
        std::fs::write(&dir, "s3cr3t\n").unwrap();
        let secret = resolve(None, Some(&dir), "f").unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(secret.expose(), "s3cr3t");
    }
}
