//! A directory server that stops answering in the middle of a backup fails the read after
//! `timeout_secs`, with an error that says so, instead of holding the nightly job forever.

use std::time::{Duration, Instant};

use iamsnap_ldap::{LdapConfig, LdapProvider};
use iamsnap_provider::{ConnectOptions, ReadProvider};
use iamsnap_testkit::ldap::{BASE_DN, ROOT_DN, Seed, Slapd};
use iamsnap_testkit::relay::{Relaying, TcpRelay};

const PASSWORD: &str = "stall-root-password-77cd";

#[tokio::test]
async fn a_server_that_stops_answering_fails_the_backup_after_the_timeout() {
    let seed = Seed {
        users: 20,
        groups: 3,
        ous: 1,
        seed: 1,
    };
    let slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let relay = TcpRelay::start(&slapd.url, Relaying::Forward { delay_ms: 0 })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), PASSWORD).unwrap();
    let config: LdapConfig = toml::from_str(&format!(
        "url = \"{}\"\nbind_dn = \"{ROOT_DN}\"\nbind_password_file = \"pw\"\nbase_dn = \"{BASE_DN}\"\ntimeout_secs = 1\n",
        relay.url()
    ))
    .unwrap();
    let provider =
        LdapProvider::new("corp", &config, dir.path(), &ConnectOptions::default()).unwrap();
    provider.healthcheck().await.unwrap();

    // From now on whatever the client sends waits an hour in the relay: the bound connection
    // stays open, and the server never sees the searches.
    relay.set(Relaying::Forward {
        delay_ms: 3_600_000,
    });
    let (sink, mut records) = tokio::sync::mpsc::channel(1024);
    let started = Instant::now();
    let read = tokio::spawn(async move { provider.snapshot(sink).await });
    let (received, result) = tokio::time::timeout(Duration::from_secs(30), async move {
        let mut received = 0;
        while records.recv().await.is_some() {
            received += 1;
        }
        (received, read.await.unwrap())
    })
    .await
    .expect("the read gives up by itself");
    let error = result.expect_err("a server that never answers fails the read");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received, 0, "no search reached the server");
    let message = error.to_string();
    assert!(
        message.contains("timeout") || message.contains("timed out"),
        "{message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
}
