//! `iamsnap verify`: check snapshots without restoring them.
//!
//! Without an identity: the signature and the storage checksum (verified on download).
//! With one: also decrypt and check every entry's hash, size, count and order.

use std::fs::File;

use crate::archive::ArchiveReader;
use crate::commands::Context;
use crate::commands::open::{self, OpenArgs};
use crate::error::{ExitStatus, UsageError, render, status_of};
use crate::repo::Repository;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The snapshot to check (SOURCE@latest, …, or a name).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    snap: Option<String>,
    /// Check every snapshot in the repository.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    open: OpenArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::open(&config.repository()).await?;
    let snapshots = match &args.snap {
        Some(reference) => vec![repo.resolve(reference).await?],
        None => repo.snapshots(None).await?,
    };
    if snapshots.is_empty() {
        return Err(UsageError(format!("no snapshots in {}", repo.location())).into());
    }
    let identities = match &args.open.identity {
        Some(_) => Some(open::identities(&args.open)?),
        None => None,
    };
    let mut worst = ExitStatus::Ok;
    let mut failed = 0;
    for snapshot in &snapshots {
        let name = &snapshot.name;
        let result = async {
            let fetched =
                open::fetch_verified_info(ctx, &repo, snapshot.clone(), &args.open).await?;
            let Some(identities) = &identities else {
                return Ok::<_, anyhow::Error>("signature and checksum ok".to_string());
            };
            let file = File::open(fetched.file.path())?;
            let reader = ArchiveReader::open(file, identities)?;
            open::check_stored_as(&fetched.info, reader.manifest())?;
            let manifest = reader.verify()?;
            Ok(format!(
                "signature, checksum and {} records in {} entries ok",
                manifest.total_records(),
                manifest.entries.len()
            ))
        }
        .await;
        match result {
            Ok(message) => println!("ok      {name}: {message}"),
            Err(err) => {
                failed += 1;
                let status = status_of(&err);
                if status as u8 > worst as u8 {
                    worst = status;
                }
                println!("FAILED  {name}: {}", render(&err));
            }
        }
    }
    if snapshots.len() > 1 {
        println!(
            "{} of {} snapshot(s) ok",
            snapshots.len() - failed,
            snapshots.len()
        );
    }
    Ok(worst)
}
