//! Opening a stored snapshot for reading, shared by `show`, `verify`, `export`, `diff` and
//! `restore`: resolve the reference, download, check the signature before anything is
//! decrypted, then decrypt with the operator's identity.

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::archive::{ArchiveReader, Manifest};
use crate::commands::Context;
use crate::error::UsageError;
use crate::keys;
use crate::repo::{Repository, SnapshotInfo};

/// How to open archives: `--identity` and `--insecure-skip-signature`.
#[derive(Debug, Clone, clap::Args)]
pub struct OpenArgs {
    /// age identity file (or ssh private key) that decrypts the archives.
    #[arg(long, env = "IAMSNAP_IDENTITY", value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Accept archives without checking their signature. Only allowed when the configuration
    /// has no `repository.verify_key`.
    #[arg(long)]
    pub insecure_skip_signature: bool,
}

/// A downloaded snapshot whose signature has been checked.
pub struct Fetched {
    pub info: SnapshotInfo,
    pub file: tempfile::NamedTempFile,
}

/// Resolves `reference`, downloads the archive and checks its signature.
pub async fn fetch_verified(
    ctx: &Context,
    repo: &Repository,
    reference: &str,
    open: &OpenArgs,
) -> anyhow::Result<Fetched> {
    let info = repo.resolve(reference).await?;
    fetch_verified_info(ctx, repo, info, open).await
}

/// Downloads the listed snapshot `info` and checks its signature.
pub async fn fetch_verified_info(
    ctx: &Context,
    repo: &Repository,
    info: SnapshotInfo,
    open: &OpenArgs,
) -> anyhow::Result<Fetched> {
    let config = ctx.config()?;
    let (file, signature) = repo.fetch(&info).await?;
    match (&config.repository.verify_key, open.insecure_skip_signature) {
        (Some(_), true) => {
            return Err(UsageError(
                "--insecure-skip-signature is refused while repository.verify_key is set: the signature is always checked then".into(),
            )
            .into());
        }
        (Some(key), false) => {
            let data = File::open(file.path())
                .with_context(|| format!("cannot read the downloaded {}", info.name))?;
            keys::verify(key, &signature, data)
                .with_context(|| format!("snapshot {}", info.name))?;
        }
        (None, true) => {
            tracing::warn!(snapshot = %info.name, "signature not checked (--insecure-skip-signature)");
        }
        (None, false) => {
            return Err(UsageError(
                "repository.verify_key is not set, so the archive's signature cannot be checked; set it to the `RW…` public key from `iamsnap key signing` (or pass --insecure-skip-signature to accept unsigned archives)".into(),
            )
            .into());
        }
    }
    Ok(Fetched { info, file })
}

/// The identities from `--identity` / `IAMSNAP_IDENTITY`.
pub fn identities(open: &OpenArgs) -> anyhow::Result<Vec<Box<dyn age::Identity>>> {
    let path = open.identity.as_ref().ok_or_else(|| {
        UsageError(
            "no identity to decrypt the archive: pass --identity FILE or set IAMSNAP_IDENTITY"
                .into(),
        )
    })?;
    Ok(keys::load_identities(path)?)
}

/// Fetches, verifies and opens `reference` for reading records.
pub async fn open_snapshot(
    ctx: &Context,
    repo: &Repository,
    reference: &str,
    open: &OpenArgs,
) -> anyhow::Result<(SnapshotInfo, ArchiveReader<File>, tempfile::NamedTempFile)> {
    let identities = identities(open)?;
    let fetched = fetch_verified(ctx, repo, reference, open).await?;
    let file = File::open(fetched.file.path())
        .with_context(|| format!("cannot read the downloaded {}", fetched.info.name))?;
    let reader = ArchiveReader::open(file, &identities)
        .with_context(|| format!("snapshot {}", fetched.info.name))?;
    check_stored_as(&fetched.info, reader.manifest())?;
    Ok((fetched.info, reader, fetched.file))
}

/// Refuses an archive whose manifest names another source or time than where it is stored.
pub fn check_stored_as(info: &SnapshotInfo, manifest: &Manifest) -> anyhow::Result<()> {
    Ok(manifest.check_stored_as(&info.name, &info.source, info.time)?)
}
