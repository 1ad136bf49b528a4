//! `include` is searched on the server: a backup limited to one subtree asks a real slapd
//! for that subtree and the base entry only, and holds nothing else.

use iamsnap_ldap::{LdapConfig, LdapProvider};
use iamsnap_provider::{ConnectOptions, ReadProvider, Record};
use iamsnap_testkit::ldap::{BASE_DN, ROOT_DN, Seed, Slapd};

const PASSWORD: &str = "include-root-password-0b4e";

fn provider(slapd: &Slapd, extra: &str, dir: &std::path::Path) -> LdapProvider {
    std::fs::write(dir.join("pw"), PASSWORD).unwrap();
    let config: LdapConfig = toml::from_str(&format!(
        "url = \"{}\"\nbind_dn = \"{ROOT_DN}\"\nbind_password_file = \"pw\"\nbase_dn = \"{BASE_DN}\"\npage_size = 5\n{extra}\n",
        slapd.url
    ))
    .unwrap();
    LdapProvider::new("corp", &config, dir, &ConnectOptions::default()).unwrap()
}

async fn backup(provider: &LdapProvider) -> Vec<Record> {
    let (sink, mut records) = tokio::sync::mpsc::channel(1024);
    let read = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(r) = records.recv().await {
            all.push(r);
        }
        all
    });
    provider.snapshot(sink).await.unwrap();
    read.await.unwrap()
}

#[tokio::test]
async fn an_included_subtree_is_all_the_server_is_asked_for() {
    let seed = Seed {
        users: 40,
        groups: 6,
        ous: 3,
        seed: 2,
    };
    let slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = provider(&slapd, "", dir.path());
    let all = backup(&whole).await;
    let groups_only = provider(
        &slapd,
        &format!("include = [\"ou=groups,{BASE_DN}\", \"cn=group0001,ou=groups,{BASE_DN}\"]"),
        dir.path(),
    );
    let some = backup(&groups_only).await;

    // A membership names a member outside the subtree by its key, not its id: compared by
    // kind and key.
    let keys = |records: &[Record]| -> Vec<(String, String)> {
        let mut keys: Vec<_> = records
            .iter()
            .map(|r| (r.kind.clone(), r.key.clone()))
            .collect();
        keys.sort();
        keys
    };
    let expected: Vec<Record> = all
        .iter()
        .filter(|r| r.key == "." || r.key.split('|').next().unwrap().ends_with("ou=groups"))
        .cloned()
        .collect();
    assert!(expected.len() > seed.groups, "the groups and their members");
    assert_eq!(
        keys(&some),
        keys(&expected),
        "no record twice, none missing"
    );
    assert!(
        groups_only.stats().requests < whole.stats().requests,
        "the server sent only the subtree: {} requests against {}",
        groups_only.stats().requests,
        whole.stats().requests
    );
}
