//! `iamsnap completions SHELL`: the completion script of the whole command line, from the same
//! definitions that parse it, so it never falls behind a new option.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Install, for example:
  bash:  iamsnap completions bash > ~/.local/share/bash-completion/completions/iamsnap
  zsh:   iamsnap completions zsh > ~/.zfunc/_iamsnap   (with fpath+=~/.zfunc before compinit)
  fish:  iamsnap completions fish > ~/.config/fish/completions/iamsnap.fish
  powershell:  iamsnap completions powershell >> $PROFILE")]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: &Args) -> ExitCode {
    let mut command = super::Cli::command();
    clap_complete::generate(args.shell, &mut command, "iamsnap", &mut std::io::stdout());
    ExitCode::SUCCESS
}
