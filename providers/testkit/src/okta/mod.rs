//! An emulated Okta org serving the Management API (`/api/v1/…`) from Okta's public reference:
//! the same paths, JSON shapes, `limit`/`after` paging with `Link` headers, `SSWS` token auth,
//! `X-Rate-Limit-*` headers with 429s when the budget is spent, Okta's error bodies, and the
//! System Log (`/api/v1/logs`) recording every write made through the API.
//!
//! ```no_run
//! # async fn demo() {
//! use iamsnap_testkit::okta::OktaEmulator;
//! let okta = OktaEmulator::builder().users(2_000).groups(200).apps(30).seed(7).token("t")
//!     .start().await.expect("emulator");
//! println!("{}", okta.base_url());
//! # }
//! ```
//!
//! The org is seeded deterministically from the seed: the same sizes and seed give the same
//! ids, names, memberships and assignments. Writes follow Okta's semantics (new ids on create,
//! drawn apart from the seed so that, as in Okta, no two orgs share an id; lifecycle
//! transitions, deactivate before delete, rules created inactive). Active group rules add the
//! users their expression matches (`user.attr=="value"`, `!=`, `&&`, `||`) to their groups, on
//! activation and when a user is created or changed.

mod api;
mod authenticators;
mod behaviors;
mod brands;
mod expr;
mod hooks;
mod iam;
mod idps;
mod incidents;
mod logs;
mod mappings;
mod model;
mod origins;
mod owners;
mod read;
mod rules;
mod seed;
mod user;
mod write;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;

pub use model::{Org, OrgCounts};

use api::ApiError;

/// Settings of an emulated org; see [`OktaEmulator::builder`].
#[derive(Debug, Clone)]
pub struct OktaEmulator {
    users: usize,
    groups: usize,
    apps: usize,
    seed: u64,
    token: String,
    read_only_token: Option<String>,
    port: u16,
    rate_limit: Option<(u64, Duration)>,
    latency: Duration,
    consistency_delay: Duration,
}

impl OktaEmulator {
    /// 100 users, 20 groups, 8 apps, seed 1, token `test-token`, a free port, no rate limit.
    pub fn builder() -> OktaEmulator {
        OktaEmulator {
            users: 100,
            groups: 20,
            apps: 8,
            seed: 1,
            token: "test-token".into(),
            read_only_token: None,
            port: 0,
            rate_limit: None,
            latency: Duration::ZERO,
            consistency_delay: Duration::ZERO,
        }
    }

    /// Exactly `n` users.
    pub fn users(mut self, n: usize) -> Self {
        self.users = n;
        self
    }

    /// `n` groups in all, the built-in Everyone group included.
    pub fn groups(mut self, n: usize) -> Self {
        self.groups = n;
        self
    }

    /// `n` apps (bookmark, SWA, SAML and OIDC in turn).
    pub fn apps(mut self, n: usize) -> Self {
        self.apps = n;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The API token clients must send as `Authorization: SSWS <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// A second token that may read but not write: it acts as a Read-only Administrator
    /// (`/users/me` is that user, whose only role is `READ_ONLY_ADMIN`), and writes sent with
    /// it get Okta's 403 `E0000006`, naming the permission they need.
    pub fn read_only_token(mut self, token: impl Into<String>) -> Self {
        self.read_only_token = Some(token.into());
        self
    }

    /// Listen on this loopback port (0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// At most `requests` per window of length `per` on each endpoint (method and route),
    /// answered with 429 beyond.
    pub fn rate_limit(mut self, requests: u64, per: Duration) -> Self {
        self.rate_limit = Some((requests, per));
        self
    }

    /// Delay added to every answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// How long a member added to a group through the API stays out of what reads return
    /// (the group's member list, the user's groups) after the 204 of the add: real Okta's reads
    /// lag its writes for a short while.
    pub fn consistency_delay(mut self, delay: Duration) -> Self {
        self.consistency_delay = delay;
        self
    }

    /// Seeds the org and starts serving it on 127.0.0.1.
    pub async fn start(self) -> std::io::Result<RunningOkta> {
        let spec = seed::SeedSpec {
            users: self.users,
            groups: self.groups,
            apps: self.apps,
            seed: self.seed,
        };
        let org = tokio::task::spawn_blocking(move || seed::seed(spec))
            .await
            .map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://127.0.0.1:{}", addr.port());
        let mut org = org;
        if self.read_only_token.is_some() {
            seed::read_only_admin(&mut org);
        }
        org.base = base_url.clone();
        org.consistency_delay = self.consistency_delay;
        let shared = Arc::new(Shared {
            org: RwLock::new(org),
            token: self.token,
            read_only_token: self.read_only_token,
            rate_limit: Mutex::new(self.rate_limit),
            windows: Mutex::new(HashMap::new()),
            latency: self.latency,
            counts: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
        });
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningOkta {
            base_url,
            shared,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }
}

pub(crate) struct Shared {
    pub(crate) org: RwLock<Org>,
    token: String,
    read_only_token: Option<String>,
    rate_limit: Mutex<Option<(u64, Duration)>>,
    /// Per bucket (method and route): (window index, requests counted in it).
    windows: Mutex<HashMap<String, (u128, u64)>>,
    latency: Duration,
    counts: Mutex<HashMap<String, u64>>,
    faults: Mutex<VecDeque<StatusCode>>,
}

impl Shared {
    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, Org> {
        self.org.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Org> {
        self.org.write().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, key: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(key.to_string()).or_default() += 1;
    }

    /// Counts the request against its bucket's window, as Okta budgets each endpoint apart:
    /// `Ok((limit, remaining, reset))`, or `Err` with the same headers' values when spent.
    fn take_budget(&self, bucket: &str) -> Result<(u64, u64, u64), (u64, u64, u64)> {
        let (limit, per) = self
            .rate_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or((1_000_000, Duration::from_secs(60)));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let per_ms = per.as_millis().max(1);
        let index = now / per_ms;
        let reset = ((index + 1) * per_ms).div_ceil(1000) as u64;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(bucket.to_string()).or_default();
        if window.0 != index {
            *window = (index, 0);
        }
        if window.1 >= limit {
            self.count("429");
            return Err((limit, 0, reset));
        }
        window.1 += 1;
        Ok((limit, limit - window.1, reset))
    }
}

fn router(shared: Arc<Shared>) -> Router {
    read::routes()
        .merge(write::routes())
        .merge(origins::routes())
        .merge(idps::routes())
        .merge(authenticators::routes())
        .merge(behaviors::routes())
        .merge(owners::routes())
        .merge(mappings::routes())
        .merge(iam::routes())
        .merge(hooks::routes())
        .merge(brands::routes())
        .merge(logs::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            logs::record,
        ))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), gate))
        .fallback(|req: Request| async move {
            ApiError::not_found(req.uri().path(), req.method().as_str())
        })
        .with_state(shared)
}

/// Counting, latency, `SSWS` auth, the rate limit and injected faults, in that order.
async fn gate(
    State(shared): State<Arc<Shared>>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    shared.count("*");
    shared.count(req.uri().path());
    if let Some(m) = &matched {
        shared.count(m.as_str());
    }
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let expected = format!("SSWS {}", shared.token);
    let authorized = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorized {
        let read_only = shared.read_only_token.as_ref().is_some_and(|t| {
            req.headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == format!("SSWS {t}"))
        });
        if !read_only {
            return ApiError::unauthorized().into_response();
        }
        if req.method() != axum::http::Method::GET && req.method() != axum::http::Method::HEAD {
            return ApiError::forbidden(req.method().as_str(), req.uri().path()).into_response();
        }
        req.extensions_mut().insert(ReadOnlyCaller);
    }
    let bucket = format!(
        "{} {}",
        req.method(),
        matched.as_ref().map_or(req.uri().path(), |m| m.as_str())
    );
    let (mut response, (limit, remaining, reset)) = match shared.take_budget(&bucket) {
        Err(headers) => (ApiError::rate_limited().into_response(), headers),
        Ok(headers) => {
            let fault = shared
                .faults
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            match fault {
                Some(status) => {
                    let mut e = ApiError::internal();
                    e.status = status;
                    (e.into_response(), headers)
                }
                None => (next.run(req).await, headers),
            }
        }
    };
    let h = response.headers_mut();
    h.insert("x-rate-limit-limit", HeaderValue::from(limit));
    h.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    h.insert("x-rate-limit-reset", HeaderValue::from(reset));
    response
}

/// Marks a request made with the read-only token: `/users/me` is its Read-only Administrator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOnlyCaller;

/// A running emulated org; the server stops when this is dropped.
pub struct RunningOkta {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningOkta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningOkta")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningOkta {
    /// `http://127.0.0.1:PORT`, the org URL to configure.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API token the org accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Reads or changes the org directly, bypassing the API (test setup and assertions).
    pub fn with_org<R>(&self, f: impl FnOnce(&mut Org) -> R) -> R {
        f(&mut self.shared.write())
    }

    /// Requests received for a concrete path (`/api/v1/users`) or a route pattern
    /// (`/api/v1/groups/{id}/users`); `*` counts all, `429` the throttled ones.
    pub fn requests(&self, path: &str) -> u64 {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The next `n` authorized requests within the rate limit fail with `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.extend(std::iter::repeat_n(status, n));
    }

    /// Changes the rate limit of the running org (`None`: unlimited).
    pub fn set_rate_limit(&self, limit: Option<(u64, Duration)>) {
        *self
            .shared
            .rate_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = limit;
    }

    /// Waits until the server stops (for the command-line server, which runs until killed).
    pub async fn wait(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for RunningOkta {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
