//! `iamsnap diff A B`: compare two snapshots, or a snapshot and the live provider.
//!
//! Each side is a snapshot reference (`SOURCE@latest`, `SOURCE@latest~N`,
//! `SOURCE@YYYY-MM-DD`, a snapshot name) or `live:SOURCE`; plain `live` means the live state
//! of the other side's source. Exit status like diff(1): 0 same, 1 different.

use std::fs::File;
use std::io::{IsTerminal, Write};

use anyhow::Context as _;
use iamsnap_provider::ConnectOptions;
use iamsnap_provider::Record;

use crate::archive::spool::SortedRecords;
use crate::archive::{ArchiveError, ArchiveReader};
use crate::commands::Context;
use crate::commands::open::{self, OpenArgs};
use crate::diff::{DiffOptions, JoinOptions, diff, live::read_live, render};
use crate::error::{ExitStatus, UsageError};
use crate::repo::Repository;

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

/// A record read from either kind of side.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Archive(#[source] ArchiveError),
    #[error("{0}")]
    Spool(#[source] std::io::Error),
}

/// One side of a comparison, opened.
pub enum Opened {
    Snapshot {
        name: String,
        reader: ArchiveReader<File>,
        _file: tempfile::NamedTempFile,
    },
    Live {
        source: String,
        records: SortedRecords,
    },
}

impl Opened {
    pub fn label(&self) -> String {
        match self {
            Opened::Snapshot { name, .. } => name.clone(),
            Opened::Live { source, .. } => format!("live:{source}"),
        }
    }

    pub fn records(
        &mut self,
    ) -> anyhow::Result<Box<dyn Iterator<Item = Result<Record, ReadError>> + '_>> {
        Ok(match self {
            Opened::Snapshot { name, reader, .. } => Box::new(
                reader
                    .records()
                    .with_context(|| format!("snapshot {name}"))?
                    .map(|r| r.map_err(ReadError::Archive)),
            ),
            Opened::Live { records, .. } => Box::new(records.map(|r| r.map_err(ReadError::Spool))),
        })
    }
}

/// Reads the live state of configured source `name` into a sorted spool.
pub async fn open_live(ctx: &Context, name: &str) -> anyhow::Result<Opened> {
    let config = ctx.config()?;
    let connector =
        config
            .source(name)?
            .connect(name, &config.base_dir(), &ConnectOptions::default())?;
    let records = read_live(name, connector.reader(), &JoinOptions::default()).await?;
    Ok(Opened::Live {
        source: name.to_string(),
        records,
    })
}

/// What a side argument names, with `live` resolved against the other side.
async fn side(
    repo: &Repository,
    this: &str,
    other: &str,
) -> anyhow::Result<Result<String, String>> {
    if let Some(source) = this.strip_prefix("live:") {
        return Ok(Err(source.to_string()));
    }
    if this == "live" {
        if other == "live" || other.starts_with("live:") {
            return Err(UsageError(
                "`live` needs a snapshot on the other side to know which source; write live:SOURCE"
                    .into(),
            )
            .into());
        }
        return Ok(Err(repo.resolve(other).await?.source));
    }
    Ok(Ok(this.to_string()))
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let mut sides = Vec::with_capacity(2);
    for (this, other) in [(&args.a, &args.b), (&args.b, &args.a)] {
        sides.push(match side(&repo, this, other).await? {
            Ok(reference) => {
                let (info, reader, file) =
                    open::open_snapshot(ctx, &repo, &reference, &args.open).await?;
                Opened::Snapshot {
                    name: info.name,
                    reader,
                    _file: file,
                }
            }
            Err(source) => open_live(ctx, &source).await?,
        });
    }
    let mut new = sides.pop().expect("two sides");
    let mut old = sides.pop().expect("two sides");
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
