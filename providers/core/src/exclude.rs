//! [`ExcludeKinds`]: a connector that reads all but some of its kinds.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::doctor::Check;
use crate::{
    Action, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider, Record, RecordSink,
    RequestStats, SelfIdentity, WriteProvider,
};

/// A connector whose source leaves some kinds out (`exclude_kinds`). The connector itself is
/// told too ([`crate::ConnectOptions::exclude_kinds`]) so it can skip their requests; this
/// wrapper drops whatever it sends of them anyway and reports the kinds read
/// ([`ReadProvider::kinds_read`]), so the guarantee does not depend on each connector.
/// Everything else goes to the connector unchanged.
#[derive(Debug)]
pub struct ExcludeKinds<P> {
    inner: P,
    excluded: BTreeSet<String>,
}

impl<P> ExcludeKinds<P> {
    /// `inner`, reading none of `excluded`.
    pub fn new(inner: P, excluded: BTreeSet<String>) -> Self {
        ExcludeKinds { inner, excluded }
    }
}

#[async_trait]
impl<P: ReadProvider> ReadProvider for ExcludeKinds<P> {
    fn provider_type(&self) -> &'static str {
        self.inner.provider_type()
    }

    fn kinds(&self) -> &'static [KindInfo] {
        self.inner.kinds()
    }

    fn kinds_read(&self) -> BTreeSet<String> {
        let mut read = self.inner.kinds_read();
        read.retain(|k| !self.excluded.contains(k));
        read
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        self.inner.healthcheck().await
    }

    async fn check_reads(&self) -> Vec<Check> {
        self.inner.check_reads().await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(sink.max_capacity());
        // Owning the receiver, the forwarder closes the inner channel when the sink closes,
        // and the connector stops as it would had the engine closed its sink.
        let forward = async move {
            while let Some(record) = rx.recv().await {
                if self.excluded.contains(&record.kind) {
                    continue;
                }
                if sink.send(record).await.is_err() {
                    return;
                }
            }
        };
        let (read, ()) = tokio::join!(self.inner.snapshot(tx), forward);
        read
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        if self.excluded.contains(kind) {
            return Ok(None);
        }
        self.inner.fetch(kind, key).await
    }

    fn stats(&self) -> RequestStats {
        self.inner.stats()
    }
}

#[async_trait]
impl<P: WriteProvider> WriteProvider for ExcludeKinds<P> {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        self.inner.apply(op, ids).await
    }

    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        self.inner.cannot_restore(record)
    }

    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        self.inner.refuses(action, record)
    }

    async fn before_plan(&self) -> Result<(), ProviderError> {
        self.inner.before_plan().await
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        self.inner.reachable(desired, live)
    }

    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        self.inner.self_identity().await
    }

    fn protects(&self, op: &Operation, me: &SelfIdentity) -> Option<String> {
        self.inner.protects(op, me)
    }

    async fn check_writes(&self) -> Vec<Check> {
        self.inner.check_writes().await
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Capabilities;

    const KINDS: &[KindInfo] = &[
        KindInfo {
            name: "t.user",
            description: "a user",
            depends_on: &[],
            capabilities: Capabilities::ALL,
            cannot_restore: &[],
            parent: None,
        },
        KindInfo {
            name: "t.key",
            description: "a user's key",
            depends_on: &["t.user"],
            capabilities: Capabilities::ALL,
            cannot_restore: &[],
            parent: None,
        },
    ];

    /// Sends one record of each kind, whatever it is told.
    struct Both;

    #[async_trait]
    impl ReadProvider for Both {
        fn provider_type(&self) -> &'static str {
            "t"
        }
        fn kinds(&self) -> &'static [KindInfo] {
            KINDS
        }
        async fn healthcheck(&self) -> Result<(), ProviderError> {
            Ok(())
        }
        async fn check_reads(&self) -> Vec<Check> {
            vec![Check::ok("reads", "asked of the connector")]
        }
        async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
            for kind in ["t.user", "t.key", "t.user"] {
                let record = Record {
                    kind: kind.into(),
                    id: "1".into(),
                    key: "k".into(),
                    attrs: serde_json::json!({}),
                    refs: Vec::new(),
                };
                sink.send(record)
                    .await
                    .map_err(|_| ProviderError::Cancelled)?;
            }
            Ok(())
        }
        async fn fetch(&self, _: &str, _: &str) -> Result<Option<Record>, ProviderError> {
            Ok(None)
        }
        fn stats(&self) -> RequestStats {
            RequestStats::default()
        }
    }

    #[tokio::test]
    async fn excluded_kinds_are_neither_sent_nor_reported_read() {
        let provider = ExcludeKinds::new(Both, ["t.key".to_string()].into());
        assert_eq!(provider.kinds_read(), ["t.user".to_string()].into());
        let (sink, mut rx) = tokio::sync::mpsc::channel::<Record>(1);
        let collect = async move {
            let mut kinds = Vec::new();
            while let Some(r) = rx.recv().await {
                kinds.push(r.kind);
            }
            kinds
        };
        let (read, kinds) = tokio::join!(provider.snapshot(sink), collect);
        read.unwrap();
        assert_eq!(kinds, ["t.user", "t.user"]);
    }

    #[async_trait]
    impl WriteProvider for Both {
        async fn apply(&self, _: &Operation, _: &dyn IdMap) -> Result<Outcome, ProviderError> {
            Err(ProviderError::Cancelled)
        }
        async fn check_writes(&self) -> Vec<Check> {
            vec![Check::ok("restore permissions", "asked of the connector")]
        }
    }

    #[tokio::test]
    async fn doctor_asks_the_connector_itself() {
        let provider = ExcludeKinds::new(Both, ["t.key".to_string()].into());
        assert_eq!(
            provider.check_reads().await[0].detail,
            "asked of the connector"
        );
        assert_eq!(
            provider.check_writes().await[0].detail,
            "asked of the connector"
        );
    }

    #[tokio::test]
    async fn a_closed_sink_stops_the_connector() {
        let provider = ExcludeKinds::new(Both, BTreeSet::new());
        let (sink, rx) = tokio::sync::mpsc::channel::<Record>(1);
        drop(rx);
        let err = provider.snapshot(sink).await.unwrap_err();
        assert!(matches!(err, ProviderError::Cancelled), "{err}");
    }
}
