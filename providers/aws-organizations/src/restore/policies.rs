//! Policies and their attachments. A policy is found by type and name; its content is compared
//! as canonical JSON, so a re-ordered document reads as unchanged. A policy is detached from
//! every target before it is deleted, as Organizations requires.

use aws_sdk_organizations::types::PolicyType;
use iamsnap_provider::Record;

use super::lookup::{policy_id, target_id};
use super::{Ctx, Done, str_attr, tags, target_attr};
use crate::client::{Api, ApiError};
use crate::kinds::{content_text, content_value, split_policy_key};

/// Creates the policy of `desired`, or brings the live one of that type and name back to it.
pub(super) async fn converge(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let key = desired.key.as_str();
    let (policy_type, name) = split_policy_key(key)
        .ok_or_else(|| ApiError::local("CreatePolicy", &format!("malformed policy key {key}")))?;
    let content = &desired.attrs["content"];
    let description = str_attr(desired, "description");
    if let Some(id) = policy_id(ctx, key).await? {
        return update(ctx, &id, desired).await;
    }
    let created = ctx
        .client
        .create_policy()
        .name(name)
        .r#type(PolicyType::from(policy_type))
        .description(description)
        .content(content_text(content))
        .set_tags(tags::tag_list(&desired.attrs))
        .send()
        .await
        .api("CreatePolicy");
    match created {
        Ok(out) => {
            let id = out
                .policy()
                .and_then(|p| p.policy_summary())
                .and_then(|s| s.id())
                .ok_or_else(|| ApiError::local("CreatePolicy", "the answer has no policy id"))?
                .to_string();
            ctx.live.remember_policy(key, &id).await;
            Ok(Done::Changed(id))
        }
        Err(e) if e.is("DuplicatePolicyException") => {
            ctx.live.forget_policy(key).await;
            let id = policy_id(ctx, key).await?.ok_or(e)?;
            update(ctx, &id, desired).await
        }
        Err(e) => Err(e),
    }
}

async fn update(ctx: &Ctx<'_>, id: &str, desired: &Record) -> Result<Done, ApiError> {
    let live = ctx
        .client
        .describe_policy()
        .policy_id(id)
        .send()
        .await
        .api("DescribePolicy")?;
    let live = live
        .policy()
        .ok_or_else(|| ApiError::local("DescribePolicy", "the answer has no Policy"))?;
    let summary = live.policy_summary();
    if summary.is_some_and(|s| s.aws_managed()) {
        return Err(ApiError::local(
            "DescribePolicy",
            "an AWS-managed policy has this type and name; rename the snapshot's policy by hand",
        ));
    }
    let content = &desired.attrs["content"];
    let description = str_attr(desired, "description");
    let live_content = content_value(live.content().unwrap_or_default());
    let same_content = iamsnap_provider::canonical::normalize(live_content)
        == iamsnap_provider::canonical::normalize(content.clone());
    let same_description = summary.and_then(|s| s.description()).unwrap_or_default() == description;
    let mut changed = false;
    if !same_content || !same_description {
        ctx.client
            .update_policy()
            .policy_id(id)
            .set_content((!same_content).then(|| content_text(content)))
            .set_description((!same_description).then(|| description.to_string()))
            .send()
            .await
            .api("UpdatePolicy")?;
        changed = true;
    }
    changed |= tags::converge(ctx, id, &desired.attrs).await?;
    Ok(Done::changed_if(changed, id.to_string()))
}

/// Detaches the policy `key` from every target, then deletes it. False when it was gone.
pub(super) async fn delete(ctx: &Ctx<'_>, key: &str) -> Result<bool, ApiError> {
    let Some(id) = policy_id(ctx, key).await? else {
        return Ok(false);
    };
    let pages: Vec<_> = ctx
        .client
        .list_targets_for_policy()
        .policy_id(&id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListTargetsForPolicy")?;
    for target in pages.iter().flat_map(|p| p.targets()) {
        let Some(target) = target.target_id() else {
            continue;
        };
        detach_ids(ctx, &id, target).await?;
    }
    ctx.client
        .delete_policy()
        .policy_id(&id)
        .send()
        .await
        .api("DeletePolicy")?;
    ctx.live.forget_policy(key).await;
    Ok(true)
}

/// Attaches the policy of `desired` to its target; the live id is `TARGETID|POLICYID`.
pub(super) async fn attach(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let target = target_id(ctx, &target_attr(desired, "target")?).await?;
    let key = str_attr(desired, "policy");
    let policy = policy_id(ctx, key).await?.ok_or_else(|| ApiError {
        code: Some("PolicyNotFoundException".into()),
        ..ApiError::local("AttachPolicy", &format!("no policy {key}"))
    })?;
    let id = format!("{target}|{policy}");
    match ctx
        .client
        .attach_policy()
        .policy_id(&policy)
        .target_id(&target)
        .send()
        .await
        .api("AttachPolicy")
    {
        Ok(_) => Ok(Done::Changed(id)),
        Err(e) if e.is("DuplicatePolicyAttachmentException") => Ok(Done::Unchanged(id)),
        Err(e) => Err(e),
    }
}

/// Detaches the policy an attachment key names from its target. False when it was not attached.
pub(super) async fn detach(ctx: &Ctx<'_>, key: &str) -> Result<bool, ApiError> {
    let (target, policy) = crate::kinds::split_attachment_key(key).ok_or_else(|| {
        ApiError::local(
            "DetachPolicy",
            &format!("malformed key {key}: expected TARGET|TYPE/name"),
        )
    })?;
    let Some(policy) = policy_id(ctx, policy).await? else {
        return Ok(false);
    };
    let target = target_id(ctx, &target).await?;
    detach_ids(ctx, &policy, &target).await
}

async fn detach_ids(ctx: &Ctx<'_>, policy: &str, target: &str) -> Result<bool, ApiError> {
    match ctx
        .client
        .detach_policy()
        .policy_id(policy)
        .target_id(target)
        .send()
        .await
        .api("DetachPolicy")
    {
        Ok(_) => Ok(true),
        Err(e) if e.is("PolicyNotAttachedException") || e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}
