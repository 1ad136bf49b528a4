//! The identity the connector runs as, read from a real slapd: the bind DN's entry, the
//! entries above it and the groups that hold it — what a restore never deletes or changes.

use iamsnap_ldap::{LdapConfig, LdapProvider};
use iamsnap_provider::{Action, ConnectOptions, Operation, Record, WriteProvider};
use iamsnap_testkit::ldap::{BASE_DN, Seed, Slapd};
use serde_json::json;

const ROOT_PASSWORD: &str = "identity-root-password-31c8";
const SERVICE_PASSWORD: &str = "identity-service-password-77d0";

fn provider(slapd: &Slapd, bind_dn: &str, password: &str, dir: &std::path::Path) -> LdapProvider {
    std::fs::write(dir.join("pw"), password).unwrap();
    let config: LdapConfig = toml::from_str(&format!(
        "url = \"{}\"\nbind_dn = \"{bind_dn}\"\nbind_password_file = \"pw\"\nbase_dn = \"{BASE_DN}\"\n",
        slapd.url
    ))
    .unwrap();
    LdapProvider::new("corp", &config, dir, &ConnectOptions::default()).unwrap()
}

#[tokio::test]
async fn the_bind_account_its_containers_and_its_groups_are_protected() {
    let seed = Seed {
        users: 6,
        groups: 3,
        ous: 2,
        seed: 5,
    };
    let slapd = Slapd::start(ROOT_PASSWORD, &seed).unwrap();
    let group = format!("{},{BASE_DN}", seed.group_dn(0));
    slapd
        .modify(&format!(
            "dn: ou=service,{BASE_DN}\nchangetype: add\nobjectClass: organizationalUnit\nou: service\n\n\
             dn: uid=iamsnap,ou=service,{BASE_DN}\nchangetype: add\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: iamsnap\nuserPassword: {SERVICE_PASSWORD}\n\n\
             dn: {group}\nchangetype: modify\nadd: member\nmember: uid=iamsnap,ou=service,{BASE_DN}\n"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bind_dn = format!("uid=iamsnap,ou=service,{BASE_DN}");
    let connector = provider(&slapd, &bind_dn, SERVICE_PASSWORD, dir.path());
    let me = connector
        .self_identity()
        .await
        .unwrap()
        .expect("the bind DN has an entry");
    assert_eq!(
        (me.kind.as_str(), me.key.as_str()),
        ("ldap.user", "uid=iamsnap,ou=service")
    );
    let grants: Vec<(&str, &str)> = me
        .grants
        .iter()
        .map(|g| (g.kind.as_str(), g.key.as_str()))
        .collect();
    assert!(
        grants.contains(&("ldap.container", "ou=service")),
        "{grants:?}"
    );
    let membership = format!("{}|uid=iamsnap,ou=service", seed.group_dn(0));
    assert!(
        grants.contains(&("ldap.membership", membership.as_str())),
        "{grants:?}"
    );

    let delete = |kind: &str, key: &str| Operation {
        action: Action::Delete,
        kind: kind.into(),
        key: key.into(),
        desired: None,
        current: Some(Record::new(kind, "x", key, json!({}), vec![])),
    };
    assert!(
        connector
            .protects(&delete("ldap.membership", &membership), &me)
            .is_some()
    );
    assert!(
        connector
            .protects(&delete("ldap.container", "ou=service"), &me)
            .is_some()
    );
    assert!(
        connector
            .protects(&delete("ldap.user", "uid=iamsnap,ou=service"), &me)
            .is_some()
    );
    assert!(
        connector
            .protects(&delete("ldap.container", "ou=groups"), &me)
            .is_none()
    );

    // The root DN has no entry: no record is the identity.
    let root = provider(
        &slapd,
        iamsnap_testkit::ldap::ROOT_DN,
        ROOT_PASSWORD,
        dir.path(),
    );
    assert_eq!(root.self_identity().await.unwrap(), None);
}
