//! `iamsnap man`: manual pages in roff, made from the command line's own definitions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use iamsnap_engine::error::ExitStatus;

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Read it with `iamsnap man | man -l -`; install the pages with
`iamsnap man --out /usr/local/share/man/man1`.")]
pub struct Args {
    /// Write iamsnap.1 and one page per command (iamsnap-backup.1, …) into this folder
    /// instead of printing iamsnap.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &Args) -> ExitCode {
    let command = super::Cli::command();
    let written = match &args.out {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| format!("cannot write the manual pages into {}: {e}", dir.display())),
        None => clap_mangen::Man::new(command)
            .render(&mut std::io::stdout())
            .map_err(|e| format!("cannot print the manual page: {e}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(ExitStatus::Failure as u8)
        }
    }
}
