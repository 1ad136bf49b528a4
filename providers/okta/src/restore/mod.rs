//! Writing records back to Okta, one operation at a time, idempotently.
//!
//! Creates first look the object up by its natural key: an object that already exists (an
//! operation re-run after a crash) is brought to the desired status and reported as
//! [`Outcome::AlreadyDone`] with its live id. Users, the bulk of a large restore, are posted
//! first and looked up only when Okta refuses the login as taken; memberships are put, which
//! Okta accepts again for a member. References in desired records carry snapshot ids
//! and are rewritten through the engine's [`IdMap`]; relationship endpoints fall back to a
//! lookup by natural key. Nothing here ever sends an email unless `activate_users` is set.
//!
//! Each kind's writes live with its family: [`users`] (users, user types, the schema),
//! [`groups`] (groups, members, group rules), [`apps`] (apps and their assignments),
//! [`policies`] (policies, rules, network zones) and [`roles`] (admin role assignments). This
//! file dispatches operations to them and holds what they share: id rewriting, lookups of
//! relationship ends, lifecycle calls and the shapes of errors.

mod apps;
mod groups;
mod policies;
mod roles;
mod users;

use iamsnap_http::status_of;
use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record, SelfIdentity};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::OktaClient;
use crate::kinds::*;
use crate::read::fetch;
use crate::records::str_at;

pub(crate) struct Restore<'a> {
    pub client: &'a OktaClient,
    pub ids: &'a dyn IdMap,
    pub activate_users: bool,
}

/// The live id an update works on, or the error to raise if it has none: looked up before the
/// kind's update, which raises it only when it needs the id.
type LiveId = Result<String, ProviderError>;

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

/// Why `op` would weaken the user the token acts as (`me`). Its profile and the groups through
/// which it holds a role may change; its status may not (a restore would deactivate or suspend
/// it as the snapshot has it), and nothing is deleted or changed of its role assignments and
/// memberships ([`SelfIdentity::guard`]).
pub(crate) fn protects(op: &Operation, me: &SelfIdentity, activate_users: bool) -> Option<String> {
    if op.action == Action::Update {
        if me.is_identity(op)
            && let (Some(desired), Some(live)) = (&op.desired, &op.current)
        {
            let want = reachable(desired.clone(), live, activate_users);
            let (want, have) = (
                str_at(&want.attrs, "/status"),
                str_at(&live.attrs, "/status"),
            );
            return (want != have).then(|| {
                format!(
                    "{me} is the identity iamsnap runs as: a restore never changes its status ({have} → {want})"
                )
            });
        }
        if op.kind == GROUP && me.grant_of(op).is_some() {
            return None;
        }
    }
    me.guard(op)
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
        match op.kind.as_str() {
            USER => self.create_user(op, desired).await,
            GROUP => self.create_group(op, desired).await,
            GROUP_MEMBERSHIP => self.create_membership(op, desired).await,
            GROUP_RULE => self.create_group_rule(op, desired).await,
            APP => self.create_app(op, desired).await,
            APP_USER => self.create_app_user(op, desired).await,
            APP_GROUP => self.create_app_group(op, desired).await,
            POLICY => self.create_policy(op, desired).await,
            POLICY_RULE => self.create_policy_rule(op, desired).await,
            NETWORK_ZONE => self.create_zone(op, desired).await,
            USER_TYPE => self.create_user_type(op, desired).await,
            ADMIN_ROLE => self.assign_role(op, desired).await,
            other => Err(unknown_kind(op, other)),
        }
    }

    async fn update(&self, op: &Operation, desired: &Record) -> Result<Outcome, ProviderError> {
        let live_id = self.current_id(op).await?;
        match op.kind.as_str() {
            USER => self.update_user(op, desired, live_id).await,
            GROUP => self.update_group(op, desired, live_id).await,
            GROUP_RULE => self.update_group_rule(op, desired, live_id).await,
            APP => self.update_app(op, desired, live_id).await,
            APP_USER => self.update_app_user(op, desired).await,
            APP_GROUP => self.update_app_group(op, desired).await,
            POLICY => self.update_policy(op, desired, live_id).await,
            POLICY_RULE => self.update_policy_rule(op, desired, live_id).await,
            NETWORK_ZONE => self.update_zone(desired, live_id).await,
            USER_TYPE => self.update_user_type(desired, live_id).await,
            USER_SCHEMA => self.update_schema(desired).await,
            ADMIN_ROLE => self.assign_role(op, desired).await,
            other => Err(unknown_kind(op, other)),
        }
    }

    /// The live id of the object an update or delete works on: the current record's, or the
    /// one found by natural key.
    async fn current_id(&self, op: &Operation) -> Result<LiveId, ProviderError> {
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
        let Some(id) = self.current_id(op).await?.ok() else {
            return Ok(Outcome::AlreadyDone { id: String::new() });
        };
        match op.kind.as_str() {
            USER => self.delete_user(id).await,
            GROUP => self.delete_group(op, id).await,
            GROUP_MEMBERSHIP => self.delete_membership(id).await,
            GROUP_RULE => self.delete_group_rule(id).await,
            APP => self.delete_app(id).await,
            APP_USER => self.delete_app_user(id).await,
            APP_GROUP => self.delete_app_group(id).await,
            POLICY => self.delete_policy(op, id).await,
            POLICY_RULE => self.delete_policy_rule(op, id).await,
            NETWORK_ZONE => self.delete_zone(op, id).await,
            USER_TYPE => self.delete_user_type(op, id).await,
            ADMIN_ROLE => self.delete_role(op, id).await,
            USER_SCHEMA => Err(unsupported(
                op,
                "the user schema always exists; it can only be updated",
            )),
            other => Err(unknown_kind(op, other)),
        }
    }

    /// `DELETE` of the object at `path`, live id `id`; a 404 means it is gone already.
    async fn delete_at(&self, path: &str, id: String) -> Result<Outcome, ProviderError> {
        let c = self.c();
        match c.send(Method::DELETE, &c.url(path, &[]), None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
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

#[cfg(test)]
mod protects_tests {
    use super::*;

    fn me() -> SelfIdentity {
        let mut me = SelfIdentity::new(USER, "admin@example.com");
        me.grant(
            ADMIN_ROLE,
            "group:Admins|SUPER_ADMIN",
            "assigns SUPER_ADMIN to group Admins",
        );
        me.grant(
            GROUP_MEMBERSHIP,
            "Admins|admin@example.com",
            "makes admin@example.com a member of Admins",
        );
        me.grant(GROUP, "Admins", "holds SUPER_ADMIN");
        me
    }

    fn update(kind: &str, key: &str, want: Value, have: Value) -> Operation {
        Operation {
            action: Action::Update,
            kind: kind.into(),
            key: key.into(),
            desired: Some(Record::new(kind, "1", key, want, vec![])),
            current: Some(Record::new(kind, "1", key, have, vec![])),
        }
    }

    #[test]
    fn the_token_owner_keeps_its_status_and_roles() {
        let me = me();
        let status = |want: &str| {
            let op = update(
                USER,
                "admin@example.com",
                json!({"status": want, "profile": {"title": "B"}}),
                json!({"status": "ACTIVE", "profile": {"title": "A"}}),
            );
            protects(&op, &me, false)
        };
        assert!(
            status("DEPROVISIONED")
                .unwrap()
                .contains("ACTIVE → DEPROVISIONED")
        );
        assert!(
            status("SUSPENDED")
                .unwrap()
                .contains("never changes its status")
        );
        // A profile change passes, and so does a status the API could never set anyway.
        assert_eq!(status("ACTIVE"), None);
        assert_eq!(status("STAGED"), None);
        let rename = update(GROUP, "Admins", json!({"n": 1}), json!({"n": 2}));
        assert_eq!(protects(&rename, &me, false), None);
        let narrowed = update(
            ADMIN_ROLE,
            "group:Admins|SUPER_ADMIN",
            json!({"targets": ["a"]}),
            json!({"targets": []}),
        );
        assert!(protects(&narrowed, &me, false).is_some());
        let leave = Operation {
            action: Action::Delete,
            ..update(
                GROUP_MEMBERSHIP,
                "Admins|admin@example.com",
                json!({}),
                json!({}),
            )
        };
        assert!(
            protects(&leave, &me, false)
                .unwrap()
                .contains("member of Admins")
        );
        let other = update(
            USER,
            "ada@example.com",
            json!({"status": "DEPROVISIONED"}),
            json!({"status": "ACTIVE"}),
        );
        assert_eq!(protects(&other, &me, false), None);
    }
}
