//! Restore of managed-policy attachments and inline policies.

use super::*;

// ---- managed-policy attachments and inline policies ------------------------------------------

pub(super) async fn attach(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let (principal, name, arn) = relation(desired)?;
    let id = relation_id(ctx, desired, &["principal"]);
    let c = ctx.client;
    let attached = match principal {
        Principal::User => {
            c.list_attached_user_policies()
                .user_name(&name)
                .into_paginator()
                .send()
                .pages("ListAttachedUserPolicies")
                .items(|o| o.attached_policies.unwrap_or_default())
                .await?
        }
        Principal::Group => {
            c.list_attached_group_policies()
                .group_name(&name)
                .into_paginator()
                .send()
                .pages("ListAttachedGroupPolicies")
                .items(|o| o.attached_policies.unwrap_or_default())
                .await?
        }
        Principal::Role => {
            c.list_attached_role_policies()
                .role_name(&name)
                .into_paginator()
                .send()
                .pages("ListAttachedRolePolicies")
                .items(|o| o.attached_policies.unwrap_or_default())
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

pub(super) async fn detach(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
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

pub(super) fn relation(record: &Record) -> Result<(Principal, String, String), ApiError> {
    kinds::parse_relation_key(&record.kind, &record.key)
        .map_err(|e| ApiError::local("restore", &e.to_string()))
}

pub(super) async fn put_inline(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ProviderError> {
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

pub(super) async fn delete_inline(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
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
