//! `iamsnap diff A B`: compare two snapshots, or a snapshot and the live provider.
//!
//! Each side is a snapshot reference (`SOURCE@latest`, `SOURCE@latest~N`,
//! `SOURCE@YYYY-MM-DD`, a snapshot name) or `live:SOURCE`; plain `live` means the live state
//! of the other side's source. Exit status like diff(1): 0 same, 1 different. With `--who`,
//! each change names the audit events that touched it between the two sides' times.

use std::io::IsTerminal;
use std::path::PathBuf;

use iamsnap::registry;

use iamsnap_engine::diff::sides::{self, Opened, SideRef};
use iamsnap_engine::diff::who::{self, AuditSummary, Who};
use iamsnap_engine::diff::{Diff, DiffOptions, JoinOptions, diff, render};
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::html::{self, Side, Signature, diff::DiffHeader};
use iamsnap_engine::live::read_live;
use iamsnap_engine::repo::Repository;
use iamsnap_engine::report::Kinds;
use iamsnap_provider::{ConnectOptions, Window};

use crate::commands::Context;
use crate::commands::open::OpenArgs;
use crate::commands::output::{ListArgs, Output, html_needs_out};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    // One self-contained page (needs --out); a doc comment here would turn the whole help
    // into its long form.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old side: a snapshot (SOURCE@latest, SOURCE@latest~N, SOURCE@YYYY-MM-DD, a name)
    /// or live:SOURCE.
    a: String,
    /// The new side, in the same forms; `live` alone is the live state of A's source.
    b: String,
    #[command(flatten)]
    open: OpenArgs,
    /// Output format (the JSON schema is in docs/diff-json.md, the HTML page in
    /// docs/reports.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to FILE instead of stdout (required with --format html).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also list the objects whose only difference is their ids (re-created objects, and
    /// relationships naming them).
    #[arg(long)]
    show_ids: bool,
    /// Exit 1 when objects were re-created under new ids, even if nothing else differs.
    #[arg(long)]
    exit_code_ids: bool,
    /// Name who made each change: the source's audit log between the two sides' times
    /// (Okta System Log, Entra directory audits, LDAP's last change of each entry), with actor,
    /// time, operation and client IP.
    #[arg(long)]
    who: bool,
    #[command(flatten)]
    list: ListArgs,
}

/// Opens one side: a verified snapshot, or the live state read through the registry.
async fn open(
    ctx: &Context,
    repo: &Repository,
    side: SideRef,
    args: &OpenArgs,
) -> anyhow::Result<Opened> {
    Ok(match side {
        SideRef::Snapshot(reference) => {
            Opened::Snapshot(Box::new(args.open(ctx, repo, &reference).await?))
        }
        SideRef::Live(source) => {
            let config = ctx.config()?;
            let connector = config.source(&source)?.connect(
                &source,
                &config.base_dir(),
                &ConnectOptions::default(),
            )?;
            let records = read_live(&source, connector.reader(), &JoinOptions::default()).await?;
            Opened::Live {
                source,
                records,
                kinds_read: connector.reader().kinds_read(),
            }
        }
    })
}

/// A side as the HTML report's header names it.
fn side(ctx: &Context, opened: &Opened) -> anyhow::Result<Side> {
    Ok(match opened {
        Opened::Snapshot(s) => Side {
            name: s.info.name.clone(),
            source: s.info.source.clone(),
            provider: s.reader.manifest().provider.clone(),
            time: s.info.time,
            signature: match s.signature_checked {
                true => Signature::Verified,
                false => Signature::NotChecked,
            },
        },
        Opened::Live { source, .. } => Side {
            name: opened.label(),
            source: source.clone(),
            provider: provider_type(ctx, opened)?,
            time: chrono::Utc::now(),
            signature: Signature::Live,
        },
    })
}

/// The provider type of a side: from the snapshot's manifest, or the configured source.
fn provider_type(ctx: &Context, side: &Opened) -> anyhow::Result<String> {
    Ok(match side {
        Opened::Snapshot(s) => s.reader.manifest().provider.clone(),
        Opened::Live { source, .. } => ctx.config()?.source(source)?.provider_type().to_string(),
    })
}

/// Gives the changes of `result` the audit events of the source between the two sides' times.
async fn who(ctx: &Context, old: &Opened, new: &Opened, result: Diff) -> anyhow::Result<Diff> {
    let time = |side: &Opened| match side {
        Opened::Snapshot(s) => s.info.time,
        Opened::Live { .. } => chrono::Utc::now(),
    };
    let source = match (old, new) {
        (_, Opened::Live { source, .. }) | (Opened::Live { source, .. }, _) => source.clone(),
        (Opened::Snapshot(s), _) => s.info.source.clone(),
    };
    let (a, b) = (time(old), time(new));
    let window = Window {
        since: a.min(b),
        until: a.max(b),
    };
    let config = ctx.config()?;
    let unread = |note: String| {
        let audit = AuditSummary {
            source: source.clone(),
            since: window.since,
            until: window.until,
            events: 0,
            note: Some(note),
        };
        (Who::default(), audit)
    };
    let connected = config.source(&source).map(|configured| {
        configured.connect(&source, &config.base_dir(), &ConnectOptions::default())
    });
    let (who, audit) = match connected {
        Ok(Ok(connector)) => {
            let targets = result.target_ids();
            who::read(&source, connector.reader().audit_log(), window, &targets).await
        }
        // The diff itself needs no connection: say why the authors are missing, go on.
        Ok(Err(e)) => unread(format!(
            "{source}: its audit log could not be reached ({e}); changes are shown without who made them"
        )),
        Err(_) => unread(format!(
            "{source} is not a configured source: its audit log, where who made each change is read, cannot be reached"
        )),
    };
    Ok(result.annotate(who, audit))
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    html_needs_out(args.format == Format::Html, args.out.as_deref())?;
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let (a, b) = sides::resolve(&repo, &args.a, &args.b).await?;
    let mut old = open(ctx, &repo, a, &args.open).await?;
    let mut new = open(ctx, &repo, b, &args.open).await?;
    let kinds = registry::kinds(&provider_type(ctx, &old)?);
    let header = DiffHeader {
        old: side(ctx, &old)?,
        new: side(ctx, &new)?,
    };
    let unread = sides::not_read_by_both(kinds, &old, &new);
    if !unread.is_empty() {
        let unread: Vec<&str> = unread.iter().map(String::as_str).collect();
        eprintln!(
            "note: not compared, as one side did not read them (exclude_kinds): {}",
            unread.join(", ")
        );
    }
    let options = DiffOptions {
        old_label: old.label(),
        new_label: new.label(),
        join: JoinOptions::default(),
        keep_ids: args.who,
        not_compared: unread.iter().cloned().collect(),
    };
    let mut result = tokio::task::block_in_place(|| {
        diff(
            old.records_read(&unread)?,
            new.records_read(&unread)?,
            &options,
        )
        .map_err(anyhow::Error::from)
    })?;
    if args.who {
        result = who(ctx, &old, &new, result).await?;
    }
    let same = match args.exit_code_ids {
        true => result.summary.is_identical(),
        false => result.summary.is_same(),
    };
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let detail = args.list.detail(args.show_ids, colour);
    let kinds = Kinds::new(kinds);
    let paged = args.format != Format::Json && !args.list.no_pager;
    let mut out = Output::to(args.out.as_deref(), paged)?;
    let written = match args.format {
        Format::Text => render::text(result, &mut out, &detail, &kinds),
        Format::Json => render::json(result, &mut out),
        Format::Markdown => render::markdown(result, &mut out, &detail, &kinds),
        Format::Html => html::diff::write(result, &header, args.show_ids, &kinds, &mut out),
    }
    .map_err(anyhow::Error::from);
    match written {
        Err(e) if !out.quit_early(&e) => return Err(e),
        _ => out.finish()?,
    }
    Ok(if same {
        ExitStatus::Ok
    } else {
        ExitStatus::Different
    })
}
