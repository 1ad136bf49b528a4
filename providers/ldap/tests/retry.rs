//! A directory server that goes away for a moment does not fail a run: a backup whose slapd is
//! killed and started again half-way through carries on, its paged searches started again
//! without a record given twice; a restore operation whose connection is cut is made again on
//! a new connection; a server that stays away fails the run with an error saying what to do.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use iamsnap_ldap::{LdapConfig, LdapProvider};
use iamsnap_provider::{Action, ConnectOptions, Operation, Outcome, ReadProvider, Record};
use iamsnap_provider::{RecordSink, WriteProvider};
use iamsnap_testkit::ldap::{BASE_DN, ROOT_DN, Seed, Slapd};
use iamsnap_testkit::relay::{Relaying, TcpRelay};

const PASSWORD: &str = "retry-root-password-31fe";

fn provider(dir: &std::path::Path, url: &str, extra: &str) -> LdapProvider {
    std::fs::write(dir.join("pw"), PASSWORD).unwrap();
    let config: LdapConfig = toml::from_str(&format!(
        "url = \"{url}\"\nbind_dn = \"{ROOT_DN}\"\nbind_password_file = \"pw\"\nbase_dn = \"{BASE_DN}\"\n{extra}"
    ))
    .unwrap();
    LdapProvider::new("corp", &config, dir, &ConnectOptions::default()).unwrap()
}

async fn snapshot(provider: &LdapProvider) -> Vec<Record> {
    let (sink, mut records): (RecordSink, _) = tokio::sync::mpsc::channel(1024);
    let read = provider.snapshot(sink);
    let collect = async {
        let mut all = Vec::new();
        while let Some(r) = records.recv().await {
            all.push(r);
        }
        all
    };
    let (result, all) = tokio::join!(read, collect);
    result.unwrap();
    all
}

fn keys(records: &[Record]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| (r.kind.clone(), r.key.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_carries_on_when_the_server_restarts_half_way() {
    let seed = Seed {
        users: 1_500,
        groups: 60,
        ous: 4,
        seed: 5,
    };
    let mut slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Small pages: the search is in the middle of its pages when the server goes.
    let provider = std::sync::Arc::new(provider(dir.path(), &slapd.url, "page_size = 50"));
    let expected = keys(&snapshot(&provider).await);
    let before = provider.stats().retries;

    // The sink holds 8 records: the read waits on it, mid-search, while the server is down.
    let (sink, mut records) = tokio::sync::mpsc::channel(8);
    let reader = provider.clone();
    let read = tokio::spawn(async move { reader.snapshot(sink).await });
    let mut got = Vec::new();
    while got.len() < expected.len() / 2 {
        got.push(records.recv().await.expect("the read goes on"));
    }
    slapd.stop();
    // Records already read come out; the next page's request finds the server gone.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    slapd.restart().unwrap();
    while let Some(r) = records.recv().await {
        got.push(r);
    }
    read.await
        .unwrap()
        .expect("the backup survives the restart");

    let got = keys(&got);
    let unique: BTreeSet<&(String, String)> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no record given twice");
    assert_eq!(
        unique,
        expected.iter().collect::<BTreeSet<_>>(),
        "every record given"
    );
    assert!(provider.stats().retries > before, "{:?}", provider.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_operation_whose_connection_drops_is_made_again() {
    let seed = Seed {
        users: 20,
        groups: 4,
        ous: 2,
        seed: 7,
    };
    let slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let relay = TcpRelay::start(&slapd.url, Relaying::Forward { delay_ms: 0 })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The add is the operation's first write: no wait for refint's pending work before it.
    let provider = provider(dir.path(), relay.url(), "refint_wait_secs = 0");
    let records = snapshot(&provider).await;
    let user = seed.user_dn(4);
    let record = records
        .iter()
        .find(|r| r.kind == "ldap.user" && r.key == user)
        .unwrap()
        .clone();
    slapd.delete_tree(&format!("{user},{BASE_DN}")).unwrap();

    // The add waits in the relay while its connection is cut: its answer never comes.
    relay.set(Relaying::Forward { delay_ms: 400 });
    let op = Operation {
        action: Action::Create,
        kind: record.kind.clone(),
        key: record.key.clone(),
        desired: Some(record.clone()),
        current: None,
    };
    let ids = std::collections::BTreeMap::new();
    let before = provider.stats().retries;
    let (outcome, ()) = tokio::join!(provider.apply(&op, &ids), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(relay.open_connections() > 0);
        relay.sever();
        relay.set(Relaying::Forward { delay_ms: 0 });
    });
    let outcome = outcome.expect("made again on a new connection");
    assert!(
        matches!(&outcome, Outcome::Applied { id } | Outcome::AlreadyDone { id } if *id == record.id),
        "{outcome:?}"
    );
    assert!(provider.stats().retries > before, "{:?}", provider.stats());
    let back = slapd
        .search(
            &format!("{user},{BASE_DN}"),
            "(objectClass=*)",
            &["entryUUID"],
        )
        .unwrap();
    assert!(back.contains(&record.id), "{back}");
}

#[tokio::test]
async fn a_server_that_stays_away_fails_the_run_with_what_to_do() {
    let slapd = Slapd::start(PASSWORD, &Seed::EMPTY).unwrap();
    let relay = TcpRelay::start(&slapd.url, Relaying::Refuse).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path(), relay.url(), "");
    let started = Instant::now();
    let message = provider.healthcheck().await.unwrap_err().to_string();
    let took = started.elapsed();
    assert!(
        message.contains(relay.url()) && message.contains("the connection to the server failed"),
        "{message}"
    );
    assert!(
        message.contains("gave up after 6 attempts")
            && message.contains("check that the directory server is running"),
        "{message}"
    );
    // Five waits of 0.25–0.5, 0.5–1, 1–2, 2–4 and 4–8 s.
    assert!(
        took >= Duration::from_secs(7) && took < Duration::from_secs(30),
        "{took:?}"
    );
    assert!(!message.contains(PASSWORD));
}
