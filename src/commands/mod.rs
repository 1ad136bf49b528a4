//! One module per subcommand; this file holds the global options and the dispatch.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::{Parser, Subcommand};

use iamsnap::{Config, ConfigError};
use iamsnap_engine::error::ExitStatus;
use iamsnap_engine::keys::KeyPermissions;

use crate::logging::LogFormat;

/// `println!` that returns the write's error instead of panicking: a reader that stops early
/// (`iamsnap snapshots | head -1`) closes the pipe, and the command then ends quietly
/// ([`closed_pipe`]) rather than with a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

pub mod backup;
pub mod completions;
pub mod diff;
pub mod doctor;
pub mod drill;
pub mod export;
pub mod forget;
pub mod incidents;
pub mod init;
pub mod key;
pub mod man;
pub mod open;
pub mod output;
pub mod restore;
pub mod schedule;
pub mod show;
pub mod snapshots;
pub mod verify;

use iamsnap::error::{self, status_of};

/// Encrypted, signed, versioned backups of identity providers, with diff and restore.
#[derive(Debug, Parser)]
#[command(
    name = "iamsnap",
    version = env!("IAMSNAP_VERSION"),
    about,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Configuration file.
    #[arg(long, global = true, env = "IAMSNAP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Use identity and signing key files that other users may read or write (refused by
    /// default, as ssh refuses such private keys).
    #[arg(long, global = true)]
    pub allow_insecure_key_permissions: bool,
}

impl GlobalArgs {
    /// Which key files may be used.
    pub fn key_permissions(&self) -> KeyPermissions {
        if self.allow_insecure_key_permissions {
            KeyPermissions::AllowInsecure
        } else {
            KeyPermissions::OwnerOnly
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the repository (writes iamsnap-repo.json; never overwrites one).
    Init(init::Args),
    /// Generate encryption and signing keys.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Back up sources into new snapshots.
    Backup(backup::Args),
    /// List snapshots.
    Snapshots(snapshots::Args),
    /// Show a snapshot's manifest.
    Show(show::Args),
    /// Check signatures, checksums and (with an identity) every entry.
    Verify(verify::Args),
    /// Write a snapshot's manifest and records as plaintext files.
    Export(export::Args),
    /// Compare two snapshots, or a snapshot and the live provider.
    Diff(diff::Args),
    /// Plan, then apply, the return of a provider to a snapshot's state.
    Restore(restore::Args),
    /// List destructive events of a source's audit log by actor, with the restore that undoes them.
    Incidents(incidents::Args),
    /// Restore a snapshot into a sandbox source, verify it and report the fidelity.
    Drill(drill::Args),
    /// Render the schedules that run iamsnap for a fleet of sources.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Delete old snapshots by a retention policy.
    Forget(forget::Args),
    /// Check the repository, the keys and each source's access, changing nothing.
    Doctor(doctor::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::Args),
    /// Print the manual page, or write one page per command into a folder.
    Man(man::Args),
}

/// What every command gets: the global options and, on demand, the configuration.
pub struct Context {
    pub global: GlobalArgs,
    config: OnceLock<Config>,
}

impl Context {
    pub fn new(global: GlobalArgs) -> Self {
        Context {
            global,
            config: OnceLock::new(),
        }
    }

    /// The configuration file, loaded on first use.
    pub fn config(&self) -> Result<&Config, ConfigError> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let path = self.global.config.as_ref().ok_or(ConfigError::Missing)?;
        let config = Config::load(path)?;
        Ok(self.config.get_or_init(|| config))
    }
}

/// Runs the command and turns its result into the process exit code.
/// Whether `err` is stdout's reader having closed the pipe: a bare `io::Error`, as `outln!`
/// returns it. A broken pipe deeper in a chain (a provider's connection) is a real failure.
fn closed_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

pub fn run(cli: Cli) -> ExitCode {
    // The AWS SDK reads these itself, so they never become `Secret`s: registered here, no
    // message of this process shows them either.
    for variable in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(value) = std::env::var(variable) {
            iamsnap_provider::redact::register(&value);
        }
    }
    // Neither needs a configuration, a runtime or a log: they only describe the command line.
    match &cli.command {
        Command::Completions(args) => return completions::run(args),
        Command::Man(args) => return man::run(args),
        _ => {}
    }
    crate::logging::init(cli.global.log_format, cli.global.quiet, cli.global.verbose);
    // Blocking threads decode large provider pages and do file work; beyond a few per core
    // they add no speed, only allocator arenas (tens of megabytes of resident memory).
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads((2 * cores).max(4))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(ExitStatus::Failure as u8);
        }
    };
    let ctx = Context::new(cli.global.clone());
    let result = runtime.block_on(async {
        match cli.command {
            Command::Init(args) => init::run(&ctx, args).await,
            Command::Key(cmd) => key::run(&ctx, cmd).await,
            Command::Backup(args) => backup::run(&ctx, args).await,
            Command::Snapshots(args) => snapshots::run(&ctx, args).await,
            Command::Show(args) => show::run(&ctx, args).await,
            Command::Verify(args) => verify::run(&ctx, args).await,
            Command::Export(args) => export::run(&ctx, args).await,
            Command::Diff(args) => diff::run(&ctx, args).await,
            Command::Restore(args) => restore::run(&ctx, args).await,
            Command::Incidents(args) => incidents::run(&ctx, args).await,
            Command::Forget(args) => forget::run(&ctx, args).await,
            Command::Doctor(args) => doctor::run(&ctx, args).await,
            Command::Drill(args) => drill::run(&ctx, args).await,
            Command::Schedule(cmd) => schedule::run(&ctx, cmd).await,
            Command::Completions(_) | Command::Man(_) => unreachable!("answered above"),
        }
    });
    match result {
        Ok(status) => ExitCode::from(status as u8),
        // Whoever read the output has all they wanted; nothing is wrong.
        Err(err) if closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let status = status_of(&err);
            eprintln!("error: {}", error::render(&err));
            ExitCode::from(status as u8)
        }
    }
}
