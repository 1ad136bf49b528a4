//! The conformance suite on the LDAP connector against Active Directory: a real Samba AD
//! domain controller started by the test kit in a temporary folder; the incident goes through
//! the LDAP tools (`ldapdelete -r`, `ldapmodify`), so deleted objects wait in `CN=Deleted
//! Objects` and come back reanimated.

use std::path::Path;

use async_trait::async_trait;
use iamsnap::registry::ConnectorConfig;
use iamsnap_ldap::LdapProvider;
use iamsnap_provider::{ConnectOptions, Connector, Parent, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::ldap::{AD_ADMIN_DN, AD_BASE_DN, SambaDc, Seed};

/// Meets the domain's password complexity rules, as the administrator's password must.
const SECRET: &str = "Ad-conformance-Secret-DO-NOT-LEAK-5d1c";

/// A domain seeded with every kind: units (one nested) with policy links, users, groups of
/// every scope and type (nested ones among them), computers, a fine-grained password policy
/// and a shared folder.
struct Domain;

const SEED: Seed = Seed {
    users: 40,
    groups: 12,
    ous: 5,
    seed: 7,
};

/// The absolute DN a key names.
fn dn_of(key: &str) -> String {
    if key == "." {
        AD_BASE_DN.to_string()
    } else {
        format!("{key},{AD_BASE_DN}")
    }
}

/// Whether the seed made the entry of `key`; everything else came with the domain.
fn seeded(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["ou=dept", "ou=groups", "cn=ws0", "cn=admins pso"]
        .iter()
        .any(|part| key.contains(part))
}

#[async_trait]
impl Subject for Domain {
    type System = SambaDc;

    fn provider(&self) -> &'static str {
        "ldap"
    }

    async fn seeded(&self) -> Result<SambaDc, String> {
        SambaDc::start(SECRET, &SEED)
    }

    async fn empty(&self) -> Result<SambaDc, String> {
        SambaDc::start(SECRET, &Seed::EMPTY)
    }

    fn url(&self, dc: &SambaDc) -> String {
        dc.url.clone()
    }

    /// The password in a file beside the configuration.
    fn source(&self, _: &SambaDc, url: &str, dir: &Path) -> String {
        std::fs::write(dir.join("ad-password"), SECRET).unwrap();
        format!(
            "provider = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{AD_ADMIN_DN}\"\nbind_password_file = \"ad-password\"\nbase_dn = \"{AD_BASE_DN}\"\npage_size = 50\n"
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

    async fn delete(&self, dc: &SambaDc, record: &Record) -> Result<(), String> {
        if record.kind != "ldap.membership" {
            return dc.delete_tree(&dn_of(&record.key));
        }
        let (group, member) = Parent::split(&record.key);
        dc.modify(&format!(
            "dn: {}\nchangetype: modify\ndelete: member\nmember: {}\n",
            dn_of(group),
            dn_of(member)
        ))
    }

    fn spare(&self, record: &Record, _: &[Record], _: Option<&Record>) -> Option<String> {
        let key = if record.kind == "ldap.membership" {
            Parent::split(&record.key).0
        } else {
            &record.key
        };
        (!seeded(key)).then(|| {
            "made by the domain's provisioning (built-in accounts, groups and system containers): a domain never lets it go".into()
        })
    }

    fn throttle(&self) -> Fault {
        Fault::Status(503)
    }

    fn speaks_http(&self) -> bool {
        false
    }
}

#[test]
fn the_ldap_connector_conforms_on_active_directory() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report = conformance::run(&Domain, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
