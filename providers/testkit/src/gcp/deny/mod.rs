//! IAM v2 deny policies (`/v2/policies/{attachmentPoint}/denypolicies[/{policyId}]`) as
//! IAM's v2 reference describes them: the attachment point is the URL-encoded full resource
//! name of the organization, a folder or a project (`cloudresourcemanager.googleapis.com%2F
//! projects%2Fmy-project`, a project by id or number, answers naming it by number); `list`
//! answers metadata only (no rules), 1,000 a page whatever `pageSize` says; `createPolicy`,
//! `update` and `delete` answer a `google.longrunning.Operation` that is not done on its first
//! poll (`GET /v2/{name=policies/*/*/*/operations/*}`) and done, with the policy as its
//! response or a `google.rpc.Status` as its error, on a later one (the change itself is made at
//! once, so a client that never polls still sees it); a stale `etag` is refused
//! with 409 `ABORTED`; permissions must be in the v2 form `SERVICE_FQDN/RESOURCE.VERB`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};

use super::api::GcpError;
use super::model::Org;
use super::{RunningGcp, Shared};

/// What an attachment point encodes: everything but letters, digits, dots, dashes and
/// underscores, so `/` is written `%2F` as the reference's names show it.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'-').remove(b'_');
/// What every attachment point starts with.
const SERVICE: &str = "cloudresourcemanager.googleapis.com/";
/// Policies a `list` page holds: the reference says IAM ignores `pageSize` and uses 1,000.
const PAGE: usize = 1000;
/// Polls an operation answers "not done" to before it answers done.
const POLLS_BEFORE_DONE: u32 = 1;
/// `google.rpc.Code.ABORTED`, what a failed operation's status carries.
const ABORTED: i64 = 10;

/// A deny policy attached to the organization, a folder or a project.
#[derive(Debug, Clone)]
pub struct DenyPolicy {
    /// The resource it is attached to, as the emulator names it: `organizations/ID`,
    /// `folders/ID`, `projects/NUMBER`.
    pub resource: String,
    pub id: String,
    pub uid: String,
    pub display_name: String,
    /// Set when the policy is created; `update` leaves them.
    pub annotations: Value,
    /// The rules, kept as sent, byte for byte.
    pub rules: Vec<Value>,
    /// Bumped on every write; the etag is derived from it.
    pub serial: u64,
    pub create_time: String,
    pub update_time: String,
}

/// `policies/cloudresourcemanager.googleapis.com%2FRESOURCE/denypolicies`.
fn parent_name(resource: &str) -> String {
    let point = format!("{SERVICE}{resource}");
    format!(
        "policies/{}/denypolicies",
        utf8_percent_encode(&point, ENCODED)
    )
}

impl DenyPolicy {
    pub fn etag(&self) -> String {
        STANDARD.encode(format!("DnyP{:06}", self.serial))
    }

    /// `policies/{attachmentPoint}/denypolicies/{policyId}`.
    pub fn name(&self) -> String {
        format!("{}/{}", parent_name(&self.resource), self.id)
    }

    /// As `get` answers it (`full`), or as `list` does: without the rules.
    fn json(&self, full: bool) -> Value {
        let mut v = json!({
            "name": self.name(),
            "uid": self.uid,
            "kind": "DenyPolicy",
            "etag": self.etag(),
            "createTime": self.create_time,
            "updateTime": self.update_time,
        });
        if !self.display_name.is_empty() {
            v["displayName"] = self.display_name.clone().into();
        }
        if self.annotations.as_object().is_some_and(|a| !a.is_empty()) {
            v["annotations"] = self.annotations.clone();
        }
        if full && !self.rules.is_empty() {
            v["rules"] = Value::Array(self.rules.clone());
        }
        v
    }
}

/// A long-running operation, done once it has been polled enough.
#[derive(Debug, Clone)]
struct Op {
    polls: u32,
    create_time: String,
    /// The finished operation's `response` (the policy) or `error` (a `google.rpc.Status`).
    result: Result<Value, Value>,
}

/// Every deny policy and the operations that wrote them.
#[derive(Debug, Clone, Default)]
pub struct DenyPolicies {
    /// By (resource, policy id).
    pub policies: BTreeMap<(String, String), DenyPolicy>,
    /// By operation name.
    operations: BTreeMap<String, Op>,
    next: u64,
    /// The message the next operation fails with, its change not made.
    fail_next: Option<String>,
    /// Updates and deletes still to find their policy changed by another writer since it
    /// was read: their etag is stale.
    races: u32,
}

impl DenyPolicies {
    fn serial(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Starts an operation on `policy_name` finishing with `result`, and answers it.
    fn start(&mut self, policy_name: &str, result: Result<Value, Value>) -> Value {
        let name = format!(
            "{policy_name}/operations/{:016x}",
            self.serial() * 0x9e37_79b9
        );
        let op = Op {
            polls: 0,
            create_time: now(),
            result,
        };
        let answer = op_json(&name, &op);
        self.operations.insert(name, op);
        answer
    }
}

fn op_json(name: &str, op: &Op) -> Value {
    let mut v = json!({
        "name": name,
        "metadata": {
            "@type": "type.googleapis.com/google.iam.v2.PolicyOperationMetadata",
            "createTime": op.create_time,
        },
        "done": op.polls > POLLS_BEFORE_DONE,
    });
    if op.polls > POLLS_BEFORE_DONE {
        match &op.result {
            Ok(policy) => {
                let mut response = json!({"@type": "type.googleapis.com/google.iam.v2.Policy"});
                for (k, value) in policy.as_object().into_iter().flatten() {
                    response[k] = value.clone();
                }
                v["response"] = response;
            }
            Err(status) => v["error"] = status.clone(),
        }
    }
    v
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn not_found(name: &str) -> GcpError {
    GcpError::new(404, "NOT_FOUND", format!("Policy {name} not found."))
}

fn stale(policy: &DenyPolicy, etag: Option<&str>) -> Result<(), GcpError> {
    match etag.filter(|e| !e.is_empty()) {
        Some(e) if e != policy.etag() => Err(GcpError::new(
            409,
            "ABORTED",
            "The etag in the request does not match the etag of the current policy. Read the policy again and retry.",
        )),
        _ => Ok(()),
    }
}

/// A v2 permission: `SERVICE_FQDN/RESOURCE.VERB`, such as `iam.googleapis.com/roles.delete`.
fn v2_permission(p: &str) -> bool {
    let Some((service, action)) = p.split_once('/') else {
        return false;
    };
    let service_ok = service.ends_with(".googleapis.com")
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let parts: Vec<&str> = action.split('.').collect();
    service_ok
        && parts.len() >= 2
        && parts
            .iter()
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Checks a policy's display name and rules as IAM does before accepting a write.
fn validate(body: &Value) -> Result<(String, Vec<Value>), GcpError> {
    let display_name = body["displayName"].as_str().unwrap_or_default().to_string();
    if display_name.chars().count() > 63 {
        return Err(GcpError::invalid(
            "The policy's display name must be at most 63 characters.",
        ));
    }
    let rules = body["rules"].as_array().cloned().unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        let deny = &rule["denyRule"];
        if !deny.is_object() {
            return Err(GcpError::invalid(format!(
                "rules[{i}]: a deny policy's rules must each hold a denyRule."
            )));
        }
        let list = |f: &str| -> Vec<String> {
            deny[f]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        };
        if list("deniedPrincipals").is_empty() || list("deniedPermissions").is_empty() {
            return Err(GcpError::invalid(format!(
                "rules[{i}]: a deny rule needs deniedPrincipals and deniedPermissions."
            )));
        }
        for p in list("deniedPermissions")
            .iter()
            .chain(list("exceptionPermissions").iter())
        {
            if !v2_permission(p) {
                return Err(GcpError::invalid(format!(
                    "rules[{i}]: permission {p:?} is not in the v2 format SERVICE_FQDN/RESOURCE.VERB, such as iam.googleapis.com/roles.delete."
                )));
            }
        }
        for p in list("deniedPrincipals")
            .iter()
            .chain(list("exceptionPrincipals").iter())
        {
            let known = ["principal://", "principalSet://", "deleted:principal://"];
            if !known.iter().any(|k| p.starts_with(k)) {
                return Err(GcpError::invalid(format!(
                    "rules[{i}]: principal {p:?} is not a v2 principal identifier, such as principal://goog/subject/alice@example.com or principalSet://goog/group/admins@example.com."
                )));
            }
        }
        if let Some(c) = deny.get("denialCondition")
            && c["expression"].as_str().is_none_or(str::is_empty)
        {
            return Err(GcpError::invalid(format!(
                "rules[{i}]: a denialCondition needs an expression."
            )));
        }
    }
    Ok((display_name, rules))
}

/// A policy id: 3 to 63 lowercase letters, digits, dashes and dots, a letter first.
fn valid_id(id: &str) -> bool {
    (3..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The resource an encoded attachment point names, as the emulator names it.
fn attachment(org: &Org, encoded: &str) -> Result<String, GcpError> {
    let decoded = percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|_| GcpError::invalid("The attachment point is not valid UTF-8."))?;
    let resource = decoded.strip_prefix(SERVICE).ok_or_else(|| {
        GcpError::invalid(format!(
            "Invalid attachment point {decoded:?}: it must be the full resource name of an organization, folder or project, such as cloudresourcemanager.googleapis.com/projects/my-project."
        ))
    })?;
    Ok(super::find(org, resource)?.name.clone())
}

/// One request under `/v2/`: `path` still URL-encoded, as it came.
pub(super) fn handle(
    org: &mut Org,
    method: &str,
    path: &str,
    query: &HashMap<String, String>,
    body: &Value,
) -> Result<Value, GcpError> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.get(1) == Some(&SERVICE.trim_end_matches('/')) {
        return Err(GcpError::invalid(
            "The attachment point must be URL-encoded: write / as %2F, as in cloudresourcemanager.googleapis.com%2Fprojects%2Fmy-project.",
        ));
    }
    let unknown = || {
        GcpError::new(
            404,
            "NOT_FOUND",
            format!("{method} /v2/{path} is not an API method."),
        )
    };
    match (method, &parts[..]) {
        ("GET", ["policies", point, "denypolicies", id, "operations", op]) => {
            let resource = attachment(org, point)?;
            let name = format!("{}/{id}/operations/{op}", parent_name(&resource));
            let deny = &mut org.deny;
            let op = deny.operations.get_mut(&name).ok_or_else(|| {
                GcpError::new(404, "NOT_FOUND", format!("Operation {name} not found."))
            })?;
            op.polls += 1;
            Ok(op_json(&name, op))
        }
        ("GET", ["policies", point, "denypolicies"]) => {
            let resource = attachment(org, point)?;
            list(org, &resource, query, PAGE)
        }
        ("POST", ["policies", point, "denypolicies"]) => {
            let resource = attachment(org, point)?;
            let id = query.get("policyId").map(String::as_str).unwrap_or("");
            if !valid_id(id) {
                return Err(GcpError::invalid(format!(
                    "Invalid policyId {id:?}: it must be 3 to 63 lowercase letters, digits, dashes and periods, starting with a letter."
                )));
            }
            let (display_name, rules) = validate(body)?;
            let key = (resource.clone(), id.to_string());
            if org.deny.policies.contains_key(&key) {
                return Err(GcpError::new(
                    409,
                    "ALREADY_EXISTS",
                    format!(
                        "A policy with ID {id} already exists on {}.",
                        parent_name(&resource)
                    ),
                ));
            }
            let serial = org.deny.serial();
            let policy = DenyPolicy {
                resource,
                id: id.to_string(),
                uid: format!("{:08x}-{:04x}-4d1e-8a7c-{:012x}", serial, serial, serial),
                display_name,
                annotations: body["annotations"].clone(),
                rules,
                serial: 1,
                create_time: now(),
                update_time: now(),
            };
            let name = policy.name();
            Ok(commit(org, &name, Some((key, policy))))
        }
        ("GET", ["policies", point, "denypolicies", id]) => {
            let resource = attachment(org, point)?;
            let policy = org
                .deny
                .policies
                .get(&(resource.clone(), id.to_string()))
                .ok_or_else(|| not_found(&format!("{}/{id}", parent_name(&resource))))?;
            Ok(policy.json(true))
        }
        ("PUT", ["policies", point, "denypolicies", id]) => {
            let resource = attachment(org, point)?;
            let key = (resource.clone(), id.to_string());
            race(org, &key);
            let policy = org
                .deny
                .policies
                .get(&key)
                .ok_or_else(|| not_found(&format!("{}/{id}", parent_name(&resource))))?;
            stale(policy, body["etag"].as_str())?;
            let (display_name, rules) = validate(body)?;
            let mut updated = policy.clone();
            updated.display_name = display_name;
            updated.rules = rules;
            updated.serial += 1;
            updated.update_time = now();
            let name = updated.name();
            Ok(commit(org, &name, Some((key, updated))))
        }
        ("DELETE", ["policies", point, "denypolicies", id]) => {
            let resource = attachment(org, point)?;
            let key = (resource.clone(), id.to_string());
            race(org, &key);
            let policy = org
                .deny
                .policies
                .get(&key)
                .ok_or_else(|| not_found(&format!("{}/{id}", parent_name(&resource))))?;
            stale(policy, query.get("etag").map(String::as_str))?;
            let name = policy.name();
            Ok(commit(org, &name, None))
        }
        _ => Err(unknown()),
    }
}

/// Another writer's change to the policy at `key`, just before a write, while races are due.
fn race(org: &mut Org, key: &(String, String)) {
    let deny = &mut org.deny;
    if deny.races > 0
        && let Some(p) = deny.policies.get_mut(key)
    {
        deny.races -= 1;
        p.serial += 1;
        p.update_time = now();
    }
}

/// Makes a write (`Some`: the policy as written; `None`: deleted) unless the next operation
/// is to fail, and answers its operation.
fn commit(org: &mut Org, name: &str, write: Option<((String, String), DenyPolicy)>) -> Value {
    let deny = &mut org.deny;
    if let Some(message) = deny.fail_next.take() {
        let status = json!({"code": ABORTED, "message": message, "details": []});
        return deny.start(name, Err(status));
    }
    let response = match write {
        Some((key, policy)) => {
            let v = policy.json(true);
            deny.policies.insert(key, policy);
            v
        }
        None => {
            let gone = deny
                .policies
                .iter()
                .find(|(_, p)| p.name() == name)
                .map(|(k, _)| k.clone());
            let mut v = json!({});
            if let Some(k) = gone
                && let Some(p) = deny.policies.remove(&k)
            {
                v = p.json(true);
                v["deleteTime"] = now().into();
            }
            v
        }
    };
    deny.start(name, Ok(response))
}

/// A page of `resource`'s policies' metadata, `page` at most.
fn list(
    org: &Org,
    resource: &str,
    query: &HashMap<String, String>,
    page: usize,
) -> Result<Value, GcpError> {
    let start: usize = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .strip_prefix("dp-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| GcpError::invalid("Invalid page token."))?,
    };
    let all: Vec<&DenyPolicy> = org
        .deny
        .policies
        .values()
        .filter(|p| p.resource == resource)
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(start)
        .take(page)
        .map(|p| p.json(false))
        .collect();
    let mut out = json!({});
    if !items.is_empty() {
        out["policies"] = Value::Array(items);
    }
    if start + page < all.len() {
        out["nextPageToken"] = format!("dp-{}", start + page).into();
    }
    Ok(out)
}

/// `/v2/…`: IAM v2, authenticated and counted like every API request.
pub(super) async fn entry(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The raw path: the attachment point's %2F must not split it.
    let path = uri.path().trim_start_matches("/v2/").to_string();
    shared.count("*");
    let what = if path.contains("/operations/") {
        "operations"
    } else {
        "denypolicies"
    };
    shared.count(&format!("{method} {what}"));
    if let Err(e) = shared.authenticate(&headers) {
        return e.into_response();
    }
    // IAM v2 counts against IAM's quota.
    let budget = shared.iam_budget.as_ref().unwrap_or(&shared.budget);
    if let Err(seconds) = budget.take() {
        shared.count("429");
        return GcpError::throttled(seconds, "iam.googleapis.com").into_response();
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
    let mut org = shared.org.write().unwrap_or_else(|e| e.into_inner());
    match handle(&mut org, method.as_str(), &path, &query, &body) {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => {
            if e.code == 409 {
                shared.count("denypolicies:conflict");
            }
            e.into_response()
        }
    }
}

/// Seeds `n` deny policies: the first on the organization, then one on each folder, then on
/// projects; every other one with a tag condition and exceptions.
pub(super) fn seed(org: &mut Org, n: usize) {
    let mut points: Vec<String> = org
        .resources
        .keys()
        .filter(|k| k.starts_with("organizations/"))
        .cloned()
        .collect();
    points.extend(
        org.resources
            .keys()
            .filter(|k| k.starts_with("folders/"))
            .cloned(),
    );
    points.extend(
        org.resources
            .keys()
            .filter(|k| k.starts_with("projects/"))
            .cloned(),
    );
    for i in 0..n {
        let resource = points[i % points.len()].clone();
        let mut deny = json!({
            "deniedPrincipals": ["principalSet://goog/public:all"],
            "deniedPermissions": [
                "iam.googleapis.com/roles.delete",
                "iam.googleapis.com/serviceAccounts.delete",
            ],
        });
        if i % 2 == 0 {
            deny["exceptionPrincipals"] = json!([format!(
                "principalSet://goog/group/break-glass-{i}@example.com"
            )]);
            deny["exceptionPermissions"] = json!(["iam.googleapis.com/roles.delete"]);
            deny["denialCondition"] = json!({
                "title": "only production",
                "expression": format!("resource.matchTag('{}/env', 'prod')", org.id),
            });
        }
        let policy = DenyPolicy {
            resource: resource.clone(),
            id: format!("guardrail-{i:02}"),
            uid: format!("5eed{i:04x}-0000-4d1e-8a7c-{:012x}", i),
            display_name: format!("Guardrail {i}"),
            annotations: json!({"owner": "security"}),
            rules: vec![json!({"description": "no deletes of IAM objects", "denyRule": deny})],
            serial: 1,
            create_time: "2024-02-01T10:00:00.000Z".into(),
            update_time: "2024-02-01T10:00:00.000Z".into(),
        };
        org.deny
            .policies
            .insert((resource, policy.id.clone()), policy);
    }
}

impl RunningGcp {
    /// Every deny policy.
    pub fn deny_policies(&self) -> Vec<DenyPolicy> {
        let org = self.shared.org.read().unwrap_or_else(|e| e.into_inner());
        org.deny.policies.values().cloned().collect()
    }

    /// Attaches a deny policy as `createPolicy` would, its operation done at once.
    pub fn insert_deny_policy(&self, policy: DenyPolicy) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        org.deny
            .policies
            .insert((policy.resource.clone(), policy.id.clone()), policy);
    }

    /// Deletes a deny policy as `DELETE` with no etag would, its operation done at once.
    pub fn delete_deny_policy(&self, resource: &str, id: &str) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        org.deny
            .policies
            .remove(&(resource.to_string(), id.to_string()))
            .expect("the deny policy exists");
    }

    /// Changes a deny policy as an `update` would (its etag moves).
    pub fn edit_deny_policy(&self, resource: &str, id: &str, edit: impl FnOnce(&mut DenyPolicy)) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        let policy = org
            .deny
            .policies
            .get_mut(&(resource.to_string(), id.to_string()))
            .expect("the deny policy exists");
        edit(policy);
        policy.serial += 1;
    }

    /// Makes the next `n` updates and deletes of deny policies find their policy changed by
    /// another writer since it was read, as a write between their read and their write would.
    pub fn race_next_deny_writes(&self, n: u32) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        org.deny.races = n;
    }

    /// Makes the next deny policy write's operation finish with an error carrying `message`,
    /// its change not made.
    pub fn fail_next_deny_operation(&self, message: &str) {
        let mut org = self.shared.org.write().unwrap_or_else(|e| e.into_inner());
        org.deny.fail_next = Some(message.to_string());
    }
}

#[cfg(test)]
mod tests;
