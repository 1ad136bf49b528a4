//! Restore: one [`Operation`] at a time, idempotent. A create of an object that exists already
//! converges it to the snapshot instead, and reports [`Outcome::AlreadyDone`] when nothing had
//! to change.

mod account;
mod identities;
mod keys;
mod links;
mod policies;
mod principals;
mod service_linked;
mod tags;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::Client;
use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record, SelfIdentity};
use serde_json::Value;

use crate::client::{Api, ApiError, Connection, Paginated};
use crate::kinds::{self, Principal, document_text, parse_document, tags_of};
pub(crate) use principals::identity_of_arn;
use principals::{Caller, prepare_trust};
use tags::{converge_tags, tag_list};

use account::*;
use identities::*;
use links::*;
use policies::*;

/// What one provider remembers between operations of a restore.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The account and partition written into, read once.
    caller: tokio::sync::OnceCell<Caller>,
    /// Trust policies saved without principals that did not exist yet, by role name: saved
    /// again in full once those users and roles are created.
    deferred_trust: tokio::sync::Mutex<BTreeMap<String, Deferred>>,
    /// ARNs of live users and roles by unique id, to rewrite unique-id principals.
    arns: tokio::sync::Mutex<BTreeMap<String, String>>,
    /// Held while a user or role is written and the trust policies waiting for it are saved
    /// again: a role's trust policy is checked for missing principals and saved in one step, so
    /// a principal created concurrently cannot slip between the check and the save.
    principals: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
struct Deferred {
    desired: Value,
    missing: BTreeSet<(Principal, String)>,
}

/// Everything an operation needs.
pub(crate) struct Ctx<'a> {
    pub client: &'a Client,
    pub state: &'a State,
    pub caller: &'a Caller,
    pub ids: &'a dyn IdMap,
}

/// The result of bringing one object to its desired state.
enum Done {
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

    fn changed_if(changed: bool, id: String) -> Done {
        if changed {
            Done::Changed(id)
        } else {
            Done::Unchanged(id)
        }
    }
}

/// Brings one object to the state `op` asks for, in the account of `connection`.
pub(crate) async fn apply(
    connection: &Connection,
    state: &State,
    op: &Operation,
    ids: &dyn IdMap,
) -> Result<Outcome, ProviderError> {
    let client = connection.iam().await;
    let caller = state
        .caller
        .get_or_try_init(|| async {
            let arn = connection.caller_arn().await?;
            Caller::from_arn(&arn).ok_or_else(|| ProviderError::Decode {
                url: "sts:GetCallerIdentity".into(),
                message: format!("cannot read account and partition from {arn}"),
            })
        })
        .await?;
    let ctx = Ctx {
        client,
        state,
        caller,
        ids,
    };
    run(&ctx, op).await
}

async fn run(ctx: &Ctx<'_>, op: &Operation) -> Result<Outcome, ProviderError> {
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
            let _principals = if matches!(op.kind.as_str(), kinds::USER | kinds::ROLE) {
                Some(ctx.state.principals.lock().await)
            } else {
                None
            };
            let done = match op.kind.as_str() {
                kinds::POLICY => converge_policy(ctx, desired).await.map_err(api)?,
                kinds::GROUP => converge_group(ctx, desired).await.map_err(api)?,
                kinds::USER => converge_user(ctx, desired).await.map_err(api)?,
                kinds::GROUP_MEMBERSHIP => add_membership(ctx, desired).await.map_err(api)?,
                kinds::ROLE => match service_linked::service_of(desired) {
                    Some(service) => service_linked::create(ctx, desired, service)
                        .await
                        .map_err(api)?,
                    None => converge_role(ctx, desired).await?,
                },
                kinds::POLICY_ATTACHMENT => attach(ctx, desired).await.map_err(api)?,
                kinds::INLINE_POLICY => put_inline(ctx, desired).await?,
                kinds::INSTANCE_PROFILE => {
                    converge_instance_profile(ctx, desired).await.map_err(api)?
                }
                kinds::SAML_PROVIDER => converge_saml(ctx, desired).await.map_err(api)?,
                kinds::OIDC_PROVIDER => converge_oidc(ctx, desired).await.map_err(api)?,
                kinds::PASSWORD_POLICY => {
                    converge_password_policy(ctx, desired).await.map_err(api)?
                }
                kinds::ACCOUNT_ALIAS => create_alias(ctx, desired).await.map_err(api)?,
                kinds::SSH_PUBLIC_KEY => keys::converge_ssh_key(ctx, desired).await.map_err(api)?,
                kinds::SIGNING_CERTIFICATE => keys::converge_certificate(ctx, desired)
                    .await
                    .map_err(api)?,
                kinds::SERVER_CERTIFICATE | kinds::VIRTUAL_MFA_DEVICE => {
                    return Err(ProviderError::Unsupported {
                        kind: op.kind.clone(),
                        key: op.key.clone(),
                        action: "restore".into(),
                        reason: keys::refuses(Action::Create, desired).unwrap_or_default(),
                    });
                }
                other => return Err(unknown_kind(other, &op.key)),
            };
            if matches!(op.kind.as_str(), kinds::USER | kinds::ROLE) {
                principals::created(ctx, &op.kind, &op.key).await?;
            }
            Ok(done.outcome())
        }
        Action::Delete => {
            let done = match op.kind.as_str() {
                kinds::POLICY => delete_policy(ctx, &op.key).await,
                kinds::GROUP => delete_group(ctx, &op.key).await,
                kinds::USER => delete_user(ctx, &op.key).await,
                kinds::GROUP_MEMBERSHIP => remove_membership(ctx, &op.key).await,
                kinds::ROLE => delete_role(ctx, &op.key).await,
                kinds::POLICY_ATTACHMENT => detach(ctx, &op.key).await,
                kinds::INLINE_POLICY => delete_inline(ctx, &op.key).await,
                kinds::INSTANCE_PROFILE => delete_instance_profile(ctx, &op.key).await,
                kinds::SAML_PROVIDER => delete_saml(ctx, &op.key).await,
                kinds::OIDC_PROVIDER => delete_oidc(ctx, &op.key).await,
                kinds::PASSWORD_POLICY => delete_password_policy(ctx).await,
                kinds::ACCOUNT_ALIAS => delete_alias(ctx, &op.key).await,
                kinds::SSH_PUBLIC_KEY => keys::delete_ssh_key(ctx, &op.key).await,
                kinds::SIGNING_CERTIFICATE => keys::delete_certificate(ctx, &op.key).await,
                other => return Err(unknown_kind(other, &op.key)),
            };
            match done {
                Ok(()) => Ok(Outcome::Applied { id: live_id_of(op) }),
                Err(e) if e.is("NoSuchEntity") => Ok(Outcome::AlreadyDone { id: live_id_of(op) }),
                Err(e) => Err(api(e)),
            }
        }
    }
}

fn live_id_of(op: &Operation) -> String {
    op.current
        .as_ref()
        .map(|r| r.id.clone())
        .unwrap_or_else(|| op.key.clone())
}

fn unknown_kind(kind: &str, key: &str) -> ProviderError {
    ProviderError::Unsupported {
        kind: kind.to_string(),
        key: key.to_string(),
        action: "restore".into(),
        reason: "not a kind of the aws-iam connector".into(),
    }
}

/// What restoring this record cannot give back, naming the user and each thing to reissue.
pub(crate) fn cannot_restore(record: &Record) -> Vec<String> {
    if record.kind != kinds::USER {
        return Vec::new();
    }
    let user = &record.key;
    let mut out = Vec::new();
    if record.attrs["console_password"].as_bool() == Some(true) {
        out.push(format!(
            "user {user}: console password; set a new one (aws iam create-login-profile --user-name {user} --password-reset-required) and hand it over"
        ));
    }
    let keys: Vec<&str> = record.attrs["access_keys"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k["id"].as_str()).collect())
        .unwrap_or_default();
    if !keys.is_empty() {
        out.push(format!(
            "user {user}: access key secrets of {}; create new keys (aws iam create-access-key --user-name {user}) and distribute them",
            keys.join(", ")
        ));
    }
    let mfa: Vec<&str> = record.attrs["mfa_devices"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !mfa.is_empty() {
        out.push(format!(
            "user {user}: MFA devices {}; the user must register them again",
            mfa.join(", ")
        ));
    }
    out
}

/// Why restore never performs `action` on `record`: a service-linked role and its policies
/// belong to its service; a server certificate's key and an MFA device's seed never leave IAM.
pub(crate) fn refuses(action: Action, record: &Record) -> Option<String> {
    service_linked::refuses(action, record).or_else(|| keys::refuses(action, record))
}

/// A service-linked role is left as its service keeps it. A user's console password, access
/// keys and MFA devices are credentials IAM never lets anyone set back: they are taken from
/// `live`, so a restore does not plan them forever.
pub(crate) fn reachable(mut desired: Record, live: &Record) -> Record {
    desired = service_linked::reachable(desired, live);
    if desired.kind == kinds::USER {
        for field in ["console_password", "access_keys", "mfa_devices"] {
            desired.attrs[field] = live.attrs[field].clone();
        }
    }
    desired
}

/// Attributes of a user or role a restore may change on the identity the credentials act as:
/// the rest (permissions boundary, trust policy, path, which moves its ARN, tags, which
/// attribute-based policies read) can take its rights away.
const HARMLESS: &[&str] = &["description", "max_session_duration"];

/// Why `op` would weaken the user or role the credentials act as (`me`): an update of it that
/// changes more than [`HARMLESS`] attributes, and any delete or update of what gives it its
/// rights ([`SelfIdentity::guard`]).
pub(crate) fn protects(op: &Operation, me: &SelfIdentity) -> Option<String> {
    if op.action == Action::Update
        && me.is_identity(op)
        && let (Some(desired), Some(live)) = (&op.desired, &op.current)
    {
        let desired = reachable(desired.clone(), live);
        let changed: Vec<&str> = desired
            .attrs
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| {
                !HARMLESS.contains(&k.as_str()) && live.attrs.get(k.as_str()) != Some(*v)
            })
            .map(|(k, _)| k.as_str())
            .collect();
        return (!changed.is_empty()).then(|| {
            format!(
                "{me} is the identity iamsnap runs as: a restore never changes its {}",
                changed.join(", ")
            )
        });
    }
    me.guard(op)
}

fn str_attr<'a>(record: &'a Record, name: &str) -> &'a str {
    record.attrs[name].as_str().unwrap_or_default()
}

fn opt_attr<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    record.attrs[name].as_str()
}

fn path_of(record: &Record) -> &str {
    opt_attr(record, "path").unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_caller_keeps_its_boundary_trust_and_policies() {
        let mut me = SelfIdentity::new(kinds::ROLE, "deploy");
        me.grant(
            kinds::POLICY_ATTACHMENT,
            "role/deploy|arn:aws:iam::aws:policy/AdministratorAccess",
            "attaches AdministratorAccess to role deploy",
        );
        let update = |want: Value, have: Value| Operation {
            action: Action::Update,
            kind: kinds::ROLE.into(),
            key: "deploy".into(),
            desired: Some(Record::new(kinds::ROLE, "AROA1", "deploy", want, vec![])),
            current: Some(Record::new(kinds::ROLE, "AROA1", "deploy", have, vec![])),
        };
        let trust = |who: &str| json!({"Statement": [{"Principal": {"AWS": who}}]});
        let narrowed = update(
            json!({"description": "a", "trust_policy": trust("x"), "permissions_boundary": "arn:b"}),
            json!({"description": "b", "trust_policy": trust("y"), "permissions_boundary": null}),
        );
        let reason = protects(&narrowed, &me).unwrap();
        assert!(
            reason.ends_with("never changes its permissions_boundary, trust_policy"),
            "{reason}"
        );
        let described = update(json!({"description": "a"}), json!({"description": "b"}));
        assert_eq!(protects(&described, &me), None);
        let detach = Operation {
            action: Action::Delete,
            kind: kinds::POLICY_ATTACHMENT.into(),
            key: "role/deploy|arn:aws:iam::aws:policy/AdministratorAccess".into(),
            desired: None,
            current: None,
        };
        assert!(
            protects(&detach, &me)
                .unwrap()
                .contains("AdministratorAccess")
        );
    }

    #[test]
    fn cannot_restore_names_the_user_and_only_what_they_had() {
        let user = Record::new(
            kinds::USER,
            "AIDA1",
            "ada",
            json!({"console_password": true, "access_keys": [{"id": "AKIA1", "status": "Active"}], "mfa_devices": []}),
            vec![],
        );
        let items = cannot_restore(&user);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(
            items[0].starts_with("user ada: console password"),
            "{items:?}"
        );
        assert!(items[1].contains("AKIA1"), "{items:?}");

        let bare = Record::new(
            kinds::USER,
            "AIDA2",
            "bot",
            json!({"console_password": false, "access_keys": [], "mfa_devices": []}),
            vec![],
        );
        assert!(cannot_restore(&bare).is_empty());
        let group = Record::new(kinds::GROUP, "AGPA1", "eng", json!({}), vec![]);
        assert!(cannot_restore(&group).is_empty());
    }
}
