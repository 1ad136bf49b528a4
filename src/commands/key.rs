//! `iamsnap key generate|signing`: make the keys a repository needs.

use std::path::PathBuf;

use crate::commands::Context;
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::keys;

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Generate an age identity (decryption key) into a new file (mode 0600) and print its
    /// recipient (public key) for `repository.recipients`. Keep the file off the backup host.
    Generate {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Generate a minisign signing key without password (for unattended backups) into FILE
    /// (mode 0600) and its public key into FILE.pub; prints the public key for
    /// `repository.verify_key`.
    Signing {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub async fn run(_ctx: &Context, cmd: KeyCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        KeyCommand::Generate { out } => {
            let recipient = keys::write_identity(&out)?;
            outln!("{recipient}")?;
            eprintln!(
                "wrote the identity to {}; add the line above to repository.recipients",
                out.display()
            );
        }
        KeyCommand::Signing { out } => {
            let public = keys::generate_signing_key(&out)?;
            outln!("{public}")?;
            eprintln!(
                "wrote the signing key to {} and its public key to {}; set repository.signing_key_file on the backup host and repository.verify_key to the line above",
                out.display(),
                keys::public_key_path(&out).display()
            );
        }
    }
    Ok(ExitStatus::Ok)
}
