//! Restore: one [`Operation`] at a time, idempotent. A create of an object that exists already
//! converges it to the snapshot instead, and reports [`Outcome::AlreadyDone`] when nothing had
//! to change.

mod principals;
mod tags;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::Client;
use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use serde_json::Value;

use crate::client::{Api, ApiError, Page, all_pages};
use crate::kinds::{self, Principal, document_text, parse_document, tags_of};
pub(crate) use principals::Caller;
use principals::prepare_trust;
use tags::{converge_tags, tag_list};

/// Reads every page of an IAM listing whose output has `IsTruncated`/`Marker`.
macro_rules! paged {
    ($op:literal, $request:expr, $items:ident) => {
        all_pages($op, |marker| {
            let request = $request.set_marker(marker);
            async move {
                let out = request.send().await.api($op)?;
                Ok(Page {
                    items: out.$items().to_vec(),
                    is_truncated: out.is_truncated(),
                    marker: out.marker().map(str::to_string),
                })
            }
        })
    };
}
pub(crate) use paged;

/// What one provider remembers between operations of a restore.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Trust policies saved without principals that did not exist yet, by role name: saved
    /// again in full once those users and roles are created.
    deferred_trust: tokio::sync::Mutex<BTreeMap<String, Deferred>>,
    /// ARNs of live users and roles by unique id, to rewrite unique-id principals.
    arns: tokio::sync::Mutex<BTreeMap<String, String>>,
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
                kinds::POLICY => converge_policy(ctx, desired).await.map_err(api)?,
                kinds::GROUP => converge_group(ctx, desired).await.map_err(api)?,
                kinds::USER => converge_user(ctx, desired).await.map_err(api)?,
                kinds::GROUP_MEMBERSHIP => add_membership(ctx, desired).await.map_err(api)?,
                kinds::ROLE => converge_role(ctx, desired).await?,
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

fn str_attr<'a>(record: &'a Record, name: &str) -> &'a str {
    record.attrs[name].as_str().unwrap_or_default()
}

fn opt_attr<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    record.attrs[name].as_str()
}

fn path_of(record: &Record) -> &str {
    opt_attr(record, "path").unwrap_or("/")
}

// ---- customer-managed policies -------------------------------------------------------------

async fn converge_policy(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let name = &desired.key;
    let versions: Vec<(String, bool)> = desired.attrs["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    (
                        document_text(&v["document"]),
                        v["default"].as_bool() == Some(true),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let default_doc = versions
        .iter()
        .find(|(_, default)| *default)
        .or(versions.last())
        .map(|(doc, _)| doc.clone())
        .ok_or_else(|| {
            ApiError::local("CreatePolicy", "the snapshot has no version of this policy")
        })?;
    let created = ctx
        .client
        .create_policy()
        .policy_name(name)
        .path(path_of(desired))
        .set_description(opt_attr(desired, "description").map(str::to_string))
        .policy_document(&default_doc)
        .set_tags(tag_list(&tags_of(&desired.attrs)))
        .send()
        .await
        .api("CreatePolicy");
    let arn = ctx.caller.arn("policy", path_of(desired), name);
    match created {
        Ok(out) => {
            let id = out
                .policy()
                .and_then(|p| p.policy_id())
                .unwrap_or_default()
                .to_string();
            for (doc, default) in &versions {
                if *default || *doc == default_doc {
                    continue;
                }
                ctx.client
                    .create_policy_version()
                    .policy_arn(&arn)
                    .policy_document(doc)
                    .set_as_default(false)
                    .send()
                    .await
                    .api("CreatePolicyVersion")?;
            }
            Ok(Done::Changed(id))
        }
        Err(e) if e.is("EntityAlreadyExists") => {
            let live = ctx
                .client
                .get_policy()
                .policy_arn(&arn)
                .send()
                .await
                .api("GetPolicy")?;
            let id = live
                .policy()
                .and_then(|p| p.policy_id())
                .unwrap_or_default()
                .to_string();
            let mut changed = converge_versions(ctx, &arn, &versions).await?;
            let live_tags = paged!(
                "ListPolicyTags",
                ctx.client.list_policy_tags().policy_arn(&arn),
                tags
            )
            .await?;
            changed |= converge_tags(
                &live_tags,
                &desired.attrs,
                |add| async {
                    ctx.client
                        .tag_policy()
                        .policy_arn(&arn)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagPolicy")
                        .map(drop)
                },
                |remove| async {
                    ctx.client
                        .untag_policy()
                        .policy_arn(&arn)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagPolicy")
                        .map(drop)
                },
            )
            .await?;
            if live
                .policy()
                .and_then(|p| p.description())
                .unwrap_or_default()
                != opt_attr(desired, "description").unwrap_or_default()
            {
                tracing::warn!(policy = %name, "IAM cannot change a policy's description in place; it differs from the snapshot");
            }
            Ok(Done::changed_if(changed, id))
        }
        Err(e) => Err(e),
    }
}

/// Makes the policy's versions the desired set of documents with the desired default, within
/// IAM's limit of five versions: extra versions go first, the default is set before the old
/// default is removed.
async fn converge_versions(
    ctx: &Ctx<'_>,
    arn: &str,
    desired: &[(String, bool)],
) -> Result<bool, ApiError> {
    let listed = paged!(
        "ListPolicyVersions",
        ctx.client.list_policy_versions().policy_arn(arn),
        versions
    )
    .await?;
    let mut live: Vec<(String, String, bool)> = Vec::new();
    for v in listed {
        let id = v.version_id().unwrap_or_default().to_string();
        let out = ctx
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&id)
            .send()
            .await
            .api("GetPolicyVersion")?;
        let text = out
            .policy_version()
            .and_then(|p| p.document())
            .unwrap_or_default();
        let doc = parse_document(text).map_err(|m| ApiError::local("GetPolicyVersion", &m))?;
        live.push((id, document_text(&doc), v.is_default_version()));
    }
    // Pair live versions with desired ones by content; what stays unpaired is extra or missing.
    let mut missing: Vec<(String, bool)> = Vec::new();
    let mut matched: BTreeMap<String, bool> = BTreeMap::new();
    for (doc, default) in desired {
        match live
            .iter()
            .find(|(id, d, _)| d == doc && !matched.contains_key(id))
        {
            Some((id, _, _)) => {
                matched.insert(id.clone(), *default);
            }
            None => missing.push((doc.clone(), *default)),
        }
    }
    let mut changed = false;
    let mut count = live.len();
    for (id, _, is_default) in &live {
        if !matched.contains_key(id) && !is_default {
            delete_version(ctx, arn, id).await?;
            count -= 1;
            changed = true;
        }
    }
    let old_default = live
        .iter()
        .find(|(_, _, d)| *d)
        .map(|(id, _, _)| id.clone());
    let old_default_extra = old_default
        .as_ref()
        .is_some_and(|id| !matched.contains_key(id));
    if let Some((id, _)) = matched.iter().find(|(_, want_default)| **want_default) {
        if old_default.as_deref() != Some(id.as_str()) {
            set_default(ctx, arn, id).await?;
            changed = true;
        }
    } else if let Some((doc, _)) = missing.iter().find(|(_, d)| *d) {
        if count >= 5 {
            // No room for the new default while the old one must stay default: park the
            // default on a version that is kept, so the old one can go first.
            if let (Some(keep), Some(old)) = (matched.keys().next(), old_default.as_ref()) {
                set_default(ctx, arn, keep).await?;
                delete_version(ctx, arn, old).await?;
                count -= 1;
            }
        }
        create_version(ctx, arn, doc, true).await?;
        count += 1;
        changed = true;
    }
    if old_default_extra && count > desired.len() {
        if let Some(old) = &old_default {
            match delete_version(ctx, arn, old).await {
                Err(e) if e.is("NoSuchEntity") => {}
                other => other?,
            }
        }
    }
    for (doc, default) in &missing {
        if !default {
            create_version(ctx, arn, doc, false).await?;
            changed = true;
        }
    }
    Ok(changed)
}

async fn create_version(
    ctx: &Ctx<'_>,
    arn: &str,
    doc: &str,
    default: bool,
) -> Result<(), ApiError> {
    ctx.client
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(doc)
        .set_as_default(default)
        .send()
        .await
        .api("CreatePolicyVersion")
        .map(drop)
}

async fn delete_version(ctx: &Ctx<'_>, arn: &str, id: &str) -> Result<(), ApiError> {
    ctx.client
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(id)
        .send()
        .await
        .api("DeletePolicyVersion")
        .map(drop)
}

async fn set_default(ctx: &Ctx<'_>, arn: &str, id: &str) -> Result<(), ApiError> {
    ctx.client
        .set_default_policy_version()
        .policy_arn(arn)
        .version_id(id)
        .send()
        .await
        .api("SetDefaultPolicyVersion")
        .map(drop)
}

async fn delete_policy(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let arn = find_policy_arn(ctx, name).await?;
    let c = ctx.client;
    let users = paged!(
        "ListEntitiesForPolicy",
        c.list_entities_for_policy().policy_arn(&arn),
        policy_users
    )
    .await?;
    for u in users {
        c.detach_user_policy()
            .user_name(u.user_name().unwrap_or_default())
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachUserPolicy")?;
    }
    let groups = paged!(
        "ListEntitiesForPolicy",
        c.list_entities_for_policy().policy_arn(&arn),
        policy_groups
    )
    .await?;
    for g in groups {
        c.detach_group_policy()
            .group_name(g.group_name().unwrap_or_default())
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachGroupPolicy")?;
    }
    let roles = paged!(
        "ListEntitiesForPolicy",
        c.list_entities_for_policy().policy_arn(&arn),
        policy_roles
    )
    .await?;
    for r in roles {
        c.detach_role_policy()
            .role_name(r.role_name().unwrap_or_default())
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachRolePolicy")?;
    }
    for v in paged!(
        "ListPolicyVersions",
        c.list_policy_versions().policy_arn(&arn),
        versions
    )
    .await?
    {
        if !v.is_default_version() {
            delete_version(ctx, &arn, v.version_id().unwrap_or_default()).await?;
        }
    }
    c.delete_policy()
        .policy_arn(&arn)
        .send()
        .await
        .api("DeletePolicy")
        .map(drop)
}

/// The ARN of the customer-managed policy named `name`, whatever its path.
async fn find_policy_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, ApiError> {
    let policies = paged!(
        "ListPolicies",
        ctx.client
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local),
        policies
    )
    .await?;
    policies
        .iter()
        .find(|p| p.policy_name() == Some(name))
        .and_then(|p| p.arn())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::no_such_entity(
                "ListPolicies",
                &format!("no customer-managed policy named {name}"),
            )
        })
}

// ---- groups and users ------------------------------------------------------------------------

async fn converge_group(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let name = &desired.key;
    let path = path_of(desired);
    match ctx
        .client
        .create_group()
        .group_name(name)
        .path(path)
        .send()
        .await
        .api("CreateGroup")
    {
        Ok(out) => Ok(Done::Changed(
            out.group()
                .map(|g| g.group_id().to_string())
                .unwrap_or_default(),
        )),
        Err(e) if e.is("EntityAlreadyExists") => {
            let live = ctx
                .client
                .get_group()
                .group_name(name)
                .send()
                .await
                .api("GetGroup")?;
            let group = live
                .group()
                .ok_or_else(|| ApiError::local("GetGroup", "the answer has no Group"))?;
            let changed = group.path() != path;
            if changed {
                ctx.client
                    .update_group()
                    .group_name(name)
                    .new_path(path)
                    .send()
                    .await
                    .api("UpdateGroup")?;
            }
            Ok(Done::changed_if(changed, group.group_id().to_string()))
        }
        Err(e) => Err(e),
    }
}

async fn converge_user(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let name = &desired.key;
    let path = path_of(desired);
    let boundary = opt_attr(desired, "permissions_boundary");
    let created = ctx
        .client
        .create_user()
        .user_name(name)
        .path(path)
        .set_permissions_boundary(boundary.map(str::to_string))
        .set_tags(tag_list(&tags_of(&desired.attrs)))
        .send()
        .await
        .api("CreateUser");
    match created {
        Ok(out) => {
            let user = out
                .user()
                .ok_or_else(|| ApiError::local("CreateUser", "the answer has no User"))?;
            ctx.state
                .arns
                .lock()
                .await
                .insert(user.user_id().to_string(), user.arn().to_string());
            Ok(Done::Changed(user.user_id().to_string()))
        }
        Err(e) if e.is("EntityAlreadyExists") => {
            let live = ctx
                .client
                .get_user()
                .user_name(name)
                .send()
                .await
                .api("GetUser")?;
            let user = live
                .user()
                .ok_or_else(|| ApiError::local("GetUser", "the answer has no User"))?;
            let mut changed = false;
            if user.path() != path {
                ctx.client
                    .update_user()
                    .user_name(name)
                    .new_path(path)
                    .send()
                    .await
                    .api("UpdateUser")?;
                changed = true;
            }
            let live_boundary = user
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn());
            if live_boundary != boundary {
                changed = true;
                match boundary {
                    Some(arn) => ctx
                        .client
                        .put_user_permissions_boundary()
                        .user_name(name)
                        .permissions_boundary(arn)
                        .send()
                        .await
                        .api("PutUserPermissionsBoundary")
                        .map(drop)?,
                    None => ctx
                        .client
                        .delete_user_permissions_boundary()
                        .user_name(name)
                        .send()
                        .await
                        .api("DeleteUserPermissionsBoundary")
                        .map(drop)?,
                }
            }
            let live_tags = paged!(
                "ListUserTags",
                ctx.client.list_user_tags().user_name(name),
                tags
            )
            .await?;
            changed |= converge_tags(
                &live_tags,
                &desired.attrs,
                |add| async {
                    ctx.client
                        .tag_user()
                        .user_name(name)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagUser")
                        .map(drop)
                },
                |remove| async {
                    ctx.client
                        .untag_user()
                        .user_name(name)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagUser")
                        .map(drop)
                },
            )
            .await?;
            Ok(Done::changed_if(changed, user.user_id().to_string()))
        }
        Err(e) => Err(e),
    }
}

/// Deletes a user with everything IAM requires gone first: console password, access keys, MFA
/// devices, signing certificates, SSH keys, service credentials, groups and policies.
async fn delete_user(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    match c
        .delete_login_profile()
        .user_name(name)
        .send()
        .await
        .api("DeleteLoginProfile")
    {
        Err(e) if !e.is("NoSuchEntity") => return Err(e),
        _ => {}
    }
    for key in paged!(
        "ListAccessKeys",
        c.list_access_keys().user_name(name),
        access_key_metadata
    )
    .await?
    {
        c.delete_access_key()
            .user_name(name)
            .access_key_id(key.access_key_id().unwrap_or_default())
            .send()
            .await
            .api("DeleteAccessKey")?;
    }
    for device in paged!(
        "ListMFADevices",
        c.list_mfa_devices().user_name(name),
        mfa_devices
    )
    .await?
    {
        c.deactivate_mfa_device()
            .user_name(name)
            .serial_number(device.serial_number())
            .send()
            .await
            .api("DeactivateMFADevice")?;
    }
    for cert in paged!(
        "ListSigningCertificates",
        c.list_signing_certificates().user_name(name),
        certificates
    )
    .await?
    {
        c.delete_signing_certificate()
            .user_name(name)
            .certificate_id(cert.certificate_id())
            .send()
            .await
            .api("DeleteSigningCertificate")?;
    }
    for key in paged!(
        "ListSSHPublicKeys",
        c.list_ssh_public_keys().user_name(name),
        ssh_public_keys
    )
    .await?
    {
        c.delete_ssh_public_key()
            .user_name(name)
            .ssh_public_key_id(key.ssh_public_key_id())
            .send()
            .await
            .api("DeleteSSHPublicKey")?;
    }
    for group in paged!(
        "ListGroupsForUser",
        c.list_groups_for_user().user_name(name),
        groups
    )
    .await?
    {
        c.remove_user_from_group()
            .user_name(name)
            .group_name(group.group_name())
            .send()
            .await
            .api("RemoveUserFromGroup")?;
    }
    for policy in paged!(
        "ListAttachedUserPolicies",
        c.list_attached_user_policies().user_name(name),
        attached_policies
    )
    .await?
    {
        c.detach_user_policy()
            .user_name(name)
            .policy_arn(policy.policy_arn().unwrap_or_default())
            .send()
            .await
            .api("DetachUserPolicy")?;
    }
    for policy in paged!(
        "ListUserPolicies",
        c.list_user_policies().user_name(name),
        policy_names
    )
    .await?
    {
        c.delete_user_policy()
            .user_name(name)
            .policy_name(policy)
            .send()
            .await
            .api("DeleteUserPolicy")?;
    }
    c.delete_user()
        .user_name(name)
        .send()
        .await
        .api("DeleteUser")
        .map(drop)
}

async fn delete_group(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    for user in paged!("GetGroup", c.get_group().group_name(name), users).await? {
        c.remove_user_from_group()
            .group_name(name)
            .user_name(user.user_name())
            .send()
            .await
            .api("RemoveUserFromGroup")?;
    }
    for policy in paged!(
        "ListAttachedGroupPolicies",
        c.list_attached_group_policies().group_name(name),
        attached_policies
    )
    .await?
    {
        c.detach_group_policy()
            .group_name(name)
            .policy_arn(policy.policy_arn().unwrap_or_default())
            .send()
            .await
            .api("DetachGroupPolicy")?;
    }
    for policy in paged!(
        "ListGroupPolicies",
        c.list_group_policies().group_name(name),
        policy_names
    )
    .await?
    {
        c.delete_group_policy()
            .group_name(name)
            .policy_name(policy)
            .send()
            .await
            .api("DeleteGroupPolicy")?;
    }
    c.delete_group()
        .group_name(name)
        .send()
        .await
        .api("DeleteGroup")
        .map(drop)
}

// ---- memberships -----------------------------------------------------------------------------

fn membership_key(key: &str) -> Result<(&str, &str), ApiError> {
    key.split_once('|')
        .ok_or_else(|| ApiError::local("AddUserToGroup", "malformed key: expected GROUP|USER"))
}

async fn add_membership(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let (group, user) = membership_key(&desired.key)?;
    let id = relation_id(ctx, desired, &["group", "member"]);
    let groups = paged!(
        "ListGroupsForUser",
        ctx.client.list_groups_for_user().user_name(user),
        groups
    )
    .await?;
    if groups.iter().any(|g| g.group_name() == group) {
        return Ok(Done::Unchanged(id));
    }
    ctx.client
        .add_user_to_group()
        .group_name(group)
        .user_name(user)
        .send()
        .await
        .api("AddUserToGroup")?;
    Ok(Done::Changed(id))
}

async fn remove_membership(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
    let (group, user) = membership_key(key)?;
    ctx.client
        .remove_user_from_group()
        .group_name(group)
        .user_name(user)
        .send()
        .await
        .api("RemoveUserFromGroup")
        .map(drop)
}

/// The live id of a relationship: its ends' live ids (mapped when they were re-created),
/// joined as in the snapshot.
fn relation_id(ctx: &Ctx<'_>, record: &Record, rels: &[&str]) -> String {
    let parts: Vec<String> = record.id.split('|').map(str::to_string).collect();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let mapped = rels
            .get(i)
            .and_then(|rel| record.target(rel))
            .and_then(|r| ctx.ids.live_id(&r.kind, &r.id));
        out.push(mapped.unwrap_or_else(|| part.clone()));
    }
    out.join("|")
}

// ---- roles -----------------------------------------------------------------------------------

async fn converge_role(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ProviderError> {
    let name = desired.key.clone();
    let subject = format!("{} {name}", kinds::ROLE);
    let api = |e: ApiError| e.context(&subject);
    let path = path_of(desired);
    let trust = prepare_trust(ctx, &name, &desired.attrs["trust_policy"])
        .await
        .map_err(api)?;
    let description = opt_attr(desired, "description");
    let max_session = desired.attrs["max_session_duration"]
        .as_i64()
        .map(|n| n as i32);
    let boundary = opt_attr(desired, "permissions_boundary");
    let created = ctx
        .client
        .create_role()
        .role_name(&name)
        .path(path)
        .assume_role_policy_document(document_text(&trust))
        .set_description(description.map(str::to_string))
        .set_max_session_duration(max_session)
        .set_permissions_boundary(boundary.map(str::to_string))
        .set_tags(tag_list(&tags_of(&desired.attrs)))
        .send()
        .await
        .api("CreateRole");
    match created {
        Ok(out) => {
            let role = out
                .role()
                .ok_or_else(|| api(ApiError::local("CreateRole", "the answer has no Role")))?;
            ctx.state
                .arns
                .lock()
                .await
                .insert(role.role_id().to_string(), role.arn().to_string());
            Ok(Done::Changed(role.role_id().to_string()))
        }
        Err(e) if e.is("EntityAlreadyExists") => {
            update_role(ctx, desired, &trust).await.map_err(api)
        }
        Err(e) => Err(api(e)),
    }
}

async fn update_role(ctx: &Ctx<'_>, desired: &Record, trust: &Value) -> Result<Done, ApiError> {
    let name = &desired.key;
    let c = ctx.client;
    let live = c.get_role().role_name(name).send().await.api("GetRole")?;
    let role = live
        .role()
        .ok_or_else(|| ApiError::local("GetRole", "the answer has no Role"))?;
    if role.path() != path_of(desired) {
        return Err(ApiError::local(
            "GetRole",
            &format!(
                "the live role has path {} but the snapshot has {}; IAM cannot move a role, delete it and restore again",
                role.path(),
                path_of(desired)
            ),
        ));
    }
    let mut changed = false;
    let live_trust = parse_document(role.assume_role_policy_document().unwrap_or_default())
        .map_err(|m| ApiError::local("GetRole", &m))?;
    if iamsnap_provider::canonical::normalize(live_trust)
        != iamsnap_provider::canonical::normalize(trust.clone())
    {
        c.update_assume_role_policy()
            .role_name(name)
            .policy_document(document_text(trust))
            .send()
            .await
            .api("UpdateAssumeRolePolicy")?;
        changed = true;
    }
    let description = opt_attr(desired, "description");
    let max_session = desired.attrs["max_session_duration"]
        .as_i64()
        .map(|n| n as i32);
    if role.description().filter(|d| !d.is_empty()) != description
        || role.max_session_duration() != max_session
    {
        c.update_role()
            .role_name(name)
            .description(description.unwrap_or_default())
            .set_max_session_duration(max_session)
            .send()
            .await
            .api("UpdateRole")?;
        changed = true;
    }
    let boundary = opt_attr(desired, "permissions_boundary");
    if role
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        != boundary
    {
        match boundary {
            Some(arn) => c
                .put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(arn)
                .send()
                .await
                .api("PutRolePermissionsBoundary")
                .map(drop)?,
            None => c
                .delete_role_permissions_boundary()
                .role_name(name)
                .send()
                .await
                .api("DeleteRolePermissionsBoundary")
                .map(drop)?,
        }
        changed = true;
    }
    changed |= converge_tags(
        role.tags(),
        &desired.attrs,
        |add| async {
            c.tag_role()
                .role_name(name)
                .set_tags(Some(add))
                .send()
                .await
                .api("TagRole")
                .map(drop)
        },
        |remove| async {
            c.untag_role()
                .role_name(name)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .api("UntagRole")
                .map(drop)
        },
    )
    .await?;
    Ok(Done::changed_if(changed, role.role_id().to_string()))
}

async fn delete_role(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    for profile in paged!(
        "ListInstanceProfilesForRole",
        c.list_instance_profiles_for_role().role_name(name),
        instance_profiles
    )
    .await?
    {
        c.remove_role_from_instance_profile()
            .instance_profile_name(profile.instance_profile_name())
            .role_name(name)
            .send()
            .await
            .api("RemoveRoleFromInstanceProfile")?;
    }
    for policy in paged!(
        "ListAttachedRolePolicies",
        c.list_attached_role_policies().role_name(name),
        attached_policies
    )
    .await?
    {
        c.detach_role_policy()
            .role_name(name)
            .policy_arn(policy.policy_arn().unwrap_or_default())
            .send()
            .await
            .api("DetachRolePolicy")?;
    }
    for policy in paged!(
        "ListRolePolicies",
        c.list_role_policies().role_name(name),
        policy_names
    )
    .await?
    {
        c.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .api("DeleteRolePolicy")?;
    }
    c.delete_role()
        .role_name(name)
        .send()
        .await
        .api("DeleteRole")
        .map(drop)
}

// ---- managed-policy attachments and inline policies ------------------------------------------

async fn attach(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let (principal, name, arn) = relation(desired)?;
    let id = relation_id(ctx, desired, &["principal"]);
    let c = ctx.client;
    let attached = match principal {
        Principal::User => {
            paged!(
                "ListAttachedUserPolicies",
                c.list_attached_user_policies().user_name(&name),
                attached_policies
            )
            .await?
        }
        Principal::Group => {
            paged!(
                "ListAttachedGroupPolicies",
                c.list_attached_group_policies().group_name(&name),
                attached_policies
            )
            .await?
        }
        Principal::Role => {
            paged!(
                "ListAttachedRolePolicies",
                c.list_attached_role_policies().role_name(&name),
                attached_policies
            )
            .await?
        }
    };
    if attached
        .iter()
        .any(|p| p.policy_arn() == Some(arn.as_str()))
    {
        return Ok(Done::Unchanged(id));
    }
    match principal {
        Principal::User => c
            .attach_user_policy()
            .user_name(&name)
            .policy_arn(&arn)
            .send()
            .await
            .api("AttachUserPolicy")
            .map(drop)?,
        Principal::Group => c
            .attach_group_policy()
            .group_name(&name)
            .policy_arn(&arn)
            .send()
            .await
            .api("AttachGroupPolicy")
            .map(drop)?,
        Principal::Role => c
            .attach_role_policy()
            .role_name(&name)
            .policy_arn(&arn)
            .send()
            .await
            .api("AttachRolePolicy")
            .map(drop)?,
    }
    Ok(Done::Changed(id))
}

async fn detach(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
    let (principal, name, arn) = kinds::parse_relation_key(kinds::POLICY_ATTACHMENT, key)
        .map_err(|e| ApiError::local("DetachPolicy", &e.to_string()))?;
    let c = ctx.client;
    match principal {
        Principal::User => c
            .detach_user_policy()
            .user_name(&name)
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachUserPolicy")
            .map(drop),
        Principal::Group => c
            .detach_group_policy()
            .group_name(&name)
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachGroupPolicy")
            .map(drop),
        Principal::Role => c
            .detach_role_policy()
            .role_name(&name)
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachRolePolicy")
            .map(drop),
    }
}

fn relation(record: &Record) -> Result<(Principal, String, String), ApiError> {
    kinds::parse_relation_key(&record.kind, &record.key)
        .map_err(|e| ApiError::local("restore", &e.to_string()))
}

async fn put_inline(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ProviderError> {
    let subject = format!("{} {}", desired.kind, desired.key);
    let api = |e: ApiError| e.context(&subject);
    let (principal, name, policy) = relation(desired).map_err(api)?;
    let id = relation_id(ctx, desired, &["principal"]);
    let doc = &desired.attrs["document"];
    let c = ctx.client;
    let live = match principal {
        Principal::User => c
            .get_user_policy()
            .user_name(&name)
            .policy_name(&policy)
            .send()
            .await
            .api("GetUserPolicy")
            .map(|o| o.policy_document),
        Principal::Group => c
            .get_group_policy()
            .group_name(&name)
            .policy_name(&policy)
            .send()
            .await
            .api("GetGroupPolicy")
            .map(|o| o.policy_document),
        Principal::Role => c
            .get_role_policy()
            .role_name(&name)
            .policy_name(&policy)
            .send()
            .await
            .api("GetRolePolicy")
            .map(|o| o.policy_document),
    };
    match live {
        Ok(text) => {
            let live_doc = parse_document(&text).map_err(|message| ProviderError::Decode {
                url: subject.clone(),
                message,
            })?;
            if iamsnap_provider::canonical::normalize(live_doc) == *doc {
                return Ok(Done::Unchanged(id));
            }
        }
        Err(e) if e.is("NoSuchEntity") => {}
        Err(e) => return Err(api(e)),
    }
    let text = document_text(doc);
    match principal {
        Principal::User => c
            .put_user_policy()
            .user_name(&name)
            .policy_name(&policy)
            .policy_document(text)
            .send()
            .await
            .api("PutUserPolicy")
            .map(drop),
        Principal::Group => c
            .put_group_policy()
            .group_name(&name)
            .policy_name(&policy)
            .policy_document(text)
            .send()
            .await
            .api("PutGroupPolicy")
            .map(drop),
        Principal::Role => c
            .put_role_policy()
            .role_name(&name)
            .policy_name(&policy)
            .policy_document(text)
            .send()
            .await
            .api("PutRolePolicy")
            .map(drop),
    }
    .map_err(api)?;
    Ok(Done::Changed(id))
}

async fn delete_inline(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
    let (principal, name, policy) = kinds::parse_relation_key(kinds::INLINE_POLICY, key)
        .map_err(|e| ApiError::local("DeletePolicy", &e.to_string()))?;
    let c = ctx.client;
    match principal {
        Principal::User => c
            .delete_user_policy()
            .user_name(&name)
            .policy_name(&policy)
            .send()
            .await
            .api("DeleteUserPolicy")
            .map(drop),
        Principal::Group => c
            .delete_group_policy()
            .group_name(&name)
            .policy_name(&policy)
            .send()
            .await
            .api("DeleteGroupPolicy")
            .map(drop),
        Principal::Role => c
            .delete_role_policy()
            .role_name(&name)
            .policy_name(&policy)
            .send()
            .await
            .api("DeleteRolePolicy")
            .map(drop),
    }
}

// ---- instance profiles -------------------------------------------------------------------------

async fn converge_instance_profile(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let name = &desired.key;
    let c = ctx.client;
    let created = c
        .create_instance_profile()
        .instance_profile_name(name)
        .path(path_of(desired))
        .set_tags(tag_list(&tags_of(&desired.attrs)))
        .send()
        .await
        .api("CreateInstanceProfile");
    let (id, live_roles, mut changed) = match created {
        Ok(out) => {
            let id = out
                .instance_profile()
                .map(|p| p.instance_profile_id().to_string())
                .unwrap_or_default();
            (id, Vec::new(), true)
        }
        Err(e) if e.is("EntityAlreadyExists") => {
            let out = c
                .get_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .api("GetInstanceProfile")?;
            let profile = out.instance_profile().ok_or_else(|| {
                ApiError::local("GetInstanceProfile", "the answer has no InstanceProfile")
            })?;
            let changed = converge_tags(
                profile.tags(),
                &desired.attrs,
                |add| async {
                    c.tag_instance_profile()
                        .instance_profile_name(name)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagInstanceProfile")
                        .map(drop)
                },
                |remove| async {
                    c.untag_instance_profile()
                        .instance_profile_name(name)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagInstanceProfile")
                        .map(drop)
                },
            )
            .await?;
            let roles: Vec<String> = profile
                .roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect();
            (profile.instance_profile_id().to_string(), roles, changed)
        }
        Err(e) => return Err(e),
    };
    let wanted: Vec<&str> = desired.attrs["roles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for role in &live_roles {
        if !wanted.contains(&role.as_str()) {
            c.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await
                .api("RemoveRoleFromInstanceProfile")?;
            changed = true;
        }
    }
    for role in wanted {
        if !live_roles.iter().any(|r| r == role) {
            c.add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await
                .api("AddRoleToInstanceProfile")?;
            changed = true;
        }
    }
    Ok(Done::changed_if(changed, id))
}

async fn delete_instance_profile(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    let out = c
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .api("GetInstanceProfile")?;
    for role in out
        .instance_profile()
        .map(|p| p.roles())
        .unwrap_or_default()
    {
        c.remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(role.role_name())
            .send()
            .await
            .api("RemoveRoleFromInstanceProfile")?;
    }
    c.delete_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .api("DeleteInstanceProfile")
        .map(drop)
}

// ---- identity providers ----------------------------------------------------------------------

async fn converge_saml(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let name = &desired.key;
    let metadata = str_attr(desired, "metadata_document");
    let c = ctx.client;
    let arn = ctx.caller.arn("saml-provider", "/", name);
    match c
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .api("GetSAMLProvider")
    {
        Ok(live) => {
            let mut changed = false;
            if live.saml_metadata_document().unwrap_or_default() != metadata {
                c.update_saml_provider()
                    .saml_provider_arn(&arn)
                    .saml_metadata_document(metadata)
                    .send()
                    .await
                    .api("UpdateSAMLProvider")?;
                changed = true;
            }
            changed |= converge_tags(
                live.tags(),
                &desired.attrs,
                |add| async {
                    c.tag_saml_provider()
                        .saml_provider_arn(&arn)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagSAMLProvider")
                        .map(drop)
                },
                |remove| async {
                    c.untag_saml_provider()
                        .saml_provider_arn(&arn)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagSAMLProvider")
                        .map(drop)
                },
            )
            .await?;
            Ok(Done::changed_if(changed, arn))
        }
        Err(e) if e.is("NoSuchEntity") => {
            let out = c
                .create_saml_provider()
                .name(name)
                .saml_metadata_document(metadata)
                .set_tags(tag_list(&tags_of(&desired.attrs)))
                .send()
                .await
                .api("CreateSAMLProvider")?;
            Ok(Done::Changed(
                out.saml_provider_arn().unwrap_or(&arn).to_string(),
            ))
        }
        Err(e) => Err(e),
    }
}

async fn delete_saml(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let arn = ctx.caller.arn("saml-provider", "/", name);
    ctx.client
        .delete_saml_provider()
        .saml_provider_arn(arn)
        .send()
        .await
        .api("DeleteSAMLProvider")
        .map(drop)
}

async fn converge_oidc(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let url = &desired.key;
    let strings = |name: &str| -> Vec<String> {
        desired.attrs[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (client_ids, thumbprints) = (strings("client_ids"), strings("thumbprints"));
    let c = ctx.client;
    let arn = ctx.caller.arn("oidc-provider", "/", url);
    match c
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .api("GetOpenIDConnectProvider")
    {
        Ok(live) => {
            let mut changed = false;
            let mut live_thumbs: Vec<String> = live
                .thumbprint_list()
                .iter()
                .map(|t| t.to_lowercase())
                .collect();
            live_thumbs.sort();
            if live_thumbs != thumbprints {
                c.update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(&arn)
                    .set_thumbprint_list(Some(thumbprints.clone()))
                    .send()
                    .await
                    .api("UpdateOpenIDConnectProviderThumbprint")?;
                changed = true;
            }
            for id in live.client_id_list() {
                if !client_ids.contains(id) {
                    c.remove_client_id_from_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .client_id(id)
                        .send()
                        .await
                        .api("RemoveClientIDFromOpenIDConnectProvider")?;
                    changed = true;
                }
            }
            for id in &client_ids {
                if !live.client_id_list().contains(id) {
                    c.add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .client_id(id)
                        .send()
                        .await
                        .api("AddClientIDToOpenIDConnectProvider")?;
                    changed = true;
                }
            }
            changed |= converge_tags(
                live.tags(),
                &desired.attrs,
                |add| async {
                    c.tag_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagOpenIDConnectProvider")
                        .map(drop)
                },
                |remove| async {
                    c.untag_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagOpenIDConnectProvider")
                        .map(drop)
                },
            )
            .await?;
            Ok(Done::changed_if(changed, arn))
        }
        Err(e) if e.is("NoSuchEntity") => {
            let out = c
                .create_open_id_connect_provider()
                .url(format!("https://{url}"))
                .set_client_id_list(Some(client_ids))
                .set_thumbprint_list(Some(thumbprints))
                .set_tags(tag_list(&tags_of(&desired.attrs)))
                .send()
                .await
                .api("CreateOpenIDConnectProvider")?;
            Ok(Done::Changed(
                out.open_id_connect_provider_arn()
                    .unwrap_or(&arn)
                    .to_string(),
            ))
        }
        Err(e) => Err(e),
    }
}

async fn delete_oidc(ctx: &Ctx<'_>, url: &str) -> Result<(), ApiError> {
    let arn = ctx.caller.arn("oidc-provider", "/", url);
    ctx.client
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .api("DeleteOpenIDConnectProvider")
        .map(drop)
}

// ---- account settings --------------------------------------------------------------------------

async fn converge_password_policy(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let id = kinds::PASSWORD_POLICY_KEY.to_string();
    let live = match ctx
        .client
        .get_account_password_policy()
        .send()
        .await
        .api("GetAccountPasswordPolicy")
    {
        Ok(out) => out.password_policy().cloned(),
        Err(e) if e.is("NoSuchEntity") => None,
        Err(e) => return Err(e),
    };
    let a = &desired.attrs;
    let int = |name: &str| a[name].as_i64().map(|n| n as i32);
    let flag = |name: &str| a[name].as_bool().unwrap_or(false);
    if let Some(p) = &live {
        let same = p.minimum_password_length() == int("minimum_password_length")
            && p.require_symbols() == flag("require_symbols")
            && p.require_numbers() == flag("require_numbers")
            && p.require_uppercase_characters() == flag("require_uppercase_characters")
            && p.require_lowercase_characters() == flag("require_lowercase_characters")
            && p.allow_users_to_change_password() == flag("allow_users_to_change_password")
            && p.max_password_age().filter(|n| *n > 0) == int("max_password_age")
            && p.password_reuse_prevention().filter(|n| *n > 0) == int("password_reuse_prevention")
            && p.hard_expiry().unwrap_or(false) == flag("hard_expiry");
        if same {
            return Ok(Done::Unchanged(id));
        }
    }
    ctx.client
        .update_account_password_policy()
        .set_minimum_password_length(int("minimum_password_length"))
        .require_symbols(flag("require_symbols"))
        .require_numbers(flag("require_numbers"))
        .require_uppercase_characters(flag("require_uppercase_characters"))
        .require_lowercase_characters(flag("require_lowercase_characters"))
        .allow_users_to_change_password(flag("allow_users_to_change_password"))
        .set_max_password_age(int("max_password_age"))
        .set_password_reuse_prevention(int("password_reuse_prevention"))
        .hard_expiry(flag("hard_expiry"))
        .send()
        .await
        .api("UpdateAccountPasswordPolicy")?;
    Ok(Done::Changed(id))
}

async fn delete_password_policy(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    ctx.client
        .delete_account_password_policy()
        .send()
        .await
        .api("DeleteAccountPasswordPolicy")
        .map(drop)
}

async fn create_alias(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let alias = &desired.key;
    let live = paged!(
        "ListAccountAliases",
        ctx.client.list_account_aliases(),
        account_aliases
    )
    .await?;
    if live.contains(alias) {
        return Ok(Done::Unchanged(alias.clone()));
    }
    ctx.client
        .create_account_alias()
        .account_alias(alias)
        .send()
        .await
        .api("CreateAccountAlias")?;
    Ok(Done::Changed(alias.clone()))
}

async fn delete_alias(ctx: &Ctx<'_>, alias: &str) -> Result<(), ApiError> {
    ctx.client
        .delete_account_alias()
        .account_alias(alias)
        .send()
        .await
        .api("DeleteAccountAlias")
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
