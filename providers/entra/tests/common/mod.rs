//! Shared helpers: an emulated tenant and a connector pointed at it.

#![allow(dead_code)]

use std::collections::BTreeMap;

use iamsnap_entra::{EntraConfig, EntraProvider};
use iamsnap_provider::{ConnectOptions, ReadProvider, Record};
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
