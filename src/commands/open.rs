//! `--identity` and `--insecure-skip-signature`, shared by every command that reads a
//! snapshot; opening itself is [`iamsnap_engine::open`].

use std::path::PathBuf;

use iamsnap_engine::open::{OpenOptions, OpenedSnapshot};
use iamsnap_engine::repo::Repository;

use crate::commands::Context;

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

impl OpenArgs {
    /// The engine's options: these flags and the configuration's `verify_key`.
    pub fn options(&self, ctx: &Context) -> anyhow::Result<OpenOptions> {
        Ok(OpenOptions {
            verify_key: ctx.config()?.repository.verify_key.clone(),
            insecure_skip_signature: self.insecure_skip_signature,
            identity: self.identity.clone(),
            key_permissions: ctx.global.key_permissions(),
        })
    }

    /// Fetches, verifies and opens `reference`.
    pub async fn open(
        &self,
        ctx: &Context,
        repo: &Repository,
        reference: &str,
    ) -> anyhow::Result<OpenedSnapshot> {
        let options = self.options(ctx)?;
        Ok(options.open(repo, reference).await?)
    }
}
