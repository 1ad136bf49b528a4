//! Errors as the operator sees them: one line on stderr and one exit status.
//!
//! Every error type of the engine and of the registry says which status it means
//! ([`Classify`]); this is the one place that knows them all, walking an error's chain from
//! the outside in until one decides.

use std::error::Error;

use crate::{ConfigError, registry::ConnectError};
use iamsnap_engine::archive::ArchiveError;
use iamsnap_engine::backup::BackupError;
use iamsnap_engine::diff::DiffError;
use iamsnap_engine::diff::sides::SideError;
use iamsnap_engine::drill::DrillError;
use iamsnap_engine::error::{Classify, ExitStatus};
use iamsnap_engine::keys::KeyError;
use iamsnap_engine::live::LiveError;
use iamsnap_engine::open::OpenError;
use iamsnap_engine::repo::RepoError;
use iamsnap_engine::repo::lease::LeaseError;
use iamsnap_engine::restore::{JournalError, Refusal, RestoreError};
use iamsnap_engine::retention::EmptyPolicy;
use iamsnap_provider::{ProviderError, redact};

/// A command used wrongly (a bad snapshot reference, conflicting options): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Classify for UsageError {
    fn exit_status(&self) -> Option<ExitStatus> {
        Some(ExitStatus::Usage)
    }
}

/// The status one error means by itself, if it is of a kind that says.
fn classify(error: &(dyn Error + 'static)) -> Option<ExitStatus> {
    macro_rules! first_of {
        ($($type:ty),* $(,)?) => {
            $(if let Some(e) = error.downcast_ref::<$type>() {
                return e.exit_status();
            })*
        };
    }
    first_of!(
        UsageError,
        ConfigError,
        ConnectError,
        ProviderError,
        ArchiveError,
        KeyError,
        RepoError,
        LeaseError,
        OpenError,
        BackupError,
        LiveError,
        SideError,
        DiffError,
        Refusal,
        JournalError,
        RestoreError,
        DrillError,
        EmptyPolicy,
    );
    None
}

/// The exit status of an error returned by a command: the first error in its chain that
/// knows its class decides; anything else is a provider or storage failure.
pub fn status_of(err: &anyhow::Error) -> ExitStatus {
    err.chain()
        .find_map(classify)
        .unwrap_or(ExitStatus::Failure)
}

/// The error chain on one line: `outer: inner: root`, without repeating a message that the
/// outer one already includes, and without any secret the process knows or anything that looks
/// like a credential ([`redact::scrub`]).
pub fn render(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    redact::scrubbed(parts.join(": "))
}
