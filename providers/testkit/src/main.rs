//! `iamsnap-testkit`: runs an emulated identity provider as a local server.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use iamsnap_testkit::okta::OktaEmulator;

#[derive(Parser)]
#[command(
    name = "iamsnap-testkit",
    version,
    about = "Emulated identity providers for iamsnap"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an emulated Okta org (Management API) on 127.0.0.1.
    Okta(OktaArgs),
}

#[derive(clap::Args)]
struct OktaArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// API token clients must send as `Authorization: SSWS <token>`.
    #[arg(long, env = "IAMSNAP_TESTKIT_TOKEN")]
    token: String,
    /// Users to seed (exactly this many).
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Groups to seed, the built-in Everyone group included.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Apps to seed.
    #[arg(long, default_value_t = 8)]
    apps: usize,
    /// Seed of the generator: the same seed gives the same org.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Requests allowed per minute, answered with 429 beyond (default: unlimited).
    #[arg(long, value_name = "REQUESTS_PER_MINUTE")]
    rate_limit: Option<u64>,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Okta(args) => {
            let mut emulator = OktaEmulator::builder()
                .port(args.port)
                .token(args.token)
                .users(args.users)
                .groups(args.groups)
                .apps(args.apps)
                .seed(args.seed)
                .latency(Duration::from_millis(args.latency_ms));
            if let Some(limit) = args.rate_limit {
                emulator = emulator.rate_limit(limit, Duration::from_secs(60));
            }
            let running = match emulator.start().await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("iamsnap-testkit: cannot start the Okta emulator: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "listening on {}", running.base_url());
            let _ = stdout.flush();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = running.wait() => {}
            }
            ExitCode::SUCCESS
        }
    }
}
