//! `iamsnap backup`: read each source and publish one signed, encrypted snapshot per source.
//!
//! Sources are independent: one failing does not stop the others, and the exit status says
//! whether all succeeded (0), some failed (3), or a source's configuration is wrong (2, when
//! nothing worse happened). Nothing is published for a failed source. `--jobs N` backs up N
//! sources at a time, each with its own connector and its own request budget.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use futures::StreamExt;
use iamsnap::Config;
use iamsnap_engine::backup::{self, Seal};
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::keys::SigningKey;
use iamsnap_engine::live::Progress;
use iamsnap_engine::metrics::{self, SourceRun};
use iamsnap_engine::repo::Repository;
use iamsnap_provider::ConnectOptions;

use crate::commands::Context;
use crate::commands::snapshots::human_bytes;
use iamsnap::error::{UsageError, render, status_of};

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
    /// Back up this many sources at a time (each keeps its own request limits).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let names = selected_sources(config, &args)?;
    let repo_config = config.repository();
    let key_path = repo_config.signing_key_file.clone().ok_or_else(|| {
        UsageError(
            "repository.signing_key_file is not set: backups must be signed; create a key with `iamsnap key signing --out FILE`".into(),
        )
    })?;
    let seal = Seal::new(
        config.repository.recipients.clone(),
        SigningKey::load(&key_path, ctx.global.key_permissions())?,
    )?;
    let repo = Repository::open(&repo_config).await?;

    let spinners = indicatif::MultiProgress::new();
    let backups = names.iter().map(|name| {
        let (repo, seal, spinners) = (&repo, &seal, &spinners);
        async move {
            let started = Instant::now();
            let mut run = SourceRun {
                source: name.clone(),
                provider: config
                    .source(name)
                    .map(|s| s.provider_type().to_string())
                    .unwrap_or_default(),
                ..SourceRun::default()
            };
            let result = backup_one(config, repo, name, seal, spinners, &mut run).await;
            run.success = result.is_ok();
            run.duration_seconds = started.elapsed().as_secs_f64();
            run.finished = Utc::now().timestamp();
            (run, result.err())
        }
    });
    let finished: Vec<(SourceRun, Option<anyhow::Error>)> = futures::stream::iter(backups)
        .buffer_unordered(usize::from(args.jobs))
        .collect()
        .await;
    // A source whose configuration is wrong (a missing secret variable) fails as a usage
    // error, one the provider or storage failed as a failure; the run exits with the worst.
    let mut worst = ExitStatus::Ok;
    let mut failed = Vec::new();
    let mut runs = Vec::new();
    for (run, err) in finished {
        if let Some(err) = err {
            worst = worst.max(status_of(&err));
            failed.push(run.source.clone());
        }
        runs.push(run);
    }
    // Listed in the configuration's order, whatever order they finished in.
    runs.sort_by_key(|run| names.iter().position(|n| *n == run.source));
    failed.sort_by_key(|source| names.iter().position(|n| n == source));
    if names.len() > 1 {
        let done = names.len() - failed.len();
        match failed.is_empty() {
            true => outln!("backed up {done} of {} sources", names.len())?,
            false => outln!(
                "backed up {done} of {} sources; failed: {}",
                names.len(),
                failed.join(", ")
            )?,
        }
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

/// One source's backup; a failure is logged and printed here, with the source's name, as soon
/// as it happens.
async fn backup_one(
    config: &Config,
    repo: &Repository,
    name: &str,
    seal: &Seal,
    spinners: &indicatif::MultiProgress,
    run: &mut SourceRun,
) -> anyhow::Result<()> {
    let result = publish_one(config, repo, name, seal, spinners, run).await;
    if let Err(err) = &result {
        tracing::error!(source = %name, error = %render(err), "backup failed");
        eprintln!("{name}: backup failed: {}", render(err));
    }
    result
}

async fn publish_one(
    config: &Config,
    repo: &Repository,
    name: &str,
    seal: &Seal,
    spinners: &indicatif::MultiProgress,
    run: &mut SourceRun,
) -> anyhow::Result<()> {
    let connector =
        config
            .source(name)?
            .connect(name, &config.base_dir(), &ConnectOptions::default())?;
    let progress = Arc::new(Spinner::new(spinners, name));
    let published = backup::run(repo, name, connector.reader(), seal, progress.clone()).await;
    progress.finish();
    let published = published?;
    run.records = published.manifest.counts.clone();
    run.bytes = published.size;
    run.requests = published.manifest.requests;
    outln!(
        "{name}: snapshot {} — {} records, {} (requests {}, throttled {})",
        published.info.name,
        published.manifest.total_records(),
        human_bytes(published.size),
        run.requests.requests,
        run.requests.throttled
    )?;
    Ok(())
}

/// A spinner with the record count, on a terminal only: cron logs stay clean.
struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    fn new(spinners: &indicatif::MultiProgress, source: &str) -> Spinner {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Spinner(None);
        }
        // One line per source running at once, under `--jobs`.
        let bar = spinners.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                .expect("a valid progress template"),
        );
        bar.set_prefix(source.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Spinner(Some(bar))
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Spinner {
    fn records(&self, records: u64) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!("{records} records"));
        }
    }
}
