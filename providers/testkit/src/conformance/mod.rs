//! The conformance suite every connector passes: a backup holds every kind the connector
//! declares, `fetch` agrees with the snapshot, a restore into an empty system and a restore
//! after an incident both come back whole, a restore killed mid-way resumes without
//! duplicates, throttling and server errors change nothing in a backup, and the source's
//! secret never shows.
//!
//! A connector's integration test describes its system as a [`Subject`] — how to start a
//! seeded system and an empty one, its `[sources.NAME]` table, how to build its connector (as
//! the command line does, through the registry), how to delete an object through the system's
//! own API — and calls [`run`] with the `iamsnap` binary to drive:
//!
//! ```ignore
//! #[test]
//! fn okta_conforms() {
//!     let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
//!     conformance::run(&OktaOrg, &options).unwrap();
//! }
//! ```
//!
//! The checks run in the order of [`Check`], on one seeded system, one local repository and
//! keys made for the run. A failed check does not stop the others; a check that needs what an
//! earlier one failed to make (the backup) is reported as not run. [`run`] returns the whole
//! [`Report`] — every failure naming the connector, the check and the records involved — as
//! `Err` when a check failed, so that a test can assert which check a deliberately [`broken`]
//! connector fails.

pub mod broken;
mod crash;
mod records;
mod restore;
mod secrets;
mod snapshot;
mod storm;
mod workspace;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use iamsnap_provider::{Connector, Record};

use crate::faults::Fault;
use records::Snapshot;
use workspace::{Ran, Workspace};

/// A connector under test and the system it reads: an emulator or a moto server.
#[async_trait]
pub trait Subject: Send + Sync {
    /// A running system; dropping it stops it.
    type System: Send + Sync;

    /// The provider type, as `provider = "…"` writes it.
    fn provider(&self) -> &'static str;

    /// Starts a system holding at least one object of every kind the connector reads.
    async fn seeded(&self) -> Result<Self::System, String>;

    /// Starts a system as a new organisation has it: only what the provider makes itself.
    async fn empty(&self) -> Result<Self::System, String>;

    /// Where `system` serves its API (`http://127.0.0.1:PORT`), for a fault proxy to forward
    /// to.
    fn url(&self, system: &Self::System) -> String;

    /// The body of `[sources.NAME]` (its `provider` line included) that reaches `system` at
    /// `url`: its own address, or a fault proxy's. A secret the source reads from a file is
    /// written into `dir`, the configuration file's folder.
    fn source(&self, system: &Self::System, url: &str, dir: &Path) -> String;

    /// Environment the `iamsnap` binary needs for the source (credentials it takes from the
    /// environment).
    fn env(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The source's secret (API token, client secret, secret access key): never to be shown.
    fn secret(&self) -> String;

    /// Builds the connector of source `name` in the configuration file `config`, as the
    /// command line does.
    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String>;

    /// Deletes `record` (which carries `system`'s live ids) through the system's own API,
    /// never through the connector, with whatever the API requires to go first. An object of
    /// a kind the connector never deletes (one that exists only with another, such as a user
    /// type's profile schema) is emptied instead: the restore then plans its update.
    async fn delete(&self, system: &Self::System, record: &Record) -> Result<(), String>;

    /// Why an incident must leave `record` alone (an object the provider never lets go), if
    /// it must. `snapshot` is the whole backup; `me` the record of the identity the connector
    /// runs as, which the suite spares already, with everything that references it.
    fn spare(&self, record: &Record, snapshot: &[Record], me: Option<&Record>) -> Option<String> {
        let _ = (record, snapshot, me);
        None
    }

    /// Kinds the connector reads that no seeded system can hold, each with why. Extend the
    /// seed rather than excuse a kind.
    fn unseedable(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// How the system says "too many requests", for the fault proxy to imitate.
    fn throttle(&self) -> Fault;

    /// Whether the system speaks HTTP, which the fault proxy of check 6 injects its faults
    /// into. A directory server speaks LDAP: check 6 does not run, and checks 5 and 7 slow it
    /// down or refuse it with a TCP relay instead.
    fn speaks_http(&self) -> bool {
        true
    }
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// A backup of the seeded system holds a record of every declared kind.
    EveryKind,
    /// `fetch` returns exactly the snapshot's record for a sample of keys of every kind.
    FetchEqualsSnapshot,
    /// A restore into an empty system completes, and a second plan is empty. What the
    /// connector cannot restore is no failure: what re-created objects lose is reported,
    /// operations it refuses are skipped with its reason, and one it skips while applying
    /// (only the live system tells) may be planned again.
    RestoreIntoEmpty,
    /// Objects deleted through the system's API come back with their state, ids aside
    /// (ids mapped, fields the connector can never set taken from the live record).
    IncidentRestore,
    /// `restore --apply` killed with SIGKILL, then `--resume`, finishes, leaves no
    /// duplicate, and a new plan holds nothing but what the resume skipped with a reason.
    KilledRestoreResumes,
    /// A backup through a burst of 429s and some 5xx holds the records of a clean one.
    ThrottlingAndErrors,
    /// The secret never appears in output, errors, exports or the repository.
    SecretNeverShown,
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 7] = [
        Check::EveryKind,
        Check::FetchEqualsSnapshot,
        Check::RestoreIntoEmpty,
        Check::IncidentRestore,
        Check::KilledRestoreResumes,
        Check::ThrottlingAndErrors,
        Check::SecretNeverShown,
    ];

    fn number(self) -> usize {
        Check::ALL.iter().position(|c| *c == self).unwrap_or(0) + 1
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Check::EveryKind => "backup holds every kind",
            Check::FetchEqualsSnapshot => "fetch equals the snapshot",
            Check::RestoreIntoEmpty => "restore into an empty system",
            Check::IncidentRestore => "incident, restore, same records",
            Check::KilledRestoreResumes => "restore killed mid-apply resumes",
            Check::ThrottlingAndErrors => "429 storm and 5xx give the same snapshot",
            Check::SecretNeverShown => "the secret never shows",
        };
        write!(f, "{}. {name}", self.number())
    }
}

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `iamsnap` binary (`env!("CARGO_BIN_EXE_iamsnap")`).
    pub binary: PathBuf,
    /// The checks to run (all by default); the others are reported as not run.
    pub checks: Vec<Check>,
}

impl Options {
    /// Every check, driving `binary`.
    pub fn new(binary: impl Into<PathBuf>) -> Options {
        Options {
            binary: binary.into(),
            checks: Check::ALL.to_vec(),
        }
    }

    /// Only `checks`.
    pub fn only(mut self, checks: &[Check]) -> Options {
        self.checks = checks.to_vec();
        self
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// Each problem names the records involved.
    Failed(Vec<String>),
    /// Why the check did not run.
    NotRun(String),
}

/// One check's verdict, what it did and how long it took.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub check: Check,
    pub verdict: Verdict,
    /// What a passed check did (how many records it read, deleted, faults it injected).
    pub summary: String,
    pub took: Duration,
}

/// The suite's findings for one connector.
#[derive(Clone)]
pub struct Report {
    /// The provider type of the connector.
    pub connector: &'static str,
    pub outcomes: Vec<Outcome>,
    pub took: Duration,
}

impl Report {
    /// The checks that failed, in order.
    pub fn failed(&self) -> Vec<Check> {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.verdict, Verdict::Failed(_)))
            .map(|o| o.check)
            .collect()
    }

    /// The problems found by `check` (empty unless it failed).
    pub fn problems(&self, check: Check) -> &[String] {
        self.outcomes
            .iter()
            .find(|o| o.check == check)
            .and_then(|o| match &o.verdict {
                Verdict::Failed(problems) => Some(problems.as_slice()),
                _ => None,
            })
            .unwrap_or_default()
    }
}

/// Problems shown per check; the rest are counted (`{:#}` shows them all).
const SHOWN: usize = 25;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failed().len();
        writeln!(
            f,
            "conformance of the {} connector: {} ({:.1} s)",
            self.connector,
            if failed == 0 {
                "every check passed".to_string()
            } else {
                format!("{failed} check(s) failed")
            },
            self.took.as_secs_f64()
        )?;
        for outcome in &self.outcomes {
            let took = outcome.took.as_secs_f64();
            match &outcome.verdict {
                Verdict::Passed => writeln!(
                    f,
                    "  ok       {} ({took:.1} s): {}",
                    outcome.check, outcome.summary
                )?,
                Verdict::NotRun(why) => writeln!(f, "  not run  {}: {why}", outcome.check)?,
                Verdict::Failed(problems) => {
                    writeln!(f, "  FAILED   {} ({took:.1} s)", outcome.check)?;
                    let shown = if f.alternate() { usize::MAX } else { SHOWN };
                    for problem in problems.iter().take(shown) {
                        writeln!(f, "           {}: {problem}", self.connector)?;
                    }
                    if problems.len() > shown {
                        writeln!(f, "           … and {} more", problems.len() - SHOWN)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Report {}

/// Why a check ended without passing.
enum Stop {
    Failed(Vec<String>),
    NotRun(String),
}

/// What a check did, or why it did not pass.
type Checked = Result<String, Stop>;

/// A check that did what `summary` says and found `problems` (passed when there are none).
fn verdict(problems: Vec<String>, summary: String) -> Checked {
    if problems.is_empty() {
        Ok(summary)
    } else {
        Err(Stop::Failed(problems))
    }
}

/// A check that stopped at one problem.
fn fail(problem: impl Into<String>) -> Stop {
    Stop::Failed(vec![problem.into()])
}

/// An error with its causes, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Source names in the configuration the suite writes.
const SEEDED: &str = "seeded";
const EMPTY: &str = "empty";
const RESUMED: &str = "resumed";
const THROTTLED: &str = "throttled";
const REFUSED: &str = "refused";

/// One run of the suite: the workspace, the seeded system, the backup of it, and every
/// command-line run made so far (for the secret check).
struct Suite<'s, S: Subject> {
    subject: &'s S,
    runtime: tokio::runtime::Runtime,
    ws: Workspace,
    seeded: S::System,
    snapshot: Option<Snapshot>,
    runs: Vec<Ran>,
}

/// Runs the checks of `options` on `subject`: `Ok` when every one that ran passed.
pub fn run<S: Subject>(subject: &S, options: &Options) -> Result<Report, Report> {
    let started = Instant::now();
    let mut report = Report {
        connector: subject.provider(),
        outcomes: Vec::new(),
        took: Duration::ZERO,
    };
    let mut suite = match Suite::start(subject, options) {
        Ok(suite) => suite,
        Err(problem) => {
            report.outcomes = Check::ALL
                .iter()
                .map(|&check| Outcome {
                    check,
                    verdict: Verdict::NotRun(format!("the suite could not start: {problem}")),
                    summary: String::new(),
                    took: Duration::ZERO,
                })
                .collect();
            report.took = started.elapsed();
            return Err(report);
        }
    };
    for check in Check::ALL {
        let began = Instant::now();
        let (verdict, summary) = if !options.checks.contains(&check) {
            (Verdict::NotRun("not selected".into()), String::new())
        } else {
            match suite.check(check) {
                Ok(summary) => (Verdict::Passed, summary),
                Err(Stop::Failed(problems)) => (Verdict::Failed(problems), String::new()),
                Err(Stop::NotRun(why)) => (Verdict::NotRun(why), String::new()),
            }
        };
        report.outcomes.push(Outcome {
            check,
            verdict,
            summary,
            took: began.elapsed(),
        });
    }
    report.took = started.elapsed();
    if report.failed().is_empty() {
        Ok(report)
    } else {
        Err(report)
    }
}

impl<'s, S: Subject> Suite<'s, S> {
    fn start(subject: &'s S, options: &Options) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let ws = Workspace::new(&options.binary, subject.env())?;
        let seeded = runtime.block_on(async {
            ws.init_repository().await?;
            subject
                .seeded()
                .await
                .map_err(|e| format!("the seeded system did not start: {e}"))
        })?;
        let mut suite = Suite {
            subject,
            runtime,
            ws,
            seeded,
            snapshot: None,
            runs: Vec::new(),
        };
        let url = subject.url(&suite.seeded);
        suite.add_source(SEEDED, &url);
        Ok(suite)
    }

    fn check(&mut self, check: Check) -> Checked {
        match check {
            Check::EveryKind => self.every_kind(),
            Check::FetchEqualsSnapshot => self.fetch_equals_snapshot(),
            Check::RestoreIntoEmpty => self.restore_into_empty(),
            Check::IncidentRestore => self.incident_restore(),
            Check::KilledRestoreResumes => self.killed_restore_resumes(),
            Check::ThrottlingAndErrors => self.throttling_and_errors(),
            Check::SecretNeverShown => self.secret_never_shown(),
        }
    }

    /// Adds (or replaces) source `name`, reaching the seeded system at `url`.
    fn add_source(&mut self, name: &str, url: &str) {
        let table = self.subject.source(&self.seeded, url, self.ws.dir());
        self.ws.set_source(name, &table);
    }

    /// The connector of source `name`, built afresh (no cache of an earlier check).
    fn connect(&self, name: &str) -> Result<Connector, Stop> {
        self.subject
            .connect(&self.ws.config_path(), name)
            .map_err(|e| fail(format!("cannot build the connector of source {name}: {e}")))
    }

    /// The backup made by the first check, which most others start from.
    fn snapshot(&self) -> Result<&Snapshot, Stop> {
        self.snapshot.as_ref().ok_or_else(|| {
            Stop::NotRun("needs the backup of the seeded system, which check 1 did not make".into())
        })
    }

    /// Runs `iamsnap ARGS` in the workspace, keeping its output for the secret check.
    fn iamsnap(&mut self, args: &[&str]) -> Ran {
        let ran = self.ws.iamsnap(args);
        self.runs.push(ran.clone());
        ran
    }
}
