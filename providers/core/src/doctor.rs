//! What `iamsnap doctor` asks a connector: [`Check`]s of its reachability, its credentials and
//! the rights a backup and a restore need, each named in the provider's own words.
//!
//! Every connector gets sensible answers without writing any: [`from_healthcheck`] turns the
//! reads of [`ReadProvider::healthcheck`](crate::ReadProvider::healthcheck) into the three
//! checks of a backup, and a connector without a way to ask its provider which writes it may
//! make says so ([`Check::cannot_check_writes`]). A connector that can tell more (a token's
//! expiry, the roles its credentials hold) overrides
//! [`ReadProvider::check_reads`](crate::ReadProvider::check_reads) and
//! [`WriteProvider::check_writes`](crate::WriteProvider::check_writes).

use serde::{Deserialize, Serialize};

use crate::ProviderError;

/// How a check came out, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Passed.
    Ok,
    /// Not checked, for the reason given; nothing to fix.
    Note,
    /// Works now, but needs attention (a token about to expire, a key others may read).
    Warn,
    /// Failed: a backup or a restore would fail on it.
    Fail,
}

impl Status {
    /// `ok`, `note`, `warn`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Note => "note",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One line of `iamsnap doctor`: what was checked, how it came out, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, in a few words: `reachable`, `credentials`, `read okta.groups.read`.
    pub check: String,
    /// How it came out.
    pub status: Status,
    /// What was found, and for a warning or a failure what to do about it.
    pub detail: String,
}

impl Check {
    /// A check with this outcome.
    pub fn new(check: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Check {
            check: check.into(),
            status,
            detail: detail.into(),
        }
    }

    /// A check that passed.
    pub fn ok(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Check::new(check, Status::Ok, detail)
    }

    /// Something not checked, and why.
    pub fn note(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Check::new(check, Status::Note, detail)
    }

    /// Something that works but needs attention.
    pub fn warn(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Check::new(check, Status::Warn, detail)
    }

    /// A check that failed.
    pub fn fail(check: impl Into<String>, detail: impl Into<String>) -> Self {
        Check::new(check, Status::Fail, detail)
    }

    /// The answer of a connector that cannot learn which writes it may make without making
    /// them.
    pub fn cannot_check_writes(provider: &str) -> Self {
        Check::note(
            "restore permissions",
            format!(
                "cannot check without writing: {provider} offers no way to ask which writes these credentials may make; the permissions a restore needs are listed in the documentation of this provider"
            ),
        )
    }
}

/// The checks a backup's first reads answer: whether the provider answered at all
/// (`reachable`), whether it took the credentials (`credentials`), and whether it let them
/// read (`reads`). `reads` says which reads were made, in the provider's words.
pub fn from_healthcheck(result: Result<(), ProviderError>, reads: &str) -> Vec<Check> {
    let not_checked = |check: &str, because: &str| Check::note(check, because.to_string());
    match result {
        Ok(()) => vec![
            Check::ok("reachable", "the provider answered"),
            Check::ok("credentials", "accepted"),
            Check::ok("reads", format!("permitted: {reads}")),
        ],
        Err(e @ ProviderError::Unauthorized { .. }) => vec![
            Check::ok("reachable", "the provider answered"),
            Check::fail("credentials", e.to_string()),
            not_checked("reads", "not checked: the credentials were refused"),
        ],
        Err(e @ ProviderError::Forbidden { .. }) => vec![
            Check::ok("reachable", "the provider answered"),
            Check::ok("credentials", "accepted"),
            Check::fail("reads", e.to_string()),
        ],
        Err(e @ ProviderError::Config(_)) => vec![
            Check::fail("credentials", e.to_string()),
            not_checked("reads", "not checked: fix the configuration first"),
        ],
        Err(
            e @ (ProviderError::Transport { .. }
            | ProviderError::Throttled { .. }
            | ProviderError::Http { .. }),
        ) => vec![
            Check::fail(
                "reachable",
                format!("{e}; check the URL or endpoint, the network path and any proxy"),
            ),
            not_checked("credentials", "not checked: the provider did not answer"),
            not_checked("reads", "not checked: the provider did not answer"),
        ],
        Err(e) => vec![
            Check::ok("reachable", "the provider answered"),
            Check::fail("reads", e.to_string()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses(checks: &[Check]) -> Vec<(&str, Status)> {
        checks
            .iter()
            .map(|c| (c.check.as_str(), c.status))
            .collect()
    }

    #[test]
    fn each_error_class_fails_the_check_it_concerns() {
        assert_eq!(
            statuses(&from_healthcheck(Ok(()), "users, groups")),
            [
                ("reachable", Status::Ok),
                ("credentials", Status::Ok),
                ("reads", Status::Ok)
            ]
        );
        let refused = from_healthcheck(
            Err(ProviderError::Unauthorized {
                url: "u".into(),
                status: 401,
                message: "Invalid token provided".into(),
            }),
            "",
        );
        assert_eq!(refused[1].status, Status::Fail);
        assert!(refused[1].detail.contains("Invalid token provided"));
        let forbidden = from_healthcheck(
            Err(ProviderError::Forbidden {
                url: "u".into(),
                status: 403,
                message: "needs okta.groups.read".into(),
            }),
            "",
        );
        assert_eq!(forbidden[2].status, Status::Fail);
        assert!(forbidden[2].detail.contains("okta.groups.read"));
        let down = from_healthcheck(
            Err(ProviderError::Transport {
                url: "https://x".into(),
                message: "connection refused".into(),
            }),
            "",
        );
        assert_eq!(
            statuses(&down),
            [
                ("reachable", Status::Fail),
                ("credentials", Status::Note),
                ("reads", Status::Note)
            ]
        );
        assert!(down[0].detail.contains("connection refused"));
    }

    #[test]
    fn statuses_order_from_best_to_worst() {
        assert!(Status::Ok < Status::Note && Status::Note < Status::Warn);
        assert!(Status::Warn < Status::Fail);
    }
}
