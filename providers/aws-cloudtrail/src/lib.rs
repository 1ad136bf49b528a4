//! Who changed what in AWS, for iamsnap's AWS connectors: CloudTrail's event history
//! (`LookupEvents`) read into [`iamsnap_provider::AuditEvent`]s.
//!
//! Each AWS connector builds one [`CloudTrail`] beside its own client, from the same SDK
//! configuration (credentials, assumed role, endpoint), and implements
//! [`iamsnap_provider::AuditLog`] by asking it for the events of its services
//! ([`CloudTrail::events`]) with a function that names, for each call, the records it touched
//! ([`Call`] → [`iamsnap_provider::Target`]s): CloudTrail names IAM objects by name, Identity Center and
//! Organizations objects by id, and only the connector knows how its records are keyed.
//!
//! ```no_run
//! # async fn run(sdk: aws_config::SdkConfig, window: iamsnap_provider::Window) {
//! use iamsnap_aws_cloudtrail::{Call, CloudTrail, GLOBAL_REGION};
//! let trail = CloudTrail::new(&sdk, Some(GLOBAL_REGION));
//! let events = trail
//!     .events(&["iam.amazonaws.com"], window, |call: &Call| Vec::new())
//!     .await;
//! # }
//! ```
//!
//! `LookupEvents` takes one lookup attribute per request, so each event source is read on its
//! own (`EventSource` = `iam.amazonaws.com`, …), paged by `NextToken`, 50 events a page.
//! CloudTrail answers two lookups per second per account and region: requests are spaced by
//! half a second and a `ThrottlingException` is retried with backoff. The event history keeps
//! 90 days ([`RETENTION_DAYS`]); events of global services (IAM, Organizations) are kept in
//! `us-east-1` ([`GLOBAL_REGION`]).

mod event;
mod lookup;

pub use event::{Call, destructive};
pub use lookup::CloudTrail;

/// The permission reading the event history needs.
pub const PERMISSION: &str = "cloudtrail:LookupEvents";

/// How many days CloudTrail's event history keeps.
pub const RETENTION_DAYS: i64 = 90;

/// The region whose event history holds the events of IAM and Organizations, which are
/// global services.
pub const GLOBAL_REGION: &str = "us-east-1";

/// How long CloudTrail's event history keeps events, for [`iamsnap_provider::AuditLog::retention`].
pub fn retention() -> Option<chrono::Duration> {
    chrono::Duration::try_days(RETENTION_DAYS)
}
