//! Exit statuses, and the trait by which each error type of the engine says which one it means.
//!
//! 0 ok · 1 differences found or partial success · 2 usage or configuration error ·
//! 3 provider or storage failure · 4 integrity failure (signature, corruption, wrong key).
//!
//! This module imports nothing of the engine: every error type implements [`Classify`] beside
//! its own definition, and the command line turns a chain of errors into one status.

/// The exit status an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Everything worked, and nothing differs.
    Ok = 0,
    /// Differences found, or partial success.
    Different = 1,
    /// The request or the configuration is wrong.
    Usage = 2,
    /// A provider or the storage failed.
    Failure = 3,
    /// A signature, checksum or key did not match.
    Integrity = 4,
}

/// Errors that know which exit status they mean.
pub trait Classify {
    /// The status this error means, or `None` when it only wraps a cause that decides.
    fn exit_status(&self) -> Option<ExitStatus>;
}

impl Classify for iamsnap_provider::ProviderError {
    fn exit_status(&self) -> Option<ExitStatus> {
        Some(match self {
            iamsnap_provider::ProviderError::Config(_) => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        })
    }
}
