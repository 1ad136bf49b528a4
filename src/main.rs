//! The `iamsnap` command: parses arguments, runs one command, maps its error to an exit code.

use std::process::ExitCode;

use clap::Parser;

mod commands;
mod logging;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    commands::run(cli)
}
