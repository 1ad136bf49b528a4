//! Shared helpers: an emulated org and a connector configured against it.

#![allow(dead_code)]

pub mod api;

use std::collections::BTreeMap;
use std::path::Path;

use iamsnap_okta::{OktaConfig, OktaProvider};
use iamsnap_provider::{ConnectOptions, ProviderError, ReadProvider, Record};
use iamsnap_testkit::okta::RunningOkta;

/// A connector for `okta`, its token read from a file as a user would configure it.
pub fn provider(okta: &RunningOkta, dir: &Path, token: &str, concurrency: usize) -> OktaProvider {
    provider_with(okta, dir, token, concurrency, &ConnectOptions::default())
}

/// [`provider`] built with restore `options`.
pub fn provider_with(
    okta: &RunningOkta,
    dir: &Path,
    token: &str,
    concurrency: usize,
    options: &ConnectOptions,
) -> OktaProvider {
    std::fs::write(dir.join("okta.token"), format!("{token}\n")).unwrap();
    let config = OktaConfig {
        org_url: okta.base_url().to_string(),
        token_env: None,
        token_file: Some("okta.token".into()),
        concurrency: Some(concurrency),
    };
    OktaProvider::new("test-org", &config, dir, options).unwrap()
}

/// Runs a snapshot, collecting every record.
pub async fn snapshot(provider: &OktaProvider) -> Result<Vec<Record>, ProviderError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let collect = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out
    });
    let result = provider.snapshot(tx).await;
    let records = collect.await.unwrap();
    result.map(|_| records)
}

pub fn counts(records: &[Record]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r.kind.clone()).or_default() += 1;
    }
    out
}

pub fn count(counts: &BTreeMap<String, usize>, kind: &str) -> usize {
    counts.get(kind).copied().unwrap_or(0)
}
