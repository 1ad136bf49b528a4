//! An emulated Azure tenant serving Azure Resource Manager's role-based access control
//! (`Microsoft.Authorization`: role definitions, role assignments, management locks) and
//! `Microsoft.Resources` (subscriptions, resource groups), with the identity platform's token
//! endpoint (`/{tenant}/oauth2/v2.0/token`) on the same port, from Microsoft's ARM REST
//! reference: the `api-version` query parameter required, `$filter=atScope()` and
//! `principalId eq '…'`, `nextLink` paging, ARM's error bodies, `409 RoleAssignmentExists`,
//! throttling with `429` and `Retry-After`, and ARM's replication delay: a role definition
//! just created is unknown to role assignment creation for a moment
//! (`400 RoleDefinitionDoesNotExist`). PIM eligibility schedules are listed and written through
//! `roleEligibilityScheduleRequests`; deny assignments are listed, never written. The caller's
//! permissions at a scope are listed (`…/providers/Microsoft.Authorization/permissions`) from
//! the roles assigned to it there and above.
//!
//! ```no_run
//! # async fn demo() {
//! use iamsnap_testkit::azure::AzureEmulator;
//! let azure = AzureEmulator::builder().tenant("contoso").client("app-id", "s3cret")
//!     .subscriptions(3).resource_groups(30).assignments(500).custom_roles(10).seed(7)
//!     .start().await.expect("emulator");
//! println!("{}", azure.base_url());
//! # }
//! ```
//!
//! Access tokens are JWT-shaped: their payload carries the caller's `oid` (the object id of
//! the client's service principal), as Entra ID's do.

mod arm;
mod directory;
mod model;
mod permissions;
mod pim;
mod seed;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use model::{
    Arm, Lock, ManagementGroup, Permission, ResourceGroup, RoleAssignment, RoleDefinition,
    Subscription,
};
pub use seed::{OWNER, USER_ACCESS_ADMINISTRATOR};

use crate::budget::Budget;
use crate::entra::token::{hex, oauth_error};
use arm::{ArmAnswer, ArmRequest, error};

/// The resource ARM's tokens are issued for.
pub const MANAGEMENT_RESOURCE: &str = "https://management.azure.com";

/// Settings of an emulated tenant; see [`AzureEmulator::builder`].
#[derive(Debug, Clone)]
pub struct AzureEmulator {
    tenant: String,
    client_id: String,
    client_secret: String,
    spec: seed::SeedSpec,
    port: u16,
    page_size: usize,
    rate_limit: Option<(u64, Duration)>,
    latency: Duration,
    entra_url: Option<String>,
}

impl AzureEmulator {
    /// Tenant `contoso`, client `iamsnap-test-client`/`test-secret`, 3 subscriptions, 30
    /// resource groups, 500 role assignments, 10 custom roles, 12 locks, seed 1, a free port,
    /// lists paged by 100, no rate limit.
    pub fn builder() -> AzureEmulator {
        AzureEmulator {
            tenant: "contoso".into(),
            client_id: "iamsnap-test-client".into(),
            client_secret: "test-secret".into(),
            spec: seed::SeedSpec {
                tenant: "contoso".into(),
                subscriptions: 3,
                resource_groups: 30,
                assignments: 500,
                custom_roles: 10,
                locks: 12,
                seed: 1,
                client_oid: String::new(),
                management_groups: 0,
                directory: None,
            },
            port: 0,
            page_size: 100,
            rate_limit: None,
            latency: Duration::ZERO,
            entra_url: None,
        }
    }

    /// Shares the principals of the Entra emulator at `url` (`http://127.0.0.1:PORT`), which
    /// must serve the same tenant and know the same client: the seeded assignments name its
    /// users, groups and service principals, and creating an assignment or eligibility asks it
    /// whether the principal exists (`400 PrincipalNotFound` when it does not).
    pub fn entra(mut self, url: impl Into<String>) -> Self {
        self.entra_url = Some(url.into());
        self
    }

    /// The tenant id accepted in token requests.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// The client (application id and secret) allowed to request tokens; its service
    /// principal holds User Access Administrator on every subscription.
    pub fn client(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.client_id = id.into();
        self.client_secret = secret.into();
        self
    }

    pub fn subscriptions(mut self, n: usize) -> Self {
        self.spec.subscriptions = n;
        self
    }

    /// Resource groups, spread over the subscriptions, each holding one storage account.
    pub fn resource_groups(mut self, n: usize) -> Self {
        self.spec.resource_groups = n;
        self
    }

    /// Role assignments at subscription, resource group and resource scope (the client's own
    /// not counted).
    pub fn assignments(mut self, n: usize) -> Self {
        self.spec.assignments = n;
        self
    }

    pub fn custom_roles(mut self, n: usize) -> Self {
        self.spec.custom_roles = n;
        self
    }

    pub fn locks(mut self, n: usize) -> Self {
        self.spec.locks = n;
        self
    }

    /// `n` management groups below the tenant root group (none by default, and then no root
    /// group either), the subscriptions spread over them; each gets a Reader assignment, and
    /// the first a custom role assignable there and assigned there.
    pub fn management_groups(mut self, n: usize) -> Self {
        self.spec.management_groups = n;
        self
    }

    /// The same seed gives the same subscriptions, resource groups and principals, whatever
    /// the other counts: an empty tenant of a seed is the seeded one without its roles,
    /// assignments and locks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.spec.seed = seed;
        self
    }

    /// Listen on this loopback port (0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Items per page of a list before `nextLink`.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// At most `requests` ARM requests per window of length `per`, answered with 429 and
    /// `Retry-After` beyond.
    pub fn rate_limit(mut self, requests: u64, per: Duration) -> Self {
        self.rate_limit = Some((requests, per));
        self
    }

    /// Delay added to every HTTP answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Seeds the tenant and starts serving it on 127.0.0.1.
    pub async fn start(self) -> std::io::Result<RunningAzure> {
        let mut spec = self.spec;
        spec.tenant = self.tenant.clone();
        spec.client_oid = client_oid(&self.client_id);
        let oid = spec.client_oid.clone();
        let directory = self.entra_url.as_deref().map(|url| {
            directory::EntraDirectory::new(url, &self.tenant, &self.client_id, &self.client_secret)
        });
        if let Some(directory) = &directory {
            spec.directory = Some(directory.principals().await?);
        }
        let state = tokio::task::spawn_blocking(move || seed::seed(&spec))
            .await
            .map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let shared = Arc::new(Shared {
            arm: RwLock::new(state),
            tenant_id: self.tenant,
            client_id: self.client_id,
            client_secret: self.client_secret,
            client_oid: oid,
            base_url: base_url.clone(),
            page_size: self.page_size,
            tokens: Mutex::new(HashMap::new()),
            serial: AtomicU64::new(1),
            budget: Budget::new(self.rate_limit),
            latency: self.latency,
            counts: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            directory,
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .fallback(entry)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningAzure {
            base_url,
            shared,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }
}

/// The object id of a client's service principal: derived from its application id, so that
/// every tenant of the emulator gives one client the same principal.
fn client_oid(client_id: &str) -> String {
    use rand::SeedableRng;
    let seed = client_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    seed::guid(&mut rand::rngs::StdRng::seed_from_u64(seed))
}

struct Shared {
    arm: RwLock<Arm>,
    tenant_id: String,
    client_id: String,
    client_secret: String,
    client_oid: String,
    base_url: String,
    page_size: usize,
    /// Issued access tokens and when they expire.
    tokens: Mutex<HashMap<String, Instant>>,
    serial: AtomicU64,
    budget: Budget,
    latency: Duration,
    counts: Mutex<HashMap<String, u64>>,
    faults: Mutex<VecDeque<u16>>,
    /// The linked Entra emulator, which says which principals exist.
    directory: Option<directory::EntraDirectory>,
}

impl Shared {
    /// Brings the tenant's knowledge of the principal a create names up to date with the
    /// linked Entra emulator, as ARM asks Entra ID at each role assignment write.
    async fn check_principal(&self, method: &Method, path: &str, body: &Bytes) {
        let Some(directory) = &self.directory else {
            return;
        };
        let lower = path.to_ascii_lowercase();
        let creates = method == Method::PUT
            && (lower.contains("/microsoft.authorization/roleassignments/")
                || lower.contains("/microsoft.authorization/roleeligibilityschedulerequests/"));
        if !creates {
            return;
        }
        let Some(principal) = serde_json::from_slice::<Value>(body).ok().and_then(|b| {
            b["properties"]["principalId"]
                .as_str()
                .map(str::to_ascii_lowercase)
        }) else {
            return;
        };
        if principal == self.client_oid {
            return;
        }
        match directory.lookup(&principal).await {
            Ok(found) => {
                let mut arm = self.arm.write().unwrap_or_else(|e| e.into_inner());
                match found {
                    Some(kind) => arm.principals.insert(principal, kind),
                    None => arm.principals.remove(&principal),
                };
            }
            Err(e) => tracing::warn!(error = %e, "the linked Entra emulator did not answer"),
        }
    }

    fn count(&self, key: &str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_insert(0) += 1;
    }
}

/// `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant for ARM's resource.
async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    shared.count("token");
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if !tenant.eq_ignore_ascii_case(&shared.tenant_id) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.".into(),
        );
    }
    if field("client_id") != shared.client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'.",
                field("client_id")
            ),
        );
    }
    if field("client_secret") != shared.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.".into());
    }
    let scope = field("scope");
    let Some(resource) = scope.strip_suffix("/.default") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    if resource.trim_end_matches('/') != MANAGEMENT_RESOURCE {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}."
            ),
        );
    }
    let claims = json!({"aud": MANAGEMENT_RESOURCE, "tid": shared.tenant_id, "appid": shared.client_id,
                        "oid": shared.client_oid, "idtyp": "app"});
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let access = format!(
        "{}.{}.{:016x}{}",
        b64.encode(br#"{"typ":"JWT","alg":"RS256"}"#),
        b64.encode(claims.to_string()),
        shared.serial.fetch_add(1, Ordering::Relaxed),
        hex(&shared.client_id),
    );
    let lifetime = Duration::from_secs(3599);
    shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(access.clone(), Instant::now() + lifetime);
    axum::Json(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access}))
        .into_response()
}

/// Every ARM request: counting, `api-version`, the token, throttling, injected faults, then
/// the endpoint.
async fn entry(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    shared.count("*");
    shared.count(&format!("{method} {}", uri.path()));
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if query
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("$skiptoken"))
    {
        shared.count("nextLink");
    }
    let checked = check(&shared, &headers, &query);
    if checked.is_none() {
        shared.check_principal(&method, uri.path(), &body).await;
    }
    let answer = checked.unwrap_or_else(|| {
        let body = if body.is_empty() {
            None
        } else {
            match serde_json::from_slice::<Value>(&body) {
                Ok(v) => Some(v),
                Err(e) => {
                    return error(
                        400,
                        "InvalidRequestContent",
                        format!(
                            "The request content was invalid and could not be deserialized: '{e}'."
                        ),
                    );
                }
            }
        };
        let req = ArmRequest {
            method: method.as_str().to_string(),
            path: uri.path().to_string(),
            query,
            body,
            base: shared.base_url.clone(),
            page_size: shared.page_size,
            caller: shared.client_oid.clone(),
        };
        let mut state = shared.arm.write().unwrap_or_else(|e| e.into_inner());
        arm::dispatch(&mut state, &req)
    });
    if answer.status == 429 {
        shared.count("429");
    }
    into_http(answer)
}

/// The answer to give instead of the endpoint's, if any.
fn check(shared: &Shared, headers: &HeaderMap, query: &[(String, String)]) -> Option<ArmAnswer> {
    if !query
        .iter()
        .any(|(k, v)| k == "api-version" && !v.is_empty())
    {
        return Some(error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) else {
        return Some(error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    match shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token.trim())
    {
        None => {
            return Some(error(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            ));
        }
        Some(expires) if *expires <= Instant::now() => {
            return Some(error(
                401,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            ));
        }
        Some(_) => {}
    }
    if let Err(wait) = shared.budget.take() {
        let mut answer = error(
            429,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00. For more information, see - https://aka.ms/srpthrottlinglimits",
        );
        answer
            .headers
            .push(("Retry-After".into(), wait.to_string()));
        return Some(answer);
    }
    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front();
    fault.map(|status| {
        shared.count(&format!("fault:{status}"));
        let mut answer = match status {
            429 => error(429, "TooManyRequests", "The request is being throttled."),
            s => error(s, "InternalServerError", "Encountered internal server error. Diagnostic information: timestamp '20240101T000000Z'."),
        };
        if matches!(status, 429 | 503) {
            answer.headers.push(("Retry-After".into(), "1".into()));
        }
        answer
    })
}

fn into_http(answer: ArmAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    for (k, v) in answer.headers {
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
pub struct RunningAzure {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningAzure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAzure")
            .field("base_url", &self.base_url)
            .field("tenant", &self.shared.tenant_id)
            .finish_non_exhaustive()
    }
}

impl RunningAzure {
    /// `http://127.0.0.1:PORT`: both the login URL and the management URL to configure.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The tenant id token requests must name.
    pub fn tenant_id(&self) -> &str {
        &self.shared.tenant_id
    }

    /// The object id of the client's service principal (its tokens' `oid`).
    pub fn client_oid(&self) -> &str {
        &self.shared.client_oid
    }

    /// Reads or changes the tenant directly, bypassing the API (test setup and assertions).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut Arm) -> R) -> R {
        f(&mut self.shared.arm.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// Requests counted under `key`: `*` all ARM requests, `GET /subscriptions` a method and
    /// path, `token` token requests, `nextLink` requests for a following page, `429`
    /// throttled requests.
    pub fn requests(&self, key: &str) -> u64 {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// The next `n` authenticated requests within the rate limit fail with `status` (429 and
    /// 503 carry `Retry-After: 1`).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut faults = self.shared.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.extend(std::iter::repeat_n(status, n));
    }

    /// Changes the rate limit of the running tenant (`None`: unlimited).
    pub fn set_rate_limit(&self, limit: Option<(u64, Duration)>) {
        self.shared.budget.set(limit);
    }

    /// Every access token issued, for tests that check none of them leaks.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Waits until the server stops (for the command-line server, which runs until killed).
    pub async fn wait(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for RunningAzure {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
