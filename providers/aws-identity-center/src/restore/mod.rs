//! Restore: one [`Operation`] at a time, idempotent. A create of an object that exists already
//! converges it to the snapshot instead, and reports [`Outcome::AlreadyDone`] when nothing had
//! to change. Objects are found live by their natural key (permission set name, user name,
//! group display name), never by the snapshot's ids, so that assignments and memberships follow
//! a re-created user or group, and a restore with `--kinds` that leaves the Identity Store alone
//! still finds its principals.

mod assignments;
pub(crate) mod me;
mod sets;
mod store;
mod wait;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_identitystore::types::{AlternateIdentifier, UniqueAttribute};
use aws_smithy_types::Document;
use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use serde_json::Value;

use crate::client::{Api, ApiError, Clients};
use crate::kinds::{self, Principal};
use crate::read::Instance;

/// What one provider remembers between operations of a restore.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Whether an external identity provider synchronizes the Identity Store (SCIM), read by
    /// `before_plan`.
    synced: AtomicBool,
    /// Permission set ARNs by name, read once and kept up to date by creates and deletes.
    sets: tokio::sync::Mutex<Option<HashMap<String, String>>>,
}

impl State {
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::Relaxed);
    }
}

/// Everything an operation needs.
pub(crate) struct Ctx<'a> {
    pub clients: &'a Clients,
    pub instance: &'a Instance,
    pub state: &'a State,
    pub ids: &'a dyn IdMap,
}

/// The result of bringing one object to its desired state.
pub(crate) enum Done {
    Changed(String),
    Unchanged(String),
}

impl Done {
    fn outcome(self) -> Outcome {
        match self {
            Done::Changed(id) => Outcome::Applied { id },
            Done::Unchanged(id) => Outcome::AlreadyDone { id },
        }
    }

    pub fn changed_if(changed: bool, id: String) -> Done {
        if changed {
            Done::Changed(id)
        } else {
            Done::Unchanged(id)
        }
    }
}

/// Brings one object to the state `op` asks for.
pub(crate) async fn apply(ctx: &Ctx<'_>, op: &Operation) -> Result<Outcome, ProviderError> {
    let subject = format!("{} {}", op.kind, op.key);
    let api = |e: ApiError| e.context(&subject);
    match op.action {
        Action::Create | Action::Update => {
            let desired = op
                .desired
                .as_ref()
                .ok_or_else(|| ProviderError::Precondition {
                    kind: op.kind.clone(),
                    key: op.key.clone(),
                    message: "the operation carries no desired state".into(),
                })?;
            let done = match op.kind.as_str() {
                kinds::PERMISSION_SET => sets::converge(ctx, desired).await,
                kinds::USER => store::converge_user(ctx, desired).await,
                kinds::GROUP => store::converge_group(ctx, desired).await,
                kinds::GROUP_MEMBERSHIP => store::add_member(ctx, desired).await,
                kinds::ACCOUNT_ASSIGNMENT => assignments::create(ctx, desired).await,
                other => return Err(unsupported(other, &op.key, op.action)),
            };
            Ok(done.map_err(api)?.outcome())
        }
        Action::Delete => {
            let current = op.current.as_ref();
            let id = current.map(|r| r.id.clone()).unwrap_or_default();
            let done = match (op.kind.as_str(), current) {
                (kinds::PERMISSION_SET, _) => sets::delete(ctx, &op.key).await,
                (kinds::USER, Some(live)) => store::delete_user(ctx, &live.id).await,
                (kinds::GROUP, Some(live)) => store::delete_group(ctx, &live.id).await,
                (kinds::GROUP_MEMBERSHIP, Some(live)) => store::remove_member(ctx, &live.id).await,
                (kinds::ACCOUNT_ASSIGNMENT, Some(live)) => assignments::delete(ctx, live).await,
                (other, _) => return Err(unsupported(other, &op.key, op.action)),
            };
            match done {
                Ok(()) => Ok(Outcome::Applied { id }),
                Err(e) if e.not_found() => Ok(Outcome::AlreadyDone { id }),
                Err(e) => Err(api(e)),
            }
        }
    }
}

fn unsupported(kind: &str, key: &str, action: Action) -> ProviderError {
    ProviderError::Unsupported {
        kind: kind.to_string(),
        key: key.to_string(),
        action: format!("{action:?}").to_lowercase(),
        reason: if kind == kinds::INSTANCE {
            "the instance is read only: enable Identity Center, then restore into it".into()
        } else {
            "not a kind of the aws-identity-center connector, or no live object".into()
        },
    }
}

/// Why the Identity Store's users, groups and memberships are not restored: an identity
/// provider that synchronizes them (SCIM) owns them, and would undo or duplicate what a
/// restore writes. A user or group carrying external ids came from such a provider; the live
/// store is taken as synchronized when its users or groups carry them (`before_plan`).
pub(crate) fn refuses(state: &State, record: &Record) -> Option<String> {
    if !matches!(
        record.kind.as_str(),
        kinds::USER | kinds::GROUP | kinds::GROUP_MEMBERSHIP
    ) {
        return None;
    }
    let external = record.attrs.get("ExternalIds").is_some();
    (external || state.synced.load(Ordering::Relaxed)).then(|| {
        "the Identity Store is synchronized from an external identity provider (SCIM): restore users, groups and memberships there; restore permission sets and assignments with --kinds sso.permission_set,sso.account_assignment, which find their users and groups by name".to_string()
    })
}

/// What restoring `record` cannot give back, naming the object.
pub(crate) fn cannot_restore(record: &Record) -> Vec<String> {
    let mut out = Vec::new();
    match record.kind.as_str() {
        kinds::USER => out.push(format!(
            "user {}: password and MFA devices; the user sets a password from the invitation email (or an administrator resets it) and registers MFA again",
            record.key
        )),
        kinds::INSTANCE => out.push(
            "the Identity Center instance: enable Identity Center (or re-create the account instance), then restore into it".into(),
        ),
        _ => {}
    }
    if matches!(record.kind.as_str(), kinds::USER | kinds::GROUP)
        && record.attrs.get("ExternalIds").is_some()
    {
        out.push(format!(
            "{} {}: external ids; only the identity provider that synchronizes the store sets them",
            kinds::Principal::word(if record.kind == kinds::USER {
                Principal::User
            } else {
                Principal::Group
            }),
            record.key
        ));
    }
    out
}

/// External ids are set only by the identity provider that synchronizes the store: taken from
/// `live`, so a restore does not plan them forever. Nothing of the instance can be set (a
/// restore into another organization's instance finds another owner account).
pub(crate) fn reachable(mut desired: Record, live: &Record) -> Record {
    if desired.kind == kinds::INSTANCE {
        return live.clone();
    }
    // `UpdatePermissionSet` takes no empty description or relay state, so neither can be
    // removed once set: a live value the snapshot lacks stays.
    if desired.kind == kinds::PERMISSION_SET
        && let Some(attrs) = desired.attrs.as_object_mut()
    {
        for field in ["Description", "RelayState"] {
            if let Some(v) = live.attrs.get(field)
                && !attrs.contains_key(field)
            {
                attrs.insert(field.into(), v.clone());
            }
        }
    }
    if matches!(desired.kind.as_str(), kinds::USER | kinds::GROUP)
        && let Some(attrs) = desired.attrs.as_object_mut()
    {
        match live.attrs.get("ExternalIds") {
            Some(v) => attrs.insert("ExternalIds".into(), v.clone()),
            None => attrs.remove("ExternalIds"),
        };
    }
    desired
}

/// The live id of the user or group named `name`; `id:ID` names one by id (a principal the
/// snapshot held no name for), looked up through `ids`.
pub(crate) async fn principal_id(
    ctx: &Ctx<'_>,
    principal: Principal,
    name: &str,
) -> Result<Option<String>, ApiError> {
    if let Some(id) = name.strip_prefix("id:") {
        return Ok(Some(
            ctx.ids
                .live_id(principal.kind(), id)
                .unwrap_or_else(|| id.to_string()),
        ));
    }
    let store = &ctx.clients.store;
    let (path, op) = match principal {
        Principal::User => ("userName", "identitystore:GetUserId"),
        Principal::Group => ("displayName", "identitystore:GetGroupId"),
    };
    let unique = AlternateIdentifier::UniqueAttribute(
        UniqueAttribute::builder()
            .attribute_path(path)
            .attribute_value(Document::String(name.to_string()))
            .build()
            .map_err(|e| ApiError::local(op, e.to_string()))?,
    );
    let found = match principal {
        Principal::User => store
            .get_user_id()
            .identity_store_id(&ctx.instance.store_id)
            .alternate_identifier(unique)
            .send()
            .await
            .api(op)
            .map(|o| o.user_id),
        Principal::Group => store
            .get_group_id()
            .identity_store_id(&ctx.instance.store_id)
            .alternate_identifier(unique)
            .send()
            .await
            .api(op)
            .map(|o| o.group_id),
    };
    match found {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn str_attr<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    record.attrs.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn synchronized_stores_are_refused_and_assignments_are_not() {
        let state = State::default();
        let user = Record::new(kinds::USER, "u1", "ada", json!({}), vec![]);
        let scim = Record::new(
            kinds::USER,
            "u2",
            "bob",
            json!({"ExternalIds": [{"Issuer": "https://idp", "Id": "7"}]}),
            vec![],
        );
        let assignment = Record::new(
            kinds::ACCOUNT_ASSIGNMENT,
            "a",
            "Admin|1/user/ada",
            json!({}),
            vec![],
        );
        assert_eq!(refuses(&state, &user), None);
        assert!(refuses(&state, &scim).unwrap().contains("SCIM"));
        state.set_synced(true);
        assert!(refuses(&state, &user).unwrap().contains("--kinds"));
        assert_eq!(refuses(&state, &assignment), None);
    }

    #[test]
    fn external_ids_come_from_the_live_record() {
        let desired = Record::new(
            kinds::USER,
            "u1",
            "ada",
            json!({"Title": "x", "ExternalIds": [{"Issuer": "i", "Id": "1"}]}),
            vec![],
        );
        let live = Record::new(kinds::USER, "u9", "ada", json!({"Title": "y"}), vec![]);
        let reached = reachable(desired, &live);
        assert_eq!(reached.attrs, json!({"Title": "x"}));
        let instance = |owner: &str| {
            Record::new(
                kinds::INSTANCE,
                "arn",
                "instance",
                json!({"OwnerAccountId": owner}),
                vec![],
            )
        };
        assert_eq!(reachable(instance("1"), &instance("2")), instance("2"));
        let set = |attrs: Value| Record::new(kinds::PERMISSION_SET, "arn", "Admin", attrs, vec![]);
        let reached = reachable(
            set(json!({"SessionDuration": "PT1H"})),
            &set(json!({"SessionDuration": "PT2H", "RelayState": "https://x"})),
        );
        assert_eq!(
            reached.attrs,
            json!({"SessionDuration": "PT1H", "RelayState": "https://x"})
        );
        let items = cannot_restore(&Record::new(
            kinds::GROUP,
            "g",
            "ops",
            json!({"ExternalIds": []}),
            vec![],
        ));
        assert_eq!(items.len(), 1);
        assert!(items[0].starts_with("group ops: external ids"), "{items:?}");
    }
}
