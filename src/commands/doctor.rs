//! `iamsnap doctor`: can this host back up (and with `--restore`, restore)? Checks the
//! repository, the keys and every source without changing anything, and prints one line per
//! check. Exit 0 when all pass, 1 when one warns, 3 when one fails.

use std::path::PathBuf;

use iamsnap_engine::doctor::{self, Check, Status};
use iamsnap_engine::error::ExitStatus;
use iamsnap_provider::{ConnectOptions, redact};
use serde::Serialize;

use crate::commands::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check only this source (repeatable; default: every configured source).
    #[arg(long = "source", value_name = "NAME")]
    sources: Vec<String>,
    /// Also check that the writes a restore needs are permitted (asked of the provider; nothing
    /// is changed).
    #[arg(long)]
    restore: bool,
    /// The age identity file (or ssh private key) a restore would use: its mode is checked too.
    #[arg(long, env = "IAMSNAP_IDENTITY", value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// One line of the report: what was checked where.
#[derive(Debug, Serialize)]
struct Line {
    /// `repository`, or the source's name.
    scope: String,
    #[serde(flatten)]
    check: Check,
}

#[derive(Debug, Serialize)]
struct Report {
    /// The worst status of all checks: `ok`, `warn` or `fail`.
    status: Status,
    checks: Vec<Line>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let names: Vec<String> = if args.sources.is_empty() {
        config.sources.keys().cloned().collect()
    } else {
        for name in &args.sources {
            config.source(name)?;
        }
        args.sources.clone()
    };
    let mut lines: Vec<Line> = doctor::repository(&config.repository(), args.identity.as_deref())
        .await
        .into_iter()
        .map(|check| Line {
            scope: "repository".into(),
            check,
        })
        .collect();
    // One source at a time: each makes a handful of requests, and the lines keep their order.
    for name in &names {
        let source = config.source(name)?;
        let base_dir = config.base_dir();
        let mut checks: Vec<Check> = source
            .secret_files(name, &base_dir)
            .iter()
            .map(|(what, path)| doctor::secret_file_mode(what, path))
            .collect();
        checks.extend(
            match source.connect(name, &base_dir, &ConnectOptions::default()) {
                Ok(connector) => doctor::source(&connector, args.restore).await,
                Err(e) => vec![Check::fail("configuration", e.to_string())],
            },
        );
        lines.extend(checks.into_iter().map(|check| Line {
            scope: name.clone(),
            check,
        }));
    }
    // Whatever a provider echoed back, no secret this process holds reaches the output.
    for line in &mut lines {
        line.check.detail = redact::scrubbed(std::mem::take(&mut line.check.detail));
    }
    let status = doctor::exit_status(lines.iter().map(|l| &l.check));
    let report = Report {
        // A note is nothing to act on: it leaves the report `ok`, as it leaves the exit 0.
        status: lines
            .iter()
            .map(|l| l.check.status)
            .filter(|s| *s != Status::Note)
            .max()
            .unwrap_or(Status::Ok),
        checks: lines,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => print_table(&report),
    }
    Ok(status)
}

fn print_table(report: &Report) {
    let width = |f: fn(&Line) -> usize, title: &str| {
        report
            .checks
            .iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let scope = width(|l| l.scope.len(), "SCOPE");
    let check = width(|l| l.check.check.len(), "CHECK");
    println!(
        "{:<scope$}  {:<check$}  {:<6}  DETAIL",
        "SCOPE", "CHECK", "STATUS"
    );
    for line in &report.checks {
        println!(
            "{:<scope$}  {:<check$}  {:<6}  {}",
            line.scope,
            line.check.check,
            line.check.status.as_str(),
            line.check.detail
        );
    }
    let count = |status| {
        report
            .checks
            .iter()
            .filter(|l| l.check.status == status)
            .count()
    };
    println!(
        "{} ok, {} warning(s), {} failed, {} note(s)",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        count(Status::Note)
    );
}
