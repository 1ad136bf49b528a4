//! `iamsnap export`: write a snapshot's manifest and records as plaintext files, the same
//! layout `age -d | zstd -d | tar -x` gives, after every hash has been checked. The files are
//! readable by their owner only (0600, folders 0700) unless `--mode` says otherwise; each is
//! created with its mode, never wider first.

use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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
    /// Permissions of the files, in octal; folders get search permission wherever they are
    /// readable (600 → 700, 640 → 750).
    #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
    mode: u32,
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|mode| *mode <= 0o777)
        .ok_or_else(|| format!("{text:?} is not a file mode: write it in octal, e.g. 600 or 640"))
}

/// The mode of a folder holding files of `mode`: searchable wherever it is readable.
fn folder_mode(mode: u32) -> u32 {
    mode | ((mode & 0o444) >> 2)
}

/// A new file of exactly `mode` (the umask does not narrow it further).
fn create_file(path: &Path, mode: u32) -> std::io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(file)
}

/// A new folder the owner can fill; its final `mode` is set once it is full.
fn create_folder(path: &Path, mode: u32) -> std::io::Result<()> {
    let filling = mode | 0o700;
    fs::DirBuilder::new().mode(filling).create(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(filling))
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
    let folders = folder_mode(args.mode);
    let staging = tempfile::Builder::new()
        .prefix(".iamsnap-export-")
        .permissions(fs::Permissions::from_mode(folders | 0o700))
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a folder in {}", parent.display()))?;
    create_file(&staging.path().join("manifest.json"), args.mode)?
        .write_all(&reader.manifest().to_json())?;
    let records = staging.path().join("records");
    create_folder(&records, folders)?;
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
            current = Some((
                record.kind.clone(),
                BufWriter::new(create_file(&path, args.mode)?),
            ));
        }
        let (_, out) = current.as_mut().expect("a writer is open");
        out.write_all(record.to_canonical_json().as_bytes())?;
        out.write_all(b"\n")?;
        total += 1;
    }
    if let Some((_, mut out)) = current.take() {
        out.flush()?;
    }
    for folder in [&records, staging.path()] {
        fs::set_permissions(folder, fs::Permissions::from_mode(folders))?;
    }
    if args.out.exists() {
        fs::remove_dir(&args.out)?;
    }
    fs::rename(staging.keep(), &args.out)
        .with_context(|| format!("cannot move the export to {}", args.out.display()))?;
    outln!(
        "exported {} ({} records) to {}",
        info.name,
        total,
        args.out.display()
    )?;
    Ok(ExitStatus::Ok)
}
