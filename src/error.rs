//! Exit codes, shared by every command.
//!
//! 0 ok · 1 differences found or partial success · 2 usage or configuration error ·
//! 3 provider or storage failure · 4 integrity failure (signature, corruption, wrong key).

/// The exit status an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Ok = 0,
    Different = 1,
    Usage = 2,
    Failure = 3,
    Integrity = 4,
}

/// Errors that know which exit status they mean.
pub trait Classify {
    fn exit_status(&self) -> ExitStatus;
}

impl Classify for crate::config::ConfigError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Usage
    }
}

impl Classify for iamsnap_provider::ProviderError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            iamsnap_provider::ProviderError::Config(_) => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        }
    }
}

impl Classify for crate::sources::ConnectError {
    fn exit_status(&self) -> ExitStatus {
        match self {
            crate::sources::ConnectError::Switch(_) => ExitStatus::Usage,
            crate::sources::ConnectError::Provider(e) => e.exit_status(),
        }
    }
}

/// The exit status of an error returned by a command: the first error in its chain that
/// knows its class decides; anything else is a provider or storage failure.
pub fn status_of(err: &anyhow::Error) -> ExitStatus {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<crate::config::ConfigError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<iamsnap_provider::ProviderError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::archive::ArchiveError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::keys::KeyError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::repo::RepoError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::retention::EmptyPolicy>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::restore::Refusal>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::restore::JournalError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<crate::sources::ConnectError>() {
            return e.exit_status();
        }
        if let Some(e) = cause.downcast_ref::<UsageError>() {
            return e.exit_status();
        }
    }
    ExitStatus::Failure
}

/// The error chain on one line: `outer: inner: root`, without repeating a message that the
/// outer one already includes.
pub fn render(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// A command used wrongly (a bad snapshot reference, conflicting options): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Classify for UsageError {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Usage
    }
}
