//! Reading a provider now, as a sorted record stream like an archive's.

use iamsnap_provider::{ProviderError, ReadProvider, Record};

use crate::archive::spool::{SortedRecords, Spool};
use crate::diff::JoinOptions;

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
    let mut spool =
        Spool::new(options.spool_dir.as_deref(), options.spool_budget).map_err(spool_error)?;
    each_record(provider, |record| spool.push(&record))
        .await
        // The spool's error is the cause worth showing over the provider's cancellation.
        .map_err(spool_error)?
        .map_err(|source| LiveError::Provider {
            source_name: source_name.to_string(),
            source,
        })?;
    spool.finish().map_err(spool_error)
}

/// Reads every record of `provider`, handing each to `take` as it arrives. An error of `take`
/// stops the read and is returned first (outer `Err`); otherwise the provider's own result.
pub async fn each_record<E>(
    provider: &dyn ReadProvider,
    mut take: impl FnMut(Record) -> Result<(), E>,
) -> Result<Result<(), ProviderError>, E> {
    let (sink, mut records) = tokio::sync::mpsc::channel::<Record>(1024);
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
