//! An emulated Google Cloud organization on one port: the OAuth 2.0 token endpoint
//! (`POST /token`, the JWT bearer grant signed with a service account key the emulator can
//! write out, and the refresh token grant of a user's application default credentials), the
//! metadata server's token endpoint (`GET /computeMetadata/v1/…/default/token`) and Resource
//! Manager v3 (`/v3/…`) as Google's public REST reference describes
//! it: `organizations.get`, `folders.search`/`list`, `projects.search`/`list`/`get`, and
//! `getIamPolicy`/`setIamPolicy`/`testIamPermissions` on the organization, folders and
//! projects (the caller's permissions from its bindings, see [`GcpEmulator::caller_roles`]),
//! and IAM v1 (`/v1/…`): the caller's own key (`serviceAccounts.keys.get`, with its
//! `validBeforeTime`), service accounts with their soft delete and undelete and custom roles with
//! their 7-day undelete window and 37-day id hold, and IAM v2 (`/v2/…`) deny policies written
//! through long-running operations, with
//! `nextPageToken` paging, etags that change on every write (409 `ABORTED` on a stale one),
//! policy versions (conditions need version 3; reading a conditional policy at a lower
//! version is refused), Google's error bodies, and 429 `RESOURCE_EXHAUSTED` with
//! `Retry-After`.
//!
//! ```no_run
//! # async fn demo() {
//! use iamsnap_testkit::gcp::GcpEmulator;
//! let gcp = GcpEmulator::builder().org("123456789012").folders(3).projects(20)
//!     .service_accounts(200).seed(7).start().await.expect("emulator");
//! println!("{}", gcp.base_url());
//! # }
//! ```

mod accounts;
mod api;
mod deny;
mod keys;
mod model;
mod permissions;
mod roles;
mod token;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use accounts::Account;
pub use deny::DenyPolicy;
pub use keys::Key;
pub use model::{Org, Policy, Resource};
pub use roles::Role;
pub use token::JWT_BEARER;

use crate::budget::Budget;
use api::GcpError;
use token::Issued;

/// Largest `pageSize` Resource Manager's searches and lists take.
const MAX_PAGE: usize = 100;

/// Settings of an emulated organization; see [`GcpEmulator::builder`].
#[derive(Debug, Clone)]
pub struct GcpEmulator {
    spec: model::SeedSpec,
    port: u16,
    rate_limit: Option<(u64, Duration)>,
    iam_rate_limit: Option<(u64, Duration)>,
    empty_policies: bool,
    caller_roles: Vec<String>,
    key_lifetime: Option<Duration>,
}

impl GcpEmulator {
    /// Organization `123456789012`, 3 folders, 10 projects, 30 service accounts, 10 custom
    /// roles, 3 deny policies, seed 1, a free port, no rate limit.
    pub fn builder() -> GcpEmulator {
        GcpEmulator {
            spec: model::SeedSpec {
                org: "123456789012".into(),
                folders: 3,
                projects: 10,
                service_accounts: 30,
                custom_roles: 10,
                deny_policies: 3,
                seed: 1,
            },
            port: 0,
            rate_limit: None,
            iam_rate_limit: None,
            empty_policies: false,
            caller_roles: Vec::new(),
            key_lifetime: None,
        }
    }

    /// Binds the service account of [`RunningGcp::key_file`] to these roles
    /// (`roles/browser`, a custom role's name) in the organization's policy, as an
    /// administrator granting it access does; `testIamPermissions` answers from them. Other
    /// calls are not refused for want of a permission.
    pub fn caller_roles(mut self, roles: &[&str]) -> Self {
        self.caller_roles = roles.iter().map(|r| r.to_string()).collect();
        self
    }

    /// The key of [`RunningGcp::key_file`] expires this long after the emulator starts (its
    /// `validBeforeTime`, as an organization policy `iam.serviceAccountKeyExpiryHours` sets
    /// it); by default it never expires.
    pub fn key_expires_in(mut self, lifetime: Duration) -> Self {
        self.key_lifetime = Some(lifetime);
        self
    }

    /// The PEM of the private key the emulator's service account key file carries.
    pub fn test_private_key() -> &'static str {
        token::TEST_KEY_PEM
    }

    /// The organization's numeric id.
    pub fn org(mut self, id: impl Into<String>) -> Self {
        self.spec.org = id.into();
        self
    }

    pub fn folders(mut self, n: usize) -> Self {
        self.spec.folders = n;
        self
    }

    pub fn projects(mut self, n: usize) -> Self {
        self.spec.projects = n;
        self
    }

    /// Service accounts named in the projects' bindings.
    pub fn service_accounts(mut self, n: usize) -> Self {
        self.spec.service_accounts = n;
        self
    }

    /// Custom roles, every fifth in the organization and the others in the projects, each
    /// granted in the policy of where it is defined.
    pub fn custom_roles(mut self, n: usize) -> Self {
        self.spec.custom_roles = n;
        self
    }

    /// IAM v2 deny policies: the first on the organization, then one per folder, then on
    /// projects.
    pub fn deny_policies(mut self, n: usize) -> Self {
        self.spec.deny_policies = n;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.spec.seed = seed;
        self
    }

    /// Listen on this loopback port (0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// At most `requests` API requests per window `per`, answered with 429 beyond: Resource
    /// Manager's, and IAM's too unless [`GcpEmulator::iam_rate_limit`] gives IAM its own.
    pub fn rate_limit(mut self, requests: u64, per: Duration) -> Self {
        self.rate_limit = Some((requests, per));
        self
    }

    /// IAM's own budget: Google counts each API's quota apart (Resource Manager's reads at
    /// 600 a minute per consumer project, IAM's at 6,000).
    pub fn iam_rate_limit(mut self, requests: u64, per: Duration) -> Self {
        self.iam_rate_limit = Some((requests, per));
        self
    }

    /// The same organization, folders and projects, their IAM policies empty and no service
    /// accounts: what a restore into a new hierarchy starts from.
    pub fn empty_policies(mut self) -> Self {
        self.empty_policies = true;
        self
    }

    /// Seeds the organization and serves it on 127.0.0.1.
    pub async fn start(self) -> std::io::Result<RunningGcp> {
        let mut org = model::seed(&self.spec);
        if self.empty_policies {
            for r in org.resources.values_mut() {
                r.policy = Policy {
                    version: 1,
                    serial: 1,
                    ..Default::default()
                };
            }
            org.accounts.clear();
            org.roles.clear();
            org.deny = Default::default();
        }
        let client_email = format!(
            "iamsnap-backup@org-admin-{}.iam.gserviceaccount.com",
            self.spec.org
        );
        let org_name = format!("organizations/{}", self.spec.org);
        if let Some(root) = org.resources.get_mut(&org_name) {
            for role in &self.caller_roles {
                root.policy.bindings.push(
                    json!({"role": role, "members": [format!("serviceAccount:{client_email}")]}),
                );
            }
        }
        let key_valid_before = self
            .key_lifetime
            .map(|l| chrono::Utc::now() + l)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let shared = Arc::new(Shared {
            org: RwLock::new(org),
            key_valid_before,
            client_email,
            token_url: format!("{base_url}/token"),
            tokens: Mutex::new(HashMap::new()),
            serial: AtomicU64::new(1),
            budget: Budget::new(self.rate_limit),
            iam_budget: self.iam_rate_limit.map(|l| Budget::new(Some(l))),
            counts: Mutex::new(BTreeMap::new()),
            races: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/token", post(token::endpoint))
            .route(
                "/computeMetadata/v1/instance/service-accounts/default/token",
                get(token::metadata),
            )
            .route("/v3/{*rest}", any(v3_entry))
            .route("/v1/{*rest}", any(v3_entry))
            .route("/v2/{*rest}", any(deny::entry))
            .fallback(|method: Method, uri: Uri| async move {
                GcpError::new(
                    404,
                    "NOT_FOUND",
                    format!("{method} {} is not an API method.", uri.path()),
                )
                .into_response()
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
        Ok(RunningGcp {
            base_url,
            shared,
            shutdown: Some(tx),
            handle: Some(handle),
        })
    }
}

struct Shared {
    org: RwLock<Org>,
    /// The `validBeforeTime` of the caller's key; `None`: it never expires.
    key_valid_before: Option<String>,
    client_email: String,
    token_url: String,
    tokens: Mutex<HashMap<String, Issued>>,
    serial: AtomicU64,
    budget: Budget,
    /// IAM's budget when it has its own.
    iam_budget: Option<Budget>,
    counts: Mutex<BTreeMap<String, u64>>,
    /// Changes made by "another writer" just before the next `setIamPolicy` of a resource.
    races: Mutex<HashMap<String, Edit>>,
}

/// A change to a policy.
type Edit = Box<dyn FnOnce(&mut Policy) + Send + Sync>;

impl Shared {
    fn count(&self, key: &str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default() += 1;
    }

    fn authenticate(&self, headers: &HeaderMap) -> Result<(), GcpError> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(GcpError::unauthenticated)?;
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        match tokens.get(token.trim()) {
            Some(t) if t.expires > Instant::now() => Ok(()),
            _ => Err(GcpError::unauthenticated()),
        }
    }
}

async fn v3_entry(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let iam = uri.path().starts_with("/v1/");
    let path = uri.path()[4..].to_string();
    shared.count("*");
    shared.count(&format!(
        "{method} {}",
        path.rsplit_once(':').map(|(_, m)| m).unwrap_or("get")
    ));
    if let Err(e) = shared.authenticate(&headers) {
        return e.into_response();
    }
    let budget = match &shared.iam_budget {
        Some(b) if iam => b,
        _ => &shared.budget,
    };
    if let Err(seconds) = budget.take() {
        shared.count("429");
        let service = if iam {
            "iam.googleapis.com"
        } else {
            "cloudresourcemanager.googleapis.com"
        };
        return GcpError::throttled(seconds, service).into_response();
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return GcpError::invalid(format!("Invalid JSON payload received. {e}"))
                    .into_response();
            }
        }
    };
    // Roles deleted more than 7 days ago go for good, with their bindings. Most requests find
    // nothing due under the read lock, and never wait for the write lock.
    let now = std::time::SystemTime::now();
    let due = shared
        .org
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .next_expiry
        .is_some_and(|t| t <= now);
    if due {
        roles::expire(
            &mut shared.org.write().unwrap_or_else(|e| e.into_inner()),
            now,
        );
    }
    let answer = if iam {
        let mut org = shared.org.write().unwrap_or_else(|e| e.into_inner());
        let parts: Vec<&str> = path
            .split(':')
            .next()
            .unwrap_or_default()
            .split('/')
            .collect();
        if let ["projects", _, "serviceAccounts", email, "keys", id] = parts[..]
            && method == Method::GET
            && email == shared.client_email
        {
            caller_key(&shared, id)
        } else if matches!(parts[..], ["organizations" | "projects", _, "roles", ..]) {
            roles::handle(&mut org, method.as_str(), &path, &query, &body)
        } else {
            accounts::handle(&mut org, method.as_str(), &path, &query, &body)
        }
    } else {
        v3(&shared, &method, &path, &query, &body)
    };
    match answer {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn v3(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &Value,
) -> Result<Value, GcpError> {
    let (resource, verb) = match path.rsplit_once(':') {
        Some((r, v)) => (r, Some(v)),
        None => (path, None),
    };
    match (method.as_str(), resource, verb) {
        ("GET", "folders", Some("search")) | ("GET", "folders", None) => {
            let org = shared.org.read().unwrap_or_else(|e| e.into_inner());
            list(&org, "folders/", "folders", query, verb.is_none())
        }
        ("GET", "projects", Some("search")) | ("GET", "projects", None) => {
            let org = shared.org.read().unwrap_or_else(|e| e.into_inner());
            list(&org, "projects/", "projects", query, verb.is_none())
        }
        ("POST", name, Some("getIamPolicy")) => {
            let org = shared.org.read().unwrap_or_else(|e| e.into_inner());
            let r = find(&org, name)?;
            r.policy.read(
                body["options"]["requestedPolicyVersion"]
                    .as_i64()
                    .unwrap_or(0),
            )
        }
        ("POST", name, Some("testIamPermissions")) => {
            let org = shared.org.read().unwrap_or_else(|e| e.into_inner());
            let key = find(&org, name)?.name.clone();
            let member = format!("serviceAccount:{}", shared.client_email);
            permissions::test(&org, &key, &member, body)
        }
        ("POST", name, Some("setIamPolicy")) => {
            let mut org = shared.org.write().unwrap_or_else(|e| e.into_inner());
            let key = find(&org, name)?.name.clone();
            // A custom role that is missing or deleted cannot be granted anew.
            let held: Vec<Value> = org.resources[&key]
                .policy
                .bindings
                .iter()
                .map(|b| b["role"].clone())
                .collect();
            for b in body["policy"]["bindings"].as_array().into_iter().flatten() {
                let role = b["role"].as_str().unwrap_or_default();
                if !held.contains(&b["role"]) && !roles::bindable(&org, role) {
                    shared.count("setIamPolicy:refused");
                    return Err(GcpError::invalid(format!(
                        "Role ({role}) does not exist in the resource's hierarchy."
                    )));
                }
            }
            let r = org.resources.get_mut(&key).expect("found above");
            let race = shared
                .races
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            if let Some(edit) = race {
                edit(&mut r.policy);
                r.policy.serial += 1;
            }
            let written = r.policy.write(body);
            if written.is_err() {
                shared.count("setIamPolicy:refused");
            }
            written
        }
        ("GET", name, None) => {
            let org = shared.org.read().unwrap_or_else(|e| e.into_inner());
            Ok(describe(find(&org, name)?))
        }
        _ => Err(GcpError::new(
            404,
            "NOT_FOUND",
            format!("{method} /v3/{path} is not an API method."),
        )),
    }
}

/// `GET /v1/projects/-/serviceAccounts/EMAIL/keys/KEY_ID` of the caller's own key (IAM's
/// `serviceAccounts.keys.get`), the one its key file holds.
fn caller_key(shared: &Shared, id: &str) -> Result<Value, GcpError> {
    let name = format!(
        "projects/org-admin/serviceAccounts/{}/keys/{id}",
        shared.client_email
    );
    if id != token::KEY_ID {
        return Err(GcpError::not_found(&name));
    }
    Ok(json!({
        "name": name,
        "validAfterTime": "2026-01-01T00:00:00Z",
        "validBeforeTime": shared.key_valid_before.as_deref().unwrap_or("9999-12-31T23:59:59Z"),
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": "USER_MANAGED",
    }))
}

/// A resource by name; a project also by its project id (`projects/acme-001-prod`).
fn find<'a>(org: &'a Org, name: &str) -> Result<&'a Resource, GcpError> {
    if let Some(r) = org.resources.get(name) {
        return Ok(r);
    }
    if let Some(id) = name.strip_prefix("projects/")
        && let Some(r) = org
            .resources
            .values()
            .find(|r| r.project_id.as_deref() == Some(id))
    {
        return Ok(r);
    }
    Err(GcpError::not_found(name))
}

/// The resource as Resource Manager v3 shows it.
fn describe(r: &Resource) -> Value {
    let mut v = json!({
        "name": r.name,
        "displayName": r.display_name,
        "state": "ACTIVE",
        "etag": format!("W/\"{}\"", r.name.len()),
        "createTime": "2024-01-15T09:30:00.000Z",
    });
    if let Some(parent) = &r.parent {
        v["parent"] = parent.clone().into();
    }
    if let Some(id) = &r.project_id {
        v["projectId"] = id.clone().into();
    }
    if r.name.starts_with("organizations/") {
        v["directoryCustomerId"] = "C0abc123".into();
    }
    v
}

/// `search` (every match, `query` filtering on `parent=` or `parent:`) or `list` (the children
/// of the `parent` query parameter, which is required), paged with `nextPageToken`.
fn list(
    org: &Org,
    prefix: &str,
    field: &str,
    query: &HashMap<String, String>,
    is_list: bool,
) -> Result<Value, GcpError> {
    let parent = if is_list {
        Some(
            query
                .get("parent")
                .cloned()
                .ok_or_else(|| GcpError::invalid("parent is required"))?,
        )
    } else {
        query.get("query").and_then(|q| {
            q.split_whitespace()
                .find_map(|t| {
                    t.strip_prefix("parent=")
                        .or_else(|| t.strip_prefix("parent:"))
                })
                .map(str::to_string)
        })
    };
    let size = query
        .get("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(50)
        .min(MAX_PAGE);
    let start = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .strip_prefix("offset-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| GcpError::invalid("Invalid page token."))?,
    };
    let all: Vec<&Resource> = org
        .resources
        .values()
        .filter(|r| r.name.starts_with(prefix))
        .filter(|r| {
            parent
                .as_deref()
                .is_none_or(|p| r.parent.as_deref() == Some(p))
        })
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(size)
        .map(|r| describe(r))
        .collect();
    let mut out = json!({});
    if !page.is_empty() {
        out[field] = Value::Array(page);
    }
    if start + size < all.len() {
        out["nextPageToken"] = format!("offset-{}", start + size).into();
    }
    Ok(out)
}

/// A running emulator; it stops when dropped.
pub struct RunningGcp {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningGcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGcp")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RunningGcp {
    /// `http://127.0.0.1:PORT`: the token endpoint is `{base_url}/token`, Resource Manager's
    /// root `{base_url}` (paths start with `/v3/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The organization's resource name, `organizations/ID`.
    pub fn org_name(&self) -> String {
        format!(
            "organizations/{}",
            self.shared.org.read().unwrap_or_else(|e| e.into_inner()).id
        )
    }

    /// The service account key file (JSON) whose assertions the token endpoint accepts.
    pub fn key_file(&self) -> Value {
        token::key_file(
            "org-admin",
            &self.shared.client_email,
            &self.shared.token_url,
        )
    }

    /// A user's application default credentials file (`authorized_user`) whose refresh token
    /// the token endpoint accepts. It names no token endpoint, as gcloud's does not.
    pub fn user_credentials(&self) -> Value {
        token::user_credentials()
    }

    /// `host:port` to put in `GCE_METADATA_HOST`: the emulator serves the metadata server's
    /// token endpoint too.
    pub fn metadata_host(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }

    /// The member the key file's service account is named by in policies,
    /// `serviceAccount:EMAIL`.
    pub fn caller_member(&self) -> String {
        format!("serviceAccount:{}", self.shared.client_email)
    }

    /// Every service account, deleted ones included.
    pub fn accounts(&self) -> Vec<accounts::Account> {
        self.shared
            .org
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .accounts
            .values()
            .cloned()
            .collect()
    }

    /// Deletes a service account as `DELETE …/serviceAccounts/EMAIL` would: its members in
    /// every policy become `deleted:serviceAccount:EMAIL?uid=ID`.
    pub fn delete_account(&self, email: &str) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        let path = format!("projects/-/serviceAccounts/{email}");
        accounts::handle(&mut org, "DELETE", &path, &HashMap::new(), &Value::Null)
            .expect("the account exists");
    }

    /// Changes a live service account as writes through the API would (a change to its
    /// policy moves that policy's etag).
    pub fn edit_account(&self, email: &str, edit: impl FnOnce(&mut Account)) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        let account = org
            .accounts
            .values_mut()
            .find(|a| a.email == email && a.deleted_at.is_none())
            .expect("the account exists");
        edit(account);
        account.policy.serial += 1;
    }

    /// Every custom role that is not deleted for good.
    pub fn roles(&self) -> Vec<Role> {
        self.shared
            .org
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .roles
            .values()
            .cloned()
            .collect()
    }

    /// Deletes a custom role as `DELETE /v1/ROLE_NAME` would have `ago` before now: more
    /// than 7 days ago, it is deleted for good with its bindings, its id held for 37 days.
    pub fn delete_role(&self, name: &str, ago: Duration) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        let role = org.roles.get_mut(name).expect("the role exists");
        role.deleted_at = Some(std::time::SystemTime::now() - ago);
        role.serial += 1;
        roles::expire(&mut org, std::time::SystemTime::now());
    }

    /// Every resource (organization, folders, projects), by name.
    pub fn resources(&self) -> Vec<Resource> {
        self.shared
            .org
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .resources
            .values()
            .cloned()
            .collect()
    }

    /// A resource's policy as stored.
    pub fn policy(&self, name: &str) -> Option<Policy> {
        self.shared
            .org
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .resources
            .get(name)
            .map(|r| r.policy.clone())
    }

    /// Changes a resource's policy as a write through the API would (its etag moves).
    pub fn edit_policy(&self, name: &str, edit: impl FnOnce(&mut Policy)) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        let r = org.resources.get_mut(name).expect("the resource exists");
        edit(&mut r.policy);
        r.policy.serial += 1;
    }

    /// Makes `edit` to `name`'s policy just before the next `setIamPolicy` of it is served, as
    /// another writer between that writer's read and its write would: the write's etag is stale.
    pub fn race_next_write(
        &self,
        name: &str,
        edit: impl FnOnce(&mut Policy) + Send + Sync + 'static,
    ) {
        self.shared
            .races
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Box::new(edit));
    }

    /// How many requests of each method were served: `*`, `token`, `POST getIamPolicy`, `429`, ….
    pub fn count(&self, key: &str) -> u64 {
        self.shared
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// Waits until the server stops.
    pub async fn wait(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for RunningGcp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
