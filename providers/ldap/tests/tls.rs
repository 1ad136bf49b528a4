//! TLS against a real slapd and a real Samba domain controller: LDAPS and StartTLS verify the
//! server's certificate against `ca_file`; an authority that did not sign it (the system's, or
//! another `ca_file`) is refused at once with an error saying what to set; and
//! `tls_insecure_skip_verify` connects with a loud warning in the log.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iamsnap_ldap::{LdapConfig, LdapProvider};
use iamsnap_provider::{ConnectOptions, ReadProvider};
use iamsnap_testkit::ldap::{AD_ADMIN_DN, AD_BASE_DN, BASE_DN, ROOT_DN, SambaDc, Seed, Slapd};

const PASSWORD: &str = "tls-root-password-90ab";
/// Meets the domain's password complexity rules.
const AD_PASSWORD: &str = "Tls-Admin-Pa55word!";

fn provider(dir: &std::path::Path, identity: (&str, &str, &str), lines: &str) -> LdapProvider {
    let (bind_dn, password, base_dn) = identity;
    std::fs::write(dir.join("pw"), password).unwrap();
    let config: LdapConfig = toml::from_str(&format!(
        "bind_dn = \"{bind_dn}\"\nbind_password_file = \"pw\"\nbase_dn = \"{base_dn}\"\n{lines}"
    ))
    .unwrap();
    LdapProvider::new("corp", &config, dir, &ConnectOptions::default()).unwrap()
}

const OPENLDAP: (&str, &str, &str) = (ROOT_DN, PASSWORD, BASE_DN);
const AD: (&str, &str, &str) = (AD_ADMIN_DN, AD_PASSWORD, AD_BASE_DN);

/// The healthcheck's error, checked to be a refused certificate reported without a retry.
async fn refused(provider: &LdapProvider, url: &str) -> String {
    let started = Instant::now();
    let message = provider.healthcheck().await.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused certificate is not tried again: {:?}",
        started.elapsed()
    );
    assert!(
        message.contains(url)
            && message.contains("TLS certificate was refused")
            // Another authority of the same name: its signature does not match.
            && (message.contains("UnknownIssuer") || message.contains("BadSignature"))
            && message.contains("set `ca_file`"),
        "{message}"
    );
    message
}

/// Log lines written while the returned guard lives.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn ldaps_and_starttls_verify_the_certificate() {
    let seed = Seed {
        users: 3,
        groups: 2,
        ous: 1,
        seed: 1,
    };
    let slapd = Slapd::start_tls(PASSWORD, &seed).unwrap();
    let other = Slapd::start_tls(PASSWORD, &Seed::EMPTY).unwrap();
    let tls = slapd.tls.as_ref().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = tls.ca_file.display();

    let ldaps = provider(
        dir.path(),
        OPENLDAP,
        &format!("url = \"{}\"\nca_file = \"{ca}\"\n", tls.ldaps_url),
    );
    ldaps.healthcheck().await.unwrap();
    let starttls = provider(
        dir.path(),
        OPENLDAP,
        &format!(
            "url = \"{}\"\nstarttls = true\nca_file = \"{ca}\"\n",
            slapd.url
        ),
    );
    starttls.healthcheck().await.unwrap();

    // The system's store does not hold the test authority, nor does another server's file.
    let unknown = provider(
        dir.path(),
        OPENLDAP,
        &format!("url = \"{}\"\n", tls.ldaps_url),
    );
    refused(&unknown, &tls.ldaps_url).await;
    let wrong_ca = other.tls.as_ref().unwrap().ca_file.display();
    let wrong = provider(
        dir.path(),
        OPENLDAP,
        &format!(
            "url = \"{}\"\nstarttls = true\nca_file = \"{wrong_ca}\"\n",
            slapd.url
        ),
    );
    let message = refused(&wrong, &slapd.url).await;
    assert!(!message.contains(PASSWORD), "{message}");

    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let insecure = provider(
        dir.path(),
        OPENLDAP,
        &format!(
            "url = \"{}\"\ntls_insecure_skip_verify = true\n",
            tls.ldaps_url
        ),
    );
    insecure.healthcheck().await.unwrap();
    drop(guard);
    let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("WARN")
            && log.contains("tls_insecure_skip_verify is on")
            && log.contains("NOT checked")
            && log.contains(&tls.ldaps_url),
        "{log}"
    );
    assert!(!log.contains(PASSWORD), "{log}");
}

#[tokio::test]
async fn a_samba_domain_controller_is_reached_over_ldaps_and_starttls() {
    let seed = Seed {
        users: 5,
        groups: 2,
        ous: 1,
        seed: 2,
    };
    let dc = SambaDc::start_tls(AD_PASSWORD, &seed).unwrap();
    let tls = dc.tls.as_ref().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = tls.ca_file.display();

    for lines in [
        format!("url = \"{}\"\nca_file = \"{ca}\"\n", tls.ldaps_url),
        format!(
            "url = \"{}\"\nstarttls = true\nca_file = \"{ca}\"\n",
            dc.url
        ),
    ] {
        let p = provider(dir.path(), AD, &lines);
        p.healthcheck()
            .await
            .unwrap_or_else(|e| panic!("{lines}: {e}"));
        // A whole read over TLS: the domain's own record is only read from Active Directory.
        let (sink, mut records) = tokio::sync::mpsc::channel::<iamsnap_provider::Record>(1024);
        let collect = async {
            let mut kinds = std::collections::BTreeSet::new();
            while let Some(r) = records.recv().await {
                kinds.insert(r.kind);
            }
            kinds
        };
        let (read, kinds) = tokio::join!(p.snapshot(sink), collect);
        read.unwrap();
        assert!(
            kinds.contains("ldap.domain") && kinds.contains("ldap.user"),
            "{kinds:?}"
        );
    }
    let unknown = provider(dir.path(), AD, &format!("url = \"{}\"\n", tls.ldaps_url));
    refused(&unknown, &tls.ldaps_url).await;
}
