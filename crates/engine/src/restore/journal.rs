//! The restore journal: every operation recorded before and after it runs, as new objects
//! (the repository never overwrites), so a killed restore can be resumed.
//!
//! Layout under `journals/<target>/<restore-id>/`:
//! - `plan.json.zst` — the [`Plan`] being applied (JSON, zstd-compressed: a plan re-creating a
//!   whole organisation is hundreds of megabytes of JSON), written first;
//! - `ops/<segment>.jsonl` — events, one JSON object a line: `{"seq":4,"attempt":1,"started":
//!   "<time>"}` just before an operation runs, `{"seq":4,"attempt":1,"end":{…}}` with its
//!   [`OpEnd`] (outcome or error) after;
//! - `finished.json` — written once every operation has ended without failure.
//!
//! Events are group-committed: an operation waits until its event is stored, and every event
//! recorded while one segment is being written goes into the next, so a restore running
//! hundreds of operations at once writes a few segments a second, not one object per event.
//! A segment cut short by a crash loses only its last, incomplete line, whose operation never
//! learnt that its event was stored and so never ran (or never reported).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use iamsnap_provider::Outcome;
use serde::{Deserialize, Serialize};

use crate::restore::Plan;

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("restore journal {path}: {message}")]
    Storage { path: String, message: String },
    #[error("restore journal {path} is damaged: {message}; start a new restore without --resume")]
    Damaged { path: String, message: String },
    #[error(
        "the journal of the restore of {snapshot} does not match the snapshot or the live state: {detail}; it may have been altered in the repository; start a new restore without --resume"
    )]
    Mismatch { snapshot: String, detail: String },
}

impl crate::error::Classify for JournalError {
    fn exit_status(&self) -> Option<crate::error::ExitStatus> {
        Some(match self {
            JournalError::Storage { .. } => crate::error::ExitStatus::Failure,
            JournalError::Damaged { .. } | JournalError::Mismatch { .. } => {
                crate::error::ExitStatus::Integrity
            }
        })
    }
}

/// Where journals are kept: small objects that are created once and never overwritten.
#[async_trait]
pub trait JournalStore: Send + Sync {
    /// Creates `path`; fails if it exists.
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError>;
    /// Reads `path`, `None` if it does not exist.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError>;
    /// Every object path under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError>;
}

/// A journal store in a local folder.
pub struct LocalJournalStore {
    root: PathBuf,
}

impl LocalJournalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalJournalStore { root: root.into() }
    }
}

fn storage(path: &str, e: impl std::fmt::Display) -> JournalError {
    JournalError::Storage {
        path: path.to_string(),
        message: e.to_string(),
    }
}

#[async_trait]
impl JournalStore for LocalJournalStore {
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError> {
        use std::io::Write;
        let full = self.root.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| storage(path, e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&full)
            .map_err(|e| storage(path, e))?;
        file.write_all(&bytes).map_err(|e| storage(path, e))?;
        file.sync_all().map_err(|e| storage(path, e))
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError> {
        match std::fs::read(self.root.join(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(storage(path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.join(prefix)];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(storage(prefix, e)),
            };
            for entry in entries {
                let path = entry.map_err(|e| storage(prefix, e))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&self.root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpEnd {
    Done { outcome: Outcome },
    Failed { error: String },
}

/// What a journal says about one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpState {
    /// Highest attempt number started.
    pub attempts: u32,
    /// How the highest attempt ended, if it did.
    pub end: Option<OpEnd>,
}

/// One line of a segment.
#[derive(Debug, Serialize, Deserialize)]
struct Event {
    seq: usize,
    attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<OpEnd>,
}

/// Events recorded and not yet stored.
#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// Events recorded so far, stored or not.
    recorded: u64,
}

/// The writer's side: one segment stored at a time.
struct Log {
    next_segment: u64,
    /// Events stored so far.
    stored: u64,
    /// Why storing failed: every later event fails too, so no operation runs unjournalled.
    broken: Option<String>,
}

/// One restore's journal.
pub struct Journal<'a> {
    store: &'a dyn JournalStore,
    /// `journals/<target>/<restore-id>`.
    pub dir: String,
    pending: Mutex<Pending>,
    log: tokio::sync::Mutex<Log>,
}

/// The plan's object in a journal.
const PLAN: &str = "plan.json.zst";

fn compressed(plan: &Plan) -> std::io::Result<Vec<u8>> {
    let mut out = zstd::Encoder::new(Vec::new(), 3)?;
    serde_json::to_writer(&mut out, plan)?;
    out.finish()
}

fn decompressed(bytes: &[u8]) -> std::io::Result<Plan> {
    let json = std::io::BufReader::new(zstd::Decoder::new(bytes)?);
    Ok(serde_json::from_reader(json)?)
}

impl<'a> Journal<'a> {
    fn open(store: &'a dyn JournalStore, dir: String, next_segment: u64) -> Journal<'a> {
        Journal {
            store,
            dir,
            pending: Mutex::new(Pending::default()),
            log: tokio::sync::Mutex::new(Log {
                next_segment,
                stored: 0,
                broken: None,
            }),
        }
    }

    /// Starts a new journal for `plan` (restore id: UTC time to the millisecond + random
    /// suffix, so the latest sorts last).
    pub async fn create(
        store: &'a dyn JournalStore,
        plan: &Plan,
    ) -> Result<Journal<'a>, JournalError> {
        let id = format!(
            "{}-{:08x}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
            rand::random::<u32>()
        );
        let journal = Journal::open(store, format!("journals/{}/{id}", plan.target), 0);
        let bytes = compressed(plan).map_err(|e| storage(&journal.dir, e))?;
        store
            .put_new(&format!("{}/{PLAN}", journal.dir), bytes)
            .await?;
        Ok(journal)
    }

    /// The latest journal of a restore of `snapshot` into `target`, with its plan, unless that
    /// restore finished (an older unfinished one was superseded by it).
    pub async fn latest_unfinished(
        store: &'a dyn JournalStore,
        target: &str,
        snapshot: &str,
    ) -> Result<Option<(Journal<'a>, Plan)>, JournalError> {
        let prefix = format!("journals/{target}/");
        let paths = store.list(&prefix).await?;
        let mut dirs: Vec<&str> = paths
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix)?.split('/').next())
            .collect();
        dirs.sort();
        dirs.dedup();
        for id in dirs.into_iter().rev() {
            let dir = format!("{prefix}{id}");
            let plan_path = format!("{dir}/{PLAN}");
            let Some(bytes) = store.get(&plan_path).await? else {
                continue;
            };
            let plan = decompressed(&bytes).map_err(|e| JournalError::Damaged {
                path: plan_path.clone(),
                message: e.to_string(),
            })?;
            drop(bytes);
            if plan.snapshot != snapshot {
                continue;
            }
            if paths.iter().any(|p| *p == format!("{dir}/finished.json")) {
                return Ok(None);
            }
            let ops = format!("{dir}/ops/");
            let next_segment = paths
                .iter()
                .filter_map(|p| segment_number(p.strip_prefix(&ops)?))
                .max()
                .map_or(0, |n| n + 1);
            return Ok(Some((Journal::open(store, dir, next_segment), plan)));
        }
        Ok(None)
    }

    /// The state of every operation the journal mentions, by `seq`.
    pub async fn states(&self) -> Result<BTreeMap<usize, OpState>, JournalError> {
        let prefix = format!("{}/ops/", self.dir);
        let mut states: BTreeMap<usize, OpState> = BTreeMap::new();
        let mut ends: BTreeMap<(usize, u32), OpEnd> = BTreeMap::new();
        for path in self.store.list(&prefix).await? {
            if path
                .strip_prefix(&prefix)
                .and_then(segment_number)
                .is_none()
            {
                continue;
            }
            let bytes = self.store.get(&path).await?.unwrap_or_default();
            // Only whole lines count: a segment cut short by a crash ends without a newline.
            let whole = match bytes.iter().rposition(|b| *b == b'\n') {
                Some(end) => &bytes[..=end],
                None => &[][..],
            };
            for line in whole.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let event: Event =
                    serde_json::from_slice(line).map_err(|e| JournalError::Damaged {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                let state = states.entry(event.seq).or_default();
                state.attempts = state.attempts.max(event.attempt);
                if let Some(end) = event.end {
                    ends.insert((event.seq, event.attempt), end);
                }
            }
        }
        for (seq, state) in states.iter_mut() {
            state.end = ends.remove(&(*seq, state.attempts));
        }
        Ok(states)
    }

    /// Records that attempt `attempt` of operation `seq` is about to run; returns once that is
    /// stored.
    pub async fn started(&self, seq: usize, attempt: u32) -> Result<(), JournalError> {
        self.record(Event {
            seq,
            attempt,
            started: Some(chrono::Utc::now().to_rfc3339()),
            end: None,
        })
        .await
    }

    /// Records how attempt `attempt` of operation `seq` ended; returns once that is stored.
    pub async fn ended(&self, seq: usize, attempt: u32, end: &OpEnd) -> Result<(), JournalError> {
        self.record(Event {
            seq,
            attempt,
            started: None,
            end: Some(end.clone()),
        })
        .await
    }

    async fn record(&self, event: Event) -> Result<(), JournalError> {
        let ticket = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            serde_json::to_writer(&mut pending.lines, &event).map_err(|e| storage(&self.dir, e))?;
            pending.lines.push(b'\n');
            pending.recorded += 1;
            pending.recorded
        };
        let mut log = self.log.lock().await;
        if let Some(why) = &log.broken {
            return Err(storage(&self.dir, why));
        }
        if log.stored >= ticket {
            // Stored with the segment another operation wrote while this one waited.
            return Ok(());
        }
        let (lines, recorded) = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut pending.lines), pending.recorded)
        };
        let path = format!("{}/ops/{:08}.jsonl", self.dir, log.next_segment);
        log.next_segment += 1;
        match self.store.put_new(&path, lines).await {
            Ok(()) => {
                log.stored = recorded;
                Ok(())
            }
            Err(e) => {
                log.broken = Some(e.to_string());
                Err(e)
            }
        }
    }

    pub async fn finished(&self, summary: &serde_json::Value) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec(summary).map_err(|e| storage(&self.dir, e))?;
        self.store
            .put_new(&format!("{}/finished.json", self.dir), bytes)
            .await
    }
}

/// `00000012.jsonl` → 12.
fn segment_number(name: &str) -> Option<u64> {
    name.strip_suffix(".jsonl")?.parse().ok()
}

/// Journals live in the repository, beside the snapshots, under `journals/`.
#[async_trait]
impl JournalStore for crate::repo::Repository {
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError> {
        self.put_new_bytes(path, &bytes)
            .await
            .map_err(|e| storage(path, e))
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError> {
        match self.get_bytes(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(crate::repo::RepoError::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage(path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError> {
        let mut paths: Vec<String> = crate::repo::Repository::list(self, prefix)
            .await
            .map_err(|e| storage(prefix, e))?
            .into_iter()
            .map(|o| o.path)
            .collect();
        paths.sort();
        Ok(paths)
    }
}
