//! `iamsnap forget`: remove snapshots a keep policy no longer needs.

use chrono::{TimeDelta, Utc};

use crate::commands::Context;
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::repo::Repository;
use iamsnap_engine::retention::{self, KeepPolicy};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only snapshots of this source.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Keep the N newest snapshots.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_last: u32,
    /// Keep the newest snapshot of each of the last N hours that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_hourly: u32,
    /// Keep the newest snapshot of each of the last N days that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_daily: u32,
    /// Keep the newest snapshot of each of the last N ISO weeks that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_weekly: u32,
    /// Keep the newest snapshot of each of the last N months that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_monthly: u32,
    /// Keep the newest snapshot of each of the last N years that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    keep_yearly: u32,
    /// Never remove snapshots younger than this many hours.
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    min_age_hours: u32,
    /// Print what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the plan (and result) as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let snapshots = repo.snapshots(args.source.as_deref()).await?;
    let policy = KeepPolicy {
        last: args.keep_last,
        hourly: args.keep_hourly,
        daily: args.keep_daily,
        weekly: args.keep_weekly,
        monthly: args.keep_monthly,
        yearly: args.keep_yearly,
    };
    let guard = TimeDelta::hours(i64::from(args.min_age_hours));
    let mut plan = retention::plan(&snapshots, &policy, Utc::now(), guard)?;
    retention::check_locks(&repo, &mut plan).await?;

    let deleted = if args.dry_run {
        Vec::new()
    } else {
        retention::apply(&repo, &mut plan).await?
    };
    if args.json {
        let out = serde_json::json!({
            "dry_run": args.dry_run,
            "keep": plan.keep,
            "remove": if args.dry_run { serde_json::to_value(&plan.remove)? } else { serde_json::to_value(&deleted)? },
            "locked": plan.locked,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
    } else {
        for kept in &plan.keep {
            outln!(
                "keep    {}  ({})",
                kept.snapshot.name,
                kept.reasons.join(", ")
            )?;
        }
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let removed = if args.dry_run { &plan.remove } else { &deleted };
        for s in removed {
            outln!("{verb:<7} {}", s.name)?;
        }
        for locked in &plan.locked {
            outln!(
                "locked  {}  (object lock {} until {}; cannot be removed before then)",
                locked.snapshot.name,
                locked.mode,
                locked.until.format("%Y-%m-%d %H:%M:%S UTC")
            )?;
        }
        outln!(
            "{} kept, {} {verb}, {} locked",
            plan.keep.len(),
            removed.len(),
            plan.locked.len()
        )?;
    }
    // A locked snapshot the policy wanted gone is worth an operator's look: partial success.
    Ok(if plan.locked.is_empty() {
        ExitStatus::Ok
    } else {
        ExitStatus::Different
    })
}
