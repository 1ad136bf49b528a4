//! `iamsnap drill SNAP --target SANDBOX`: restore a snapshot into a sandbox source of the same
//! provider (as `restore --target SANDBOX --apply --yes` would), verify it, compare the
//! snapshot with the sandbox again and report the restore time and the fidelity.
//!
//! Exit status: 0 when every restorable fact came back, 1 when some did not (the report names
//! them), 2 for a bad request, 3 when the provider or the storage failed.

use std::path::PathBuf;

use anyhow::Context as _;
use iamsnap_engine::drill::{self, DrillRequest};
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::html;
use iamsnap_engine::repo::Repository;
use iamsnap_engine::restore::JournalKeys;
use iamsnap_provider::ConnectOptions;

use crate::commands::Context;
use crate::commands::open::OpenArgs;
use crate::commands::output::{Output, html_needs_out};
use crate::commands::restore::journal_seal;
use iamsnap::error::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The snapshot to drill: SOURCE@latest, SOURCE@latest~N, SOURCE@YYYY-MM-DD or a name.
    snap: String,
    #[command(flatten)]
    open: OpenArgs,
    /// The sandbox restored into: a configured source of the same provider, never the
    /// snapshot's own. What it holds beyond the snapshot is left alone.
    #[arg(long, value_name = "SOURCE")]
    target: String,
    /// Drill only these kinds (full, e.g. okta.user, or short, e.g. user).
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    kinds: Vec<String>,
    /// How the report is printed.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to FILE instead of stdout (required with --format html).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write Prometheus metrics of the drill to FILE (replaced atomically).
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    html_needs_out(args.format == Format::Html, args.out.as_deref())?;
    let config = ctx.config()?;
    let keys = JournalKeys {
        seal: Some(journal_seal(ctx, config)?),
        open: args.open.options(ctx)?,
    };
    let connector = config.source(&args.target)?.connect(
        &args.target,
        &config.base_dir(),
        &ConnectOptions::default(),
    )?;
    let provider = connector.writer().ok_or_else(|| {
        UsageError(format!(
            "{} is a {} source, and that connector cannot restore yet",
            args.target,
            connector.reader().provider_type()
        ))
    })?;
    let repo = Repository::open(&config.repository()).await?;
    let request = DrillRequest {
        snapshot: args.snap.clone(),
        target: args.target.clone(),
        kinds: args.kinds.clone(),
    };
    let report = match drill::run(&repo, provider, &request, keys).await {
        Ok(report) => report,
        Err(err) => {
            // A drill that could not run is a failed drill to whoever watches the metrics.
            if let Some(path) = &args.metrics_file {
                let failed = drill::DrillReport {
                    source: source_of(&args.snap).to_string(),
                    target: args.target.clone(),
                    provider: provider.provider_type().to_string(),
                    started: chrono::Utc::now(),
                    error: Some(err.to_string()),
                    ..drill::DrillReport::default()
                };
                drill::metrics::write(path, &failed)
                    .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
            }
            return Err(err.into());
        }
    };
    let mut out = Output::to(args.out.as_deref(), false)?;
    match args.format {
        Format::Text => drill::render::text(&report, &mut out)?,
        Format::Json => drill::render::json(&report, &mut out)?,
        Format::Html => html::drill::write(&report, &mut out)?,
    }
    out.finish()?;
    if let Some(path) = &args.metrics_file {
        drill::metrics::write(path, &report)
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    Ok(if report.passed() {
        ExitStatus::Ok
    } else {
        ExitStatus::Different
    })
}

/// The source a snapshot reference names: `okta-prod` of `okta-prod@latest` or
/// `okta-prod/20261127T020000Z-1a2b3c4d`.
fn source_of(reference: &str) -> &str {
    reference.split(['@', '/']).next().unwrap_or(reference)
}

/// How the drill report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    // One self-contained page (needs --out); a doc comment here would turn the whole help
    // into its long form.
    Html,
}
