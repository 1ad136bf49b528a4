//! `iamsnap incidents SOURCE --since 24h`: the destructive events of the source's audit log
//! grouped by actor, each group with the `restore --only` command that undoes it. Exit status:
//! 0 none found, 1 destructive events found.

use std::io::Write;

use chrono::{DateTime, Duration, Utc};
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::incidents::{self, Located, Report};
use iamsnap_engine::repo::Repository;
use iamsnap_provider::{ConnectOptions, Window};

use crate::commands::Context;
use crate::commands::open::OpenArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configured source whose audit log is read.
    source: String,
    /// How far back: a duration (30m, 24h, 7d) or a time (2026-12-01T08:00:00Z).
    #[arg(long, value_name = "WHEN", default_value = "24h", value_parser = since)]
    since: DateTime<Utc>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    open: OpenArgs,
}

/// `--since`: `N` followed by `s`, `m`, `h` or `d` before now, or an RFC 3339 time.
fn since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let bad = || {
        format!(
            "{text:?}: write a duration such as 30m, 24h or 7d, or a time such as 2026-12-01T08:00:00Z"
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let span = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    }
    .filter(|d| *d > Duration::zero())
    .ok_or_else(bad)?;
    Ok(Utc::now() - span)
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let source = config.source(&args.source)?;
    let connector = source.connect(&args.source, &config.base_dir(), &ConnectOptions::default())?;
    let Some(log) = connector.reader().audit_log() else {
        anyhow::bail!(
            "{}: the {} connector does not read its provider's audit log; incidents reads Okta's System Log, Entra's directory audits, LDAP and Active Directory change stamps and AWS CloudTrail",
            args.source,
            source.provider_type()
        );
    };
    let window = Window {
        since: args.since,
        until: Utc::now(),
    };
    let events = log.events(window, &[]).await.map_err(|e| {
        let hint = match e.is_auth() {
            true => format!(
                "; grant `{}` to the credentials of {}",
                log.permission(),
                args.source
            ),
            false => String::new(),
        };
        anyhow::Error::from(e).context(format!("reading the audit log of {}{hint}", args.source))
    })?;
    let events = incidents::destructive(events);
    let mut report = Report {
        source: args.source.clone(),
        since: window.since,
        until: window.until,
        snapshot: None,
        actors: Vec::new(),
        note: None,
    };
    let mut located = Located::default();
    if let Some(first) = events.first() {
        let repo = Repository::open(&config.repository()).await?;
        let before = repo
            .snapshots(Some(&args.source))
            .await?
            .into_iter()
            .filter(|s| s.time <= first.time)
            .max_by_key(|s| s.time);
        match before {
            Some(info) => {
                let mut opened = args.open.open(ctx, &repo, &info.name).await?;
                located = tokio::task::block_in_place(|| {
                    incidents::locate(&events, opened.reader.records()?)
                        .map_err(anyhow::Error::from)
                })?;
                report.snapshot = Some(info.name);
            }
            None => {
                report.note = Some(format!(
                    "no snapshot of {} was taken before the first event: nothing to restore from",
                    args.source
                ));
            }
        }
    }
    let found = !events.is_empty();
    report.actors = incidents::group(events, &located, report.snapshot.as_deref());
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => incidents::text(&report, &mut out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
    }
    Ok(if found {
        ExitStatus::Different
    } else {
        ExitStatus::Ok
    })
}
