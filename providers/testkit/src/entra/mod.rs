//! An emulated Microsoft Entra ID tenant serving Microsoft Graph v1.0 (`/v1.0/…`) and the
//! identity platform's token endpoint (`/{tenant}/oauth2/v2.0/token`) on one port, from the
//! public Graph reference: the same paths and JSON shapes, `$top`/`$select`/`$filter`/
//! `$expand=manager`, `@odata.nextLink` paging with `$skiptoken`, JSON `$batch` (20 requests,
//! per-item status, headers and bodies), app-only access tokens (JWTs whose `roles` claim lists
//! the client's application permissions) that expire, application permissions checked per request (403 `Authorization_RequestDenied`), throttling with `429` and
//! `Retry-After` per request and per batch item, Graph's error bodies, and the recycle bin
//! (`directory/deletedItems`, restore keeping the original id, permanent delete). Beside the
//! directory: PIM (schedules and their requests, role settings), authentication strengths,
//! claims-mapping and token-lifetime policies and their assignment to service principals, the
//! cross-tenant access policy (default and partners, whose organisations the seeded guests
//! come from), terms of use agreements and the authorization policy, each family in a module
//! of its own. Every write made through Graph is recorded as a directory audit
//! (`/auditLogs/directoryAudits`).
//!
//! ```no_run
//! # async fn demo() {
//! use iamsnap_testkit::entra::EntraEmulator;
//! let entra = EntraEmulator::builder().tenant("contoso").client("app-id", "s3cret")
//!     .users(2_000).groups(300).apps(50).policies(20).seed(7)
//!     .start().await.expect("emulator");
//! println!("{}", entra.base_url());
//! # }
//! ```
//!
//! The tenant is seeded deterministically. Dynamic membership rules are stored, and the seeded
//! members of dynamic groups are what the rule evaluated to, but rules are not re-evaluated.

mod api;
mod audit;
mod authz;
mod cross_tenant;
mod federated;
mod model;
mod read;
mod role_policies;
mod roles;
mod seed;
mod strengths;
mod sts_policies;
mod terms;
pub(crate) mod token;
mod write;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::budget::Budget;

pub use model::{Deleted, Tenant};
pub use seed::GRAPH_APP_ID;
pub use token::ALL_PERMISSIONS;

use api::{GraphError, GraphRequest, GraphResponse, parse_query};
use token::{Client, Issued};

/// Most requests one `$batch` may carry.
pub const MAX_BATCH: usize = 20;

/// Settings of an emulated tenant; see [`EntraEmulator::builder`].
#[derive(Debug, Clone)]
pub struct EntraEmulator {
    tenant: String,
    clients: Vec<(String, String, Vec<String>)>,
    users: usize,
    groups: usize,
    apps: usize,
    policies: usize,
    seed: u64,
    port: u16,
    rate_limit: Option<(u64, Duration)>,
    latency: Duration,
    token_lifetime: Duration,
}

impl EntraEmulator {
    /// Tenant `contoso`, one client `iamsnap-test-client`/`test-secret` with every permission,
    /// 100 users, 20 groups, 8 apps, 8 conditional access policies, seed 1, a free port,
    /// no rate limit, tokens valid for an hour.
    pub fn builder() -> EntraEmulator {
        EntraEmulator {
            tenant: "contoso".into(),
            clients: Vec::new(),
            users: 100,
            groups: 20,
            apps: 8,
            policies: 8,
            seed: 1,
            port: 0,
            rate_limit: None,
            latency: Duration::ZERO,
            token_lifetime: token::DEFAULT_LIFETIME,
        }
    }

    /// The tenant id accepted in token requests.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// Registers a client (application id and secret) granted every permission.
    pub fn client(self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        let all = ALL_PERMISSIONS.iter().map(|p| p.to_string()).collect();
        self.client_with_permissions(id, secret, all)
    }

    /// Registers a client granted only these application permissions (`User.Read.All`, …).
    pub fn client_with_permissions(
        mut self,
        id: impl Into<String>,
        secret: impl Into<String>,
        permissions: Vec<String>,
    ) -> Self {
        self.clients.push((id.into(), secret.into(), permissions));
        self
    }

    pub fn users(mut self, n: usize) -> Self {
        self.users = n;
        self
    }

    pub fn groups(mut self, n: usize) -> Self {
        self.groups = n;
        self
    }

    /// `n` applications, each with its service principal.
    pub fn apps(mut self, n: usize) -> Self {
        self.apps = n;
        self
    }

    /// `n` conditional access policies (and `n / 4 + 2` named locations).
    pub fn policies(mut self, n: usize) -> Self {
        self.policies = n;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Listen on this loopback port (0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// At most `requests` Graph requests (batch items counted one by one) per window of
    /// length `per`, answered with 429 and `Retry-After` beyond.
    pub fn rate_limit(mut self, requests: u64, per: Duration) -> Self {
        self.rate_limit = Some((requests, per));
        self
    }

    /// Delay added to every HTTP answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Lifetime of issued access tokens (`expires_in`).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Seeds the tenant and starts serving it on 127.0.0.1.
    pub async fn start(self) -> std::io::Result<RunningEntra> {
        let spec = seed::SeedSpec {
            tenant: self.tenant.clone(),
            users: self.users,
            groups: self.groups,
            apps: self.apps,
            policies: self.policies,
            seed: self.seed,
        };
        let mut tenant = tokio::task::spawn_blocking(move || seed::seed(&spec))
            .await
            .map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        tenant.base = base_url.clone();
        let mut clients = self.clients;
        if clients.is_empty() {
            let all = ALL_PERMISSIONS.iter().map(|p| p.to_string()).collect();
            clients.push(("iamsnap-test-client".into(), "test-secret".into(), all));
        }
        let shared = Arc::new(Shared {
            tenant: RwLock::new(tenant),
            tenant_id: self.tenant,
            clients: clients
                .into_iter()
                .map(|(id, secret, permissions)| {
                    (
                        id,
                        Client {
                            secret,
                            permissions,
                        },
                    )
                })
                .collect(),
            tokens: Mutex::new(HashMap::new()),
            token_lifetime: self.token_lifetime,
            serial: AtomicU64::new(1),
            budget: Budget::new(self.rate_limit),
            latency: self.latency,
            counts: Mutex::new(HashMap::new()),
            last_request_ms: AtomicU64::new(0),
            faults: Mutex::new(VecDeque::new()),
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token::token))
            .route("/v1.0/{*rest}", any(http_entry))
            .fallback(|method: Method, uri: Uri| async move {
                into_http(GraphError::no_route(method.as_str(), uri.path()).response())
            })
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningEntra {
            base_url,
            shared,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }
}

pub(crate) struct Shared {
    tenant: RwLock<Tenant>,
    pub(crate) tenant_id: String,
    pub(crate) clients: HashMap<String, Client>,
    pub(crate) tokens: Mutex<HashMap<String, Issued>>,
    pub(crate) token_lifetime: Duration,
    serial: AtomicU64,
    budget: Budget,
    latency: Duration,
    counts: Mutex<HashMap<String, u64>>,
    /// When the last Graph request arrived, in milliseconds since the epoch.
    last_request_ms: AtomicU64,
    faults: Mutex<VecDeque<u16>>,
}

impl Shared {
    fn tenant(&self) -> std::sync::RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn count(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                counts.insert(key.to_string(), 1);
            }
        }
    }

    pub(crate) fn next_token_serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// The client behind a bearer token, or Graph's 401.
    fn authenticate(&self, auth: Option<&str>) -> Result<String, GraphError> {
        let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) else {
            return Err(GraphError::unauthenticated("Access token is empty."));
        };
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        match tokens.get(token.trim()) {
            None => Err(GraphError::unauthenticated(
                "IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.",
            )),
            Some(issued) if issued.expires <= Instant::now() => Err(GraphError::unauthenticated(
                "Lifetime validation failed, the token is expired.",
            )),
            Some(issued) => Ok(issued.client_id.clone()),
        }
    }
}

/// One Graph request, plain or from a batch: counting, auth, throttling, injected faults,
/// permissions, then the handler.
fn handle(shared: &Shared, req: &GraphRequest) -> GraphResponse {
    shared.count("*");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    shared.last_request_ms.fetch_max(now_ms, Ordering::Relaxed);
    shared.count(&format!("{} {}", req.method, req.path));
    if req.query.contains_key("$skiptoken") {
        shared.count("nextLink");
    }
    let client = match shared.authenticate(req.auth.as_deref()) {
        Ok(c) => c,
        Err(e) => return e.response(),
    };
    if let Err(retry_after) = shared.budget.take() {
        shared.count("429");
        if req.in_batch {
            shared.count("429:batch");
        }
        return GraphError::throttled(retry_after).response();
    }
    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front();
    if let Some(status) = fault {
        let mut e = match status {
            429 => GraphError::throttled(1),
            503 => GraphError::new(
                503,
                "serviceNotAvailable",
                "Service is temporarily unavailable. Please retry after the time given in Retry-After.",
            ),
            s => GraphError::new(s, "generalException", "General exception while processing."),
        };
        if status == 503 {
            e.retry_after = Some(1);
        }
        shared.count(&format!("fault:{status}"));
        return e.response();
    }
    let segments = req.segments();
    let needed = token::required(&req.method, &segments);
    let granted = &shared.clients[&client].permissions;
    if !needed.iter().any(|p| granted.iter().any(|g| g == p)) {
        return GraphError::forbidden().response();
    }
    let result = if req.method == "GET" {
        let tenant = shared.tenant.read().unwrap_or_else(|e| e.into_inner());
        match segments.as_slice() {
            [a, b] if a == "auditLogs" && b == "directoryAudits" => audit::list(&tenant, req),
            _ => read::get(&tenant, req),
        }
    } else {
        let mut tenant = shared.tenant();
        let pending = audit::before(&tenant, req);
        let result = write::write(&mut tenant, req);
        if let Ok(answer) = &result
            && (200..300).contains(&answer.status)
        {
            audit::record(&mut tenant, &client, pending, answer);
        }
        result
    };
    result.unwrap_or_else(|e| e.response())
}

/// `POST /v1.0/$batch`: up to 20 requests, each answered on its own.
fn batch(shared: &Shared, req: &GraphRequest) -> GraphResponse {
    shared.count("$batch");
    if let Err(e) = shared.authenticate(req.auth.as_deref()) {
        return e.response();
    }
    let Some(requests) = req.body.as_ref().and_then(|b| b["requests"].as_array()) else {
        return GraphError::new(
            400,
            "BadRequest",
            "Invalid batch payload format: a 'requests' array is required.",
        )
        .response();
    };
    if requests.len() > MAX_BATCH {
        return GraphError::new(
            400,
            "BadRequest",
            format!(
                "Too many requests in the batch: {} (the limit is {MAX_BATCH}).",
                requests.len()
            ),
        )
        .response();
    }
    // The answer is written by hand so that each item's body, already JSON, goes in as it is.
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"{\"responses\":[");
    for (n, item) in requests.iter().enumerate() {
        let method = item["method"].as_str().unwrap_or("GET").to_uppercase();
        let url = item["url"].as_str().unwrap_or_default();
        let answer = if url.starts_with("http") {
            GraphError::new(
                400,
                "BadRequest",
                "The URL of a batch request must be relative to the version, such as /users.",
            )
            .response()
        } else {
            let url = url.strip_prefix("/v1.0").unwrap_or(url);
            let url = if url.starts_with('/') {
                url.to_string()
            } else {
                format!("/{url}")
            };
            let (path, query) = url.split_once('?').unwrap_or((&url, ""));
            let inner = GraphRequest {
                method,
                path: path.to_string(),
                query: parse_query(query),
                body: item.get("body").cloned(),
                auth: req.auth.clone(),
                in_batch: true,
            };
            handle(shared, &inner)
        };
        let headers: serde_json::Map<String, Value> = answer
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if n > 0 {
            out.push(b',');
        }
        let head = json!({"id": item["id"], "status": answer.status, "headers": headers});
        let head = serde_json::to_vec(&head).expect("JSON of the emulator's own values");
        match answer.body {
            Some(body) => {
                // `{"headers":…,"id":…,"status":…` then `,"body":…}`.
                out.extend_from_slice(&head[..head.len() - 1]);
                out.extend_from_slice(b",\"body\":");
                out.extend_from_slice(&body);
                out.push(b'}');
            }
            None => out.extend_from_slice(&head),
        }
    }
    out.extend_from_slice(b"]}");
    let mut answer = GraphResponse::json(200, Value::Null);
    answer.body = Some(out);
    answer
}

async fn http_entry(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return into_http(
                    GraphError::new(
                        400,
                        "BadRequest",
                        format!("Unable to read JSON request payload: {e}"),
                    )
                    .response(),
                );
            }
        }
    };
    let req = GraphRequest {
        method: method.as_str().to_string(),
        path: uri
            .path()
            .strip_prefix("/v1.0")
            .unwrap_or(uri.path())
            .to_string(),
        query: parse_query(uri.query().unwrap_or("")),
        body,
        auth: headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        in_batch: false,
    };
    let shared2 = shared.clone();
    let answer = tokio::task::spawn_blocking(move || {
        if req.method == "POST" && req.path == "/$batch" {
            batch(&shared2, &req)
        } else {
            handle(&shared2, &req)
        }
    })
    .await
    .unwrap_or_else(|e| GraphError::new(500, "generalException", e.to_string()).response());
    into_http(answer)
}

fn into_http(answer: GraphResponse) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (
            status,
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        None => status.into_response(),
    };
    for (k, v) in answer.headers {
        if k.eq_ignore_ascii_case("content-type") {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A running emulated tenant; the server stops when this is dropped.
pub struct RunningEntra {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEntra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEntra")
            .field("base_url", &self.base_url)
            .field("tenant", &self.shared.tenant_id)
            .finish_non_exhaustive()
    }
}

impl RunningEntra {
    /// `http://127.0.0.1:PORT`: both the login URL and the Graph URL to configure.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The tenant id token requests must name.
    pub fn tenant_id(&self) -> &str {
        &self.shared.tenant_id
    }

    /// Reads or changes the tenant directly, bypassing the API (test setup and assertions).
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut self.shared.tenant())
    }

    /// Requests counted under `key`: `*` all Graph requests (batch items included),
    /// `GET /users` a method and path, `token` token requests, `$batch` batches, `nextLink`
    /// requests for a following page, `429` throttled requests and `429:batch` throttled
    /// batch items.
    pub fn requests(&self, key: &str) -> u64 {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// When the last Graph request (a batch item included) arrived, in milliseconds since the
    /// epoch; 0 before the first.
    pub fn last_request_ms(&self) -> u64 {
        self.shared.last_request_ms.load(Ordering::Relaxed)
    }

    /// The next `n` authenticated requests within the rate limit fail with `status` (429 and
    /// 503 carry `Retry-After: 1`).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.extend(std::iter::repeat_n(status, n));
    }

    /// Invalidates every token issued so far, as when the signing keys roll over: requests
    /// carrying one are answered 401 `InvalidAuthenticationToken`.
    pub fn revoke_tokens(&self) {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Every access token issued and still valid, for tests that check none of them leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Changes the rate limit of the running tenant (`None`: unlimited).
    pub fn set_rate_limit(&self, limit: Option<(u64, Duration)>) {
        self.shared.budget.set(limit);
    }

    /// Waits until the server stops (for the command-line server, which runs until killed).
    pub async fn wait(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for RunningEntra {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
