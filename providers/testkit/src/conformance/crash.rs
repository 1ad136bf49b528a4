//! Check 5, through the `iamsnap` binary: a restore into an empty system, slowed by a fault
//! proxy, is killed with SIGKILL once the journal (opened with the workspace's keys) shows
//! ended operations; `--resume` then
//! finishes, the target holds no two objects of the same kind and key, and a new plan is empty.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use iamsnap_engine::restore::JournalKeys;
use iamsnap_engine::restore::journal::sealed;

use crate::faults::{Fault, FaultProxy, RequestInfo};
use crate::relay::{Relaying, TcpRelay};

use super::records::{duplicates, read_all};
use super::workspace::walk;
use super::{Checked, RESUMED, SEEDED, Stop, Subject, Suite, fail, verdict};

/// How long the proxy holds each request of the restore that is killed.
const DELAY: Duration = Duration::from_millis(150);

/// What slows the restore down: the fault proxy, or a TCP relay for a system that does not
/// speak HTTP.
enum Slowing {
    Http(FaultProxy),
    Tcp(TcpRelay),
}

impl Slowing {
    fn url(&self) -> &str {
        match self {
            Slowing::Http(p) => p.url(),
            Slowing::Tcp(r) => r.url(),
        }
    }

    /// Holds every request for [`DELAY`], or lets them through.
    fn slow(&self, on: bool) {
        let delay = if on { DELAY } else { Duration::ZERO };
        match self {
            Slowing::Http(p) if on => p.set_plan(move |_: &RequestInfo| Fault::Delay(delay)),
            Slowing::Http(p) => p.set_plan(|_: &RequestInfo| Fault::Pass),
            Slowing::Tcp(r) => r.set(Relaying::Forward {
                delay_ms: delay.as_millis() as u64,
            }),
        }
    }
}

/// Longest wait for the journal to show ended operations.
const PATIENCE: Duration = Duration::from_secs(120);

impl<S: Subject> Suite<'_, S> {
    pub(super) fn killed_restore_resumes(&mut self) -> Checked {
        if self.connect(SEEDED)?.writer().is_none() {
            return Err(Stop::NotRun("the connector cannot restore".into()));
        }
        let subject = self.subject;
        let (system, proxy) = self
            .runtime
            .block_on(async {
                let system = subject.empty().await?;
                let url = subject.url(&system);
                let proxy = if subject.speaks_http() {
                    FaultProxy::start(&url, |_: &RequestInfo| Fault::Pass)
                        .await
                        .map(Slowing::Http)
                } else {
                    TcpRelay::start(&url, Relaying::Forward { delay_ms: 0 })
                        .await
                        .map(Slowing::Tcp)
                }
                .map_err(|e| format!("the fault proxy did not start: {e}"))?;
                Ok::<_, String>((system, proxy))
            })
            .map_err(|e| fail(format!("the empty system did not start: {e}")))?;
        let table = subject.source(&system, proxy.url(), self.ws.dir());
        self.ws.set_source(RESUMED, &table);

        let backup = self.iamsnap(&["backup", "--source", SEEDED]);
        if backup.code != Some(0) {
            return Err(fail(format!("the backup failed: {}", backup.describe())));
        }
        let reference = format!("{SEEDED}@latest");
        let plan = self.iamsnap(&[
            "restore", &reference, "--target", RESUMED, "--format", "json",
        ]);
        let total = serde_json::from_str::<serde_json::Value>(&plan.stdout)
            .ok()
            .and_then(|p| p["operations"].as_array().map(Vec::len))
            .unwrap_or(0);
        if plan.code != Some(1) || total < 2 {
            return Err(fail(format!(
                "planning the restore into an empty system should find operations to run ({total} found): {}",
                plan.describe()
            )));
        }

        proxy.slow(true);
        let apply = [
            "restore", &reference, "--target", RESUMED, "--apply", "--yes",
        ];
        let mut child = self.ws.spawn(&apply, "killed-restore").map_err(fail)?;
        let repository = self.ws.repository_dir();
        let keys = self.ws.journal_keys().map_err(fail)?;
        let wanted = (total / 3).max(1);
        let started = Instant::now();
        let mut exited = None;
        while ended(&repository, &keys) < wanted && started.elapsed() < PATIENCE {
            if let Ok(Some(status)) = child.try_wait() {
                exited = Some(status.code());
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if exited.is_none() {
            let _ = child.kill();
        }
        let code = child.wait().ok().and_then(|s| s.code());
        let killed = self.ws.output_of(&apply, "killed-restore", code);
        self.runs.push(killed.clone());
        let ended_at_kill = ended(&repository, &keys);
        if exited.is_some() {
            return Err(fail(format!(
                "the restore ended by itself before it could be killed ({ended_at_kill} of {total} operations ended): {}",
                killed.describe()
            )));
        }
        if ended_at_kill == 0 || ended_at_kill >= total {
            return Err(fail(format!(
                "the restore was killed with {ended_at_kill} of {total} operations ended, not mid-way"
            )));
        }
        // Requests the proxy still holds for the killed run land before the resume looks.
        proxy.slow(false);
        std::thread::sleep(DELAY * 2 + Duration::from_millis(300));

        let mut problems = Vec::new();
        let resume = [
            "restore", &reference, "--target", RESUMED, "--resume", "--yes", "--format", "json",
        ];
        let resumed = self.iamsnap(&resume);
        // What the connector skipped while applying, with a reason (a device not in the
        // tenant), a new plan keeps proposing.
        let skipped: BTreeSet<(String, String, String)> =
            serde_json::from_str::<serde_json::Value>(&resumed.stdout)
                .ok()
                .and_then(|r| r["skipped_operations"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(operation)
                .collect();
        if resumed.code != Some(0) {
            let report: Vec<&str> = resumed.stdout.lines().take(20).collect();
            problems.push(format!(
                "the resume after the kill ({ended_at_kill} of {total} operations ended) did not finish cleanly: {} | report: {}",
                resumed.describe(),
                report.join(" | ")
            ));
        }
        let connector = self.connect(RESUMED)?;
        match self.runtime.block_on(read_all(connector.reader())) {
            Ok(live) => problems.extend(duplicates(&live, "the target after the resume")),
            Err(e) => problems.push(format!("reading the target after the resume failed: {e}")),
        }
        let again = self.iamsnap(&[
            "restore", &reference, "--target", RESUMED, "--format", "json",
        ]);
        let left: Vec<String> = serde_json::from_str::<serde_json::Value>(&again.stdout)
            .ok()
            .and_then(|p| p["operations"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(operation)
            .filter(|op| !skipped.contains(op))
            .map(|(action, kind, key)| format!("{action} {kind} {key}"))
            .collect();
        if !matches!(again.code, Some(0) | Some(1)) || !left.is_empty() {
            problems.push(format!(
                "a new plan after the resume is not empty: {} | still planned: {}",
                again.describe(),
                left.join(", ")
            ));
        }
        drop(proxy);
        drop(system);
        verdict(
            problems,
            format!("killed with {ended_at_kill} of {total} operations ended, then resumed"),
        )
    }
}

/// Operations that ended (done or failed), counted in the journal segments under `dir`; the
/// segment being written may lack its last line.
fn ended(repository: &Path, keys: &JournalKeys) -> usize {
    let dir = repository.join("journals").join(RESUMED);
    walk(&dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sealed"))
        .filter(|p| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "ops")
        })
        .filter_map(|p| {
            // Sealed for its path in the repository; a segment being written is skipped.
            let name = p
                .strip_prefix(repository)
                .ok()?
                .to_str()?
                .replace('\\', "/");
            let bytes = std::fs::read(p).ok()?;
            sealed::open(&name, &bytes, keys).ok()
        })
        .map(|plain| {
            String::from_utf8_lossy(&plain)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|event| event.get("end").is_some())
                .count()
        })
        .sum()
}

/// (action, kind, key) of an operation or a skipped one, as the JSON output writes them.
fn operation(op: &serde_json::Value) -> (String, String, String) {
    let text = |field: &str| op[field].as_str().unwrap_or_default().to_string();
    (text("action"), text("kind"), text("key"))
}
