//! The local end of a backup, without any API: records → canonical JSON lines → sort spool →
//! tar → zstd → age → signed archive in a local repository, through the engine's own
//! `backup::run`, with a connector that costs nothing.

use std::time::Instant;

use std::sync::Arc;

use iamsnap_engine::backup::{self, Seal};
use iamsnap_engine::config::RepositoryConfig;
use iamsnap_engine::keys::{KeyPermissions, SigningKey, generate_identity, generate_signing_key};
use iamsnap_engine::repo::Repository;
use iamsnap_provider::{
    KindInfo, ProviderError, ReadProvider, Record, RecordSink, Ref, RequestStats,
};
use serde_json::json;

use crate::harness::{Row, row};

/// A user-like record and, for every other one, a membership, shaped like a connector's.
fn records(n: usize) -> impl Iterator<Item = Record> {
    (0..n).map(move |i| {
        if i % 2 == 1 {
            let user = i / 2;
            return Record::new(
                "bench.group_membership",
                format!("00g{:07}:00u{user:017}", user % 5_000),
                format!("group-{}:user{user}@example.com", user % 5_000),
                json!({}),
                vec![
                    Ref::new("group", "bench.group", format!("00g{:07}", user % 5_000)),
                    Ref::new("user", "bench.user", format!("00u{user:017}")),
                ],
            );
        }
        let user = i / 2;
        let title = ["Engineer", "Manager", "Analyst", "Director"][user % 4];
        // Values real directories hold that repeat little: hashes, phone numbers, dates.
        let h = mix(user as u64);
        Record::new(
            "bench.user",
            format!("00u{user:017}"),
            format!("user{user}@example.com"),
            json!({
                "status": "ACTIVE",
                "type": {"id": "oty1"},
                "profile": {
                    "login": format!("user{user}@example.com"),
                    "email": format!("user{user}@example.com"),
                    "firstName": format!("First{}", user % 997),
                    "lastName": format!("Last{}", user % 1009),
                    "department": format!("Department {}", user % 40),
                    "title": title,
                    "costCenter": format!("cc-{}", user % 300),
                    "employeeNumber": format!("{:08}", user * 7 + 13),
                    "externalId": format!("{h:016x}{:016x}", mix(h)),
                    "mobilePhone": format!("+1 {:03} {:03} {:04}", h % 1000, (h >> 10) % 1000, (h >> 20) % 10_000),
                    "startDate": format!("20{:02}-{:02}-{:02}", 10 + h % 16, 1 + (h >> 8) % 12, 1 + (h >> 16) % 28),
                    "manager": format!("user{}@example.com", (h >> 24) % (n as u64 / 2 + 1)),
                },
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            }),
            Vec::new(),
        )
    })
}

/// A 64-bit mix (splitmix64's finaliser): deterministic values that compress like real ones.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// CPU seconds (user + system) this process has used.
fn cpu_seconds() -> anyhow::Result<f64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(secs(usage.user_time()) + secs(usage.system_time()))
}

/// A connector that reads `n` synthetic records, as fast as the engine takes them.
struct Synthetic(usize);

#[async_trait::async_trait]
impl ReadProvider for Synthetic {
    fn provider_type(&self) -> &'static str {
        "bench"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        &[]
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        for record in records(self.0) {
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

pub fn run(rt: &tokio::runtime::Runtime, n: usize) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::Builder::new()
        .prefix("iamsnap-bench-")
        .tempdir()?;
    let identity = generate_identity();
    let key_file = dir.path().join("signing.key");
    generate_signing_key(&key_file)?;
    let seal = Seal::new(
        vec![identity.recipient().to_string()],
        SigningKey::load(&key_file, KeyPermissions::OwnerOnly)?,
    )?;
    let config = RepositoryConfig {
        url: dir.path().join("repo").display().to_string(),
        ..RepositoryConfig::default()
    };

    let cpu = cpu_seconds()?;
    let started = Instant::now();
    let published = rt.block_on(async {
        let repo = Repository::init(&config).await?;
        anyhow::Ok(backup::run(&repo, "bench", &Synthetic(n), &seal, Arc::new(())).await?)
    })?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu;

    let raw: u64 = published.manifest.entries.values().map(|e| e.size).sum();
    let mb = raw as f64 / 1e6;
    Ok(vec![
        row(
            format!("Pipeline: {n} synthetic records (users and memberships) → signed archive"),
            format!(
                "{wall:.1} s wall, {cpu:.1} s CPU; {mb:.0} MB canonical JSON → {:.1} MB archive",
                published.size as f64 / 1e6
            ),
            "",
        ),
        row(
            "Pipeline throughput per core",
            format!(
                "{:.1} MB/s, {:.0} records/s (per CPU second)",
                mb / cpu,
                n as f64 / cpu
            ),
            "",
        ),
        row(
            "Archive bytes / raw JSON",
            format!("{:.1} %", 100.0 * published.size as f64 / raw as f64),
            "",
        ),
    ])
}
