//! The restore journal: every operation recorded before and after it runs, as new objects
//! (the repository never overwrites), so a killed restore can be resumed.
//!
//! Layout under `journals/<target>/<restore-id>/`, every object sealed ([`sealed`]: encrypted
//! to the repository's recipients and signed, like an archive):
//! - `plan.sealed` — the [`Plan`] being applied (JSON, zstd-compressed: a plan re-creating a
//!   whole organisation is hundreds of megabytes of JSON), written first;
//! - `ops/<segment>.sealed` — events, one JSON object a line: `{"seq":4,"attempt":1,"started":
//!   "<time>"}` just before an operation runs, `{"seq":4,"attempt":1,"end":{…}}` with its
//!   [`OpEnd`] (done with its outcome, skipped with the connector's reason, or failed with the
//!   error) after;
//! - `finished.sealed` — written once every operation has ended without failure.
//!
//! Journals written before they were sealed (`plan.json.zst`, `ops/<segment>.jsonl`,
//! `finished.json`, in plain text) are still read and resumed, the events of the resumed run
//! sealed; a sealed journal holding a plain object is refused, as one that was tampered with.
//!
//! Events are group-committed: an operation waits until its event is stored, and every event
//! recorded while one segment is being written goes into the next, so a restore running
//! hundreds of operations at once writes a few segments a second, not one object per event.
//! A plain segment cut short by a crash loses only its last, incomplete line, whose operation
//! never learnt that its event was stored and so never ran (or never reported).

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::sync::Mutex;

use iamsnap_provider::Outcome;
use serde::{Deserialize, Serialize};

use crate::open::OpenError;
use crate::repo::RepoError;
use crate::restore::Plan;

pub mod sealed;
mod store;

pub use sealed::JournalKeys;
use store::storage;
pub use store::{JournalStore, LocalJournalStore};

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "restore journal {path}: {message}; the restore stopped: resume it with --resume once the repository is reachable"
    )]
    Storage { path: String, message: String },
    #[error(transparent)]
    Repo(RepoError),
    #[error("restore journal {path} is damaged: {message}; start a new restore without --resume")]
    Damaged { path: String, message: String },
    #[error(
        "the journal of the restore of {snapshot} does not match the snapshot or the live state: {detail}; it may have been altered in the repository; start a new restore without --resume"
    )]
    Mismatch { snapshot: String, detail: String },
    #[error(
        "restore journal {path} is not signed by a trusted key ({reason}): it was altered in the repository, or written by a host whose signing key is neither repository.verify_key nor this host's repository.signing_key_file; start a new restore without --resume"
    )]
    Untrusted { path: String, reason: String },
    #[error(
        "restore journal {path} was sealed as {found}: it was copied or moved there from elsewhere, and is refused; start a new restore without --resume"
    )]
    Misplaced { path: String, found: String },
    #[error(
        "restore journal {path} is encrypted to other recipients: use the identity whose public key is in repository.recipients"
    )]
    WrongKey { path: String },
    #[error(
        "the journal of the restore is encrypted: --resume needs the identity that decrypts it; pass --identity FILE or set IAMSNAP_IDENTITY"
    )]
    NoIdentity,
    #[error(
        "repository.verify_key is not set, so the journal's signatures cannot be checked; set it to the `RW…` public key from `iamsnap key signing` (or pass --insecure-skip-signature)"
    )]
    NoVerifyKey,
    #[error(
        "restore --apply keeps its journal in the repository encrypted to repository.recipients and signed with repository.signing_key_file: set both (`iamsnap key signing --out FILE` makes a signing key)"
    )]
    NoSeal,
    #[error("cannot open restore journal {path}")]
    Open {
        path: String,
        #[source]
        source: OpenError,
    },
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

impl crate::error::Classify for JournalError {
    fn exit_status(&self) -> Option<crate::error::ExitStatus> {
        use crate::error::ExitStatus;
        Some(match self {
            JournalError::Storage { .. } => ExitStatus::Failure,
            JournalError::Repo(e) => return e.exit_status(),
            JournalError::Open { source, .. } => return source.exit_status(),
            JournalError::Key(e) => return e.exit_status(),
            JournalError::NoIdentity | JournalError::NoVerifyKey | JournalError::NoSeal => {
                ExitStatus::Usage
            }
            JournalError::Damaged { .. }
            | JournalError::Mismatch { .. }
            | JournalError::Untrusted { .. }
            | JournalError::Misplaced { .. }
            | JournalError::WrongKey { .. } => ExitStatus::Integrity,
        })
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpEnd {
    /// It took effect (or had already): a resumed restore does not run it again.
    Done {
        outcome: Outcome,
    },
    /// The connector declined it, doing nothing: a resumed restore runs it again, since its
    /// cause (a role still held, a lock on the scope) may have been dealt with meanwhile.
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// What a journal says about one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpState {
    /// Highest attempt number started.
    pub attempts: u32,
    /// How the highest attempt ended, if it did.
    pub end: Option<OpEnd>,
}

impl OpState {
    /// Whether the operation took effect, so that a resumed restore must not run it again.
    pub fn is_done(&self) -> bool {
        matches!(self.end, Some(OpEnd::Done { .. }))
    }

    /// The state with a skip journalled as done (as iamsnap did before skips had an end of
    /// their own) read as the skip it was.
    pub fn normalized(self) -> OpState {
        let end = match self.end {
            Some(OpEnd::Done {
                outcome: Outcome::Skipped { reason },
            }) => Some(OpEnd::Skipped { reason }),
            other => other,
        };
        OpState { end, ..self }
    }
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
    keys: JournalKeys,
    /// `journals/<target>/<restore-id>`.
    pub dir: String,
    /// Written before journals were sealed: its plan and first events are plain text.
    pub legacy: bool,
    pending: Mutex<Pending>,
    log: tokio::sync::Mutex<Log>,
}

/// The objects of a journal, sealed.
const PLAN: &str = "plan.sealed";
const FINISHED: &str = "finished.sealed";
const SEGMENT: &str = ".sealed";
/// The objects of a journal written before journals were sealed.
const LEGACY_PLAN: &str = "plan.json.zst";
const LEGACY_FINISHED: &str = "finished.json";
const LEGACY_SEGMENT: &str = ".jsonl";

fn read_plan(reader: impl Read) -> std::io::Result<Plan> {
    let json = BufReader::new(zstd::Decoder::new(reader)?);
    Ok(serde_json::from_reader(json)?)
}

impl<'a> Journal<'a> {
    fn open(
        store: &'a dyn JournalStore,
        keys: &JournalKeys,
        dir: String,
        legacy: bool,
        next_segment: u64,
    ) -> Journal<'a> {
        Journal {
            store,
            keys: keys.clone(),
            dir,
            legacy,
            pending: Mutex::new(Pending::default()),
            log: tokio::sync::Mutex::new(Log {
                next_segment,
                stored: 0,
                broken: None,
            }),
        }
    }

    /// Starts a new journal for `plan` (restore id: UTC time to the millisecond + random
    /// suffix, so the latest sorts last), sealed with `keys`.
    pub async fn create(
        store: &'a dyn JournalStore,
        plan: &Plan,
        keys: &JournalKeys,
    ) -> Result<Journal<'a>, JournalError> {
        let id = format!(
            "{}-{:08x}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
            rand::random::<u32>()
        );
        let journal = Journal::open(
            store,
            keys,
            format!("journals/{}/{id}", plan.target),
            false,
            0,
        );
        let path = format!("{}/{PLAN}", journal.dir);
        let bytes = sealed::seal(&path, keys, |out| {
            let mut compressed = zstd::Encoder::new(out, 3)?;
            serde_json::to_writer(&mut compressed, plan)?;
            compressed.finish()?;
            Ok(())
        })?;
        store.put_new(&path, bytes).await?;
        Ok(journal)
    }

    /// The latest journal of a restore of `snapshot` into `target`, with its plan, unless that
    /// restore finished (an older unfinished one was superseded by it). Every sealed object
    /// read is checked with `keys` before it is trusted.
    pub async fn latest_unfinished(
        store: &'a dyn JournalStore,
        target: &str,
        snapshot: &str,
        keys: &JournalKeys,
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
            let inside: Vec<&str> = paths
                .iter()
                .filter_map(|p| p.strip_prefix(&dir)?.strip_prefix('/'))
                .collect();
            let has = |name: &str| inside.contains(&name);
            let legacy = match (has(PLAN), has(LEGACY_PLAN)) {
                (false, false) => continue,
                (true, true) => {
                    return Err(JournalError::Damaged {
                        path: dir,
                        message: "it holds a sealed and a plain plan".into(),
                    });
                }
                (sealed, _) => !sealed,
            };
            let plan_path = format!("{dir}/{}", if legacy { LEGACY_PLAN } else { PLAN });
            let Some(bytes) = store.get(&plan_path).await? else {
                continue;
            };
            let plan = if legacy {
                read_plan(&bytes[..])
            } else {
                read_plan(sealed::unseal(&plan_path, &bytes, keys)?)
            }
            .map_err(|e| JournalError::Damaged {
                path: plan_path.clone(),
                message: e.to_string(),
            })?;
            drop(bytes);
            if plan.snapshot != snapshot {
                continue;
            }
            if !legacy
                && let Some(plain) = inside.iter().find(|name| {
                    **name == LEGACY_FINISHED
                        || name
                            .strip_prefix("ops/")
                            .is_some_and(|n| n.ends_with(LEGACY_SEGMENT))
                })
            {
                return Err(JournalError::Damaged {
                    path: format!("{dir}/{plain}"),
                    message: "a plain object in a sealed journal".into(),
                });
            }
            if has(FINISHED) {
                let path = format!("{dir}/{FINISHED}");
                let bytes = store.get(&path).await?.unwrap_or_default();
                sealed::unseal(&path, &bytes, keys)?;
                return Ok(None);
            }
            if legacy && has(LEGACY_FINISHED) {
                return Ok(None);
            }
            let next_segment = inside
                .iter()
                .filter_map(|name| segment_number(name.strip_prefix("ops/")?))
                .max()
                .map_or(0, |n| n + 1);
            let journal = Journal::open(store, keys, dir, legacy, next_segment);
            return Ok(Some((journal, plan)));
        }
        Ok(None)
    }

    /// The state of every operation the journal mentions, by `seq`.
    pub async fn states(&self) -> Result<BTreeMap<usize, OpState>, JournalError> {
        let prefix = format!("{}/ops/", self.dir);
        let mut states: BTreeMap<usize, OpState> = BTreeMap::new();
        let mut ends: BTreeMap<(usize, u32), OpEnd> = BTreeMap::new();
        for path in self.store.list(&prefix).await? {
            let Some(name) = path.strip_prefix(&prefix) else {
                continue;
            };
            let plain = name.ends_with(LEGACY_SEGMENT);
            if segment_number(name).is_none() {
                continue;
            }
            if plain && !self.legacy {
                return Err(JournalError::Damaged {
                    path,
                    message: "a plain object in a sealed journal".into(),
                });
            }
            let bytes = self.store.get(&path).await?.unwrap_or_default();
            let lines = if plain {
                // Only whole lines count: a segment cut short by a crash ends without a newline.
                match bytes.iter().rposition(|b| *b == b'\n') {
                    Some(end) => bytes[..=end].to_vec(),
                    None => Vec::new(),
                }
            } else {
                let mut lines = Vec::new();
                sealed::unseal(&path, &bytes, &self.keys)?
                    .read_to_end(&mut lines)
                    .map_err(|e| JournalError::Damaged {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                lines
            };
            for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
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
            *state = std::mem::take(state).normalized();
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
        let path = format!("{}/ops/{:08}{SEGMENT}", self.dir, log.next_segment);
        log.next_segment += 1;
        let stored = match sealed::seal(&path, &self.keys, |out| out.write_all(&lines)) {
            Ok(bytes) => self.store.put_new(&path, bytes).await,
            Err(e) => Err(e),
        };
        match stored {
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
        let path = format!("{}/{FINISHED}", self.dir);
        let bytes = sealed::seal(&path, &self.keys, |out| {
            serde_json::to_writer(out, summary).map_err(std::io::Error::from)
        })?;
        self.store.put_new(&path, bytes).await
    }
}

/// `00000012.sealed` (or, written before journals were sealed, `00000012.jsonl`) → 12.
fn segment_number(name: &str) -> Option<u64> {
    name.strip_suffix(SEGMENT)
        .or_else(|| name.strip_suffix(LEGACY_SEGMENT))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests;
