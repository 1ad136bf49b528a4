//! `iamsnap export`: write a snapshot's manifest and records as plaintext files, the same
//! layout `age -d | zstd -d | tar -x` gives, after every hash has been checked.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use crate::commands::Context;
use crate::commands::open::OpenArgs;
use iamsnap_engine::archive::manifest::records_path;
use iamsnap_engine::error::ExitStatus;

use iamsnap::error::UsageError;
use iamsnap_engine::repo::Repository;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// SOURCE@latest, SOURCE@latest~N, SOURCE@YYYY-MM-DD or a snapshot name.
    snap: String,
    #[command(flatten)]
    open: OpenArgs,
    /// Folder to create; must not exist yet, or be empty.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    if args.open.identity.is_none() {
        return Err(UsageError("export needs --identity FILE (or IAMSNAP_IDENTITY)".into()).into());
    }
    if args.out.exists() && fs::read_dir(&args.out)?.next().is_some() {
        return Err(UsageError(format!(
            "{} exists and is not empty; choose a new folder",
            args.out.display()
        ))
        .into());
    }
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let snapshot = args.open.open(ctx, &repo, &args.snap).await?;
    let (info, mut reader) = (snapshot.info, snapshot.reader);

    // Written into a hidden sibling first and renamed at the end: a failed check leaves
    // nothing that looks like a complete export.
    let parent = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".iamsnap-export-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a folder in {}", parent.display()))?;
    fs::write(
        staging.path().join("manifest.json"),
        reader.manifest().to_json(),
    )?;
    fs::create_dir(staging.path().join("records"))?;
    let mut current: Option<(String, BufWriter<fs::File>)> = None;
    let mut total = 0u64;
    for record in reader.records()? {
        let record = record.with_context(|| format!("snapshot {}", info.name))?;
        if current
            .as_ref()
            .is_none_or(|(kind, _)| *kind != record.kind)
        {
            if let Some((_, mut out)) = current.take() {
                out.flush()?;
            }
            let path = staging.path().join(records_path(&record.kind));
            current = Some((record.kind.clone(), BufWriter::new(fs::File::create(path)?)));
        }
        let (_, out) = current.as_mut().expect("a writer is open");
        out.write_all(record.to_canonical_json().as_bytes())?;
        out.write_all(b"\n")?;
        total += 1;
    }
    if let Some((_, mut out)) = current.take() {
        out.flush()?;
    }
    if args.out.exists() {
        fs::remove_dir(&args.out)?;
    }
    fs::rename(staging.keep(), &args.out)
        .with_context(|| format!("cannot move the export to {}", args.out.display()))?;
    println!(
        "exported {} ({} records) to {}",
        info.name,
        total,
        args.out.display()
    );
    Ok(ExitStatus::Ok)
}
