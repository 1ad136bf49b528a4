//! An in-memory provider for tests: records in a map, new ids on create, and failure
//! injection.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use iamsnap_provider::{
    Action, Capabilities, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider, Record,
    RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub const KINDS: &[KindInfo] = &[
    KindInfo {
        name: "t.membership",
        description: "a user in a group",
        depends_on: &["t.user", "t.group"],
        capabilities: Capabilities::LINK,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: "t.user",
        description: "a person",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &["password: restored users have none; send them a password reset"],
    },
    KindInfo {
        name: "t.group",
        description: "a group",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: "t.policy",
        description: "a rule naming the groups it applies to",
        depends_on: &["t.group"],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: "t.audit",
        description: "read-only",
        depends_on: &[],
        capabilities: Capabilities::NONE,
        parent: None,
        cannot_restore: &[],
    },
];

/// Records by (kind, id). Creating does not look for an existing object unless `idempotent`,
/// so a restore that repeated a create would leave a duplicate for the test to see.
pub struct MemoryProvider {
    pub records: Mutex<BTreeMap<(String, String), Record>>,
    next_id: AtomicUsize,
    applied: AtomicUsize,
    /// Applies beyond this many fail (before taking effect), with this message.
    pub fail_after: Option<usize>,
    pub failure: String,
    pub idempotent: bool,
    pub me: Option<SelfIdentity>,
    /// An attribute that created objects lose, like a status that needs credentials.
    pub lose_on_create: Option<&'static str>,
    /// The key of an object the provider never lets a restore create (an app's own group).
    pub refused: Option<&'static str>,
    /// The key of an object whose create the provider declines when asked, doing nothing
    /// (as a connector answers `Skipped` for a role whose id is still held).
    pub declines: Option<&'static str>,
    /// Reads by key that miss a created object before it shows, like a replica lagging the
    /// writes.
    pub stale_reads: usize,
    stale: Mutex<BTreeMap<(String, String), usize>>,
}

impl MemoryProvider {
    pub fn new(records: Vec<Record>) -> Self {
        MemoryProvider {
            records: Mutex::new(
                records
                    .into_iter()
                    .map(|r| ((r.kind.clone(), r.id.clone()), r))
                    .collect(),
            ),
            next_id: AtomicUsize::new(1),
            applied: AtomicUsize::new(0),
            fail_after: None,
            failure: "injected failure".into(),
            idempotent: false,
            me: None,
            lose_on_create: None,
            refused: None,
            declines: None,
            stale_reads: 0,
            stale: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn all(&self) -> Vec<Record> {
        self.records.lock().unwrap().values().cloned().collect()
    }

    pub fn find(&self, kind: &str, key: &str) -> Option<Record> {
        self.records
            .lock()
            .unwrap()
            .values()
            .find(|r| r.kind == kind && r.key == key)
            .cloned()
    }

    /// `desired` with its refs pointing at live ids; a ref to nothing live is an error.
    fn resolve(&self, desired: &Record, ids: &dyn IdMap) -> Result<Record, ProviderError> {
        let mut out = desired.clone();
        let records = self.records.lock().unwrap();
        for r in &mut out.refs {
            let live = ids.live_id(&r.kind, &r.id).unwrap_or_else(|| r.id.clone());
            if !records.contains_key(&(r.kind.clone(), live.clone())) {
                return Err(ProviderError::Precondition {
                    kind: desired.kind.clone(),
                    key: desired.key.clone(),
                    message: format!("{} {} does not exist", r.kind, r.id),
                });
            }
            r.id = live;
        }
        out.refs.sort();
        Ok(out)
    }
}

#[async_trait]
impl ReadProvider for MemoryProvider {
    fn provider_type(&self) -> &'static str {
        "memory"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        for r in self.all() {
            sink.send(r).await.map_err(|_| ProviderError::Cancelled)?;
        }
        Ok(())
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        if let Some(misses) = self
            .stale
            .lock()
            .unwrap()
            .get_mut(&(kind.to_string(), key.to_string()))
            .filter(|n| **n > 0)
        {
            *misses -= 1;
            return Ok(None);
        }
        Ok(self.find(kind, key))
    }

    fn stats(&self) -> RequestStats {
        RequestStats::default()
    }
}

#[async_trait]
impl WriteProvider for MemoryProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        let n = self.applied.fetch_add(1, Ordering::SeqCst);
        if self.fail_after.is_some_and(|limit| n >= limit) {
            return Err(ProviderError::Http {
                method: "POST".into(),
                url: format!("memory://{}/{}", op.kind, op.key),
                status: 503,
                message: self.failure.clone(),
            });
        }
        match op.action {
            Action::Create if self.declines == Some(op.key.as_str()) => Ok(Outcome::Skipped {
                reason: "declined: its id is still held".into(),
            }),
            Action::Create => {
                if self.idempotent
                    && let Some(existing) = self.find(&op.kind, &op.key)
                {
                    return Ok(Outcome::AlreadyDone { id: existing.id });
                }
                let mut record =
                    self.resolve(op.desired.as_ref().expect("create has desired"), ids)?;
                record.id = format!("new{}", self.next_id.fetch_add(1, Ordering::SeqCst));
                if let (Some(field), Some(attrs)) =
                    (self.lose_on_create, record.attrs.as_object_mut())
                {
                    attrs.remove(field);
                }
                let id = record.id.clone();
                self.stale
                    .lock()
                    .unwrap()
                    .insert((record.kind.clone(), record.key.clone()), self.stale_reads);
                self.records
                    .lock()
                    .unwrap()
                    .insert((record.kind.clone(), id.clone()), record);
                Ok(Outcome::Applied { id })
            }
            Action::Update => {
                let current = op.current.as_ref().expect("update has current");
                let mut record =
                    self.resolve(op.desired.as_ref().expect("update has desired"), ids)?;
                record.id = current.id.clone();
                self.records
                    .lock()
                    .unwrap()
                    .insert((record.kind.clone(), record.id.clone()), record);
                Ok(Outcome::Applied {
                    id: current.id.clone(),
                })
            }
            Action::Delete => {
                let current = op.current.as_ref().expect("delete has current");
                let removed = self
                    .records
                    .lock()
                    .unwrap()
                    .remove(&(current.kind.clone(), current.id.clone()));
                Ok(match removed {
                    Some(_) => Outcome::Applied {
                        id: current.id.clone(),
                    },
                    None => Outcome::AlreadyDone {
                        id: current.id.clone(),
                    },
                })
            }
        }
    }

    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        Ok(self.me.clone())
    }

    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        (action == Action::Create && self.refused == Some(record.key.as_str()))
            .then(|| "it belongs to an app".to_string())
    }
}
