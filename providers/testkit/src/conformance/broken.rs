//! Deliberately broken connectors, to show that the suite catches what it promises to: a
//! [`Broken`] subject is a real one whose connector is wrapped so that its snapshot drops a
//! kind, or its `fetch` changes the records of a kind.
//!
//! ```ignore
//! let report = conformance::run(&Broken::dropping_kind(OktaOrg, "okta.group_rule"), &options)
//!     .unwrap_err();
//! assert_eq!(report.failed(), [Check::EveryKind]);
//! ```

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{
    Action, Connector, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider, Record,
    RecordSink, RequestStats, SelfIdentity, WriteProvider,
};
use serde_json::{Value, json};

use super::Subject;
use crate::faults::Fault;

/// What the wrapper breaks.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    /// `snapshot` never sends records of this kind.
    DropKind(&'static str),
    /// `fetch` adds an attribute to records of this kind.
    AlterFetch(&'static str),
}

/// A real subject whose connector is broken in one way.
pub struct Broken<S> {
    inner: S,
    tamper: Tamper,
}

impl<S: Subject> Broken<S> {
    /// `inner`, whose snapshots leave out every record of `kind`.
    pub fn dropping_kind(inner: S, kind: &'static str) -> Broken<S> {
        Broken {
            inner,
            tamper: Tamper::DropKind(kind),
        }
    }

    /// `inner`, whose `fetch` gives records of `kind` an attribute the snapshot lacks.
    pub fn altering_fetch(inner: S, kind: &'static str) -> Broken<S> {
        Broken {
            inner,
            tamper: Tamper::AlterFetch(kind),
        }
    }
}

#[async_trait]
impl<S: Subject> Subject for Broken<S> {
    type System = S::System;

    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn seeded(&self) -> Result<Self::System, String> {
        self.inner.seeded().await
    }

    async fn empty(&self) -> Result<Self::System, String> {
        self.inner.empty().await
    }

    fn url(&self, system: &Self::System) -> String {
        self.inner.url(system)
    }

    fn source(&self, system: &Self::System, url: &str, dir: &Path) -> String {
        self.inner.source(system, url, dir)
    }

    fn env(&self) -> Vec<(String, String)> {
        self.inner.env()
    }

    fn secret(&self) -> String {
        self.inner.secret()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let inner = self.inner.connect(config, name)?;
        let writable = inner.writer().is_some();
        let broken = Tampered {
            inner,
            tamper: self.tamper,
        };
        Ok(if writable {
            Connector::read_write(broken)
        } else {
            Connector::read_only(broken)
        })
    }

    async fn delete(&self, system: &Self::System, record: &Record) -> Result<(), String> {
        self.inner.delete(system, record).await
    }

    fn spare(&self, record: &Record, snapshot: &[Record], me: Option<&Record>) -> Option<String> {
        self.inner.spare(record, snapshot, me)
    }

    fn unseedable(&self) -> &'static [(&'static str, &'static str)] {
        self.inner.unseedable()
    }

    fn throttle(&self) -> Fault {
        self.inner.throttle()
    }
}

/// A connector with one fault; everything else is the wrapped connector's.
struct Tampered {
    inner: Connector,
    tamper: Tamper,
}

impl Tampered {
    fn writer(&self) -> &dyn WriteProvider {
        self.inner
            .writer()
            .expect("only a connector that can write is wrapped as one")
    }
}

#[async_trait]
impl ReadProvider for Tampered {
    fn provider_type(&self) -> &'static str {
        self.inner.reader().provider_type()
    }

    fn kinds(&self) -> &'static [KindInfo] {
        self.inner.reader().kinds()
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        self.inner.reader().healthcheck().await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        let Tamper::DropKind(dropped) = self.tamper else {
            return self.inner.reader().snapshot(sink).await;
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(64);
        let forward = async move {
            while let Some(record) = rx.recv().await {
                if record.kind != dropped && sink.send(record).await.is_err() {
                    return Err(ProviderError::Cancelled);
                }
            }
            Ok(())
        };
        let (read, forwarded) = futures::join!(self.inner.reader().snapshot(tx), forward);
        forwarded.and(read)
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        let fetched = self.inner.reader().fetch(kind, key).await?;
        match (self.tamper, fetched) {
            (Tamper::AlterFetch(altered), Some(mut record)) if record.kind == altered => {
                match &mut record.attrs {
                    Value::Object(attrs) => {
                        attrs.insert("conformance".into(), json!("altered by fetch"));
                    }
                    other => *other = json!({"conformance": other.take()}),
                }
                Ok(Some(record))
            }
            (_, fetched) => Ok(fetched),
        }
    }

    fn stats(&self) -> RequestStats {
        self.inner.reader().stats()
    }
}

#[async_trait]
impl WriteProvider for Tampered {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        self.writer().apply(op, ids).await
    }

    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        self.writer().cannot_restore(record)
    }

    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        self.writer().refuses(action, record)
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        self.writer().reachable(desired, live)
    }

    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        self.writer().self_identity().await
    }

    fn protects(&self, op: &Operation, me: &SelfIdentity) -> Option<String> {
        self.writer().protects(op, me)
    }

    fn concurrency(&self) -> usize {
        self.writer().concurrency()
    }
}
