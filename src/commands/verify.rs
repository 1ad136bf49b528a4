//! `iamsnap verify`.

use crate::commands::Context;
use crate::error::ExitStatus;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_ctx: &Context, _args: Args) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("`verify` is not available yet")
}
