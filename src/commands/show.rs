//! `iamsnap show`: a snapshot's manifest (with an identity) or its listing entry.

use crate::commands::Context;
use crate::commands::open::OpenArgs;
use crate::commands::snapshots::human_bytes;
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::repo::Repository;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// SOURCE@latest, SOURCE@latest~N, SOURCE@YYYY-MM-DD or a snapshot name.
    snap: String,
    #[command(flatten)]
    open: OpenArgs,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let snapshot = args.open.open(ctx, &repo, &args.snap).await?;
    let (info, manifest) = (&snapshot.info, snapshot.reader.manifest());
    if args.json {
        let out = serde_json::json!({ "snapshot": info, "manifest": manifest });
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(ExitStatus::Ok);
    }
    outln!("snapshot   {}", info.name)?;
    outln!("source     {} ({})", manifest.source, manifest.provider)?;
    outln!(
        "taken      {} → {} ({:.1}s)",
        manifest.started.format("%Y-%m-%d %H:%M:%S UTC"),
        manifest.finished.format("%H:%M:%S UTC"),
        (manifest.finished - manifest.started).as_seconds_f64()
    )?;
    outln!("size       {} encrypted", human_bytes(info.size))?;
    outln!(
        "tool       iamsnap {} (format {})",
        manifest.tool_version,
        manifest.format_version
    )?;
    outln!(
        "requests   {} (throttled {}, retried {})",
        manifest.requests.requests,
        manifest.requests.throttled,
        manifest.requests.retries
    )?;
    outln!("records    {}", manifest.total_records())?;
    let width = manifest.counts.keys().map(|k| k.len()).max().unwrap_or(0);
    for (kind, count) in &manifest.counts {
        outln!("  {kind:<width$}  {count:>9}")?;
    }
    Ok(ExitStatus::Ok)
}
