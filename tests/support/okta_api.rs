//! The Okta API through the connector, for making incidents in end-to-end tests and counting
//! what a restore left behind.

use std::collections::BTreeMap;

use iamsnap_okta::{OktaConfig, OktaProvider};
use iamsnap_provider::{
    Action, ConnectOptions, Operation, Outcome, ReadProvider, Record, WriteProvider,
};

use super::{OKTA_TOKEN, Workspace};

/// Records per (kind, key): a restore that duplicated something shows a count above 1.
pub fn count_by_kind_key(records: &[Record]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry((r.kind.clone(), r.key.clone())).or_insert(0) += 1;
    }
    counts
}

/// The Okta API through the connector: reading every record, deleting some.
pub struct Api {
    pub provider: OktaProvider,
    pub runtime: tokio::runtime::Runtime,
}

impl Api {
    pub fn new(ws: &Workspace, url: &str) -> Api {
        std::fs::write(ws.path("okta.token"), OKTA_TOKEN).unwrap();
        let config = OktaConfig {
            org_url: url.to_string(),
            token_env: None,
            token_file: Some("okta.token".into()),
            concurrency: None,
        };
        Api {
            provider: OktaProvider::new(
                "incident",
                &config,
                ws.dir.path(),
                &ConnectOptions::default(),
            )
            .unwrap(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    pub fn records(&self) -> Vec<Record> {
        self.runtime.block_on(async {
            let (sink, mut rx) = tokio::sync::mpsc::channel(256);
            let read = self.provider.snapshot(sink);
            let collect = async {
                let mut out = Vec::new();
                while let Some(r) = rx.recv().await {
                    out.push(r);
                }
                out
            };
            let (read, out) = futures::join!(read, collect);
            read.unwrap();
            out
        })
    }

    pub fn delete(&self, record: &Record) {
        let op = Operation {
            action: Action::Delete,
            kind: record.kind.clone(),
            key: record.key.clone(),
            desired: None,
            current: Some(record.clone()),
        };
        let ids: BTreeMap<(String, String), String> = BTreeMap::new();
        let outcome = self
            .runtime
            .block_on(self.provider.apply(&op, &ids))
            .unwrap();
        assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    }

    /// Deletes the first `n` OKTA_GROUP groups (their memberships go with them).
    pub fn delete_groups(&self, n: usize) {
        let records = self.records();
        let groups: Vec<&Record> = records
            .iter()
            .filter(|r| r.kind == "okta.group" && r.attrs["type"] == "OKTA_GROUP")
            .take(n)
            .collect();
        assert_eq!(groups.len(), n);
        for group in groups {
            self.delete(group);
        }
    }

    /// Live objects per (kind, key).
    pub fn counts(&self) -> BTreeMap<(String, String), usize> {
        count_by_kind_key(&self.records())
    }

    /// Brings `record` to `changed` (both with live ids).
    pub fn update(&self, record: &Record, changed: Record) {
        let op = Operation {
            action: Action::Update,
            kind: record.kind.clone(),
            key: record.key.clone(),
            desired: Some(changed),
            current: Some(record.clone()),
        };
        let ids: BTreeMap<(String, String), String> = self
            .records()
            .into_iter()
            .map(|r| ((r.kind, r.id.clone()), r.id))
            .collect();
        let outcome = self
            .runtime
            .block_on(self.provider.apply(&op, &ids))
            .unwrap();
        assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    }

    /// The login of the user the token belongs to.
    pub fn self_login(&self) -> String {
        self.runtime
            .block_on(self.provider.self_identity())
            .unwrap()
            .expect("the token belongs to a user")
            .key
    }

    /// Objects that exist more than once under the same (kind, key).
    pub fn duplicates(&self) -> Vec<(String, String)> {
        self.counts()
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| k)
            .collect()
    }
}
