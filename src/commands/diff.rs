//! `iamsnap diff A B`: compare two snapshots, or a snapshot and the live provider.
//!
//! Each side is a snapshot reference (`SOURCE@latest`, `SOURCE@latest~N`,
//! `SOURCE@YYYY-MM-DD`, a snapshot name) or `live:SOURCE`; plain `live` means the live state
//! of the other side's source. Exit status like diff(1): 0 same, 1 different.

use std::io::{IsTerminal, Write};

use iamsnap_engine::diff::sides::{self, Opened, SideRef};
use iamsnap_engine::diff::{DiffOptions, JoinOptions, diff, render};
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::live::read_live;
use iamsnap_engine::repo::Repository;
use iamsnap_provider::ConnectOptions;

use crate::commands::Context;
use crate::commands::open::OpenArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
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
    /// Output format (the JSON schema is in docs/diff-json.md).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
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
            Opened::Live { source, records }
        }
    })
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let (a, b) = sides::resolve(&repo, &args.a, &args.b).await?;
    let mut old = open(ctx, &repo, a, &args.open).await?;
    let mut new = open(ctx, &repo, b, &args.open).await?;
    let options = DiffOptions {
        old_label: old.label(),
        new_label: new.label(),
        join: JoinOptions::default(),
    };
    let result = tokio::task::block_in_place(|| {
        diff(old.records()?, new.records()?, &options).map_err(anyhow::Error::from)
    })?;
    let same = result.summary.is_same();
    let stdout = std::io::stdout();
    let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        Format::Text => render::text(result, &mut out, colour)?,
        Format::Json => render::json(result, &mut out)?,
        Format::Markdown => render::markdown(result, &mut out)?,
    }
    out.flush()?;
    Ok(if same {
        ExitStatus::Ok
    } else {
        ExitStatus::Different
    })
}
