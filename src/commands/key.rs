//! `iamsnap key generate|signing`.

use crate::commands::Context;
use crate::error::ExitStatus;

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {}

pub async fn run(_ctx: &Context, cmd: KeyCommand) -> anyhow::Result<ExitStatus> {
    match cmd {}
}
