//! `fetch`: one object by kind and natural key, to verify a restore.
//!
//! Most records need names from elsewhere in the organization (an attachment names its OU by
//! path), so a fetch reads the organization with the calls of a snapshot and keeps its records
//! for further fetches: verifying many objects after a restore reads the organization once,
//! not once per object.

use std::time::{Duration, Instant};

use iamsnap_provider::{ProviderError, Record};

use crate::client::Client;
use crate::kinds;
use crate::records;

/// How long a read is reused.
const TTL: Duration = Duration::from_secs(60);

/// The records of the last read, with when it was made. Cleared by every `apply`, which may
/// have changed them.
#[derive(Debug, Default)]
pub(crate) struct FetchCache {
    read: tokio::sync::Mutex<Option<(Instant, Vec<Record>)>>,
}

impl FetchCache {
    /// The record of `kind` with key `key`, from a read made at most [`TTL`] ago.
    pub async fn fetch(
        &self,
        client: &Client,
        concurrency: usize,
        kind: &str,
        key: &str,
    ) -> Result<Option<Record>, ProviderError> {
        if !kinds::KINDS.iter().any(|k| k.name == kind) {
            return Err(ProviderError::Unsupported {
                kind: kind.to_string(),
                key: key.to_string(),
                action: "fetch".into(),
                reason: "not a kind of the aws-organizations connector".into(),
            });
        }
        // Held across the read: concurrent fetches wait for one read.
        let mut read = self.read.lock().await;
        if read.as_ref().is_none_or(|(at, _)| at.elapsed() >= TTL) {
            let org = super::read(client, concurrency).await?;
            *read = Some((Instant::now(), records::all(&org)));
        }
        Ok(read
            .as_ref()
            .and_then(|(_, records)| records.iter().find(|r| r.kind == kind && r.key == key))
            .cloned())
    }

    pub async fn clear(&self) {
        *self.read.lock().await = None;
    }
}
