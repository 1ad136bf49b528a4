//! `iamsnap restore SNAP`: print the plan that brings a source back to a snapshot; with
//! `--apply`, run it (journalled, resumable with `--resume`) and verify the result.
//!
//! Exit status: plan only — 0 nothing to do, 1 operations pending; with `--apply` — 0 when
//! everything restorable matches the snapshot afterwards, 1 when operations failed or
//! differences remain; 2 for a refused request (too many deletes, no confirmation).

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;
use iamsnap_provider::{ConnectOptions, Connector, WriteProvider};

use crate::commands::Context;
use crate::commands::diff::{Opened, ReadError};
use crate::commands::open::{self, OpenArgs};
use crate::config::Config;
use crate::diff::{JoinOptions, live::read_live};
use crate::error::{ExitStatus, UsageError};
use crate::repo::Repository;
use crate::restore::{
    ApplyOptions, ApplyReport, Journal, Mode, Plan, PlanOptions, Refusal, Selector, plan, render,
    resolve_kind,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Create and update only; never delete.
    Additive,
    /// Also delete what the snapshot lacks (see --max-deletes).
    Authoritative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// SOURCE@latest, SOURCE@latest~N, SOURCE@YYYY-MM-DD or a snapshot name.
    snap: String,
    #[command(flatten)]
    open: OpenArgs,
    /// Restore only this object and what belongs with it (its memberships, assignments and
    /// the objects they need), e.g. group:Engineering. Repeatable.
    #[arg(long, value_name = "KIND:KEY")]
    only: Vec<String>,
    /// Restore only these kinds (full, e.g. okta.user, or short, e.g. user).
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    kinds: Vec<String>,
    #[arg(long, value_enum, default_value_t = ModeArg::Additive)]
    mode: ModeArg,
    /// Most objects an authoritative restore may delete.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_deletes: u64,
    /// Restore into this configured source (same provider type) instead of the snapshot's own.
    #[arg(long, value_name = "SOURCE")]
    target: Option<String>,
    /// Run the plan (asks for confirmation unless --yes).
    #[arg(long)]
    apply: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// Continue the latest unfinished restore of this snapshot into the target.
    #[arg(long)]
    resume: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Activate restored users that were active (the provider emails them an activation link).
    /// Okta only.
    #[arg(long)]
    activate_users: bool,
    /// Restore conditional access policies in the state they had (enabled, disabled), instead
    /// of report-only. Entra ID only: check the policies' exclusions first, a restored enabled
    /// policy can lock people out.
    #[arg(long)]
    restore_policy_state: bool,
}

/// Builds the connector for `name` with the restore switches of `args`.
fn connect(config: &Config, name: &str, args: &Args) -> anyhow::Result<Connector> {
    let options = ConnectOptions {
        activate_users: args.activate_users,
        restore_policy_state: args.restore_policy_state,
        ..ConnectOptions::default()
    };
    Ok(config
        .source(name)?
        .connect(name, &config.base_dir(), &options)?)
}

fn plan_options(args: &Args, provider: &dyn WriteProvider) -> anyhow::Result<PlanOptions> {
    let kinds = provider.kinds();
    let only = args
        .only
        .iter()
        .map(|s| Selector::parse(s, kinds))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = if args.kinds.is_empty() {
        None
    } else {
        Some(
            args.kinds
                .iter()
                .map(|k| resolve_kind(k.trim(), kinds))
                .collect::<Result<BTreeSet<_>, _>>()?,
        )
    };
    Ok(PlanOptions {
        mode: match args.mode {
            ModeArg::Additive => Mode::Additive,
            ModeArg::Authoritative => Mode::Authoritative,
        },
        max_deletes: args.max_deletes,
        only,
        kinds: filter,
        self_identity: None,
        join: JoinOptions::default(),
    })
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let info = repo.resolve(&args.snap).await?;
    let target = args.target.clone().unwrap_or_else(|| info.source.clone());
    let connector = connect(config, &target, &args)?;
    let provider = connector.writer().ok_or_else(|| {
        UsageError(format!(
            "{target} is a {} source, and that connector cannot restore yet",
            connector.reader().provider_type()
        ))
    })?;

    let (info, mut reader, _file) = open::open_snapshot(ctx, &repo, &info.name, &args.open).await?;
    let snapshot_type = reader.manifest().provider.clone();
    if snapshot_type != provider.provider_type() {
        return Err(Refusal::TargetType {
            target,
            target_type: provider.provider_type().to_string(),
            source_type: snapshot_type,
        }
        .into());
    }
    let mut options = plan_options(&args, provider)?;
    if options.mode == Mode::Authoritative {
        options.self_identity = provider
            .self_identity()
            .await
            .with_context(|| format!("asking {target} which identity iamsnap runs as"))?;
    }
    let before = provider.stats().requests;
    let live = read_live(&target, provider, &options.join).await?;
    let apply_options = ApplyOptions {
        concurrency: provider.concurrency(),
        // Verifying through one more whole read costs what this read did.
        read_all_above: (provider.stats().requests - before) as usize,
    };
    let mut live = Opened::Live {
        source: target.clone(),
        records: live,
    };
    let snapshot = reader
        .records()
        .with_context(|| format!("snapshot {}", info.name))?
        .map(|r| r.map_err(ReadError::Archive));
    if args.resume {
        let Some((journal, plan)) = Journal::latest_unfinished(&repo, &target, &info.name).await?
        else {
            return Err(Refusal::NothingToResume {
                target,
                snapshot: info.name,
            }
            .into());
        };
        tokio::task::block_in_place(|| {
            crate::restore::resume::check(&plan, snapshot, live.records()?, &options)
                .map_err(anyhow::Error::from)
        })?;
        let states = journal.states().await?;
        let ended = states.values().filter(|s| s.end.is_some()).count();
        eprintln!(
            "resuming {}: {ended} of {} operations already ended",
            journal.dir,
            plan.operations.len()
        );
        confirm(&args, &plan)?;
        let report =
            crate::restore::apply(&plan, provider, &journal, &states, &apply_options).await?;
        return print_report(&args, &report);
    }
    let mut plan = tokio::task::block_in_place(|| {
        plan(snapshot, live.records()?, provider, &options).map_err(anyhow::Error::from)
    })?;
    plan.snapshot = info.name.clone();
    plan.target = target.clone();

    if !args.apply || args.format == Format::Text {
        let mut out = std::io::stdout().lock();
        match args.format {
            Format::Text => render::plan_text(&plan, &mut out)?,
            Format::Json => render::plan_json(&plan, &mut out)?,
        }
        out.flush()?;
    }
    if !args.apply {
        return Ok(if plan.operations.is_empty() {
            ExitStatus::Ok
        } else {
            ExitStatus::Different
        });
    }
    if plan.operations.is_empty() {
        if args.format == Format::Json {
            print_report(
                &args,
                &ApplyReport {
                    skipped: plan.skipped.len(),
                    skipped_operations: plan.skipped.clone(),
                    cannot_restore: plan.cannot_restore.clone(),
                    ..ApplyReport::default()
                },
            )?;
        }
        return Ok(ExitStatus::Ok);
    }
    confirm(&args, &plan)?;
    let journal = Journal::create(&repo, &plan).await?;
    let states = Default::default();
    let report = crate::restore::apply(&plan, provider, &journal, &states, &apply_options).await?;
    print_report(&args, &report)
}

/// Asks before changing anything, unless `--yes`; refuses when nobody can be asked.
fn confirm(args: &Args, plan: &Plan) -> anyhow::Result<()> {
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(UsageError(
            "refusing to apply without confirmation: not running in a terminal; review the plan, then pass --yes".into(),
        )
        .into());
    }
    eprint!(
        "Apply {} operations to {}? Type yes to continue: ",
        plan.operations.len(),
        plan.target
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case("yes") || answer.trim().eq_ignore_ascii_case("y") {
        Ok(())
    } else {
        Err(UsageError("not confirmed; nothing was changed".into()).into())
    }
}

fn print_report(args: &Args, report: &ApplyReport) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => render::report_text(report, &mut out)?,
        Format::Json => render::report_json(report, &mut out)?,
    }
    out.flush()?;
    Ok(if report.is_complete() {
        ExitStatus::Ok
    } else {
        ExitStatus::Different
    })
}
