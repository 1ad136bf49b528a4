//! How long reports are printed: the options `diff` and `restore` share (`--limit`, `--full`,
//! `--no-pager`), the pager a long report goes through on a terminal, as git does, and
//! `--out FILE`.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context as _;
use iamsnap::error::UsageError;

use iamsnap_engine::report::{DEFAULT_LIMIT, Detail};

/// Pager used when `PAGER` is not set: quits at once when the report fits on the screen,
/// keeps colours, leaves the report on the screen when it quits.
const DEFAULT_PAGER: &str = "less -FRX";

#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Objects listed per kind (per kind and action in a plan); the summary counts them all.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT, conflicts_with = "full")]
    pub limit: usize,
    /// List every object (streams; `--format json` carries every fact too).
    #[arg(long)]
    pub full: bool,
    /// Print straight to the terminal instead of through $PAGER (default: less -FRX).
    #[arg(long)]
    pub no_pager: bool,
}

impl ListArgs {
    pub fn detail(&self, show_ids: bool, colour: bool) -> Detail {
        Detail {
            limit: (!self.full).then_some(self.limit),
            show_ids,
            colour,
        }
    }
}

/// `--format html` without `--out`: a page is a file to open or send, not terminal output.
pub fn html_needs_out(html: bool, out: Option<&Path>) -> anyhow::Result<()> {
    if html && out.is_none() {
        return Err(UsageError(
            "--format html writes one self-contained file: pass --out FILE (e.g. --out report.html)".into(),
        )
        .into());
    }
    Ok(())
}

/// Where a report goes: stdout, a pager reading it, or a file.
pub enum Output {
    Stdout(io::BufWriter<io::StdoutLock<'static>>),
    Pager(Child, io::BufWriter<std::process::ChildStdin>),
    /// Written beside `path` and moved onto it once complete, so that a report cut short by
    /// an error never stands in for a whole one.
    File(io::BufWriter<tempfile::NamedTempFile>, PathBuf),
}

impl Output {
    /// `--out FILE` when given, else stdout (through a pager when `paged`).
    pub fn to(path: Option<&Path>, paged: bool) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::open(paged));
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file = tempfile::Builder::new()
            .prefix(".iamsnap-report-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        Ok(Output::File(
            io::BufWriter::with_capacity(256 * 1024, file),
            path.to_path_buf(),
        ))
    }

    /// A pager when stdout is a terminal, `paged` and a pager is configured; stdout otherwise.
    pub fn open(paged: bool) -> Output {
        let stdout = io::stdout();
        if paged && stdout.is_terminal() {
            let pager = std::env::var("PAGER").unwrap_or_else(|_| DEFAULT_PAGER.to_string());
            if !pager.trim().is_empty() && pager.trim() != "cat" {
                let spawned = Command::new("sh")
                    .args(["-c", &pager])
                    .env(
                        "LESS",
                        std::env::var("LESS").unwrap_or_else(|_| "FRX".into()),
                    )
                    .stdin(Stdio::piped())
                    .spawn();
                if let Ok(mut child) = spawned
                    && let Some(stdin) = child.stdin.take()
                {
                    return Output::Pager(child, io::BufWriter::new(stdin));
                }
            }
        }
        Output::Stdout(io::BufWriter::new(stdout.lock()))
    }

    /// Flushes and waits for the pager to quit. A pager quit early (the reader had seen
    /// enough) is no error.
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut out) => Ok(out.flush()?),
            Output::File(out, path) => {
                let written = |e: io::Error| {
                    anyhow::Error::new(e)
                        .context(format!("cannot write the report to {}", path.display()))
                };
                let file = out.into_inner().map_err(|e| written(e.into_error()))?;
                file.as_file().sync_all().map_err(written)?;
                file.persist(&path).map_err(|e| written(e.error))?;
                eprintln!("wrote {}", path.display());
                Ok(())
            }
            Output::Pager(mut child, mut stdin) => {
                let flushed = stdin.flush();
                drop(stdin);
                child.wait()?;
                match flushed {
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                    other => Ok(other?),
                }
            }
        }
    }

    /// Whether `error` only says that the pager was quit before the end of the report.
    pub fn quit_early(&self, error: &anyhow::Error) -> bool {
        matches!(self, Output::Pager(..))
            && error.chain().any(|e| {
                let io = e.downcast_ref::<io::Error>().or(match e.downcast_ref() {
                    Some(iamsnap_engine::diff::DiffError::Output(io)) => Some(io),
                    _ => None,
                });
                io.is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            })
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::Pager(_, out) => out.write(buf),
            Output::File(out, _) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::Pager(_, out) => out.flush(),
            Output::File(out, _) => out.flush(),
        }
    }
}
