//! The conformance suite on the LDAP connector, against a real OpenLDAP slapd started by the
//! test kit in a temporary folder; the incident goes through slapd's own LDAP tools
//! (`ldapdelete -r`, `ldapmodify`).

use std::path::Path;

use async_trait::async_trait;
use iamsnap::registry::ConnectorConfig;
use iamsnap_ldap::LdapProvider;
use iamsnap_provider::{ConnectOptions, Connector, Parent, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::ldap::{BASE_DN, Seed, Slapd};

const SECRET: &str = "ldap-conformance-secret-DO-NOT-LEAK-5d1c";

/// A directory seeded with every kind: OUs (one nested), users, groups of names, of unique
/// names and POSIX groups (nested ones among them), and an organizational role.
struct Directory;

const SEED: Seed = Seed {
    users: 40,
    groups: 12,
    ous: 5,
    seed: 7,
};

/// The absolute DN a key names.
fn dn_of(key: &str) -> String {
    if key == "." {
        BASE_DN.to_string()
    } else {
        format!("{key},{BASE_DN}")
    }
}

#[async_trait]
impl Subject for Directory {
    type System = Slapd;

    fn provider(&self) -> &'static str {
        "ldap"
    }

    async fn seeded(&self) -> Result<Slapd, String> {
        Slapd::start(SECRET, &SEED)
    }

    async fn empty(&self) -> Result<Slapd, String> {
        Slapd::start(SECRET, &Seed::EMPTY)
    }

    fn url(&self, slapd: &Slapd) -> String {
        slapd.url.clone()
    }

    /// The password in a file beside the configuration.
    fn source(&self, _: &Slapd, url: &str, dir: &Path) -> String {
        std::fs::write(dir.join("ldap-password"), SECRET).unwrap();
        format!(
            "provider = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{}\"\nbind_password_file = \"ldap-password\"\nbase_dn = \"{BASE_DN}\"\npage_size = 25\n",
            iamsnap_testkit::ldap::ROOT_DN
        )
    }

    fn secret(&self) -> String {
        SECRET.to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let loaded = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let ConnectorConfig::Ldap(source) =
            &loaded.source(name).map_err(|e| e.to_string())?.connector
        else {
            return Err(format!("source {name} is not an ldap source"));
        };
        let dir = config.parent().unwrap_or(Path::new("."));
        LdapProvider::new(name, source, dir, &ConnectOptions::default())
            .map(Connector::read_write)
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, slapd: &Slapd, record: &Record) -> Result<(), String> {
        if record.kind != "ldap.membership" {
            return slapd.delete_tree(&dn_of(&record.key));
        }
        let (group, member) = Parent::split(&record.key);
        let attribute = record.attrs["attribute"].as_str().unwrap_or("member");
        let value = if attribute.eq_ignore_ascii_case("memberUid") {
            member.to_string()
        } else {
            dn_of(member)
        };
        slapd.modify(&format!(
            "dn: {}\nchangetype: modify\ndelete: {attribute}\n{attribute}: {value}\n",
            dn_of(group)
        ))
    }

    fn spare(&self, record: &Record, snapshot: &[Record], _: Option<&Record>) -> Option<String> {
        if record.key == "." {
            return Some("the base entry holds the whole directory".into());
        }
        if record.kind == "ldap.membership" && record.attrs["attribute"] != "memberUid" {
            let group = Parent::split(&record.key).0;
            let members = snapshot
                .iter()
                .filter(|r| r.kind == record.kind && Parent::split(&r.key).0 == group)
                .count();
            if members == 1 {
                return Some("the group's only member: the schema wants one".into());
            }
        }
        None
    }

    fn unseedable(&self) -> &'static [(&'static str, &'static str)] {
        const AD_ONLY: &str = "Active Directory only (tests/conformance_ad.rs seeds it)";
        &[
            ("ldap.domain", AD_ONLY),
            ("ldap.computer", AD_ONLY),
            ("ldap.password_policy", AD_ONLY),
        ]
    }

    fn throttle(&self) -> Fault {
        Fault::Status(503)
    }

    fn speaks_http(&self) -> bool {
        false
    }
}

#[test]
fn the_ldap_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report =
        conformance::run(&Directory, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
