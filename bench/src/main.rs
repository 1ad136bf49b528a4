//! `iamsnap-bench`: runs the release `iamsnap` binary against the emulators and prints
//! figures (wall time, records per second, requests, peak RSS of the iamsnap process).
//!
//! Build the binaries first, then run a scenario:
//!
//! ```sh
//! cargo build --release --bin iamsnap --bin iamsnap-testkit
//! cargo run --release -p iamsnap-bench -- backup --users 200000
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Benchmarks of iamsnap against the emulators")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Back up an emulated Okta org to a local repository; report time and peak memory.
    Backup {
        #[arg(long, default_value_t = 200_000)]
        users: usize,
        #[arg(long, default_value_t = 2_000)]
        groups: usize,
        #[arg(long, default_value_t = 100)]
        apps: usize,
        /// Emulator rate limit in requests per minute (0: none).
        #[arg(long, default_value_t = 0)]
        rate_limit: u64,
        /// Emulator latency per request in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        Scenario::Backup {
            users,
            groups,
            apps,
            rate_limit,
            latency_ms,
        } => backup(users, groups, apps, rate_limit, latency_ms),
    }
}

/// The directory holding the release binaries (beside this one).
fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the bench binary has no folder")?
        .to_path_buf();
    for name in ["iamsnap", "iamsnap-testkit"] {
        if !dir.join(name).exists() {
            bail!(
                "{} is missing: run `cargo build --release --bin iamsnap --bin iamsnap-testkit` first",
                dir.join(name).display()
            );
        }
    }
    Ok(dir)
}

/// A running emulator, killed when dropped.
struct Emulator {
    child: Child,
    url: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(bin: &Path, args: &[String]) -> anyhow::Result<Emulator> {
    let mut child = Command::new(bin.join("iamsnap-testkit"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start iamsnap-testkit")?;
    let stdout = child.stdout.take().context("no emulator stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected emulator output {line:?}"))?
        .to_string();
    Ok(Emulator { child, url })
}

fn iamsnap(bin: &Path, dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin.join("iamsnap"))
        .current_dir(dir)
        .env("IAMSNAP_CONFIG", dir.join("iamsnap.toml"))
        .env("BENCH_OKTA_TOKEN", "bench-token")
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!(
            "iamsnap {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Peak resident memory, in MiB, of the largest child process waited for so far.
fn children_peak_rss_mib() -> anyhow::Result<f64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    // Linux reports ru_maxrss in KiB.
    Ok(usage.max_rss() as f64 / 1024.0)
}

fn backup(
    users: usize,
    groups: usize,
    apps: usize,
    rate_limit: u64,
    latency_ms: u64,
) -> anyhow::Result<()> {
    let bin = bin_dir()?;
    let work = tempfile::tempdir()?;
    let dir = work.path();
    let mut args: Vec<String> = [
        "okta",
        "--port",
        "0",
        "--token",
        "bench-token",
        "--seed",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend([
        "--users".into(),
        users.to_string(),
        "--groups".into(),
        groups.to_string(),
        "--apps".into(),
        apps.to_string(),
    ]);
    if rate_limit > 0 {
        args.extend(["--rate-limit".into(), rate_limit.to_string()]);
    }
    if latency_ms > 0 {
        args.extend(["--latency-ms".into(), latency_ms.to_string()]);
    }
    let seeding = Instant::now();
    let emulator = start_emulator(&bin, &args)?;
    let seeded = seeding.elapsed();

    std::fs::write(dir.join("iamsnap.toml"), "[repository]\nurl = \"repo\"\n")?;
    let recipient = iamsnap(&bin, dir, &["key", "generate", "--out", "identity.txt"])?;
    iamsnap(&bin, dir, &["key", "signing", "--out", "signing.key"])?;
    std::fs::write(
        dir.join("iamsnap.toml"),
        format!(
            "[repository]\nurl = \"repo\"\nrecipients = [\"{recipient}\"]\nsigning_key_file = \"signing.key\"\n\n[sources.bench]\nprovider = \"okta\"\norg_url = \"{}\"\ntoken_env = \"BENCH_OKTA_TOKEN\"\n",
            emulator.url
        ),
    )?;
    iamsnap(&bin, dir, &["init"])?;
    let baseline = children_peak_rss_mib()?;

    let started = Instant::now();
    iamsnap(
        &bin,
        dir,
        &["backup", "--all", "--metrics-file", "metrics.prom"],
    )?;
    let wall = started.elapsed().as_secs_f64();
    let peak = children_peak_rss_mib()?;
    drop(emulator);

    let metrics = std::fs::read_to_string(dir.join("metrics.prom"))?;
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let records = value("iamsnap_backup_records{");
    println!("scenario            okta backup → local repository");
    println!(
        "org                 {users} users, {groups} groups, {apps} apps (seeded in {:.1}s)",
        seeded.as_secs_f64()
    );
    println!("records             {records:.0}");
    println!("wall time           {wall:.2} s");
    println!("records/s           {:.0}", records / wall);
    println!(
        "requests            {:.0}",
        value("iamsnap_backup_requests{")
    );
    println!(
        "throttled           {:.0}",
        value("iamsnap_backup_throttled{")
    );
    println!("archive bytes       {:.0}", value("iamsnap_backup_bytes{"));
    println!("peak RSS (iamsnap)  {peak:.1} MiB (key/init commands peaked at {baseline:.1} MiB)");
    Ok(())
}
