//! `[sources.NAME]` with `provider = "ldap"`.
//!
//! The bind password never appears here: it comes from `bind_password_env` or
//! `bind_password_file`, read once into a [`Secret`].

use std::path::{Path, PathBuf};

use iamsnap_provider::{ProviderError, Secret, secret};
use serde::Deserialize;

use crate::flavor::Flavor;

/// Entries per page of the Simple Paged Results control when `page_size` is not set: the
/// default size limit of OpenLDAP and Active Directory alike.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Operations in flight at once during a restore when `concurrency` is not set. Each one
/// waits on the restore journal's group commit longer than on the server, which answers an
/// add in about a millisecond: with 8 in flight a restore into an empty slapd made about 440
/// writes a second; one connection carries many operations at once (LDAP message ids).
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Seconds an operation (a bind, a write, each entry of a search) may wait for the server when
/// `timeout_secs` is not set: long enough for a busy directory, short enough that a server that
/// stopped answering fails a nightly backup instead of holding it forever.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Seconds a restore on OpenLDAP waits at most for the refint overlay's pending work when
/// `refint_wait_secs` is not set: a unit of thousands of users deleted from a directory of
/// 100,000 entries queues minutes of it.
pub const DEFAULT_REFINT_WAIT_SECS: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// The DN of the account iamsnap binds as.
    pub bind_dn: String,
    /// Environment variable holding the bind password.
    pub bind_password_env: Option<String>,
    /// File holding the bind password (relative to the configuration file's folder).
    pub bind_password_file: Option<PathBuf>,
    /// The subtree backed up and restored; keys are DNs relative to it.
    pub base_dn: String,
    /// PEM file of the certificate authorities that sign the server's certificate, instead of
    /// the system's.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate: for a test directory only, warned about on every run.
    #[serde(default)]
    pub tls_insecure_skip_verify: bool,
    /// The server's flavor; read from the root DSE when not set.
    pub flavor: Option<Flavor>,
    /// Entries per page of the Simple Paged Results control (default 500).
    pub page_size: Option<u32>,
    /// Subtrees (DNs under `base_dn`) to back up; everything under `base_dn` when empty.
    #[serde(default)]
    pub include: Vec<String>,
    /// Subtrees (DNs under `base_dn`) left out of backups and restores.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Save `userPassword` hashes in the backup and put them back on restore. Off by
    /// default: without it a re-created account needs a new password.
    #[serde(default)]
    pub read_password_hashes: bool,
    /// Operations in flight at once during a restore (default 32).
    pub concurrency: Option<usize>,
    /// Seconds each operation may wait for the server (default 60).
    pub timeout_secs: Option<u64>,
    /// OpenLDAP: the longest a restore waits, before its first write, for the refint overlay
    /// to finish the work deletes and renames made before it queued (default 3600; 0: never
    /// wait, for a server without refint).
    pub refint_wait_secs: Option<u64>,
}

impl LdapConfig {
    pub fn page_size(&self) -> u32 {
        self.page_size.unwrap_or(DEFAULT_PAGE_SIZE)
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS))
    }

    pub fn refint_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.refint_wait_secs.unwrap_or(DEFAULT_REFINT_WAIT_SECS))
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// The bind password, from the environment or the file (relative to `base_dir`).
    pub fn password(&self, source_name: &str, base_dir: &Path) -> Result<Secret, ProviderError> {
        let file = self.bind_password_file.as_ref().map(|f| base_dir.join(f));
        secret::resolve(
            self.bind_password_env.as_deref(),
            file.as_deref(),
            &format!("sources.{source_name}.bind_password"),
        )
    }

    /// Every check of the configuration, made without contacting the server. Errors name the
    /// source and the field: `sources.corp: url "x" must start with ldap:// or ldaps://`.
    pub fn validate(&self, source_name: &str) -> Result<(), ProviderError> {
        self.problem().map_or(Ok(()), |e| {
            Err(ProviderError::Config(format!("sources.{source_name}: {e}")))
        })
    }

    fn problem(&self) -> Option<String> {
        let url = &self.url;
        let ldaps = url.starts_with("ldaps://");
        if !ldaps && !url.starts_with("ldap://") {
            return Some(format!("url {url:?} must start with ldap:// or ldaps://"));
        }
        if ldaps && self.starttls {
            return Some(format!(
                "starttls applies to ldap:// URLs; url {url:?} already uses TLS"
            ));
        }
        if self.bind_dn.trim().is_empty() {
            return Some("bind_dn is empty".into());
        }
        if crate::dn::Dn::parse(&self.base_dn).is_none_or(|d| d.is_root()) {
            return Some(format!("base_dn {:?} is not a DN", self.base_dn));
        }
        if self.page_size == Some(0) {
            return Some("page_size must be at least 1".into());
        }
        if self.concurrency == Some(0) {
            return Some("concurrency must be at least 1".into());
        }
        if self.timeout_secs == Some(0) {
            return Some("timeout_secs must be at least 1".into());
        }
        if self.ca_file.is_some() && self.tls_insecure_skip_verify {
            return Some("ca_file and tls_insecure_skip_verify exclude each other".into());
        }
        if self.flavor == Some(Flavor::ActiveDirectory) && self.read_password_hashes {
            return Some(
                "read_password_hashes applies to OpenLDAP: Active Directory never gives password hashes over LDAP".into(),
            );
        }
        let base = crate::dn::Dn::parse(&self.base_dn)?;
        for (field, dns) in [("include", &self.include), ("exclude", &self.exclude)] {
            for dn in dns {
                match crate::dn::Dn::parse(dn) {
                    Some(d) if d.is_under(&base) => {}
                    _ => {
                        return Some(format!(
                            "{field}: {dn:?} is not a DN under base_dn {:?}",
                            self.base_dn
                        ));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        url = "ldap://127.0.0.1:389"
        bind_dn = "cn=admin,dc=example,dc=org"
        bind_password_env = "LDAP_PW"
        base_dn = "dc=example,dc=org"
    "#;

    fn message(extra: &str) -> String {
        let cfg: LdapConfig = toml::from_str(&format!("{MINIMAL}\n{extra}")).unwrap();
        match cfg.validate("corp") {
            Err(ProviderError::Config(m)) => m,
            other => panic!("{extra}: {other:?}"),
        }
    }

    #[test]
    fn parses_and_rejects_unknown_fields() {
        let cfg: LdapConfig = toml::from_str(MINIMAL).unwrap();
        assert_eq!(cfg.page_size(), DEFAULT_PAGE_SIZE);
        assert!(!cfg.read_password_hashes);
        assert!(cfg.validate("corp").is_ok());
        let err =
            toml::from_str::<LdapConfig>(&format!("{MINIMAL}\nbind_password = \"x\"")).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let cfg: LdapConfig = toml::from_str(&format!("{MINIMAL}\nflavor = \"openldap\"")).unwrap();
        assert_eq!(cfg.flavor, Some(Flavor::OpenLdap));
    }

    #[test]
    fn validation_names_the_source_and_the_field() {
        let with_url = MINIMAL.replace("ldap://127.0.0.1:389", "http://x");
        let cfg: LdapConfig = toml::from_str(&with_url).unwrap();
        assert_eq!(
            cfg.validate("corp").unwrap_err().to_string(),
            r#"configuration: sources.corp: url "http://x" must start with ldap:// or ldaps://"#
        );
        assert_eq!(
            message("page_size = 0"),
            "sources.corp: page_size must be at least 1"
        );
        assert_eq!(
            message("timeout_secs = 0"),
            "sources.corp: timeout_secs must be at least 1"
        );
        assert_eq!(
            message(r#"exclude = ["ou=x,dc=other"]"#),
            r#"sources.corp: exclude: "ou=x,dc=other" is not a DN under base_dn "dc=example,dc=org""#
        );
        assert!(
            message("starttls = true\nca_file = \"ca.pem\"\ntls_insecure_skip_verify = true")
                .contains("exclude each other")
        );
    }

    #[test]
    fn the_documented_example_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/ldap.toml");
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut source = file["sources"]["corp-ldap"].as_table().unwrap().clone();
        assert_eq!(source.remove("provider").unwrap().as_str(), Some("ldap"));
        let cfg: LdapConfig = source.try_into().unwrap();
        assert!(cfg.validate("corp-ldap").is_ok());
        assert!(!cfg.read_password_hashes);

        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/active-directory.toml"
        );
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut source = file["sources"]["corp-ad"].as_table().unwrap().clone();
        assert_eq!(source.remove("provider").unwrap().as_str(), Some("ldap"));
        let cfg: LdapConfig = source.try_into().unwrap();
        assert!(cfg.validate("corp-ad").is_ok());
        assert_eq!(cfg.flavor, Some(Flavor::ActiveDirectory));
    }
}
