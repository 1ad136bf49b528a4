//! `fetch`: one object by kind and natural key. An instance is read whole in a few requests
//! per permission set and group, and a verification fetches many objects at once, so the
//! first fetch reads the whole instance and the next ones reuse it until the next `apply` or
//! for a minute.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use iamsnap_provider::{ProviderError, Record};
use tokio::sync::Mutex;

use super::{Instance, snapshot};
use crate::client::Clients;

/// How long a whole read answers fetches when no `apply` comes between.
const FRESH_FOR: Duration = Duration::from_secs(60);

type Index = HashMap<(String, String), Record>;

#[derive(Debug, Default)]
pub(crate) struct FetchCache {
    read: Mutex<Option<(Instant, Index)>>,
}

impl FetchCache {
    pub async fn clear(&self) {
        *self.read.lock().await = None;
    }

    pub async fn fetch(
        &self,
        clients: &Clients,
        instance: &Instance,
        concurrency: usize,
        kind: &str,
        key: &str,
    ) -> Result<Option<Record>, ProviderError> {
        let mut read = self.read.lock().await;
        let stale = read.as_ref().is_none_or(|(at, _)| at.elapsed() > FRESH_FOR);
        if stale {
            let (sink, mut records) = tokio::sync::mpsc::channel::<Record>(1024);
            let collect = async {
                let mut index = Index::new();
                while let Some(r) = records.recv().await {
                    index.insert((r.kind.clone(), r.key.clone()), r);
                }
                index
            };
            let (done, index) =
                tokio::join!(snapshot(clients, instance, concurrency, sink), collect);
            done?;
            *read = Some((Instant::now(), index));
        }
        Ok(read
            .as_ref()
            .and_then(|(_, index)| index.get(&(kind.to_string(), key.to_string())).cloned()))
    }
}
