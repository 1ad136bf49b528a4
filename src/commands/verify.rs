//! `iamsnap verify`: check snapshots without restoring them.
//!
//! Without an identity: the signature, that it was made for the name the archive is stored
//! under, and the storage checksum (verified on download). With one: also decrypt and check
//! the name the manifest records and every entry's hash, size, count and order.

use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::open::OpenError;
use iamsnap_engine::repo::Repository;

use crate::commands::Context;
use crate::commands::open::OpenArgs;
use iamsnap::error::{UsageError, render, status_of};

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

/// The note on an archive signed before signatures named their snapshot.
const UNSIGNED_NAME: &str = "note: signed before signatures named their snapshot, so only --identity checks that it is stored under its own name";

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
    let options = args.open.options(ctx)?;
    let identities = match &args.open.identity {
        Some(_) => Some(options.identities()?),
        None => None,
    };
    let mut worst = ExitStatus::Ok;
    let mut failed = 0;
    for snapshot in &snapshots {
        let name = &snapshot.name;
        let result = async {
            let fetched = options.fetch_verified(&repo, snapshot.clone()).await?;
            let Some(identities) = &identities else {
                return Ok::<_, anyhow::Error>(if fetched.name_signed {
                    "signature, name and checksum ok".to_string()
                } else {
                    format!("signature and checksum ok; {UNSIGNED_NAME}")
                });
            };
            let name_signed = fetched.name_signed;
            // Each line already names the snapshot: the archive's own error is enough.
            let opened = options.decrypt(fetched, identities).map_err(|e| match e {
                OpenError::Archive { source, .. } => anyhow::Error::from(source),
                e => e.into(),
            })?;
            let manifest = opened.reader.verify()?;
            let checked = format!(
                "checksum and {} records in {} entries ok",
                manifest.total_records(),
                manifest.entries.len()
            );
            // An archive that predates recorded names is checked on its source and second.
            Ok(if name_signed || manifest.snapshot.is_some() {
                format!("signature, name, {checked}")
            } else {
                format!("signature, {checked}; note: written before archives recorded their name, so only its source and time are checked")
            })
        }
        .await;
        match result {
            Ok(message) => outln!("ok      {name}: {message}")?,
            Err(err) => {
                failed += 1;
                let status = status_of(&err);
                if status as u8 > worst as u8 {
                    worst = status;
                }
                outln!("FAILED  {name}: {}", render(&err))?;
            }
        }
    }
    if snapshots.len() > 1 {
        outln!(
            "{} of {} snapshot(s) ok",
            snapshots.len() - failed,
            snapshots.len()
        )?;
    }
    Ok(worst)
}
