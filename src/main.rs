//! The `iamsnap` command: parses arguments, runs one command, maps its error to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = iamsnap::commands::Cli::parse();
    iamsnap::commands::run(cli)
}
