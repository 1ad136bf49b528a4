//! The local end of a backup, without any API: records → canonical JSON lines → sort spool →
//! tar → zstd → age → signed archive in a local repository, through the engine's own
//! `backup::run`, with a connector that costs nothing. Then what the encryption of its
//! temporary files costs: the same bytes written and read back through the engine's
//! encrypted scratch files and through plain buffered files, on one thread, alternately.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
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

/// CPU seconds (user + system) this process (or this thread) has used.
fn cpu_seconds_of(who: nix::sys::resource::UsageWho) -> anyhow::Result<f64> {
    let usage = nix::sys::resource::getrusage(who)?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(secs(usage.user_time()) + secs(usage.system_time()))
}

fn cpu_seconds() -> anyhow::Result<f64> {
    cpu_seconds_of(nix::sys::resource::UsageWho::RUSAGE_SELF)
}

/// CPU seconds of this thread to write `bytes` as 400-byte lines and read them back, through
/// the engine's encrypted scratch files (`sealed`) or a plain buffered file.
fn round_trip(dir: &Path, bytes: u64, sealed: bool) -> anyhow::Result<f64> {
    let line = [b'x'; 400];
    let lines = bytes / line.len() as u64;
    let mut back = [0u8; 400];
    let started = cpu_seconds_of(nix::sys::resource::UsageWho::RUSAGE_THREAD)?;
    if sealed {
        let scratch = iamsnap_engine::scratch::ScratchDir::new(Some(dir), "bench")?;
        let mut out = scratch.create("lines")?;
        for _ in 0..lines {
            out.write_all(&line)?;
        }
        let mut input = out.finish()?.open()?;
        for _ in 0..lines {
            input.read_exact(&mut back)?;
        }
    } else {
        let path = dir.join("plain");
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        for _ in 0..lines {
            out.write_all(&line)?;
        }
        out.flush()?;
        let mut input = BufReader::new(std::fs::File::open(&path)?);
        for _ in 0..lines {
            input.read_exact(&mut back)?;
        }
        anyhow::ensure!(input.fill_buf()?.is_empty());
        std::fs::remove_file(&path)?;
    }
    Ok(cpu_seconds_of(nix::sys::resource::UsageWho::RUSAGE_THREAD)? - started)
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

    // A backup writes its records to temporary files twice (the spool's sorted runs, then one
    // file per kind) and reads them back once each. The least of three tries of each.
    let (mut sealed, mut plain) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        sealed = sealed.min(round_trip(dir.path(), 2 * raw, true)?);
        plain = plain.min(round_trip(dir.path(), 2 * raw, false)?);
    }
    let extra = sealed - plain;
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
        row(
            format!(
                "Temporary files: {:.0} MB written and read back, encrypted / plain",
                2.0 * mb
            ),
            format!(
                "{sealed:.2} s / {plain:.2} s CPU: encryption costs {extra:.2} s, {:.1} % of the pipeline's CPU",
                100.0 * extra / cpu
            ),
            "≤ 15 %",
        ),
    ])
}
