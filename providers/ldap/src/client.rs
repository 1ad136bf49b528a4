//! The connection to the directory: TLS, the bind, paged searches, raw entries, request
//! counters, and LDAP result codes turned into [`ProviderError`]s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use iamsnap_provider::{ProviderError, RequestStats, Secret};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::asn1::StructureTag;
use ldap3::controls::RawControl;
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, ResultEntry, Scope, SearchStream,
};
use tokio::sync::Mutex;

use crate::config::LdapConfig;

/// Longest wait for the TCP connection and TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the answer to the bind: a server that takes longer is not answering.
const BIND_TIMEOUT: Duration = Duration::from_secs(10);

/// LDAP result codes a connector acts on (RFC 4511, appendix A).
pub mod rc {
    pub const SUCCESS: u32 = 0;
    pub const NO_SUCH_ATTRIBUTE: u32 = 16;
    pub const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const INSUFFICIENT_ACCESS: u32 = 50;
    pub const NOT_ALLOWED_ON_NON_LEAF: u32 = 66;
    pub const OBJECT_CLASS_VIOLATION: u32 = 65;
    pub const ENTRY_ALREADY_EXISTS: u32 = 68;
    pub const UNAVAILABLE_CRITICAL_EXTENSION: u32 = 12;
    pub const CONSTRAINT_VIOLATION: u32 = 19;
}

/// An entry as the server sent it: its DN and every attribute's values as bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    /// The values of `name` (any case) as text, invalid UTF-8 skipped.
    pub fn text(&self, name: &str) -> Vec<String> {
        self.attrs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.iter())
            .filter_map(|v| String::from_utf8(v.clone()).ok())
            .collect()
    }

    fn parse(entry: ResultEntry, url: &str) -> Result<Entry, ProviderError> {
        let bad = |what: &str| ProviderError::Decode {
            url: url.to_string(),
            message: format!("a search result entry has no {what}"),
        };
        let mut parts = entry
            .0
            .match_id(4)
            .and_then(StructureTag::expect_constructed)
            .ok_or_else(|| bad("entry"))?
            .into_iter();
        let dn = parts
            .next()
            .and_then(StructureTag::expect_primitive)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad("DN"))?;
        let mut attrs = BTreeMap::new();
        let list = parts
            .next()
            .and_then(StructureTag::expect_constructed)
            .ok_or_else(|| bad("attribute list"))?;
        for attr in list {
            let mut attr = attr
                .expect_constructed()
                .ok_or_else(|| bad("attribute"))?
                .into_iter();
            let name = attr
                .next()
                .and_then(StructureTag::expect_primitive)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad("attribute name"))?;
            let values = attr
                .next()
                .and_then(StructureTag::expect_constructed)
                .ok_or_else(|| bad("attribute values"))?
                .into_iter()
                .map(|v| v.expect_primitive().ok_or_else(|| bad("attribute value")))
                .collect::<Result<Vec<_>, _>>()?;
            attrs.insert(name, values);
        }
        Ok(Entry { dn, attrs })
    }
}

/// One directory server, reached with the source's bind: a single connection, opened on
/// first use and again after it fails, shared by concurrent operations (LDAP multiplexes them).
pub struct Connection {
    url: String,
    starttls: bool,
    ca_file: Option<PathBuf>,
    insecure: bool,
    bind_dn: String,
    password: Secret,
    /// How long each operation, and each entry of a search, may wait for the server.
    timeout: Duration,
    ldap: Mutex<Option<Ldap>>,
    requests: AtomicU64,
    retries: AtomicU64,
}

impl Connection {
    pub fn new(config: &LdapConfig, base_dir: &Path, password: Secret) -> Connection {
        Connection {
            url: config.url.clone(),
            starttls: config.starttls,
            ca_file: config.ca_file.as_ref().map(|f| base_dir.join(f)),
            insecure: config.tls_insecure_skip_verify,
            bind_dn: config.bind_dn.clone(),
            password,
            timeout: config.timeout(),
            ldap: Mutex::new(None),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn bind_dn(&self) -> &str {
        &self.bind_dn
    }

    pub fn stats(&self) -> RequestStats {
        RequestStats {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: 0,
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A handle on the bound connection, opening and binding it when there is none or the
    /// last one closed.
    pub async fn handle(&self) -> Result<Ldap, ProviderError> {
        let mut slot = self.ldap.lock().await;
        let usable = slot.as_mut().is_some_and(|ldap| !ldap.is_closed());
        if !usable {
            if slot.is_some() {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            *slot = Some(self.open().await?);
        }
        let mut handle = slot.as_ref().expect("opened above").clone();
        // The timeout holds for the next operation the caller makes with this handle.
        handle.with_timeout(self.timeout);
        Ok(handle)
    }

    async fn open(&self) -> Result<Ldap, ProviderError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(CONNECT_TIMEOUT)
            .set_starttls(self.starttls);
        if self.insecure {
            tracing::warn!(
                url = %self.url,
                "tls_insecure_skip_verify is on: the server's certificate is NOT checked, anyone on the path can read the bind password and the directory"
            );
            settings = settings.set_no_tls_verify(true);
        }
        if let Some(ca) = &self.ca_file {
            settings = settings.set_config(Arc::new(tls_config(ca)?));
        }
        self.count();
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| self.transport("connect", e))?;
        ldap3::drive!(conn);
        ldap.with_timeout(BIND_TIMEOUT.min(self.timeout));
        self.count();
        let bound = ldap
            .simple_bind(&self.bind_dn, self.password.expose())
            .await
            .map_err(|e| self.transport("bind", e))?;
        match bound.rc {
            rc::SUCCESS => Ok(ldap),
            rc::INVALID_CREDENTIALS => Err(ProviderError::Unauthorized {
                url: format!("{} bind as {}", self.url, self.bind_dn),
                status: bound.rc as u16,
                message: result_text(&bound),
            }),
            _ => Err(self.failed("bind", &self.bind_dn, &bound)),
        }
    }

    /// Every entry of the search, page by page with the Simple Paged Results control: call
    /// [`Pages::next`] until it gives `None`.
    pub async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        page_size: u32,
    ) -> Result<Pages<'_>, ProviderError> {
        self.search_with(base, scope, filter, attrs, page_size, Vec::new())
            .await
    }

    /// As [`Connection::search`], with `controls` on the search (the paging control added).
    pub async fn search_with(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
        page_size: u32,
        controls: Vec<RawControl>,
    ) -> Result<Pages<'_>, ProviderError> {
        let mut ldap = self.handle().await?;
        if !controls.is_empty() {
            ldap.with_controls(controls);
        }
        let attrs: Vec<String> = attrs.iter().map(|a| a.to_string()).collect();
        let size = i32::try_from(page_size).unwrap_or(i32::MAX);
        let adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(size)),
        ];
        self.count();
        let stream = ldap
            .streaming_search_with(adapters, base, scope, filter, attrs)
            .await
            .map_err(|e| self.transport("search", e))?;
        Ok(Pages {
            connection: self,
            base: base.to_string(),
            stream,
            page_size: page_size as usize,
            done: false,
        })
    }

    /// The entry `dn` with `attrs`, or `None` when it does not exist.
    pub async fn read(&self, dn: &str, attrs: &[&str]) -> Result<Option<Entry>, ProviderError> {
        let mut found = None;
        let mut ldap = self.handle().await?;
        self.count();
        let result = ldap
            .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
            .await
            .map_err(|e| self.transport("search", e))?;
        let (entries, done) = (result.0, result.1);
        match done.rc {
            rc::SUCCESS => {}
            rc::NO_SUCH_OBJECT => return Ok(None),
            _ => return Err(self.failed("search", dn, &done)),
        }
        if let Some(entry) = entries.into_iter().next() {
            found = Some(Entry::parse(entry, &self.url)?);
        }
        Ok(found)
    }

    /// A handle for one write with `controls`, counted as one request.
    pub async fn writer(&self, controls: Vec<RawControl>) -> Result<Ldap, ProviderError> {
        let mut ldap = self.handle().await?;
        if !controls.is_empty() {
            ldap.with_controls(controls);
        }
        self.count();
        Ok(ldap)
    }

    /// A connection or protocol failure.
    pub fn transport(&self, what: &str, e: LdapError) -> ProviderError {
        match e {
            LdapError::LdapResult { result } => self.failed(what, "", &result),
            e => ProviderError::Transport {
                url: self.url.clone(),
                message: format!("{what}: {e}"),
            },
        }
    }

    /// A result code the operation did not expect.
    pub fn failed(&self, what: &str, dn: &str, result: &LdapResult) -> ProviderError {
        let url = if dn.is_empty() {
            self.url.clone()
        } else {
            format!("{} {dn}", self.url)
        };
        let message = result_text(result);
        match result.rc {
            rc::INVALID_CREDENTIALS => ProviderError::Unauthorized {
                url,
                status: result.rc as u16,
                message,
            },
            rc::INSUFFICIENT_ACCESS => ProviderError::Forbidden {
                url,
                status: result.rc as u16,
                message,
            },
            code => ProviderError::Http {
                method: what.to_string(),
                url,
                status: code as u16,
                message,
            },
        }
    }
}

/// The pages of one search, in the order the server sends them.
pub struct Pages<'c> {
    connection: &'c Connection,
    base: String,
    stream: SearchStream<'static, String, Vec<String>>,
    page_size: usize,
    done: bool,
}

impl Pages<'_> {
    /// The next page of entries; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<Entry>>, ProviderError> {
        if self.done {
            return Ok(None);
        }
        let conn = self.connection;
        let mut page = Vec::with_capacity(self.page_size);
        while page.len() < self.page_size {
            let next = self
                .stream
                .next()
                .await
                .map_err(|e| conn.transport("search", e))?;
            match next {
                Some(entry) => page.push(Entry::parse(entry, &conn.url)?),
                None => {
                    self.done = true;
                    let result = self.stream.finish().await;
                    if result.rc != rc::SUCCESS && result.rc != rc::NO_SUCH_OBJECT {
                        return Err(conn.failed("search", &self.base, &result));
                    }
                    break;
                }
            }
        }
        if !self.done {
            conn.count();
        }
        Ok(if page.is_empty() && self.done {
            None
        } else {
            Some(page)
        })
    }
}

/// `invalidCredentials (49): text`.
fn result_text(result: &LdapResult) -> String {
    let name = match result.rc {
        16 => "noSuchAttribute",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        _ => "LDAP result",
    };
    if result.text.is_empty() {
        format!("{name} ({})", result.rc)
    } else {
        format!("{name} ({}): {}", result.rc, result.text)
    }
}

/// A TLS configuration trusting the certificate authorities of the PEM file `ca`.
fn tls_config(ca: &Path) -> Result<rustls::ClientConfig, ProviderError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |e: String| ProviderError::Config(format!("ca_file {}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}
