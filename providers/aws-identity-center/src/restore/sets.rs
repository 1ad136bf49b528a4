//! Permission sets: created with their description, session duration, relay state and tags,
//! then brought to the snapshot's policies; provisioned again to the accounts they are
//! provisioned to whenever what their roles carry changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_ssoadmin::types::{
    CustomerManagedPolicyReference, PermissionsBoundary, ProvisionTargetType, Tag,
};
use iamsnap_provider::Record;
use serde_json::Value;

use super::wait::{self, Status};
use super::{Ctx, Done, str_attr};
use crate::client::{Api, ApiError};
use crate::read::pages;
use crate::read::sets::read_parts;
use crate::records::{self, document_text};

/// The live ARN of the permission set named `name`.
pub(crate) async fn arn_of(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>, ApiError> {
    let mut sets = ctx.state.sets.lock().await;
    if sets.is_none() {
        let sso = &ctx.clients.sso;
        let instance = ctx.instance.arn.as_str();
        let arns = pages!(
            sso.list_permission_sets().instance_arn(instance),
            "sso:ListPermissionSets",
            permission_sets
        )?;
        let mut names = HashMap::new();
        for arn in arns {
            let set = sso
                .describe_permission_set()
                .instance_arn(instance)
                .permission_set_arn(&arn)
                .send()
                .await
                .api("sso:DescribePermissionSet")?;
            if let Some(n) = set.permission_set().and_then(|s| s.name()) {
                names.insert(n.to_string(), arn);
            }
        }
        *sets = Some(names);
    }
    Ok(sets.as_ref().and_then(|s| s.get(name).cloned()))
}

async fn remember(ctx: &Ctx<'_>, name: &str, arn: Option<String>) {
    if let Some(sets) = ctx.state.sets.lock().await.as_mut() {
        match arn {
            Some(arn) => sets.insert(name.to_string(), arn),
            None => sets.remove(name),
        };
    }
}

fn tags_of(attrs: &Value) -> BTreeMap<String, String> {
    attrs["Tags"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn references(value: &Value) -> BTreeSet<(String, String)> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["Name"].as_str().unwrap_or_default().to_string(),
                        r["Path"].as_str().unwrap_or("/").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn reference(name: &str, path: &str) -> Result<CustomerManagedPolicyReference, ApiError> {
    CustomerManagedPolicyReference::builder()
        .name(name)
        .path(path)
        .build()
        .map_err(|e| ApiError::local("sso:CustomerManagedPolicyReference", e.to_string()))
}

fn boundary(value: &Value) -> Result<Option<PermissionsBoundary>, ApiError> {
    if !value.is_object() {
        return Ok(None);
    }
    let mut b = PermissionsBoundary::builder();
    if let Some(arn) = value["ManagedPolicyArn"].as_str() {
        b = b.managed_policy_arn(arn);
    }
    let r = &value["CustomerManagedPolicyReference"];
    if let Some(name) = r["Name"].as_str() {
        b = b
            .customer_managed_policy_reference(reference(name, r["Path"].as_str().unwrap_or("/"))?);
    }
    Ok(Some(b.build()))
}

/// Creates the permission set if it is missing and brings it to `desired`.
pub(crate) async fn converge(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let sso = &ctx.clients.sso;
    let instance = ctx.instance.arn.as_str();
    let name = desired.key.as_str();
    let want = &desired.attrs;
    let (arn, live, created) = match arn_of(ctx, name).await? {
        Some(arn) => {
            let parts = read_parts(ctx.clients, instance, &arn).await?;
            (arn, records::permission_set(&parts).attrs, false)
        }
        None => {
            let mut create = sso
                .create_permission_set()
                .instance_arn(instance)
                .name(name)
                .set_description(str_attr(desired, "Description").map(str::to_string))
                .set_session_duration(str_attr(desired, "SessionDuration").map(str::to_string))
                .set_relay_state(str_attr(desired, "RelayState").map(str::to_string));
            for (k, v) in tags_of(want) {
                create = create.tags(tag(&k, &v)?);
            }
            let out = create.send().await.api("sso:CreatePermissionSet")?;
            let arn = out
                .permission_set()
                .and_then(|s| s.permission_set_arn())
                .ok_or_else(|| {
                    ApiError::local(
                        "sso:CreatePermissionSet",
                        "the answer has no PermissionSetArn",
                    )
                })?
                .to_string();
            remember(ctx, name, Some(arn.clone())).await;
            let mut live = serde_json::json!({});
            for field in ["Description", "SessionDuration", "RelayState", "Tags"] {
                live[field] = want[field].clone();
            }
            (arn, live, true)
        }
    };

    let mut changed = created;
    let mut reprovision = false;
    let fields = ["Description", "SessionDuration", "RelayState"];
    if fields.iter().any(|f| want.get(*f) != live.get(*f)) {
        sso.update_permission_set()
            .instance_arn(instance)
            .permission_set_arn(&arn)
            .set_description(str_attr(desired, "Description").map(str::to_string))
            .set_session_duration(str_attr(desired, "SessionDuration").map(str::to_string))
            .set_relay_state(str_attr(desired, "RelayState").map(str::to_string))
            .send()
            .await
            .api("sso:UpdatePermissionSet")?;
        changed = true;
        reprovision = true;
    }
    changed |= converge_tags(ctx, &arn, &tags_of(want), &tags_of(&live)).await?;
    let policies = converge_policies(ctx, &arn, want, &live).await?;
    changed |= policies;
    reprovision |= policies;
    if reprovision && !created {
        provision(ctx, &arn).await?;
    }
    Ok(Done::changed_if(changed, arn))
}

fn tag(key: &str, value: &str) -> Result<Tag, ApiError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| ApiError::local("sso:TagResource", e.to_string()))
}

async fn converge_tags(
    ctx: &Ctx<'_>,
    arn: &str,
    want: &BTreeMap<String, String>,
    have: &BTreeMap<String, String>,
) -> Result<bool, ApiError> {
    let sso = &ctx.clients.sso;
    let instance = ctx.instance.arn.as_str();
    let stale: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
    if !stale.is_empty() {
        let mut call = sso
            .untag_resource()
            .instance_arn(instance)
            .resource_arn(arn);
        for k in &stale {
            call = call.tag_keys(k.as_str());
        }
        call.send().await.api("sso:UntagResource")?;
    }
    let missing: Vec<(&String, &String)> = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .collect();
    if !missing.is_empty() {
        let mut call = sso.tag_resource().instance_arn(instance).resource_arn(arn);
        for (k, v) in &missing {
            call = call.tags(tag(k, v)?);
        }
        call.send().await.api("sso:TagResource")?;
    }
    Ok(!stale.is_empty() || !missing.is_empty())
}

/// Managed policies, customer managed policy references, the inline policy and the
/// permissions boundary; true when one changed.
async fn converge_policies(
    ctx: &Ctx<'_>,
    arn: &str,
    want: &Value,
    have: &Value,
) -> Result<bool, ApiError> {
    let sso = &ctx.clients.sso;
    let instance = ctx.instance.arn.as_str();
    let mut changed = false;
    let (want_managed, have_managed) = (
        strings(&want["ManagedPolicies"]),
        strings(&have["ManagedPolicies"]),
    );
    for policy in have_managed.difference(&want_managed) {
        sso.detach_managed_policy_from_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .managed_policy_arn(policy)
            .send()
            .await
            .api("sso:DetachManagedPolicyFromPermissionSet")?;
        changed = true;
    }
    for policy in want_managed.difference(&have_managed) {
        sso.attach_managed_policy_to_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .managed_policy_arn(policy)
            .send()
            .await
            .api("sso:AttachManagedPolicyToPermissionSet")?;
        changed = true;
    }
    let key = "CustomerManagedPolicyReferences";
    let (want_refs, have_refs) = (references(&want[key]), references(&have[key]));
    for (name, path) in have_refs.difference(&want_refs) {
        sso.detach_customer_managed_policy_reference_from_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .customer_managed_policy_reference(reference(name, path)?)
            .send()
            .await
            .api("sso:DetachCustomerManagedPolicyReferenceFromPermissionSet")?;
        changed = true;
    }
    for (name, path) in want_refs.difference(&have_refs) {
        sso.attach_customer_managed_policy_reference_to_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .customer_managed_policy_reference(reference(name, path)?)
            .send()
            .await
            .api("sso:AttachCustomerManagedPolicyReferenceToPermissionSet")?;
        changed = true;
    }
    match (want.get("InlinePolicy"), have.get("InlinePolicy")) {
        (Some(w), h) if Some(w) != h => {
            sso.put_inline_policy_to_permission_set()
                .instance_arn(instance)
                .permission_set_arn(arn)
                .inline_policy(document_text(w))
                .send()
                .await
                .api("sso:PutInlinePolicyToPermissionSet")?;
            changed = true;
        }
        (None, Some(_)) => {
            sso.delete_inline_policy_from_permission_set()
                .instance_arn(instance)
                .permission_set_arn(arn)
                .send()
                .await
                .api("sso:DeleteInlinePolicyFromPermissionSet")?;
            changed = true;
        }
        _ => {}
    }
    let (want_b, have_b) = (&want["PermissionsBoundary"], &have["PermissionsBoundary"]);
    if want_b != have_b {
        match boundary(want_b)? {
            Some(b) => {
                sso.put_permissions_boundary_to_permission_set()
                    .instance_arn(instance)
                    .permission_set_arn(arn)
                    .permissions_boundary(b)
                    .send()
                    .await
                    .api("sso:PutPermissionsBoundaryToPermissionSet")?;
            }
            None => {
                sso.delete_permissions_boundary_from_permission_set()
                    .instance_arn(instance)
                    .permission_set_arn(arn)
                    .send()
                    .await
                    .api("sso:DeletePermissionsBoundaryFromPermissionSet")?;
            }
        }
        changed = true;
    }
    Ok(changed)
}

/// Provisions the permission set again to every account it is provisioned to, so that the
/// roles in those accounts carry what changed, and waits until that is done. A permission set
/// provisioned nowhere has nothing to update.
async fn provision(ctx: &Ctx<'_>, arn: &str) -> Result<(), ApiError> {
    let sso = &ctx.clients.sso;
    let instance = ctx.instance.arn.as_str();
    let accounts = pages!(
        sso.list_accounts_for_provisioned_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn),
        "sso:ListAccountsForProvisionedPermissionSet",
        account_ids
    )?;
    if accounts.is_empty() {
        return Ok(());
    }
    let out = sso
        .provision_permission_set()
        .instance_arn(instance)
        .permission_set_arn(arn)
        .target_type(ProvisionTargetType::AllProvisionedAccounts)
        .send()
        .await
        .api("sso:ProvisionPermissionSet")?;
    let status = out.permission_set_provisioning_status;
    let request = status.as_ref().and_then(|s| s.request_id.clone());
    let first = Status {
        status: status.as_ref().and_then(|s| s.status.clone()),
        failure: status.and_then(|s| s.failure_reason),
    };
    wait::until_done(
        "sso:DescribePermissionSetProvisioningStatus",
        first,
        || async {
            let out = sso
                .describe_permission_set_provisioning_status()
                .instance_arn(instance)
                .set_provision_permission_set_request_id(request.clone())
                .send()
                .await
                .api("sso:DescribePermissionSetProvisioningStatus")?;
            let s = out.permission_set_provisioning_status;
            Ok(Status {
                status: s.as_ref().and_then(|s| s.status.clone()),
                failure: s.and_then(|s| s.failure_reason),
            })
        },
    )
    .await
}

/// Deletes the permission set named `name` (its assignments are deleted before it).
pub(crate) async fn delete(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let Some(arn) = arn_of(ctx, name).await? else {
        return Err(ApiError {
            code: Some("ResourceNotFoundException".into()),
            ..ApiError::local(
                "sso:DeletePermissionSet",
                format!("no permission set {name}"),
            )
        });
    };
    ctx.clients
        .sso
        .delete_permission_set()
        .instance_arn(&ctx.instance.arn)
        .permission_set_arn(&arn)
        .send()
        .await
        .api("sso:DeletePermissionSet")?;
    remember(ctx, name, None).await;
    Ok(())
}
