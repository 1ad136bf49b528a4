//! `iamsnap init`: create the repository named in the configuration.

use crate::commands::Context;
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::repo::Repository;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitStatus> {
    let config = ctx.config()?;
    let repo = Repository::init(&config.repository()).await?;
    outln!("created repository at {}", repo.location())?;
    if let Some(lock) = repo.object_lock() {
        outln!("object lock: {lock:?} applied to every snapshot")?;
    }
    Ok(ExitStatus::Ok)
}
