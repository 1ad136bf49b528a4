//! Reading a provider now: the one path from a connector's record stream to records sorted on
//! disk, used by `backup`, the live side of `diff` and `restore`, and the verification after a
//! restore.

use std::path::Path;
use std::sync::Arc;

use iamsnap_provider::{ProviderError, ReadProvider, Record};

use crate::archive::spool::{SortedRecords, Spool};
use crate::diff::JoinOptions;
use crate::error::{Classify, ExitStatus};

/// Channel depth between a connector and the spool: enough to keep both busy, small enough
/// that memory does not follow the tenant's size.
const CHANNEL_DEPTH: usize = 1024;

/// Why the live state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("reading live source {source_name}")]
    Provider {
        source_name: String,
        #[source]
        source: ProviderError,
    },
    #[error(
        "sorting the records of live source {source_name}: {source}; check free space in the temp dir (TMPDIR)"
    )]
    Spool {
        source_name: String,
        source: std::io::Error,
    },
}

impl Classify for LiveError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            LiveError::Provider { source, .. } => source.exit_status(),
            LiveError::Spool { .. } => Some(ExitStatus::Failure),
        }
    }
}

/// Told how many records a read has spooled so far (a progress bar, or nothing).
pub trait Progress: Send + Sync {
    /// `records` have arrived.
    fn records(&self, records: u64);
}

/// No progress shown.
impl Progress for () {
    fn records(&self, _: u64) {}
}

/// What stopped a read into a spool.
#[derive(Debug)]
pub enum SpoolFailure {
    /// The provider failed.
    Provider(ProviderError),
    /// The spool's temporary files failed.
    Spool(std::io::Error),
}

/// Reads every record of `provider` into a new spool, on the blocking pool, telling
/// `progress` as records arrive. A failed spool stops the read.
pub async fn spool(
    provider: &dyn ReadProvider,
    dir: Option<&Path>,
    budget: usize,
    progress: Arc<dyn Progress>,
) -> Result<Spool, SpoolFailure> {
    let mut spool = Spool::new(dir, budget).map_err(SpoolFailure::Spool)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(CHANNEL_DEPTH);
    let spooler = tokio::task::spawn_blocking(move || -> std::io::Result<Spool> {
        while let Some(record) = rx.blocking_recv() {
            spool.push(&record)?;
            if spool.len() % 256 == 0 {
                progress.records(spool.len());
            }
        }
        Ok(spool)
    });
    let read = provider.snapshot(tx).await;
    let spooled = spooler
        .await
        .map_err(|e| SpoolFailure::Spool(std::io::Error::other(e)))?;
    // The spool's error is the cause worth showing over the provider's cancellation.
    let spool = spooled.map_err(SpoolFailure::Spool)?;
    read.map_err(SpoolFailure::Provider)?;
    Ok(spool)
}

/// Reads every record of `provider` and gives them back sorted by (kind, id), spilling to
/// disk beyond the spool budget.
pub async fn read_live(
    source_name: &str,
    provider: &dyn ReadProvider,
    options: &JoinOptions,
) -> Result<SortedRecords, LiveError> {
    let spool_error = |source| LiveError::Spool {
        source_name: source_name.to_string(),
        source,
    };
    let spooled = spool(
        provider,
        options.spool_dir.as_deref(),
        options.spool_budget,
        Arc::new(()),
    )
    .await;
    let spool = spooled.map_err(|failure| match failure {
        SpoolFailure::Spool(e) => spool_error(e),
        SpoolFailure::Provider(source) => LiveError::Provider {
            source_name: source_name.to_string(),
            source,
        },
    })?;
    tokio::task::block_in_place(|| spool.finish()).map_err(spool_error)
}

/// Reads every record of `provider`, handing each to `take` as it arrives. An error of `take`
/// stops the read and is returned first (outer `Err`); otherwise the provider's own result.
pub async fn each_record<E>(
    provider: &dyn ReadProvider,
    mut take: impl FnMut(Record) -> Result<(), E>,
) -> Result<Result<(), ProviderError>, E> {
    let (sink, mut records) = tokio::sync::mpsc::channel::<Record>(CHANNEL_DEPTH);
    let read = provider.snapshot(sink);
    // Owning the receiver, the collector closes the channel when it fails, so the provider
    // stops (with a cancellation) instead of waiting on a full channel.
    let collect = async move {
        while let Some(record) = records.recv().await {
            take(record)?;
        }
        Ok(())
    };
    let (read, collected) = futures::join!(read, collect);
    collected?;
    Ok(read)
}
