//! `iamsnap restore SNAP`: print the plan that brings a source back to a snapshot; with
//! `--apply`, run it (journalled, resumable with `--resume`) and verify the result.
//!
//! Exit status: plan only — 0 nothing to do, 1 operations pending; with `--apply` — 0 when
//! everything restorable matches the snapshot afterwards, 1 when operations failed or
//! differences remain; 2 for a refused request (too many deletes, no confirmation). Operations
//! the plan leaves out (what the connector cannot do, what would weaken the identity it runs
//! as) are no failure: they are listed, with what to do by hand.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use iamsnap::Config;
use iamsnap_engine::backup::Seal;
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::html::plan::{PlanHeader, write_outcome, write_plan};
use iamsnap_engine::html::{Side, Signature};
use iamsnap_engine::keys::SigningKey;
use iamsnap_engine::repo::Repository;
use iamsnap_engine::restore::{self, ApplyReport, JournalKeys, Mode, Plan, Request, render};
use iamsnap_provider::{ConnectOptions, Connector};

use crate::commands::Context;
use crate::commands::open::OpenArgs;
use crate::commands::output::{ListArgs, Output, html_needs_out};
use iamsnap::error::UsageError;
use iamsnap_engine::report::Kinds;

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
    // One self-contained page (needs --out); see the note on diff's format.
    Html,
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
    /// Output format of the plan, or with --apply of the outcome (the HTML page is described
    /// in docs/reports.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the plan (with --apply: the outcome) to FILE instead of stdout (required with
    /// --format html). With --apply, the plan is shown on the terminal first.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    list: ListArgs,
    /// Activate restored users that were active (the provider emails them an activation link).
    /// Okta only.
    #[arg(long)]
    activate_users: bool,
    /// Restore conditional access policies in the state they had (enabled, disabled), instead
    /// of report-only. Entra ID only: check the policies' exclusions first, a restored enabled
    /// policy can lock people out.
    #[arg(long)]
    restore_policy_state: bool,
    /// Invite guest users deleted for good again (no mail is sent) instead of leaving them and
    /// what needs them out; each must redeem the invitation again. Entra ID only.
    #[arg(long)]
    invite_guests: bool,
    /// Create custom roles deleted for good, whose id IAM still holds (up to 37 days after
    /// the deletion), again as ID_restored, and grant their members that role instead. Google
    /// Cloud IAM only.
    #[arg(long)]
    rename_deleted_roles: bool,
}

/// Builds the connector for `name` with the restore switches of `args`.
fn connect(config: &Config, name: &str, args: &Args) -> anyhow::Result<Connector> {
    let options = ConnectOptions {
        activate_users: args.activate_users,
        restore_policy_state: args.restore_policy_state,
        invite_guests: args.invite_guests,
        rename_deleted_roles: args.rename_deleted_roles,
        ..ConnectOptions::default()
    };
    Ok(config
        .source(name)?
        .connect(name, &config.base_dir(), &options)?)
}

/// The keys of the journal: an apply writes one (sealed with the recipients and this host's
/// signing key), a resume reads one (opened with the identity, checked with the verify key).
fn journal_keys(ctx: &Context, config: &Config, args: &Args) -> anyhow::Result<JournalKeys> {
    let open = args.open.options(ctx)?;
    if !(args.apply || args.resume) {
        return Ok(JournalKeys { seal: None, open });
    }
    if args.resume && args.open.identity.is_none() {
        return Err(UsageError(
            "--resume reads the interrupted restore's journal, which is encrypted: pass --identity FILE (or set IAMSNAP_IDENTITY)".into(),
        )
        .into());
    }
    Ok(JournalKeys {
        seal: Some(journal_seal(ctx, config)?),
        open,
    })
}

/// What seals the journal of a restore that applies: the recipients and this host's signing
/// key.
pub(crate) fn journal_seal(ctx: &Context, config: &Config) -> anyhow::Result<Seal> {
    let key_path = config.repository().signing_key_file.ok_or_else(|| {
        UsageError(
            "repository.signing_key_file is not set: a restore that applies keeps its journal in the repository, encrypted to repository.recipients and signed; create a key with `iamsnap key signing --out FILE`".into(),
        )
    })?;
    Ok(Seal::new(
        config.repository.recipients.clone(),
        SigningKey::load(&key_path, ctx.global.key_permissions())?,
    )?)
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    html_needs_out(args.format == Format::Html, args.out.as_deref())?;
    let config = ctx.config()?;
    let keys = journal_keys(ctx, config, &args)?;
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
    let snapshot = args.open.open(ctx, &repo, &info.name).await?;
    let report = Report {
        header: PlanHeader {
            snapshot: Side {
                name: info.name.clone(),
                source: info.source.clone(),
                provider: snapshot.reader.manifest().provider.clone(),
                time: info.time,
                signature: match snapshot.signature_checked {
                    true => Signature::Verified,
                    false => Signature::NotChecked,
                },
            },
            target: target.clone(),
            mode: match args.mode {
                ModeArg::Additive => Mode::Additive,
                ModeArg::Authoritative => Mode::Authoritative,
            },
        },
        kinds: Kinds::new(provider.kinds()),
    };
    let request = Request {
        target,
        only: args.only.clone(),
        kinds: args.kinds.clone(),
        mode: report.header.mode,
        max_deletes: args.max_deletes,
        resume: args.resume,
    };
    let prepared = restore::prepare(&repo, snapshot, provider, &request, keys).await?;
    let plan = &prepared.plan;
    if let Some(resumed) = &prepared.resumed {
        eprintln!(
            "resuming {}: {} of {} operations already done",
            resumed.journal.dir,
            resumed.done(),
            plan.operations.len()
        );
        if resumed.journal.legacy {
            eprintln!(
                "note: this journal was written by an older iamsnap, in plain text and unsigned; it was checked against the verified snapshot and the live state, and what this run adds to it is sealed"
            );
        }
        confirm(&args, plan)?;
        return print_report(&args, &report, &prepared.execute(provider).await?);
    }

    // With --apply, the operator sees the plan as text before confirming (JSON prints only
    // the outcome); without, the plan is the report.
    let format = match (args.apply, args.format) {
        (false, format) => Some(format),
        (true, Format::Json) => None,
        (true, _) => Some(Format::Text),
    };
    if let Some(format) = format {
        // The plan goes through the pager only when nothing is asked after it.
        let paged = format == Format::Text && !args.apply && !args.list.no_pager;
        let file = args.out.as_deref().filter(|_| !args.apply);
        let mut out = Output::to(file, paged)?;
        let detail = args.list.detail(false, false);
        let written = match format {
            Format::Text => render::plan_text(plan, &mut out, &detail, &report.kinds),
            Format::Json => render::plan_json(plan, &mut out),
            Format::Html => write_plan(plan, &report.header, &report.kinds, &mut out),
        }
        .map_err(anyhow::Error::from);
        match written {
            Err(e) if !out.quit_early(&e) => return Err(e),
            _ => out.finish()?,
        }
    }
    if !args.apply {
        return Ok(if plan.operations.is_empty() {
            ExitStatus::Ok
        } else {
            ExitStatus::Different
        });
    }
    if plan.operations.is_empty() {
        if args.format != Format::Text || args.out.is_some() {
            print_report(
                &args,
                &report,
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
    confirm(&args, plan)?;
    print_report(&args, &report, &prepared.execute(provider).await?)
}

/// What a report needs to know besides the plan or the outcome.
struct Report {
    header: PlanHeader,
    kinds: Kinds,
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

fn print_report(args: &Args, about: &Report, report: &ApplyReport) -> anyhow::Result<ExitStatus> {
    let mut out = Output::to(args.out.as_deref(), false)?;
    match args.format {
        Format::Text => render::report_text(report, &mut out)?,
        Format::Json => render::report_json(report, &mut out)?,
        Format::Html => write_outcome(report, &about.header, &about.kinds, &mut out)?,
    }
    out.finish()?;
    Ok(if report.is_complete() {
        ExitStatus::Ok
    } else {
        ExitStatus::Different
    })
}
