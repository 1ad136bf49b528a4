//! The connection to the directory: TLS, the bind, paged searches, raw entries, request
//! counters, LDAP result codes turned into [`ProviderError`]s, and retries: a dropped
//! connection, or a server that answers busy (51) or unavailable (52), is tried again on a new
//! connection with a bounded backoff ([`Connection::retrying`]); a paged search that breaks
//! off starts again and skips the entries it already gave.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
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

/// Attempts of one operation (or one search) whose connection dropped or whose server said
/// busy or unavailable, the first included: with [`BACKOFF_BASE`] doubling up to
/// [`BACKOFF_MAX`], the last attempt comes 8 to 15 s after the first, which a server restart
/// or a domain controller's failover fits in; a server down for longer fails the run with a
/// message saying so.
pub const ATTEMPTS: u32 = 6;
/// The first wait between attempts (each wait is random in `[w/2, w)`, `w` doubling).
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// The longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Marks a [`ProviderError::Transport`] whose connection failed (refused, reset, closed) as
/// opposed to one that timed out or whose TLS handshake failed: only the first is retried.
const CONNECTION_FAILED: &str = "the connection to the server failed";

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
    pub const BUSY: u32 = 51;
    pub const UNAVAILABLE: u32 = 52;
}

/// The waits between the attempts of one operation: `ATTEMPTS - 1` of them, exponential with
/// jitter (backon's jitter adds up to the delay itself, hence the halves).
fn backoffs() -> backon::ExponentialBackoff {
    ExponentialBuilder::new()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(BACKOFF_BASE / 2)
        .with_max_delay(BACKOFF_MAX / 2)
        .with_max_times(ATTEMPTS as usize - 1)
        .build()
}

/// Whether an error of ldap3 means the connection is gone or could not be made, so that the
/// same operation on a new connection may succeed: refused, reset or closed sockets, the
/// connection's task gone, a search stream cut short. A timeout is not (a server that stopped
/// answering would hold the run for `timeout_secs` on every attempt), nor a failed TLS
/// handshake (the certificate will not change), nor a result code (see [`transient`]).
pub fn connection_lost(e: &LdapError) -> bool {
    use std::io::ErrorKind::*;
    match e {
        LdapError::Io { source } => matches!(
            source.kind(),
            ConnectionRefused
                | ConnectionReset
                | ConnectionAborted
                | BrokenPipe
                | UnexpectedEof
                | NotConnected
        ),
        LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream => true,
        _ => false,
    }
}

/// Whether the operation that failed with `e` is worth another attempt: its connection failed,
/// or the server answered busy (51) or unavailable (52).
pub fn transient(e: &ProviderError) -> bool {
    match e {
        ProviderError::Transport { message, .. } => message.contains(CONNECTION_FAILED),
        ProviderError::Http { status, .. } => {
            u32::from(*status) == rc::BUSY || u32::from(*status) == rc::UNAVAILABLE
        }
        _ => false,
    }
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

    /// Runs `op` until it succeeds, fails for good, or has failed [`ATTEMPTS`] times with a
    /// [`transient`] error; between attempts it waits, and the next attempt opens a new
    /// connection and binds again when the last one closed. `op` must be safe to run again
    /// after an attempt whose answer was lost: reads are, and each restore operation reads
    /// the live entry again and takes "already there" or "already gone" as done.
    pub async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut waits = backoffs();
        let started = std::time::Instant::now();
        loop {
            match op().await {
                Err(e) if transient(&e) => match waits.next() {
                    Some(wait) => self.pause(what, &e, wait).await,
                    None => return Err(self.gave_up(what, e, started.elapsed())),
                },
                other => return other,
            }
        }
    }

    /// Waits before another attempt after `e`.
    async fn pause(&self, what: &str, e: &ProviderError, wait: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            url = %self.url,
            error = %e,
            "{what} failed; trying again in {} ms",
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
    }

    /// The error of the last of [`ATTEMPTS`] attempts, saying how long they took and what to
    /// do.
    pub fn gave_up(&self, what: &str, e: ProviderError, took: Duration) -> ProviderError {
        let tried = format!("{ATTEMPTS} attempts over {} s", took.as_secs());
        match e {
            ProviderError::Transport { url, message } => ProviderError::Transport {
                url,
                message: format!(
                    "{message}; {what} gave up after {tried}: check that the directory server is running and reachable from here, then run the command again (a restore run again does only what is left)"
                ),
            },
            ProviderError::Http {
                method,
                url,
                status,
                message,
            } => ProviderError::Http {
                method,
                url,
                status,
                message: format!(
                    "{message}; the server still refused after {tried}: run the command again when the directory is less loaded (or lower `concurrency`); a restore run again does only what is left"
                ),
            },
            other => other,
        }
    }

    /// A handle on the bound connection, opening and binding it when there is none or the
    /// last one closed.
    pub async fn handle(&self) -> Result<Ldap, ProviderError> {
        let mut slot = self.ldap.lock().await;
        let usable = slot.as_mut().is_some_and(|ldap| !ldap.is_closed());
        if !usable {
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
        let request = SearchRequest {
            base: base.to_string(),
            scope,
            filter: filter.to_string(),
            attrs: attrs.iter().map(|a| a.to_string()).collect(),
            page_size,
            controls,
        };
        let stream = self
            .retrying("search", || self.start_search(&request))
            .await?;
        Ok(Pages {
            connection: self,
            request,
            stream: Some(stream),
            pending: Vec::new(),
            given: HashSet::new(),
            waits: None,
            done: false,
        })
    }

    /// Sends the first page's request of `request`.
    async fn start_search(
        &self,
        request: &SearchRequest,
    ) -> Result<SearchStream<'static, String, Vec<String>>, ProviderError> {
        let mut ldap = self.handle().await?;
        if !request.controls.is_empty() {
            ldap.with_controls(request.controls.clone());
        }
        let size = i32::try_from(request.page_size).unwrap_or(i32::MAX);
        let adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(size)),
        ];
        self.count();
        ldap.streaming_search_with(
            adapters,
            &request.base,
            request.scope,
            &request.filter,
            request.attrs.clone(),
        )
        .await
        .map_err(|e| self.transport("search", e))
    }

    /// The entry `dn` with `attrs`, or `None` when it does not exist.
    pub async fn read(&self, dn: &str, attrs: &[&str]) -> Result<Option<Entry>, ProviderError> {
        self.retrying("read", || self.read_once(dn, attrs)).await
    }

    async fn read_once(&self, dn: &str, attrs: &[&str]) -> Result<Option<Entry>, ProviderError> {
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
            e if connection_lost(&e) => ProviderError::Transport {
                url: self.url.clone(),
                message: format!("{what}: {CONNECTION_FAILED} ({e})"),
            },
            e => match certificate_refused(&e) {
                Some(why) => ProviderError::Transport {
                    url: self.url.clone(),
                    message: format!(
                        "{what}: the server's TLS certificate was refused ({why}): set `ca_file` to the PEM file of the certificate authority that signed it (`openssl s_client -connect HOST:PORT -showcerts` shows the chain), and use a host name in `url` that the certificate names"
                    ),
                },
                None => ProviderError::Transport {
                    url: self.url.clone(),
                    message: format!("{what}: {e}"),
                },
            },
        }
    }
}

/// The reason rustls gave when it refused the server's certificate, if that is what `e` is.
fn certificate_refused(e: &LdapError) -> Option<String> {
    let tls = match e {
        LdapError::Rustls { source } => Some(source),
        LdapError::Io { source } => source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    }?;
    match tls {
        rustls::Error::InvalidCertificate(why) => Some(format!("{why:?}")),
        _ => None,
    }
}

impl Connection {
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

/// What a search asks for, kept to send it again when its connection drops.
struct SearchRequest {
    base: String,
    scope: Scope,
    filter: String,
    attrs: Vec<String>,
    page_size: u32,
    controls: Vec<RawControl>,
}

/// The pages of one search, in the order the server sends them.
///
/// When the connection drops between or inside pages (or the server answers busy or
/// unavailable), the search is sent again from its start on a new connection — a paged
/// search's cookie belongs to the connection that began it — and the entries already given
/// (or waiting in the page being filled) are skipped by a 128-bit digest of their DN, 16 bytes
/// an entry.
pub struct Pages<'c> {
    connection: &'c Connection,
    request: SearchRequest,
    /// `None` after the connection failed, until the search is sent again.
    stream: Option<SearchStream<'static, String, Vec<String>>>,
    /// The page being filled, kept across a restart.
    pending: Vec<Entry>,
    /// The digests of the DNs given or pending.
    given: HashSet<u128>,
    /// The waits left, and when the failures began, while a search keeps failing.
    waits: Option<(backon::ExponentialBackoff, std::time::Instant)>,
    done: bool,
}

/// A digest of `dn` that two different DNs of one search do not share in practice.
fn digest(dn: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        dn.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl Pages<'_> {
    /// The next page of entries; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<Entry>>, ProviderError> {
        loop {
            match self.fill().await {
                Err(e) if transient(&e) => self.restart(e).await?,
                Err(e) => return Err(e),
                Ok(()) => break,
            }
        }
        self.waits = None;
        if !self.done {
            self.connection.count();
        }
        let page = std::mem::take(&mut self.pending);
        Ok(if page.is_empty() && self.done {
            None
        } else {
            Some(page)
        })
    }

    /// Reads entries into the pending page until it is full or the search ends.
    async fn fill(&mut self) -> Result<(), ProviderError> {
        let conn = self.connection;
        let page_size = self.request.page_size as usize;
        while !self.done && self.pending.len() < page_size {
            let stream = match &mut self.stream {
                Some(stream) => stream,
                None => self.stream.insert(conn.start_search(&self.request).await?),
            };
            let next = match stream.next().await {
                Ok(next) => next,
                Err(e) => {
                    // A stream that failed gives nothing more (ldap3 panics if asked).
                    self.stream = None;
                    return Err(conn.transport("search", e));
                }
            };
            match next {
                Some(entry) => {
                    let entry = Entry::parse(entry, &conn.url)?;
                    if self.given.insert(digest(&entry.dn)) {
                        self.pending.push(entry);
                    }
                }
                None => {
                    let result = stream.finish().await;
                    if result.rc != rc::SUCCESS && result.rc != rc::NO_SUCH_OBJECT {
                        return Err(conn.failed("search", &self.request.base, &result));
                    }
                    self.done = true;
                }
            }
        }
        Ok(())
    }

    /// After `e`, waits, then sends the search again; gives up after [`ATTEMPTS`].
    async fn restart(&mut self, e: ProviderError) -> Result<(), ProviderError> {
        let conn = self.connection;
        let (waits, started) = self
            .waits
            .get_or_insert_with(|| (backoffs(), std::time::Instant::now()));
        let Some(wait) = waits.next() else {
            return Err(conn.gave_up("the search", e, started.elapsed()));
        };
        conn.pause("search", &e, wait).await;
        // The next `fill` sends the search again from its start.
        self.stream = None;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind) -> LdapError {
        LdapError::Io {
            source: std::io::Error::from(kind),
        }
    }

    fn code(rc: u32) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: "server says".into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    fn connection() -> Connection {
        let config: LdapConfig = toml::from_str(
            "url = \"ldap://127.0.0.1:1\"\nbind_dn = \"cn=admin,dc=example,dc=org\"\nbind_password_env = \"X\"\nbase_dn = \"dc=example,dc=org\"",
        )
        .unwrap();
        Connection::new(&config, Path::new("."), Secret::new("pw-not-shown"))
    }

    #[test]
    fn a_dropped_or_refused_connection_is_tried_again_a_timeout_or_tls_failure_is_not() {
        use std::io::ErrorKind::*;
        for kind in [
            ConnectionRefused,
            ConnectionReset,
            ConnectionAborted,
            BrokenPipe,
            UnexpectedEof,
        ] {
            assert!(connection_lost(&io(kind)), "{kind:?}");
        }
        assert!(connection_lost(&LdapError::EndOfStream));
        // rustls reports a refused certificate as invalid data: the next attempt would fail
        // the same way.
        assert!(!connection_lost(&io(InvalidData)));
        assert!(!connection_lost(&io(PermissionDenied)));
        let elapsed = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(async {
                tokio::time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await
            })
            .unwrap_err();
        let timeout = LdapError::Timeout { elapsed };
        assert!(!connection_lost(&timeout));
        assert!(!connection_lost(&LdapError::FilterParsing));

        let c = connection();
        assert!(transient(&c.transport("search", LdapError::EndOfStream)));
        assert!(transient(&c.transport("connect", io(ConnectionRefused))));
        assert!(!transient(&c.transport("connect", io(InvalidData))));
        assert!(!transient(&c.transport("search", timeout)));
    }

    #[test]
    fn busy_and_unavailable_are_tried_again_other_codes_are_not() {
        let c = connection();
        for rc in [rc::BUSY, rc::UNAVAILABLE] {
            assert!(transient(&c.failed("add", "cn=x", &code(rc))), "{rc}");
            let wrapped = c.transport("bind", LdapError::LdapResult { result: code(rc) });
            assert!(transient(&wrapped), "{rc}");
        }
        for rc in [
            rc::NO_SUCH_OBJECT,
            rc::INVALID_CREDENTIALS,
            rc::INSUFFICIENT_ACCESS,
            rc::ENTRY_ALREADY_EXISTS,
            53,
            80,
        ] {
            assert!(!transient(&c.failed("add", "cn=x", &code(rc))), "{rc}");
        }
        assert!(!transient(&ProviderError::Config("x".into())));
    }

    #[test]
    fn the_final_error_says_what_failed_and_what_to_do() {
        let c = connection();
        let lost = c.transport("search", LdapError::EndOfStream);
        let message = c
            .gave_up("the search", lost, Duration::from_secs(14))
            .to_string();
        assert!(
            message.starts_with("ldap://127.0.0.1:1: search: the connection to the server failed"),
            "{message}"
        );
        assert!(
            message.contains("gave up after 6 attempts over 14 s")
                && message.contains("check that the directory server is running"),
            "{message}"
        );
        let busy = c.failed("add", "cn=x,dc=example,dc=org", &code(rc::BUSY));
        let message = c
            .gave_up("the restore operation", busy, Duration::from_secs(9))
            .to_string();
        assert!(
            message.contains("busy (51): server says")
                && message.contains("still refused after 6 attempts")
                && message.contains("less loaded"),
            "{message}"
        );
        assert!(!message.contains("pw-not-shown"));
    }

    #[test]
    fn the_waits_are_bounded() {
        let waits: Vec<Duration> = backoffs().collect();
        assert_eq!(waits.len(), ATTEMPTS as usize - 1);
        for (n, wait) in waits.iter().enumerate() {
            let cap = (BACKOFF_BASE * 2u32.pow(n as u32)).min(BACKOFF_MAX);
            assert!(*wait >= cap / 2 && *wait <= cap, "wait {n}: {wait:?}");
        }
        let total: Duration = waits.iter().sum();
        assert!(total <= Duration::from_secs(16), "{total:?}");
    }

    #[tokio::test]
    async fn retrying_stops_at_success_or_at_a_lasting_error() {
        let c = connection();
        let calls = std::sync::atomic::AtomicU32::new(0);
        let out = c
            .retrying("read", || async {
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 | 1 => Err(c.transport("read", LdapError::EndOfStream)),
                    _ => Ok(7),
                }
            })
            .await
            .unwrap();
        assert_eq!((out, calls.load(Ordering::Relaxed)), (7, 3));
        assert_eq!(c.stats().retries, 2);

        calls.store(0, Ordering::Relaxed);
        let err = c
            .retrying("read", || async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err::<(), _>(c.failed("read", "", &code(rc::NO_SUCH_OBJECT)))
            })
            .await
            .unwrap_err();
        assert_eq!(calls.load(Ordering::Relaxed), 1, "{err}");
    }

    #[test]
    fn digests_tell_dns_apart() {
        let a = digest("uid=user00001,ou=dept01,ou=people,dc=example,dc=org");
        assert_eq!(
            a,
            digest("uid=user00001,ou=dept01,ou=people,dc=example,dc=org")
        );
        assert_ne!(
            a,
            digest("uid=user00002,ou=dept01,ou=people,dc=example,dc=org")
        );
    }
}
