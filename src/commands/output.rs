//! How long reports are printed: the options `diff` and `restore` share (`--limit`, `--full`,
//! `--no-pager`) and the pager a long report goes through on a terminal, as git does.

use std::io::{self, IsTerminal, Write};
use std::process::{Child, Command, Stdio};

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

/// Where a report goes: stdout, or a pager reading it.
pub enum Output {
    Stdout(io::BufWriter<io::StdoutLock<'static>>),
    Pager(Child, io::BufWriter<std::process::ChildStdin>),
}

impl Output {
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
    pub fn finish(self) -> io::Result<()> {
        match self {
            Output::Stdout(mut out) => out.flush(),
            Output::Pager(mut child, mut stdin) => {
                let flushed = stdin.flush();
                drop(stdin);
                child.wait()?;
                match flushed {
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                    other => other,
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
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::Pager(_, out) => out.flush(),
        }
    }
}
