//! TLS against a real slapd: LDAPS and StartTLS verify the server's certificate against
//! `ca_file`, an unknown authority is refused, and `tls_insecure_skip_verify` accepts it.

use iamsnap_ldap::{LdapConfig, LdapProvider};
use iamsnap_provider::{ConnectOptions, ReadProvider};
use iamsnap_testkit::ldap::{BASE_DN, ROOT_DN, Seed, Slapd};

const PASSWORD: &str = "tls-root-password-90ab";

fn provider(dir: &std::path::Path, lines: &str) -> LdapProvider {
    std::fs::write(dir.join("pw"), PASSWORD).unwrap();
    let config: LdapConfig = toml::from_str(&format!(
        "bind_dn = \"{ROOT_DN}\"\nbind_password_file = \"pw\"\nbase_dn = \"{BASE_DN}\"\n{lines}"
    ))
    .unwrap();
    LdapProvider::new("corp", &config, dir, &ConnectOptions::default()).unwrap()
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
    let tls = slapd.tls.as_ref().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = tls.ca_file.display();

    let ldaps = provider(
        dir.path(),
        &format!("url = \"{}\"\nca_file = \"{ca}\"\n", tls.ldaps_url),
    );
    ldaps.healthcheck().await.unwrap();
    let starttls = provider(
        dir.path(),
        &format!(
            "url = \"{}\"\nstarttls = true\nca_file = \"{ca}\"\n",
            slapd.url
        ),
    );
    starttls.healthcheck().await.unwrap();

    // The system's store does not hold the test authority: refused.
    let unknown = provider(dir.path(), &format!("url = \"{}\"\n", tls.ldaps_url));
    let err = unknown.healthcheck().await.unwrap_err().to_string();
    assert!(err.contains(&tls.ldaps_url), "{err}");
    let insecure = provider(
        dir.path(),
        &format!(
            "url = \"{}\"\ntls_insecure_skip_verify = true\n",
            tls.ldaps_url
        ),
    );
    insecure.healthcheck().await.unwrap();
}
