//! Restore of customer-managed policies: every version, the right default, at most five.

use super::*;

// ---- customer-managed policies -------------------------------------------------------------

pub(super) async fn converge_policy(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
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
            let live_tags = ctx
                .client
                .list_policy_tags()
                .policy_arn(&arn)
                .into_paginator()
                .send()
                .pages("ListPolicyTags")
                .items(|o| o.tags)
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
pub(super) async fn converge_versions(
    ctx: &Ctx<'_>,
    arn: &str,
    desired: &[(String, bool)],
) -> Result<bool, ApiError> {
    let listed = ctx
        .client
        .list_policy_versions()
        .policy_arn(arn)
        .into_paginator()
        .send()
        .pages("ListPolicyVersions")
        .items(|o| o.versions.unwrap_or_default())
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
            }
        }
        create_version(ctx, arn, doc, true).await?;
        changed = true;
    }
    // The old default is no longer default here: if the snapshot does not have it, it goes.
    if old_default_extra && let Some(old) = &old_default {
        match delete_version(ctx, arn, old).await {
            Err(e) if e.is("NoSuchEntity") => {}
            other => other?,
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

pub(super) async fn create_version(
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

pub(super) async fn delete_version(ctx: &Ctx<'_>, arn: &str, id: &str) -> Result<(), ApiError> {
    ctx.client
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(id)
        .send()
        .await
        .api("DeletePolicyVersion")
        .map(drop)
}

pub(super) async fn set_default(ctx: &Ctx<'_>, arn: &str, id: &str) -> Result<(), ApiError> {
    ctx.client
        .set_default_policy_version()
        .policy_arn(arn)
        .version_id(id)
        .send()
        .await
        .api("SetDefaultPolicyVersion")
        .map(drop)
}

pub(super) async fn delete_policy(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let arn = find_policy_arn(ctx, name).await?;
    let c = ctx.client;
    let users = c
        .list_entities_for_policy()
        .policy_arn(&arn)
        .into_paginator()
        .send()
        .pages("ListEntitiesForPolicy")
        .items(|o| o.policy_users.unwrap_or_default())
        .await?;
    for u in users {
        c.detach_user_policy()
            .user_name(u.user_name().unwrap_or_default())
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachUserPolicy")?;
    }
    let groups = c
        .list_entities_for_policy()
        .policy_arn(&arn)
        .into_paginator()
        .send()
        .pages("ListEntitiesForPolicy")
        .items(|o| o.policy_groups.unwrap_or_default())
        .await?;
    for g in groups {
        c.detach_group_policy()
            .group_name(g.group_name().unwrap_or_default())
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachGroupPolicy")?;
    }
    let roles = c
        .list_entities_for_policy()
        .policy_arn(&arn)
        .into_paginator()
        .send()
        .pages("ListEntitiesForPolicy")
        .items(|o| o.policy_roles.unwrap_or_default())
        .await?;
    for r in roles {
        c.detach_role_policy()
            .role_name(r.role_name().unwrap_or_default())
            .policy_arn(&arn)
            .send()
            .await
            .api("DetachRolePolicy")?;
    }
    for v in c
        .list_policy_versions()
        .policy_arn(&arn)
        .into_paginator()
        .send()
        .pages("ListPolicyVersions")
        .items(|o| o.versions.unwrap_or_default())
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
pub(super) async fn find_policy_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, ApiError> {
    let policies = ctx
        .client
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .into_paginator()
        .send()
        .pages("ListPolicies")
        .items(|o| o.policies.unwrap_or_default())
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
