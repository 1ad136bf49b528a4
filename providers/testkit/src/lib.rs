//! Emulators of identity-provider APIs, built from their public references, for iamsnap's
//! tests, benchmarks and quickstart; and helpers that start real local servers (moto).
//!
//! - [`okta`]: an Okta org (Management API), seeded deterministically, up to hundreds of
//!   thousands of users, with real paging, rate limits and write semantics.
//! - [`entra`]: a Microsoft Entra ID tenant (Microsoft Graph v1.0 and the token endpoint),
//!   seeded deterministically, with `@odata.nextLink` paging, `$batch`, throttling, permissions
//!   and the recycle bin.
//! - [`azure`]: Azure Resource Manager's role-based access control (`Microsoft.Authorization`
//!   and `Microsoft.Resources`) and the token endpoint, seeded deterministically, with
//!   `nextLink` paging, throttling, ARM's error bodies and its replication delay.
//! - [`gcp`]: a Google Cloud organization (the OAuth token endpoint with the JWT bearer
//!   grant, Resource Manager v3: folders, projects and their IAM policies with etags, and IAM
//!   v1 service accounts with undelete).
//! - [`moto`]: moto's S3/IAM server for the AWS connector and the S3 repository;
//!   [`cloudtrail`] CloudTrail's event history (`LookupEvents`) of the changes made through
//!   a front put before it.
//! - [`ldap`]: a real OpenLDAP slapd, or a real Samba Active Directory domain controller, in a
//!   temporary folder, seeded with users, groups and organizational units.
//! - [`faults`]: a fault-injecting HTTP proxy to put between iamsnap and any of these;
//!   [`relay`] a TCP relay (slowed or refusing) for servers that do not speak HTTP.
//! - `conformance` (feature `conformance`): the suite every connector passes, run by each
//!   connector's integration test against these systems.

pub mod azure;
mod budget;
pub mod cloudtrail;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod entra;
pub mod faults;
pub mod gcp;
pub mod ldap;
pub mod moto;
pub mod okta;
pub mod relay;
