//! What every scenario shares: the release binaries, a working folder with keys and a
//! configuration, running `iamsnap` with its peak memory measured, and the printed table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The folder holding the release binaries (beside this one).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("the bench binary has no folder")?
        .to_path_buf();
    if !dir.join("iamsnap").exists() {
        bail!(
            "{} is missing: run `cargo build --release --bin iamsnap` first",
            dir.join("iamsnap").display()
        );
    }
    Ok(dir)
}

/// One run of a command: its standard output, wall time and peak resident memory.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub wall: Duration,
    pub peak_rss_mib: f64,
    pub status: i32,
}

/// A working folder with an age identity, a signing key, a local repository and the
/// sources the scenario adds to `iamsnap.toml`.
pub struct Workdir {
    pub dir: tempfile::TempDir,
    bin: PathBuf,
    recipient: String,
    sources: String,
    env: Vec<(String, String)>,
}

impl Workdir {
    pub fn new() -> anyhow::Result<Workdir> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("iamsnap-bench-")
            .tempdir()?;
        let mut w = Workdir {
            dir,
            bin,
            recipient: String::new(),
            sources: String::new(),
            env: Vec::new(),
        };
        w.write_config()?;
        w.recipient = w
            .iamsnap(&["key", "generate", "--out", "identity.txt"])?
            .stdout;
        w.iamsnap(&["key", "signing", "--out", "signing.key"])?;
        w.write_config()?;
        w.iamsnap(&["init"])?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds `[sources.NAME]` with these TOML lines, and environment variables for its secrets.
    pub fn add_source(
        &mut self,
        name: &str,
        body: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        self.sources
            .push_str(&format!("\n[sources.{name}]\n{body}\n"));
        self.env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.write_config()
    }

    fn write_config(&self) -> anyhow::Result<()> {
        let mut text = String::from("[repository]\nurl = \"repo\"\n");
        if !self.recipient.is_empty() {
            text.push_str(&format!(
                "recipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\n",
                self.recipient
            ));
            let public =
                std::fs::read_to_string(self.path().join("signing.key.pub")).unwrap_or_default();
            if let Some(key) = public.lines().find(|l| l.starts_with("RW")) {
                text.push_str(&format!("verify_key = \"{key}\"\n"));
            }
        }
        text.push_str(&self.sources);
        std::fs::write(self.path().join("iamsnap.toml"), text)?;
        Ok(())
    }

    /// Runs `iamsnap ARGS`, failing on an exit status above 1 (1 means "differences").
    pub fn iamsnap(&self, args: &[&str]) -> anyhow::Result<Run> {
        let run = self.measure(&self.bin.join("iamsnap"), args)?;
        if run.status > 1 {
            bail!("iamsnap {args:?} exited with {}", run.status);
        }
        Ok(run)
    }

    /// Like [`Workdir::iamsnap`], with standard output written to `file` in the working folder
    /// instead of kept (a plan of millions of operations).
    pub fn iamsnap_to(&self, file: &str, args: &[&str]) -> anyhow::Result<Run> {
        let out = self.path().join(file);
        let out = out.to_str().context("working folder is not UTF-8")?;
        let bin = self.bin.join("iamsnap");
        let mut with = vec!["--stdout", out, "--"];
        with.push(bin.to_str().context("binary path is not UTF-8")?);
        with.extend_from_slice(args);
        let run = self.measure_with(&with)?;
        if run.status > 1 {
            bail!("iamsnap {args:?} exited with {}", run.status);
        }
        Ok(run)
    }

    /// Runs any program in the working folder with the sources' environment, through this
    /// binary's `rss` wrapper so that its peak memory is its own.
    pub fn measure(&self, program: &Path, args: &[&str]) -> anyhow::Result<Run> {
        let program = program.to_str().context("program path is not UTF-8")?;
        let mut with = vec!["--"];
        with.push(program);
        with.extend_from_slice(args);
        self.measure_with(&with)
    }

    /// Runs the `rss` wrapper with `with` (its options, `--`, the program and its arguments).
    fn measure_with(&self, with: &[&str]) -> anyhow::Result<Run> {
        let rss_file = self.path().join(".rss");
        let started = Instant::now();
        let out = Command::new(std::env::current_exe()?)
            .current_dir(self.path())
            .env("IAMSNAP_CONFIG", self.path().join("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", self.path().join("identity.txt"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("rss")
            .arg("--out")
            .arg(&rss_file)
            .args(with)
            .output()
            .with_context(|| format!("cannot run {with:?}"))?;
        let wall = started.elapsed();
        let status = out.status.code().unwrap_or(-1);
        if status > 1 {
            eprintln!("{with:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let kib: f64 = std::fs::read_to_string(&rss_file)
            .unwrap_or_default()
            .trim()
            .parse()
            .unwrap_or(0.0);
        Ok(Run {
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            wall,
            peak_rss_mib: kib / 1024.0,
            status,
        })
    }

    /// The newest snapshot name of a source (`SOURCE/…`), as `snapshots` lists it.
    pub fn snapshots(&self, source: &str) -> anyhow::Result<Vec<String>> {
        let dir = self.path().join("repo").join("snapshots").join(source);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .with_context(|| format!("no snapshots in {}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".iamsnap"))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Runs a program, waits for it and writes its peak resident memory (KiB) to `out`: the
/// wrapper has no other child, so `RUSAGE_CHILDREN` is that program's alone.
pub fn rss_wrapper(out: &Path, stdout: Option<&Path>, program: &[String]) -> anyhow::Result<i32> {
    let (first, rest) = program.split_first().context("no program to run")?;
    let mut command = Command::new(first);
    command.args(rest);
    if let Some(path) = stdout {
        command.stdout(std::fs::File::create(path)?);
    }
    let status = command.status()?;
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    // Linux reports ru_maxrss in KiB.
    std::fs::write(out, usage.max_rss().to_string())?;
    Ok(status.code().unwrap_or(3))
}

/// Reads a Prometheus text file written by `backup --metrics-file`: the sum of a metric over
/// its labels.
pub fn metric(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A row of the result table: what was measured, the figure, and its target.
pub struct Row {
    pub name: String,
    pub figure: String,
    pub target: String,
}

pub fn row(name: impl Into<String>, figure: impl Into<String>, target: impl Into<String>) -> Row {
    Row {
        name: name.into(),
        figure: figure.into(),
        target: target.into(),
    }
}

/// Prints rows as a Markdown table (pasted as is into BENCHMARKS.md).
pub fn print_table(title: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    println!("| measure | figure | target |");
    println!("|---|---|---|");
    for r in rows {
        println!("| {} | {} | {} |", r.name, r.figure, r.target);
    }
}

/// Milliseconds since the Unix epoch.
pub fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// For `requests` to an endpoint that accepts `limit` per window of `window_secs` (0: no
/// limit): the floor as the issue defines it, the requests divided by the permitted rate, and
/// the stricter fixed-window bound of [`window_floor`].
pub fn rate_floors(requests: u64, limit: u64, window_secs: u64, start_ms: u128) -> (f64, f64) {
    if limit == 0 {
        return (0.0, 0.0);
    }
    (
        requests as f64 * window_secs as f64 / limit as f64,
        window_floor(requests, limit, window_secs, start_ms),
    )
}

/// The earliest a run started at `start_ms` can have sent `requests` to an endpoint that
/// accepts `limit` per fixed window of `window_secs` (windows start at multiples of the window
/// since the epoch, as the emulators count): the last request falls in the
/// `ceil(requests / limit)`-th window touched, at its start at best.
pub fn window_floor(requests: u64, limit: u64, window_secs: u64, start_ms: u128) -> f64 {
    let windows = requests.div_ceil(limit.max(1));
    if windows <= 1 {
        return 0.0;
    }
    let w = u128::from(window_secs) * 1000;
    let first_boundary = start_ms.div_ceil(w) * w;
    ((first_boundary - start_ms) + (u128::from(windows) - 2) * w) as f64 / 1000.0
}
