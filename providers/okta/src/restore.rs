//! Writing records back to Okta, one operation at a time, idempotently.
//!
//! Creates first look the object up by its natural key: an object that already exists (an
//! operation re-run after a crash) is brought to the desired status and reported as
//! [`Outcome::AlreadyDone`] with its live id. Users, the bulk of a large restore, are posted
//! first and looked up only when Okta refuses the login as taken; memberships are put, which
//! Okta accepts again for a member. References in desired records carry snapshot ids
//! and are rewritten through the engine's [`IdMap`]; relationship endpoints fall back to a
//! lookup by natural key. Nothing here ever sends an email unless `activate_users` is set.

use iamsnap_http::status_of;
use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::OktaClient;
use crate::kinds::*;
use crate::read::fetch::{self, split_pair};
use crate::records::str_at;

pub(crate) struct Restore<'a> {
    pub client: &'a OktaClient,
    pub ids: &'a dyn IdMap,
    pub activate_users: bool,
}

/// `desired` trimmed to what a restore can reach from `live`. A user's credential provider is
/// Okta's to set (a user re-created through the API is Okta-mastered; one mastered by a
/// directory comes back only by importing it again): the live one is kept. A user without
/// credentials cannot be made ACTIVE (or any other signed-in status) through the API, and with
/// `activate_users` gets no further than PROVISIONED. Mirrors [`Restore::converge_user`].
pub(crate) fn reachable(mut desired: Record, live: &Record, activate_users: bool) -> Record {
    if desired.kind != USER {
        return desired;
    }
    if let Some(credentials) = desired
        .attrs
        .get_mut("credentials")
        .and_then(Value::as_object_mut)
    {
        match live.attrs.pointer("/credentials/provider") {
            Some(provider) => credentials.insert("provider".into(), provider.clone()),
            None => credentials.remove("provider"),
        };
    }
    let (Some(want), Some(have)) = (
        desired.attrs["status"].as_str().map(str::to_string),
        live.attrs["status"].as_str(),
    ) else {
        return desired;
    };
    let reachable = want == have
        || match (have, want.as_str()) {
            (_, "DEPROVISIONED") => true,
            ("STAGED" | "DEPROVISIONED", "PROVISIONED") => true,
            ("SUSPENDED", "ACTIVE") => true,
            ("ACTIVE", "SUSPENDED") => true,
            ("STAGED" | "DEPROVISIONED", d) => SIGNED_IN.contains(&d) && activate_users,
            _ => false,
        };
    if !reachable {
        desired.attrs["status"] = Value::String(have.to_string());
    }
    desired
}

/// The `activate` query parameter of a create: everything but an INACTIVE object is created
/// active.
fn activate_param(attrs: &Value) -> &'static str {
    if attrs["status"] == "INACTIVE" {
        "false"
    } else {
        "true"
    }
}

/// Statuses a user holds only after signing in; restored users have no credentials.
const SIGNED_IN: &[&str] = &[
    "ACTIVE",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
];

impl Restore<'_> {
    pub(crate) async fn apply(&self, op: &Operation) -> Result<Outcome, ProviderError> {
        match (op.action, op.kind.as_str()) {
            (Action::Delete, _) => self.delete(op).await,
            // The schema always exists and a membership has nothing to change: both converge.
            (_, USER_SCHEMA) => self.update(op, self.desired(op)?).await,
            (_, GROUP_MEMBERSHIP) => self.create(op, self.desired(op)?).await,
            (Action::Create, _) => self.create(op, self.desired(op)?).await,
            (Action::Update, _) => self.update(op, self.desired(op)?).await,
        }
    }

    fn desired<'o>(&self, op: &'o Operation) -> Result<&'o Record, ProviderError> {
        op.desired
            .as_ref()
            .ok_or_else(|| precondition(op, "the operation has no desired state"))
    }

    fn c(&self) -> &OktaClient {
        self.client
    }

    /// The live id of a referenced object, or an error naming what to restore first.
    fn live(&self, op: &Operation, kind: &str, snapshot_id: &str) -> Result<String, ProviderError> {
        self.ids.live_id(kind, snapshot_id).ok_or_else(|| {
            precondition(
                op,
                &format!(
                    "it references {kind} {snapshot_id}, which does not exist live; restore that object first (or include it in the restore)"
                ),
            )
        })
    }

    /// Rewrites the ids of the array at `pointer` to live ids.
    fn map_ids(
        &self,
        op: &Operation,
        body: &mut Value,
        pointer: &str,
        kind: &str,
    ) -> Result<(), ProviderError> {
        let Some(list) = body.pointer_mut(pointer).and_then(Value::as_array_mut) else {
            return Ok(());
        };
        for item in list.iter_mut() {
            if let Some(id) = item.as_str() {
                *item = json!(self.live(op, kind, id)?);
            }
        }
        Ok(())
    }

    /// Group, user and zone ids in `conditions` (policies, policy rules, group rules).
    fn map_conditions(&self, op: &Operation, body: &mut Value) -> Result<(), ProviderError> {
        for list in ["include", "exclude"] {
            self.map_ids(
                op,
                body,
                &format!("/conditions/people/groups/{list}"),
                GROUP,
            )?;
            self.map_ids(op, body, &format!("/conditions/people/users/{list}"), USER)?;
            self.map_ids(
                op,
                body,
                &format!("/conditions/network/{list}"),
                NETWORK_ZONE,
            )?;
        }
        Ok(())
    }

    /// The live id of the endpoint `rel` of a relationship record: mapped from the snapshot id,
    /// or looked up by natural key when the map does not know it.
    async fn endpoint(
        &self,
        op: &Operation,
        record: &Record,
        rel: &str,
        kind: &str,
        natural_key: &str,
    ) -> Result<String, ProviderError> {
        if let Some(r) = record.refs.iter().find(|r| r.rel == rel && r.kind == kind)
            && let Some(id) = self.ids.live_id(kind, &r.id)
        {
            return Ok(id);
        }
        let found = match kind {
            USER => fetch::user(self.c(), natural_key).await?,
            GROUP => fetch::group(self.c(), natural_key).await?,
            APP => fetch::app(self.c(), natural_key).await?,
            _ => None,
        };
        found.map(|v| str_at(&v, "/id").to_string()).ok_or_else(|| {
            precondition(
                op,
                &format!("{kind} {natural_key} does not exist live; restore it first"),
            )
        })
    }

    async fn create(&self, op: &Operation, desired: &Record) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        match op.kind.as_str() {
            USER => {
                let mut body = json!({"profile": attrs["profile"]});
                if let Some(t) = desired.target("type") {
                    body["type"] = json!({"id": self.live(op, USER_TYPE, &t.id)?});
                }
                // Create first: the plan saw no such user. Okta refuses a login that exists
                // (a retried request that went through, a user made meanwhile): that user is
                // then the one to converge.
                let url = c.url("/api/v1/users", &[("activate", "false")]);
                let created = match c.send(Method::POST, &url, Some(&body)).await {
                    Ok(created) => created,
                    Err(e) if status_of(&e) == Some(400) => {
                        let Some(live) = fetch::user(c, &op.key).await? else {
                            return Err(e);
                        };
                        let id = str_at(&live, "/id").to_string();
                        self.converge_user(&id, str_at(&live, "/status"), str_at(attrs, "/status"))
                            .await?;
                        return Ok(Outcome::AlreadyDone { id });
                    }
                    Err(e) => return Err(e),
                };
                let id = created_id(op, created)?;
                self.converge_user(&id, "STAGED", str_at(attrs, "/status"))
                    .await?;
                Ok(Outcome::Applied { id })
            }
            GROUP => {
                writable_group(op, attrs)?;
                if let Some(live) = fetch::group(c, &op.key).await? {
                    return Ok(done(&live));
                }
                let body = json!({"profile": attrs["profile"]});
                let url = c.url("/api/v1/groups", &[]);
                applied(op, c.send(Method::POST, &url, Some(&body)).await?)
            }
            GROUP_MEMBERSHIP => {
                let (group_name, login) = split_pair(&op.kind, &op.key)?;
                let g = self
                    .endpoint(op, desired, "group", GROUP, group_name)
                    .await?;
                let u = self.endpoint(op, desired, "user", USER, login).await?;
                let id = format!("{g}:{u}");
                // Adding a member is idempotent in Okta: no need to ask first.
                let url = c.url(&format!("/api/v1/groups/{g}/users/{u}"), &[]);
                match c.send(Method::PUT, &url, None).await {
                    Ok(_) => Ok(Outcome::Applied { id }),
                    Err(e) if matches!(status_of(&e), Some(400 | 403)) => {
                        // Only Okta groups take members through the API; say so plainly.
                        let group = c.get(&c.url(&format!("/api/v1/groups/{g}"), &[])).await?;
                        match str_at(&group, "/type") {
                            "OKTA_GROUP" => Err(e),
                            other => Err(unsupported(
                                op,
                                &format!(
                                    "members of {other} groups are managed by {}; {}",
                                    if other == "APP_GROUP" {
                                        "their app"
                                    } else {
                                        "Okta"
                                    },
                                    if other == "APP_GROUP" {
                                        "re-import them from the app"
                                    } else {
                                        "nothing to restore"
                                    }
                                ),
                            )),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            GROUP_RULE => {
                let want_active = attrs["status"] == "ACTIVE";
                if let Some(live) = fetch::group_rule(c, &op.key).await? {
                    let id = str_at(&live, "/id").to_string();
                    if want_active && live["status"] != "ACTIVE" {
                        self.lifecycle(&format!("/api/v1/groups/rules/{id}"), true)
                            .await?;
                    }
                    return Ok(Outcome::AlreadyDone { id });
                }
                let body = self.group_rule_body(op, attrs)?;
                let url = c.url("/api/v1/groups/rules", &[]);
                let id = created_id(op, c.send(Method::POST, &url, Some(&body)).await?)?;
                // Okta creates rules inactive; activate those that were active.
                if want_active {
                    self.lifecycle(&format!("/api/v1/groups/rules/{id}"), true)
                        .await?;
                }
                Ok(Outcome::Applied { id })
            }
            APP => {
                if let Some(live) = fetch::app(c, &op.key).await? {
                    let id = str_at(&live, "/id").to_string();
                    self.converge_status(&format!("/api/v1/apps/{id}"), &live, attrs)
                        .await?;
                    return Ok(Outcome::AlreadyDone { id });
                }
                let body = app_body(op, attrs, true)?;
                let active = activate_param(attrs);
                let url = c.url("/api/v1/apps", &[("activate", active)]);
                applied(op, c.send(Method::POST, &url, Some(&body)).await?)
            }
            APP_USER => {
                let (label, login) = split_pair(&op.kind, &op.key)?;
                let a = self.endpoint(op, desired, "app", APP, label).await?;
                let u = self.endpoint(op, desired, "user", USER, login).await?;
                let id = format!("{a}:{u}");
                let existing = c
                    .get_opt(&c.url(&format!("/api/v1/apps/{a}/users/{u}"), &[]))
                    .await?;
                if existing.is_some_and(|e| e["scope"] == "USER") {
                    return Ok(Outcome::AlreadyDone { id });
                }
                let body = json!({
                    "id": u, "scope": "USER",
                    "credentials": {"userName": attrs.pointer("/credentials/userName")},
                    "profile": attrs.get("profile").cloned().unwrap_or_else(|| json!({})),
                });
                let url = c.url(&format!("/api/v1/apps/{a}/users"), &[]);
                c.send(Method::POST, &url, Some(&body)).await?;
                Ok(Outcome::Applied { id })
            }
            APP_GROUP => {
                let (label, name) = split_pair(&op.kind, &op.key)?;
                let a = self.endpoint(op, desired, "app", APP, label).await?;
                let g = self.endpoint(op, desired, "group", GROUP, name).await?;
                let id = format!("{a}:{g}");
                let url = c.url(&format!("/api/v1/apps/{a}/groups/{g}"), &[]);
                if c.get_opt(&url).await?.is_some() {
                    return Ok(Outcome::AlreadyDone { id });
                }
                c.send(Method::PUT, &url, Some(&app_group_body(attrs)))
                    .await?;
                Ok(Outcome::Applied { id })
            }
            POLICY => {
                if let Some(live) = fetch::policy(c, &op.key).await? {
                    let id = str_at(&live, "/id").to_string();
                    self.converge_status(&format!("/api/v1/policies/{id}"), &live, attrs)
                        .await?;
                    return Ok(Outcome::AlreadyDone { id });
                }
                if attrs["system"] == true {
                    return Err(unsupported(
                        op,
                        "Okta creates default policies itself; it cannot be re-created, only updated",
                    ));
                }
                let body = self.policy_body(op, attrs)?;
                let active = activate_param(attrs);
                let url = c.url("/api/v1/policies", &[("activate", active)]);
                applied(op, c.send(Method::POST, &url, Some(&body)).await?)
            }
            POLICY_RULE => {
                let policy = self.policy_of(op, desired).await?;
                if let Some((_, live)) = fetch::policy_rule(c, &op.key).await? {
                    let id = str_at(&live, "/id").to_string();
                    self.converge_status(
                        &format!("/api/v1/policies/{policy}/rules/{id}"),
                        &live,
                        attrs,
                    )
                    .await?;
                    return Ok(Outcome::AlreadyDone { id });
                }
                if attrs["system"] == true {
                    return Err(unsupported(
                        op,
                        "a default rule comes with its policy; it cannot be re-created, only updated",
                    ));
                }
                let body = self.policy_body(op, attrs)?;
                let active = activate_param(attrs);
                let url = c.url(
                    &format!("/api/v1/policies/{policy}/rules"),
                    &[("activate", active)],
                );
                applied(op, c.send(Method::POST, &url, Some(&body)).await?)
            }
            NETWORK_ZONE => {
                if let Some(live) = fetch::zone(c, &op.key).await? {
                    let id = str_at(&live, "/id").to_string();
                    self.converge_status(&format!("/api/v1/zones/{id}"), &live, attrs)
                        .await?;
                    return Ok(Outcome::AlreadyDone { id });
                }
                if attrs["system"] == true {
                    return Err(unsupported(
                        op,
                        "system zones are Okta's; they cannot be re-created, only updated",
                    ));
                }
                let body = without(attrs, &["status", "system"]);
                let url = c.url("/api/v1/zones", &[]);
                let live = c
                    .send(Method::POST, &url, Some(&body))
                    .await?
                    .unwrap_or_default();
                let id = created_id(op, Some(live.clone()))?;
                self.converge_status(&format!("/api/v1/zones/{id}"), &live, attrs)
                    .await?;
                Ok(Outcome::Applied { id })
            }
            USER_TYPE => {
                if let Some(live) = fetch::user_type(c, &op.key).await? {
                    return Ok(done(&live));
                }
                let body = json!({"name": attrs["name"], "displayName": attrs["displayName"],
                                  "description": attrs["description"]});
                let url = c.url("/api/v1/meta/types/user", &[]);
                applied(op, c.send(Method::POST, &url, Some(&body)).await?)
            }
            ADMIN_ROLE => self.assign_role(op, desired).await,
            other => Err(unknown_kind(op, other)),
        }
    }

    async fn update(&self, op: &Operation, desired: &Record) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let live_id = self.current_id(op).await?;
        match op.kind.as_str() {
            USER => {
                let id = live_id?;
                let live = c.get(&c.url(&format!("/api/v1/users/{id}"), &[])).await?;
                let mut body = json!({"profile": attrs["profile"]});
                if let Some(t) = desired.target("type") {
                    body["type"] = json!({"id": self.live(op, USER_TYPE, &t.id)?});
                }
                let url = c.url(&format!("/api/v1/users/{id}"), &[]);
                c.send(Method::PUT, &url, Some(&body)).await?;
                self.converge_user(&id, str_at(&live, "/status"), str_at(attrs, "/status"))
                    .await?;
                Ok(Outcome::Applied { id })
            }
            GROUP => {
                writable_group(op, attrs)?;
                let id = live_id?;
                let url = c.url(&format!("/api/v1/groups/{id}"), &[]);
                let body = json!({"profile": attrs["profile"]});
                c.send(Method::PUT, &url, Some(&body)).await?;
                Ok(Outcome::Applied { id })
            }
            GROUP_RULE => {
                let id = live_id?;
                let path = format!("/api/v1/groups/rules/{id}");
                let live = c.get(&c.url(&path, &[])).await?;
                // Okta only changes inactive rules.
                if live["status"] == "ACTIVE" {
                    self.lifecycle(&path, false).await?;
                }
                let body = self.group_rule_body(op, attrs)?;
                c.send(Method::PUT, &c.url(&path, &[]), Some(&body)).await?;
                if attrs["status"] == "ACTIVE" {
                    self.lifecycle(&path, true).await?;
                }
                Ok(Outcome::Applied { id })
            }
            APP => {
                let id = live_id?;
                let path = format!("/api/v1/apps/{id}");
                let body = app_body(op, attrs, false)?;
                let live = c
                    .send(Method::PUT, &c.url(&path, &[]), Some(&body))
                    .await?
                    .unwrap_or_default();
                self.converge_status(&path, &live, attrs).await?;
                Ok(Outcome::Applied { id })
            }
            APP_USER => {
                let (label, login) = split_pair(&op.kind, &op.key)?;
                let a = self.endpoint(op, desired, "app", APP, label).await?;
                let u = self.endpoint(op, desired, "user", USER, login).await?;
                let body = json!({
                    "credentials": {"userName": attrs.pointer("/credentials/userName")},
                    "profile": attrs.get("profile").cloned().unwrap_or_else(|| json!({})),
                });
                let url = c.url(&format!("/api/v1/apps/{a}/users/{u}"), &[]);
                c.send(Method::POST, &url, Some(&body)).await?;
                Ok(Outcome::Applied {
                    id: format!("{a}:{u}"),
                })
            }
            APP_GROUP => {
                let (label, name) = split_pair(&op.kind, &op.key)?;
                let a = self.endpoint(op, desired, "app", APP, label).await?;
                let g = self.endpoint(op, desired, "group", GROUP, name).await?;
                let url = c.url(&format!("/api/v1/apps/{a}/groups/{g}"), &[]);
                c.send(Method::PUT, &url, Some(&app_group_body(attrs)))
                    .await?;
                Ok(Outcome::Applied {
                    id: format!("{a}:{g}"),
                })
            }
            POLICY => {
                let id = live_id?;
                let path = format!("/api/v1/policies/{id}");
                let body = self.policy_body(op, attrs)?;
                let live = c
                    .send(Method::PUT, &c.url(&path, &[]), Some(&body))
                    .await?
                    .unwrap_or_default();
                self.converge_status(&path, &live, attrs).await?;
                Ok(Outcome::Applied { id })
            }
            POLICY_RULE => {
                let id = live_id?;
                let policy = self.policy_of(op, desired).await?;
                let path = format!("/api/v1/policies/{policy}/rules/{id}");
                let body = self.policy_body(op, attrs)?;
                let live = c
                    .send(Method::PUT, &c.url(&path, &[]), Some(&body))
                    .await?
                    .unwrap_or_default();
                self.converge_status(&path, &live, attrs).await?;
                Ok(Outcome::Applied { id })
            }
            NETWORK_ZONE => {
                let id = live_id?;
                let path = format!("/api/v1/zones/{id}");
                let body = without(attrs, &["status", "system"]);
                let live = c
                    .send(Method::PUT, &c.url(&path, &[]), Some(&body))
                    .await?
                    .unwrap_or_default();
                self.converge_status(&path, &live, attrs).await?;
                Ok(Outcome::Applied { id })
            }
            USER_TYPE => {
                let id = live_id?;
                let body = json!({"displayName": attrs["displayName"], "description": attrs["description"]});
                let url = c.url(&format!("/api/v1/meta/types/user/{id}"), &[]);
                c.send(Method::POST, &url, Some(&body)).await?;
                Ok(Outcome::Applied { id })
            }
            USER_SCHEMA => {
                let url = c.url("/api/v1/meta/schemas/user/default", &[]);
                let live = c.get(&url).await?;
                let body = schema_body(attrs, &live);
                c.send(Method::POST, &url, Some(&body)).await?;
                Ok(Outcome::Applied {
                    id: "default".into(),
                })
            }
            ADMIN_ROLE => self.assign_role(op, desired).await,
            other => Err(unknown_kind(op, other)),
        }
    }

    /// The live id of the object an update or delete works on: the current record's, or the
    /// one found by natural key.
    async fn current_id(
        &self,
        op: &Operation,
    ) -> Result<Result<String, ProviderError>, ProviderError> {
        if let Some(current) = &op.current {
            return Ok(Ok(current.id.clone()));
        }
        let found = match op.kind.as_str() {
            USER_SCHEMA => None,
            _ => fetch::record(self.c(), &op.kind, &op.key).await?,
        };
        Ok(found.map(|r| r.id).ok_or_else(|| {
            precondition(
                op,
                "it does not exist live; create it instead of updating it",
            )
        }))
    }

    async fn delete(&self, op: &Operation) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let Some(id) = self.current_id(op).await?.ok() else {
            return Ok(Outcome::AlreadyDone { id: String::new() });
        };
        let current = op.current.as_ref();
        let path = match op.kind.as_str() {
            USER => {
                let Some(live) = c
                    .get_opt(&c.url(&format!("/api/v1/users/{id}"), &[]))
                    .await?
                else {
                    return Ok(Outcome::AlreadyDone { id });
                };
                // Okta deletes only deactivated users.
                if live["status"] != "DEPROVISIONED" {
                    let url = c.url(
                        &format!("/api/v1/users/{id}/lifecycle/deactivate"),
                        &[("sendEmail", "false")],
                    );
                    c.send(Method::POST, &url, None).await?;
                }
                format!("/api/v1/users/{id}")
            }
            GROUP => {
                if let Some(r) = current {
                    writable_group(op, &r.attrs)?;
                }
                format!("/api/v1/groups/{id}")
            }
            GROUP_MEMBERSHIP => {
                let (g, u) = id.split_once(':').unwrap_or_default();
                // Okta answers 204 to removing a non-member: ask first.
                if !fetch::is_member(c, g, u).await? {
                    return Ok(Outcome::AlreadyDone { id });
                }
                format!("/api/v1/groups/{g}/users/{u}")
            }
            GROUP_RULE => format!("/api/v1/groups/rules/{id}"),
            APP => {
                let path = format!("/api/v1/apps/{id}");
                if let Some(live) = c.get_opt(&c.url(&path, &[])).await?
                    && live["status"] == "ACTIVE"
                {
                    self.lifecycle(&path, false).await?;
                }
                path
            }
            APP_USER => {
                let (a, u) = id.split_once(':').unwrap_or_default();
                format!("/api/v1/apps/{a}/users/{u}")
            }
            APP_GROUP => {
                let (a, g) = id.split_once(':').unwrap_or_default();
                format!("/api/v1/apps/{a}/groups/{g}")
            }
            POLICY => {
                if current.is_some_and(|r| r.attrs["system"] == true) {
                    return Err(unsupported(op, "Okta never deletes a default policy"));
                }
                format!("/api/v1/policies/{id}")
            }
            POLICY_RULE => {
                if current.is_some_and(|r| r.attrs["system"] == true) {
                    return Err(unsupported(
                        op,
                        "Okta never deletes a policy's default rule",
                    ));
                }
                let policy = match current.and_then(|r| r.target("policy")) {
                    Some(p) => p.id.clone(),
                    None => match fetch::policy_rule(c, &op.key).await? {
                        Some((p, _)) => p,
                        None => return Ok(Outcome::AlreadyDone { id }),
                    },
                };
                format!("/api/v1/policies/{policy}/rules/{id}")
            }
            NETWORK_ZONE => {
                if current.is_some_and(|r| r.attrs["system"] == true) {
                    return Err(unsupported(op, "Okta never deletes a system zone"));
                }
                let path = format!("/api/v1/zones/{id}");
                if let Some(live) = c.get_opt(&c.url(&path, &[])).await?
                    && live["status"] == "ACTIVE"
                {
                    self.lifecycle(&path, false).await?;
                }
                path
            }
            USER_TYPE => {
                if current.is_some_and(|r| r.attrs["default"] == true) {
                    return Err(unsupported(op, "Okta never deletes the default user type"));
                }
                format!("/api/v1/meta/types/user/{id}")
            }
            ADMIN_ROLE => {
                let assignee = current.and_then(|r| r.target("assignee")).ok_or_else(|| {
                    precondition(op, "the live role assignment does not name its assignee")
                })?;
                let who = if assignee.kind == USER {
                    "users"
                } else {
                    "groups"
                };
                format!("/api/v1/{who}/{}/roles/{id}", assignee.id)
            }
            USER_SCHEMA => {
                return Err(unsupported(
                    op,
                    "the user schema always exists; it can only be updated",
                ));
            }
            other => return Err(unknown_kind(op, other)),
        };
        match c.send(Method::DELETE, &c.url(&path, &[]), None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }

    /// Moves a user from `current` towards `desired` status, as far as a user without
    /// credentials can go. Emails are sent only with `activate_users`.
    async fn converge_user(
        &self,
        id: &str,
        current: &str,
        desired: &str,
    ) -> Result<(), ProviderError> {
        let c = self.c();
        let lifecycle = |action: &str, email: bool| {
            let mut query = vec![];
            if action == "activate" || action == "deactivate" {
                query.push(("sendEmail", if email { "true" } else { "false" }));
            }
            c.url(&format!("/api/v1/users/{id}/lifecycle/{action}"), &query)
        };
        if current == desired {
            return Ok(());
        }
        let step = match (current, desired) {
            (_, "DEPROVISIONED") => Some(("deactivate", false)),
            ("STAGED" | "DEPROVISIONED", "PROVISIONED") => Some(("activate", false)),
            ("SUSPENDED", d) if SIGNED_IN.contains(&d) => Some(("unsuspend", false)),
            ("ACTIVE", "SUSPENDED") => Some(("suspend", false)),
            ("STAGED" | "DEPROVISIONED", d) if SIGNED_IN.contains(&d) && self.activate_users => {
                Some(("activate", true))
            }
            _ => None,
        };
        if let Some((action, email)) = step {
            c.send(Method::POST, &lifecycle(action, email), None)
                .await?;
        }
        Ok(())
    }

    /// Activates or deactivates an app, policy, rule or zone whose status differs.
    async fn converge_status(
        &self,
        path: &str,
        live: &Value,
        desired: &Value,
    ) -> Result<(), ProviderError> {
        match (str_at(live, "/status"), str_at(desired, "/status")) {
            ("INACTIVE", "ACTIVE") => self.lifecycle(path, true).await,
            ("ACTIVE", "INACTIVE") => self.lifecycle(path, false).await,
            _ => Ok(()),
        }
    }

    async fn lifecycle(&self, path: &str, activate: bool) -> Result<(), ProviderError> {
        let action = if activate { "activate" } else { "deactivate" };
        let url = self.c().url(&format!("{path}/lifecycle/{action}"), &[]);
        self.c().send(Method::POST, &url, None).await.map(|_| ())
    }

    fn group_rule_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = without(attrs, &["status"]);
        body["type"] = json!("group_rule");
        self.map_ids(op, &mut body, "/actions/assignUserToGroups/groupIds", GROUP)?;
        self.map_ids(op, &mut body, "/conditions/people/groups/exclude", GROUP)?;
        self.map_ids(op, &mut body, "/conditions/people/users/exclude", USER)?;
        Ok(body)
    }

    fn policy_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = without(attrs, &["status", "system"]);
        self.map_conditions(op, &mut body)?;
        Ok(body)
    }

    /// The live id of a rule's policy.
    async fn policy_of(&self, op: &Operation, desired: &Record) -> Result<String, ProviderError> {
        if let Some(p) = desired.target("policy")
            && let Some(id) = self.ids.live_id(POLICY, &p.id)
        {
            return Ok(id);
        }
        let policy_key = op.key.rsplit_once('|').map_or("", |(p, _)| p);
        fetch::policy(self.c(), policy_key)
            .await?
            .map(|p| str_at(&p, "/id").to_string())
            .ok_or_else(|| {
                precondition(
                    op,
                    &format!("policy {policy_key} does not exist live; restore it first"),
                )
            })
    }

    /// Assigns a standard role and brings its targets to the desired ones.
    async fn assign_role(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let role_type = str_at(&desired.attrs, "/type").to_string();
        if role_type == "CUSTOM" || role_type.is_empty() {
            return Err(unsupported(
                op,
                "custom roles need their resource set and role definition; assign them in the Admin Console",
            ));
        }
        let assignee = desired
            .target("assignee")
            .ok_or_else(|| precondition(op, "the record does not name its assignee"))?;
        let (who, natural) = op
            .key
            .split_once(':')
            .and_then(|(w, rest)| rest.rsplit_once('|').map(|(n, _)| (w, n)))
            .ok_or_else(|| {
                precondition(op, "the key should read user:LOGIN|TYPE or group:NAME|TYPE")
            })?;
        let principal = self
            .endpoint(op, desired, "assignee", &assignee.kind, natural)
            .await?;
        let base = format!("/api/v1/{who}s/{principal}/roles");
        let roles = c.get(&c.url(&base, &[])).await?;
        let existing = roles
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == role_type.as_str())
            .map(|r| str_at(r, "/id").to_string());
        let (id, fresh) = match existing {
            Some(id) => (id, false),
            None => {
                let url = c.url(&base, &[("disableNotifications", "true")]);
                let body = json!({"type": role_type});
                (
                    created_id(op, c.send(Method::POST, &url, Some(&body)).await?)?,
                    true,
                )
            }
        };
        let changed = self
            .converge_targets(op, desired, &format!("{base}/{id}/targets"))
            .await?;
        Ok(if fresh || changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }

    async fn converge_targets(
        &self,
        op: &Operation,
        desired: &Record,
        base: &str,
    ) -> Result<bool, ProviderError> {
        let c = self.c();
        let mut changed = false;
        let role_type = str_at(&desired.attrs, "/type");
        let mut want_groups = Vec::new();
        let mut want_apps = Vec::new();
        for r in desired.refs.iter().filter(|r| r.rel == "target") {
            let live = self.live(op, &r.kind, &r.id)?;
            if r.kind == GROUP {
                want_groups.push(live);
            } else if r.kind == APP {
                want_apps.push(live);
            }
        }
        if matches!(
            role_type,
            "USER_ADMIN" | "HELP_DESK_ADMIN" | "GROUP_MEMBERSHIP_ADMIN"
        ) {
            let have: Vec<String> = c
                .all(c.url(&format!("{base}/groups"), &[]))
                .await?
                .iter()
                .map(|g| str_at(g, "/id").to_string())
                .collect();
            for g in want_groups.iter().filter(|g| !have.contains(g)) {
                c.send(
                    Method::PUT,
                    &c.url(&format!("{base}/groups/{g}"), &[]),
                    None,
                )
                .await?;
                changed = true;
            }
            for g in have.iter().filter(|g| !want_groups.contains(g)) {
                c.send(
                    Method::DELETE,
                    &c.url(&format!("{base}/groups/{g}"), &[]),
                    None,
                )
                .await?;
                changed = true;
            }
        }
        if role_type == "APP_ADMIN" {
            let have: Vec<Value> = c.all(c.url(&format!("{base}/catalog/apps"), &[])).await?;
            let have_ids: Vec<&str> = have.iter().filter_map(|a| a["id"].as_str()).collect();
            for a in want_apps.iter().filter(|a| !have_ids.contains(&a.as_str())) {
                let app = c.get(&c.url(&format!("/api/v1/apps/{a}"), &[])).await?;
                let name = OktaClient::segment(str_at(&app, "/name"));
                c.send(
                    Method::PUT,
                    &c.url(&format!("{base}/catalog/apps/{name}/{a}"), &[]),
                    None,
                )
                .await?;
                changed = true;
            }
            for a in have.iter().filter(|a| {
                a["id"]
                    .as_str()
                    .is_some_and(|id| !want_apps.iter().any(|w| w == id))
            }) {
                let name = OktaClient::segment(str_at(a, "/name"));
                let path = format!("{base}/catalog/apps/{name}/{}", str_at(a, "/id"));
                c.send(Method::DELETE, &c.url(&path, &[]), None).await?;
                changed = true;
            }
        }
        Ok(changed)
    }
}

/// A copy of `attrs` without the named top-level fields.
fn without(attrs: &Value, fields: &[&str]) -> Value {
    let mut body = attrs.clone();
    if let Some(map) = body.as_object_mut() {
        for f in fields {
            map.remove(*f);
        }
    }
    body
}

/// What an app create or replace sends: settings without status and signing keys; custom SAML
/// apps without their generated `name`. Catalog apps cannot be created from settings.
fn app_body(op: &Operation, attrs: &Value, create: bool) -> Result<Value, ProviderError> {
    let name = str_at(attrs, "/name");
    let mode = str_at(attrs, "/signOnMode");
    let custom_saml = mode == "SAML_2_0" && attrs.pointer("/settings/signOn/ssoAcsUrl").is_some();
    let from_settings = matches!(
        name,
        "bookmark" | "template_swa" | "template_swa3field" | "oidc_client"
    ) || custom_saml;
    if create && !from_settings {
        return Err(unsupported(
            op,
            &format!(
                "{name} is a catalog (OIN) app; add it again from the Okta catalog, then restore its assignments"
            ),
        ));
    }
    let mut body = without(attrs, &["status"]);
    if let Some(credentials) = body.get_mut("credentials").and_then(Value::as_object_mut) {
        credentials.remove("signing");
    }
    if create && custom_saml {
        body.as_object_mut().map(|m| m.remove("name"));
    }
    Ok(body)
}

fn app_group_body(attrs: &Value) -> Value {
    let mut body = json!({"profile": attrs.get("profile").cloned().unwrap_or_else(|| json!({}))});
    if let Some(p) = attrs.get("priority").filter(|p| !p.is_null()) {
        body["priority"] = p.clone();
    }
    body
}

/// The schema update: desired custom properties, and `null` for live ones the snapshot lacks.
fn schema_body(desired: &Value, live: &Value) -> Value {
    let want = desired
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut properties: Map<String, Value> = want.clone();
    if let Some(have) = live
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
    {
        for name in have.keys().filter(|k| !want.contains_key(*k)) {
            properties.insert(name.clone(), Value::Null);
        }
    }
    json!({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": properties}}})
}

fn writable_group(op: &Operation, attrs: &Value) -> Result<(), ProviderError> {
    match str_at(attrs, "/type") {
        "OKTA_GROUP" | "" => Ok(()),
        "APP_GROUP" => Err(unsupported(
            op,
            "app groups are owned by their app; re-import them from the app",
        )),
        other => Err(unsupported(op, &format!("{other} groups are Okta's own"))),
    }
}

fn created_id(op: &Operation, body: Option<Value>) -> Result<String, ProviderError> {
    body.as_ref()
        .and_then(|b| b.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Decode {
            url: format!("{} {}", op.kind, op.key),
            message: "the answer to the create has no id".into(),
        })
}

fn applied(op: &Operation, body: Option<Value>) -> Result<Outcome, ProviderError> {
    created_id(op, body).map(|id| Outcome::Applied { id })
}

fn done(live: &Value) -> Outcome {
    Outcome::AlreadyDone {
        id: str_at(live, "/id").to_string(),
    }
}

fn precondition(op: &Operation, message: &str) -> ProviderError {
    ProviderError::Precondition {
        kind: op.kind.clone(),
        key: op.key.clone(),
        message: message.to_string(),
    }
}

fn unsupported(op: &Operation, reason: &str) -> ProviderError {
    ProviderError::Unsupported {
        kind: op.kind.clone(),
        key: op.key.clone(),
        action: format!("{:?}", op.action).to_lowercase(),
        reason: reason.to_string(),
    }
}

fn unknown_kind(op: &Operation, kind: &str) -> ProviderError {
    unsupported(op, &format!("the okta connector has no kind {kind}"))
}

/// What restoring `record` cannot give back, specific to the record where it matters.
pub(crate) fn cannot_restore(record: &Record) -> Vec<String> {
    let a = &record.attrs;
    let mut out = Vec::new();
    match record.kind.as_str() {
        USER => {
            out.push(USER_CANNOT_RESTORE.to_string());
            let provider = str_at(a, "/credentials/provider/type");
            if !provider.is_empty() && provider != "OKTA" {
                out.push(format!(
                    "mastered by {provider} ({}): comes back as an Okta-mastered user; re-import it from its source",
                    str_at(a, "/credentials/provider/name")
                ));
            }
            let status = str_at(a, "/status");
            if matches!(
                status,
                "SUSPENDED" | "LOCKED_OUT" | "RECOVERY" | "PASSWORD_EXPIRED"
            ) {
                out.push(format!(
                    "status {status} cannot be set on a user without credentials"
                ));
            }
        }
        GROUP if str_at(a, "/type") != "OKTA_GROUP" => {
            out.push(format!(
                "{} groups are owned by {}; they cannot be re-created through the API",
                str_at(a, "/type"),
                if str_at(a, "/type") == "APP_GROUP" {
                    "their app"
                } else {
                    "Okta"
                }
            ));
        }
        APP => {
            match str_at(a, "/signOnMode") {
                "OPENID_CONNECT" => out.push("client secret: a re-created OIDC app gets a new client_id and client_secret; update them in the application".into()),
                "SAML_2_0" => out.push("SAML signing key: a re-created SAML app signs with a new certificate; upload the new IdP metadata to the service provider".into()),
                "BROWSER_PLUGIN" => out.push("shared or per-user SWA passwords are not backed up; people enter them again".into()),
                _ => {}
            }
            let custom_saml = str_at(a, "/signOnMode") == "SAML_2_0"
                && a.pointer("/settings/signOn/ssoAcsUrl").is_some();
            if !custom_saml
                && !matches!(
                    str_at(a, "/name"),
                    "bookmark" | "template_swa" | "template_swa3field" | "oidc_client"
                )
            {
                out.push(format!("catalog app {}: add it again from the Okta catalog; its assignments are then restored", str_at(a, "/name")));
            }
        }
        POLICY | POLICY_RULE | NETWORK_ZONE if a["system"] == true => {
            out.push("Okta's own default object: it can be updated, never re-created".into());
        }
        ADMIN_ROLE if str_at(a, "/type") == "CUSTOM" => {
            out.push(
                "custom role: assign it again in the Admin Console with its resource set".into(),
            );
        }
        GROUP_MEMBERSHIP | APP_GROUP | APP_USER | GROUP_RULE | USER_TYPE | USER_SCHEMA => {}
        _ => {}
    }
    out
}

#[cfg(test)]
mod reachable_tests {
    use super::*;

    fn user(status: &str) -> Record {
        Record::new(
            USER,
            "00u1",
            "a@example.com",
            json!({"status": status}),
            vec![],
        )
    }

    fn status(desired: &str, live: &str, activate: bool) -> String {
        reachable(user(desired), &user(live), activate).attrs["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_user_without_credentials_is_not_planned_towards_active() {
        assert_eq!(status("ACTIVE", "STAGED", false), "STAGED");
        assert_eq!(status("ACTIVE", "PROVISIONED", true), "PROVISIONED");
        assert_eq!(status("LOCKED_OUT", "PROVISIONED", false), "PROVISIONED");
    }

    #[test]
    fn statuses_the_api_can_set_stay_desired() {
        assert_eq!(status("ACTIVE", "STAGED", true), "ACTIVE");
        assert_eq!(status("PROVISIONED", "STAGED", false), "PROVISIONED");
        assert_eq!(status("DEPROVISIONED", "ACTIVE", false), "DEPROVISIONED");
        assert_eq!(status("SUSPENDED", "ACTIVE", false), "SUSPENDED");
        assert_eq!(status("ACTIVE", "SUSPENDED", false), "ACTIVE");
    }

    fn mastered_by(provider: (&str, &str)) -> Record {
        let mut u = user("ACTIVE");
        u.attrs["credentials"] = json!({"provider": {"type": provider.0, "name": provider.1}});
        u
    }

    #[test]
    fn the_credential_provider_is_the_live_one() {
        let ad = mastered_by(("ACTIVE_DIRECTORY", "corp.example.com"));
        let okta = mastered_by(("OKTA", "OKTA"));
        assert_eq!(reachable(ad.clone(), &okta, false), okta);
        assert_eq!(reachable(okta.clone(), &ad, true), ad);
        // A record without credentials gains none.
        assert_eq!(reachable(user("ACTIVE"), &okta, false), user("ACTIVE"));
    }

    #[test]
    fn other_kinds_are_untouched() {
        let group = Record::new(GROUP, "00g1", "Eng", json!({"status": "ACTIVE"}), vec![]);
        let live = Record::new(GROUP, "00g1", "Eng", json!({"status": "X"}), vec![]);
        assert_eq!(reachable(group.clone(), &live, false), group);
    }
}
