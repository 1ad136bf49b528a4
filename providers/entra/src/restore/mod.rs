//! Restore: one operation at a time, idempotent. [`Restore::apply`] sends each kind to its
//! family: directory objects (`objects`: users, groups, applications, service principals,
//! administrative units, brought back from the recycle bin where they still are), access
//! policies (`policies`) and relationships (`links`). Snapshot ids in refs, memberships and
//! policies are replaced by live ids from the [`IdMap`] first. Beside it: what a restore can
//! reach ([`reachable`]) and what it can never give back ([`cannot_restore`]), for the plan and
//! its report.

mod cross_tenant;
mod federated;
mod links;
mod objects;
mod policies;
mod role_settings;
mod roles;
mod sts;
mod terms;

pub(crate) use roles::expired;

use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record, SelfIdentity};
use serde_json::{Map, Value};

use crate::client::GraphClient;
use crate::kinds::*;

pub(crate) struct Restore<'a> {
    pub client: &'a GraphClient,
    pub ids: &'a dyn IdMap,
    pub restore_policy_state: bool,
    /// Where re-invited guests land, when guest users deleted for good are invited again.
    pub invite_redirect_url: Option<&'a str>,
}

impl Restore<'_> {
    pub(crate) async fn apply(&self, op: &Operation) -> Result<Outcome, ProviderError> {
        let record = match op.action {
            Action::Delete => op.current.as_ref().or(op.desired.as_ref()),
            _ => op.desired.as_ref(),
        }
        .ok_or_else(|| ProviderError::Precondition {
            kind: op.kind.clone(),
            key: op.key.clone(),
            message: "the operation carries no record to apply".into(),
        })?;
        let record = if op.action == Action::Delete {
            record.clone()
        } else {
            self.live(record)
        };
        match (op.kind.as_str(), op.action) {
            (
                USER | GROUP | APPLICATION | SERVICE_PRINCIPAL | ADMINISTRATIVE_UNIT,
                Action::Create,
            ) => self.create_object(&record).await,
            (
                USER | GROUP | APPLICATION | SERVICE_PRINCIPAL | ADMINISTRATIVE_UNIT,
                Action::Update,
            ) => {
                let live = self.existing(&record).await?;
                self.update_object(&record, &live).await
            }
            (
                USER | GROUP | APPLICATION | SERVICE_PRINCIPAL | ADMINISTRATIVE_UNIT,
                Action::Delete,
            ) => self.delete_object(&record).await,
            (CONDITIONAL_ACCESS_POLICY | NAMED_LOCATION, Action::Create | Action::Update) => {
                self.save_policy(&record).await
            }
            (CONDITIONAL_ACCESS_POLICY | NAMED_LOCATION, Action::Delete) => {
                self.delete_policy(&record).await
            }
            (FEDERATED_CREDENTIAL, Action::Create | Action::Update) => {
                self.save_federated(&record).await
            }
            (FEDERATED_CREDENTIAL, Action::Delete) => self.delete_federated(&record).await,
            (CLAIMS_MAPPING_POLICY | TOKEN_LIFETIME_POLICY | SERVICE_PRINCIPAL_POLICY, action) => {
                self.token_policy(action, &record).await
            }
            (CROSS_TENANT_DEFAULT, Action::Update) | (CROSS_TENANT_PARTNER, _) => {
                self.cross_tenant(op.action, &record).await
            }
            (ROLE_SETTING, Action::Create | Action::Update) => self.role_setting(&record).await,
            (TERMS_OF_USE, action) => self.terms_of_use(action, &record).await,
            (AUTHORIZATION_POLICY, Action::Create | Action::Update) => {
                self.authorization(&record).await
            }
            (AUTHENTICATION_STRENGTH, Action::Create | Action::Update) => {
                self.save_strength(&record).await
            }
            (AUTHENTICATION_STRENGTH, Action::Delete) => self.delete_strength(&record).await,
            (ROLE_DEFINITION, Action::Create | Action::Update) => {
                self.save_definition(&record).await
            }
            (ROLE_DEFINITION, Action::Delete) => self.delete_definition(&record).await,
            (ROLE_ELIGIBILITY | ROLE_ASSIGNMENT_SCHEDULE, Action::Create | Action::Update) => {
                self.save_schedule(&record).await
            }
            (ROLE_ELIGIBILITY | ROLE_ASSIGNMENT_SCHEDULE, Action::Delete) => {
                self.remove_schedule(&record).await
            }
            (AUTHENTICATION_METHODS_POLICY, Action::Create | Action::Update) => {
                self.authentication_methods(&record).await
            }
            (
                USER_MANAGER
                | GROUP_MEMBER
                | GROUP_OWNER
                | APPLICATION_OWNER
                | SERVICE_PRINCIPAL_OWNER
                | ADMINISTRATIVE_UNIT_MEMBER
                | APP_ROLE_ASSIGNMENT
                | OAUTH2_PERMISSION_GRANT
                | DIRECTORY_ROLE_ASSIGNMENT,
                _,
            ) => {
                links::Links { restore: self }
                    .apply(op.action, &record)
                    .await
            }
            (kind, action) => Err(ProviderError::Unsupported {
                kind: kind.to_string(),
                key: op.key.clone(),
                action: format!("{action:?}").to_lowercase(),
                reason: "see the kinds' capabilities in docs/entra.md".into(),
            }),
        }
    }

    /// `record` with snapshot ids replaced by live ids: its own, its refs', and every attribute
    /// string equal to a rewritten ref id (policies name users, groups and locations by id).
    pub(crate) fn live(&self, record: &Record) -> Record {
        iamsnap_provider::to_live(record, self.ids)
    }
}

pub(crate) use crate::kinds::GUEST_GONE;

/// Whether `record` is a guest user (one invited from another organisation).
pub(crate) fn is_guest(record: &Record) -> bool {
    record.kind == USER && record.attrs["userType"] == "Guest"
}

pub(crate) fn precondition(record: &Record, message: &str) -> ProviderError {
    ProviderError::Precondition {
        kind: record.kind.clone(),
        key: record.key.clone(),
        message: message.to_string(),
    }
}

/// The properties of `attrs` Graph lets a client write; nulls are left out of creations.
fn writable(kind: &str, attrs: &Value, creating: bool) -> Map<String, Value> {
    let read_only: &[&str] = match kind {
        USER => &["userType", "onPremisesImmutableId", "onPremisesSyncEnabled"],
        GROUP if creating => &["mail"],
        GROUP => &["mail", "isAssignableToRole"],
        APPLICATION => &["appId", "keyCredentials", "passwordCredentials"],
        SERVICE_PRINCIPAL => &["appId", "appOwnerOrganizationId", "servicePrincipalType"],
        CONDITIONAL_ACCESS_POLICY => &["templateId"],
        _ => &[],
    };
    attrs
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !(read_only.contains(&k.as_str()) || creating && v.is_null()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Equal, reading a missing property as null (Graph omits some unset properties).
fn same(desired: &Value, live: &Value) -> bool {
    desired == live
        || (desired.is_null() && live.is_null())
        || iamsnap_provider::canonical::normalize(desired.clone())
            == iamsnap_provider::canonical::normalize(live.clone())
}

fn rewrite_within(value: &mut Value, old: &str, new: &str) {
    if let Value::Array(items) = value {
        for item in items {
            if let Value::String(s) = item {
                *s = s.replace(old, new);
            }
        }
    }
}

/// The closest state to `desired` a restore can bring `live` to: the properties Graph never
/// lets a client write (an application's appId and credentials, a group's mail, whether a group
/// is role-assignable once created) are taken from `live`, identifier URIs follow a new appId,
/// and an enabled policy found switched off is brought back report-only unless policy states
/// are restored.
pub(crate) fn reachable(mut desired: Record, live: &Record, restore_policy_state: bool) -> Record {
    let fixed: &[&str] = match desired.kind.as_str() {
        USER => &["userType", "onPremisesImmutableId", "onPremisesSyncEnabled"],
        GROUP => &["mail", "isAssignableToRole"],
        APPLICATION => &["appId", "keyCredentials", "passwordCredentials"],
        SERVICE_PRINCIPAL => &["appId", "appOwnerOrganizationId", "servicePrincipalType"],
        AUTHENTICATION_METHODS_POLICY => &["displayName", "description", "policyVersion"],
        _ => &[],
    };
    // Mirrors `policy_state`: an enabled policy found switched off comes back report-only,
    // never enforced, unless policy states are restored.
    if desired.kind == CONDITIONAL_ACCESS_POLICY
        && !restore_policy_state
        && desired.attrs["state"] == "enabled"
        && live.attrs["state"] != "enabled"
    {
        desired.attrs["state"] = Value::String(policies::REPORT_ONLY.into());
    }
    if desired.kind == APPLICATION {
        let old = desired.attrs["appId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let new = live.attrs["appId"].as_str().unwrap_or_default();
        if !old.is_empty() && old != new {
            rewrite_within(&mut desired.attrs["identifierUris"], &old, new);
        }
    }
    if let (Value::Object(d), Value::Object(l)) = (&mut desired.attrs, &live.attrs) {
        for field in fixed {
            match l.get(*field) {
                Some(v) => d.insert(field.to_string(), v.clone()),
                None => d.remove(*field),
            };
        }
    }
    desired
}

/// Why `op` would weaken the service principal iamsnap signs in as (`me`). Its application and
/// the groups through which it holds roles may change (a restore never writes an application's
/// credentials); the principal itself may change unless the change disables it; nothing of its
/// grants is deleted or changed ([`SelfIdentity::guard`]).
pub(crate) fn protects(op: &Operation, me: &SelfIdentity) -> Option<String> {
    if op.action == Action::Update {
        if me.is_identity(op)
            && let (Some(desired), Some(live)) = (&op.desired, &op.current)
        {
            let disables =
                desired.attrs["accountEnabled"] == false && live.attrs["accountEnabled"] != false;
            return disables.then(|| {
                format!(
                    "{me} is the identity iamsnap runs as: a restore never disables it (accountEnabled true → false)"
                )
            });
        }
        if matches!(op.kind.as_str(), APPLICATION | GROUP) && me.grant_of(op).is_some() {
            return None;
        }
    }
    me.guard(op)
}

fn unified(group: &Record) -> bool {
    group.attrs["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "Unified"))
}

/// What restoring `record` cannot give back, for the restore report (which lists the keys of
/// the records sharing a reason): the kind's notes, narrowed to the record, and each
/// application credential by name.
pub(crate) fn cannot_restore(
    record: &Record,
    restore_policy_state: bool,
    invite_guests: bool,
) -> Vec<String> {
    let notes = KINDS
        .iter()
        .find(|k| k.name == record.kind)
        .map(|k| k.cannot_restore)
        .unwrap_or_default();
    let mut out: Vec<String> = notes
        .iter()
        .filter(|note| match record.kind.as_str() {
            // Said of the guest the plan leaves out (`refuses`), with what needs it.
            USER if **note == GUEST_GONE => false,
            TERMS_OF_USE => false,
            USER if **note == GUEST_REINVITED => invite_guests && is_guest(record),
            ROLE_ELIGIBILITY | ROLE_ASSIGNMENT_SCHEDULE => **note != SCHEDULE_EXPIRED,
            USER if note.starts_with("users synchronised") => {
                record.attrs["onPremisesSyncEnabled"] == true
            }
            GROUP if note.starts_with("Microsoft 365") => unified(record),
            GROUP => !unified(record),
            GROUP_MEMBER => record.target("member").is_some_and(|m| m.kind == DEVICE),
            SERVICE_PRINCIPAL => record.target("application").is_none(),
            APPLICATION => **note != APP_SECRETS,
            // Said with the ids, below.
            CONDITIONAL_ACCESS_POLICY if **note == CA_UNKNOWN_IDS => false,
            CONDITIONAL_ACCESS_POLICY => {
                **note != CA_REPORT_ONLY
                    || (record.attrs["state"] == "enabled" && !restore_policy_state)
            }
            _ => true,
        })
        .map(|note| note.to_string())
        .collect();
    if record.kind == CONDITIONAL_ACCESS_POLICY {
        // Roles without a ref are built in (the same in every tenant), or custom ones the
        // snapshot does not hold: only the read can tell, and it warns of the latter.
        let unknown = crate::ca::unknown_ids(record, |_| true);
        if !unknown.is_empty() {
            out.push(format!("{CA_UNKNOWN_IDS}: {}", unknown.join(", ")));
        }
    }
    if record.kind == APPLICATION {
        for (field, what) in [
            ("passwordCredentials", "client secret"),
            ("keyCredentials", "certificate"),
        ] {
            for c in record.attrs[field].as_array().into_iter().flatten() {
                out.push(format!(
                    "{what} {:?} (keyId {}, expires {}): a re-created application has none; add a new one and configure it where this one was used",
                    c["displayName"].as_str().unwrap_or(""),
                    c["keyId"].as_str().unwrap_or("?"),
                    c["endDateTime"].as_str().unwrap_or("never"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod protects_tests {
    use serde_json::json;

    use super::*;

    fn op(action: Action, kind: &str, key: &str, want: Value, have: Value) -> Operation {
        Operation {
            action,
            kind: kind.into(),
            key: key.into(),
            desired: Some(Record::new(kind, "1", key, want, vec![])),
            current: Some(Record::new(kind, "1", key, have, vec![])),
        }
    }

    #[test]
    fn the_principal_is_never_disabled_nor_stripped_of_its_roles() {
        let mut me = SelfIdentity::new(SERVICE_PRINCIPAL, "iamsnap");
        me.grant(APPLICATION, "iamsnap", "holds its credentials");
        me.grant(
            DIRECTORY_ROLE_ASSIGNMENT,
            "Privileged Role Administrator|servicePrincipal:iamsnap|/",
            "assigns a role",
        );
        let update = |want, have| {
            protects(
                &op(Action::Update, SERVICE_PRINCIPAL, "iamsnap", want, have),
                &me,
            )
        };
        let off = update(
            json!({"accountEnabled": false}),
            json!({"accountEnabled": true}),
        );
        assert!(off.unwrap().contains("never disables it"));
        assert_eq!(
            update(
                json!({"accountEnabled": true, "notes": "a"}),
                json!({"accountEnabled": true, "notes": "b"})
            ),
            None
        );
        let app = op(
            Action::Update,
            APPLICATION,
            "iamsnap",
            json!({"a": 1}),
            json!({"a": 2}),
        );
        assert_eq!(protects(&app, &me), None);
        let gone = Operation {
            action: Action::Delete,
            ..op(Action::Delete, APPLICATION, "iamsnap", json!({}), json!({}))
        };
        assert!(
            protects(&gone, &me)
                .unwrap()
                .contains("holds its credentials")
        );
        let role = op(
            Action::Delete,
            DIRECTORY_ROLE_ASSIGNMENT,
            "Privileged Role Administrator|servicePrincipal:iamsnap|/",
            json!({}),
            json!({}),
        );
        assert!(protects(&role, &me).is_some());
    }
}
