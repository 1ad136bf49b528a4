//! Shared helpers: an emulated tenant and a connector pointed at it.

#![allow(dead_code)]

use std::collections::BTreeMap;

use iamsnap_entra::{EntraConfig, EntraProvider};
use iamsnap_provider::kind::dependency_order;
use iamsnap_provider::{
    Action, ConnectOptions, Operation, Outcome, ReadProvider, Record, WriteProvider, same_state,
    to_live,
};
use iamsnap_testkit::entra::{EntraEmulator, RunningEntra};

pub const CLIENT_ID: &str = "5d1e2f3a-1111-4000-8000-00000000c11e";
pub const SECRET: &str = "s3cr3t-value-never-shown";

pub fn emulator() -> EntraEmulator {
    EntraEmulator::builder()
        .tenant("contoso-test")
        .client(CLIENT_ID, SECRET)
}

/// A connector for `entra`, signing in with `secret`.
pub fn connect(entra: &RunningEntra, secret: &str, dir: &tempfile::TempDir) -> EntraProvider {
    connect_with(entra, CLIENT_ID, secret, dir, 4)
}

/// [`connect`] built with restore `options`.
pub fn connect_options(
    entra: &RunningEntra,
    dir: &tempfile::TempDir,
    options: &ConnectOptions,
) -> EntraProvider {
    build(entra, CLIENT_ID, SECRET, dir, 4, options)
}

pub fn connect_with(
    entra: &RunningEntra,
    client_id: &str,
    secret: &str,
    dir: &tempfile::TempDir,
    concurrency: usize,
) -> EntraProvider {
    build(
        entra,
        client_id,
        secret,
        dir,
        concurrency,
        &ConnectOptions::default(),
    )
}

fn build(
    entra: &RunningEntra,
    client_id: &str,
    secret: &str,
    dir: &tempfile::TempDir,
    concurrency: usize,
    options: &ConnectOptions,
) -> EntraProvider {
    std::fs::write(dir.path().join("entra.secret"), format!("{secret}\n")).unwrap();
    let config: EntraConfig = toml::from_str(&format!(
        r#"
tenant_id = "{}"
client_id = "{client_id}"
client_secret_file = "entra.secret"
login_url = "{url}"
graph_url = "{url}"
concurrency = {concurrency}
"#,
        entra.tenant_id(),
        url = entra.base_url()
    ))
    .unwrap();
    EntraProvider::new("entra-test", &config, dir.path(), options).unwrap()
}

/// Every record of a snapshot, sorted by kind and key.
pub async fn snapshot(provider: &EntraProvider) -> Vec<Record> {
    try_snapshot(provider).await.unwrap()
}

pub async fn try_snapshot(
    provider: &EntraProvider,
) -> Result<Vec<Record>, iamsnap_provider::ProviderError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let collect = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out
    });
    provider.snapshot(tx).await?;
    let mut records = collect.await.unwrap();
    records.sort_by(|a, b| (&a.kind, &a.key).cmp(&(&b.kind, &b.key)));
    Ok(records)
}

pub fn counts(records: &[Record]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r.kind.clone()).or_default() += 1;
    }
    out
}

pub type Ids = BTreeMap<(String, String), String>;

/// One restore pass over the snapshot, planned like the engine does from a live snapshot:
/// each record missing live is created, each differing one updated, kinds in dependency order,
/// snapshot ids resolved through the id map as objects are re-created. Returns the operations
/// and their outcomes.
pub async fn restore_pass(
    provider: &EntraProvider,
    snapshot: &[Record],
    ids: &mut Ids,
) -> Vec<(Operation, Outcome)> {
    let live_records = self::snapshot(provider).await;
    let live: BTreeMap<(&str, &str), &Record> = live_records
        .iter()
        .map(|r| ((r.kind.as_str(), r.key.as_str()), r))
        .collect();
    let mut done = Vec::new();
    for kind in dependency_order(provider.kinds()) {
        for record in snapshot.iter().filter(|r| r.kind == kind.name) {
            let (action, current) = match live.get(&(record.kind.as_str(), record.key.as_str())) {
                None => (Action::Create, None),
                // As the engine plans: what Graph never lets a client write (a re-created
                // application's appId) is taken from the live object.
                Some(live)
                    if !same_state(&provider.reachable(to_live(record, ids), live), live) =>
                {
                    (Action::Update, Some((*live).clone()))
                }
                Some(_) => continue,
            };
            let op = Operation {
                action,
                kind: record.kind.clone(),
                key: record.key.clone(),
                desired: Some(record.clone()),
                current,
            };
            let outcome = provider
                .apply(&op, ids)
                .await
                .unwrap_or_else(|e| panic!("{action:?} {} {}: {e}", record.kind, record.key));
            if let Outcome::Applied { id } | Outcome::AlreadyDone { id } = &outcome {
                ids.insert((record.kind.clone(), record.id.clone()), id.clone());
            }
            done.push((op, outcome));
        }
    }
    done
}

pub fn outcome_of<'a>(done: &'a [(Operation, Outcome)], kind: &str, key: &str) -> &'a Outcome {
    &done
        .iter()
        .find(|(op, _)| op.kind == kind && op.key == key)
        .unwrap_or_else(|| panic!("no operation on {kind} {key}"))
        .1
}

pub fn find<'a>(records: &'a [Record], kind: &str, pick: impl Fn(&Record) -> bool) -> &'a Record {
    records
        .iter()
        .find(|r| r.kind == kind && pick(r))
        .unwrap_or_else(|| panic!("no {kind} matches"))
}
