//! `iamsnap backup`: read each source and publish one signed, encrypted snapshot per source.
//!
//! Sources are independent: one failing does not stop the others, and the exit status says
//! whether all succeeded (0), some failed (3), or a source's configuration is wrong (2, when
//! nothing worse happened). Nothing is published for a failed source.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use iamsnap_provider::ConnectOptions;
use iamsnap_provider::Record;

use crate::archive::{self, ManifestHeader, Spool};
use crate::commands::Context;
use crate::commands::snapshots::human_bytes;
use crate::config::Config;
use crate::error::{ExitStatus, UsageError};
use crate::keys::{self, SigningKey};
use crate::metrics::{self, SourceRun};
use crate::repo::Repository;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Back up this source (repeatable).
    #[arg(long = "source", value_name = "NAME", conflicts_with = "all")]
    sources: Vec<String>,
    /// Back up every configured source.
    #[arg(long)]
    all: bool,
    /// Write Prometheus metrics of the run to FILE (replaced atomically).
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
}

/// Channel depth between a connector and the spool: enough to keep both busy, small enough
/// that memory does not follow the tenant's size.
const CHANNEL_DEPTH: usize = 1024;

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let names = selected_sources(config, &args)?;
    // Checked up front so a bad key fails the run before any provider is read.
    keys::parse_recipients(&config.repository.recipients)?;
    let recipients = Arc::new(config.repository.recipients.clone());
    let repo_config = config.repository();
    let key_path = repo_config.signing_key_file.clone().ok_or_else(|| {
        UsageError(
            "repository.signing_key_file is not set: backups must be signed; create a key with `iamsnap key signing --out FILE`".into(),
        )
    })?;
    let signing_key = Arc::new(SigningKey::load(&key_path)?);
    let repo = Repository::open(&repo_config).await?;

    let mut runs = Vec::new();
    // A source whose configuration is wrong (a missing secret variable) fails as a usage
    // error, one the provider or storage failed as a failure; the run exits with the worst.
    let mut worst = ExitStatus::Ok;
    for name in &names {
        let started = Instant::now();
        let source = config.source(name)?;
        let mut run = SourceRun {
            source: name.clone(),
            provider: source.provider_type().to_string(),
            ..SourceRun::default()
        };
        match backup_one(config, &repo, name, &recipients, &signing_key, &mut run).await {
            Ok(()) => run.success = true,
            Err(err) => {
                let status = crate::error::status_of(&err);
                if status as u8 > worst as u8 {
                    worst = status;
                }
                tracing::error!(source = %name, error = %crate::error::render(&err), "backup failed");
                eprintln!("{name}: backup failed: {}", crate::error::render(&err));
            }
        }
        run.duration_seconds = started.elapsed().as_secs_f64();
        run.finished = Utc::now().timestamp();
        runs.push(run);
    }
    if let Some(path) = &args.metrics_file {
        metrics::write(path, &runs)
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    Ok(worst)
}

fn selected_sources(config: &Config, args: &Args) -> anyhow::Result<Vec<String>> {
    if args.all {
        if config.sources.is_empty() {
            return Err(UsageError(format!(
                "{} configures no source: add a [sources.NAME] table",
                config.path.display()
            ))
            .into());
        }
        return Ok(config.sources.keys().cloned().collect());
    }
    if args.sources.is_empty() {
        return Err(UsageError(
            "name the sources to back up with --source NAME, or pass --all".into(),
        )
        .into());
    }
    for name in &args.sources {
        config.source(name)?;
    }
    Ok(args.sources.clone())
}

async fn backup_one(
    config: &Config,
    repo: &Repository,
    name: &str,
    recipients: &Arc<Vec<String>>,
    signing_key: &Arc<SigningKey>,
    run: &mut SourceRun,
) -> anyhow::Result<()> {
    let source = config.source(name)?;
    let connector = source.connect(name, &config.base_dir(), &ConnectOptions::default())?;
    let provider = connector.reader();
    let started = Utc::now();
    tracing::info!(source = %name, provider = provider.provider_type(), "backup started");

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(CHANNEL_DEPTH);
    let progress = Progress::new(name);
    let spool_progress = progress.clone();
    let spooler = tokio::task::spawn_blocking(move || -> std::io::Result<Spool> {
        let mut spool = Spool::new(None, archive::spool::DEFAULT_BUDGET)?;
        while let Some(record) = rx.blocking_recv() {
            spool.push(&record)?;
            spool_progress.tick(spool.len());
        }
        Ok(spool)
    });
    let read = provider.snapshot(tx).await;
    let spool = spooler.await.context("the spool task failed")?;
    read.with_context(|| {
        format!(
            "source {name}: reading {} failed; nothing was published",
            provider.provider_type()
        )
    })?;
    let spool = spool.context("cannot spool records to a temporary file")?;
    progress.finish();

    let header = ManifestHeader {
        source: name.to_string(),
        provider: provider.provider_type().to_string(),
        started,
        finished: Utc::now(),
        requests: provider.stats(),
    };
    let recipients = Arc::clone(recipients);
    let signing_key = Arc::clone(signing_key);
    let built = tokio::task::spawn_blocking(move || {
        let recipients = keys::parse_recipients(&recipients)?;
        let sorted = spool.finish()?;
        archive::build(header, sorted, &recipients, &signing_key, None).map_err(anyhow::Error::from)
    })
    .await
    .context("the archive task failed")??;
    let info = repo.publish_built(&built).await?;

    run.records = built.manifest.counts.clone();
    run.bytes = built.size;
    run.requests = built.manifest.requests;
    println!(
        "{name}: snapshot {} — {} records, {} (requests {}, throttled {})",
        info.name,
        built.manifest.total_records(),
        human_bytes(built.size),
        run.requests.requests,
        run.requests.throttled
    );
    tracing::info!(source = %name, snapshot = %info.name, records = built.manifest.total_records(), bytes = built.size, "backup published");
    Ok(())
}

/// A spinner with the record count, on a terminal only: cron logs stay clean.
#[derive(Clone)]
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(source: &str) -> Progress {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                .expect("a valid progress template"),
        );
        bar.set_prefix(source.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(Some(bar))
    }

    fn tick(&self, records: u64) {
        if let Some(bar) = &self.0
            && records.is_multiple_of(256)
        {
            bar.set_message(format!("{records} records"));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
