//! Restore of groups, users, memberships and roles.

use super::*;

// ---- groups and users ------------------------------------------------------------------------

pub(super) async fn converge_group(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
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

pub(super) async fn converge_user(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
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
            let live_tags = ctx
                .client
                .list_user_tags()
                .user_name(name)
                .into_paginator()
                .send()
                .pages("ListUserTags")
                .items(|o| o.tags)
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
pub(super) async fn delete_user(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
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
    for key in c
        .list_access_keys()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListAccessKeys")
        .items(|o| o.access_key_metadata)
        .await?
    {
        c.delete_access_key()
            .user_name(name)
            .access_key_id(key.access_key_id().unwrap_or_default())
            .send()
            .await
            .api("DeleteAccessKey")?;
    }
    for device in c
        .list_mfa_devices()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListMFADevices")
        .items(|o| o.mfa_devices)
        .await?
    {
        c.deactivate_mfa_device()
            .user_name(name)
            .serial_number(device.serial_number())
            .send()
            .await
            .api("DeactivateMFADevice")?;
    }
    for cert in c
        .list_signing_certificates()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListSigningCertificates")
        .items(|o| o.certificates)
        .await?
    {
        c.delete_signing_certificate()
            .user_name(name)
            .certificate_id(cert.certificate_id())
            .send()
            .await
            .api("DeleteSigningCertificate")?;
    }
    for key in c
        .list_ssh_public_keys()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListSSHPublicKeys")
        .items(|o| o.ssh_public_keys.unwrap_or_default())
        .await?
    {
        c.delete_ssh_public_key()
            .user_name(name)
            .ssh_public_key_id(key.ssh_public_key_id())
            .send()
            .await
            .api("DeleteSSHPublicKey")?;
    }
    for group in c
        .list_groups_for_user()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListGroupsForUser")
        .items(|o| o.groups)
        .await?
    {
        c.remove_user_from_group()
            .user_name(name)
            .group_name(group.group_name())
            .send()
            .await
            .api("RemoveUserFromGroup")?;
    }
    for policy in c
        .list_attached_user_policies()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListAttachedUserPolicies")
        .items(|o| o.attached_policies.unwrap_or_default())
        .await?
    {
        c.detach_user_policy()
            .user_name(name)
            .policy_arn(policy.policy_arn().unwrap_or_default())
            .send()
            .await
            .api("DetachUserPolicy")?;
    }
    for policy in c
        .list_user_policies()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListUserPolicies")
        .items(|o| o.policy_names)
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

pub(super) async fn delete_group(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    for user in c
        .get_group()
        .group_name(name)
        .into_paginator()
        .send()
        .pages("GetGroup")
        .items(|o| o.users)
        .await?
    {
        c.remove_user_from_group()
            .group_name(name)
            .user_name(user.user_name())
            .send()
            .await
            .api("RemoveUserFromGroup")?;
    }
    for policy in c
        .list_attached_group_policies()
        .group_name(name)
        .into_paginator()
        .send()
        .pages("ListAttachedGroupPolicies")
        .items(|o| o.attached_policies.unwrap_or_default())
        .await?
    {
        c.detach_group_policy()
            .group_name(name)
            .policy_arn(policy.policy_arn().unwrap_or_default())
            .send()
            .await
            .api("DetachGroupPolicy")?;
    }
    for policy in c
        .list_group_policies()
        .group_name(name)
        .into_paginator()
        .send()
        .pages("ListGroupPolicies")
        .items(|o| o.policy_names)
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

pub(super) fn membership_key(key: &str) -> Result<(&str, &str), ApiError> {
    key.split_once('|')
        .ok_or_else(|| ApiError::local("AddUserToGroup", "malformed key: expected GROUP|USER"))
}

pub(super) async fn add_membership(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let (group, user) = membership_key(&desired.key)?;
    let id = relation_id(ctx, desired, &["group", "member"]);
    let groups = ctx
        .client
        .list_groups_for_user()
        .user_name(user)
        .into_paginator()
        .send()
        .pages("ListGroupsForUser")
        .items(|o| o.groups)
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

pub(super) async fn remove_membership(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
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
pub(super) fn relation_id(ctx: &Ctx<'_>, record: &Record, rels: &[&str]) -> String {
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

pub(super) async fn converge_role(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ProviderError> {
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

pub(super) async fn update_role(
    ctx: &Ctx<'_>,
    desired: &Record,
    trust: &Value,
) -> Result<Done, ApiError> {
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

pub(super) async fn delete_role(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    for profile in c
        .list_instance_profiles_for_role()
        .role_name(name)
        .into_paginator()
        .send()
        .pages("ListInstanceProfilesForRole")
        .items(|o| o.instance_profiles)
        .await?
    {
        c.remove_role_from_instance_profile()
            .instance_profile_name(profile.instance_profile_name())
            .role_name(name)
            .send()
            .await
            .api("RemoveRoleFromInstanceProfile")?;
    }
    for policy in c
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .send()
        .pages("ListAttachedRolePolicies")
        .items(|o| o.attached_policies.unwrap_or_default())
        .await?
    {
        c.detach_role_policy()
            .role_name(name)
            .policy_arn(policy.policy_arn().unwrap_or_default())
            .send()
            .await
            .api("DetachRolePolicy")?;
    }
    for policy in c
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .send()
        .pages("ListRolePolicies")
        .items(|o| o.policy_names)
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
