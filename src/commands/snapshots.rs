//! `iamsnap snapshots`: list what the repository holds. Needs no private key.

use crate::commands::Context;
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::repo::Repository;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only snapshots of this source.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// One JSON array on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let snapshots = repo.snapshots(args.source.as_deref()).await?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&snapshots)?)?;
        return Ok(ExitStatus::Ok);
    }
    if snapshots.is_empty() {
        outln!("no snapshots in {}", repo.location())?;
        return Ok(ExitStatus::Ok);
    }
    let width = snapshots
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    outln!("{:<width$}  {:<20}  {:>12}", "NAME", "TIME (UTC)", "SIZE")?;
    for s in &snapshots {
        outln!(
            "{:<width$}  {:<20}  {:>12}",
            s.name,
            s.time.format("%Y-%m-%d %H:%M:%S"),
            human_bytes(s.size)
        )?;
    }
    outln!("{} snapshot(s)", snapshots.len())?;
    Ok(ExitStatus::Ok)
}

/// `1234567` → `1.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
