//! The user or role the credentials act as (`sts:GetCallerIdentity`) and what gives it its
//! rights, read before every restore plan so that the plan never weakens them: the managed
//! policies attached to it (and the customer-managed ones among them, whose documents a restore
//! could narrow), its inline policies and its permissions boundary; for a user, also each group
//! it is a member of that carries policies, with those policies and the membership itself.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::AttachedPolicy;
use iamsnap_provider::{ProviderError, SelfIdentity};

use crate::client::{Api, ApiError, Paginated};
use crate::kinds::{self, Principal, arn_name, is_aws_managed, relation_key};
use crate::restore::identity_of_arn;

/// The identity `caller_arn` names and its grants; `None` for the account's root, which has
/// no record. An identity IAM does not know (an emulator's default caller) has no grants.
pub(crate) async fn self_identity(
    client: &Client,
    caller_arn: &str,
) -> Result<Option<SelfIdentity>, ProviderError> {
    let Some((kind, name)) = identity_of_arn(caller_arn) else {
        return Ok(None);
    };
    let mut me = SelfIdentity::new(&kind, &name);
    let principal = if kind == kinds::USER {
        Principal::User
    } else {
        Principal::Role
    };
    match grants(client, principal, &name, &mut me).await {
        Ok(()) => Ok(Some(me)),
        Err(e) if e.is("NoSuchEntity") => Ok(Some(SelfIdentity::new(kind, name))),
        Err(e) => Err(e.context(&format!("{kind} {name}, the identity of these credentials"))),
    }
}

async fn grants(
    client: &Client,
    principal: Principal,
    name: &str,
    me: &mut SelfIdentity,
) -> Result<(), ApiError> {
    let boundary = match principal {
        Principal::User => client
            .get_user()
            .user_name(name)
            .send()
            .await
            .api("GetUser")?
            .user()
            .and_then(|u| u.permissions_boundary())
            .and_then(|b| b.permissions_boundary_arn().map(str::to_string)),
        _ => client
            .get_role()
            .role_name(name)
            .send()
            .await
            .api("GetRole")?
            .role()
            .and_then(|r| r.permissions_boundary())
            .and_then(|b| b.permissions_boundary_arn().map(str::to_string)),
    };
    let who = format!("{} {name}", principal.as_str());
    if let Some(arn) = boundary.filter(|arn| !is_aws_managed(arn)) {
        me.grant(
            kinds::POLICY,
            arn_name(&arn),
            format!("is the permissions boundary of {who}"),
        );
    }
    policies_of(client, principal, name, me).await?;
    if principal != Principal::User {
        return Ok(());
    }
    let groups = client
        .list_groups_for_user()
        .user_name(name)
        .into_paginator()
        .send()
        .pages("ListGroupsForUser")
        .items(|o| o.groups)
        .await?;
    for group in groups {
        let group = group.group_name();
        if policies_of(client, Principal::Group, group, me).await? == 0 {
            continue;
        }
        me.grant(
            kinds::GROUP_MEMBERSHIP,
            format!("{group}|{name}"),
            format!("makes {who} a member of group {group}, whose policies it has"),
        );
        me.grant(
            kinds::GROUP,
            group,
            format!("gives its policies to its member {who}"),
        );
    }
    Ok(())
}

/// Grants the managed policies attached to `principal` `name` and its inline policies;
/// returns how many there are.
async fn policies_of(
    client: &Client,
    principal: Principal,
    name: &str,
    me: &mut SelfIdentity,
) -> Result<usize, ApiError> {
    let who = format!("{} {name}", principal.as_str());
    let (attached, inline): (Vec<AttachedPolicy>, Vec<String>) = match principal {
        Principal::User => (
            client
                .list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .send()
                .pages("ListAttachedUserPolicies")
                .items(|o| o.attached_policies.unwrap_or_default())
                .await?,
            client
                .list_user_policies()
                .user_name(name)
                .into_paginator()
                .send()
                .pages("ListUserPolicies")
                .items(|o| o.policy_names)
                .await?,
        ),
        Principal::Group => (
            client
                .list_attached_group_policies()
                .group_name(name)
                .into_paginator()
                .send()
                .pages("ListAttachedGroupPolicies")
                .items(|o| o.attached_policies.unwrap_or_default())
                .await?,
            client
                .list_group_policies()
                .group_name(name)
                .into_paginator()
                .send()
                .pages("ListGroupPolicies")
                .items(|o| o.policy_names)
                .await?,
        ),
        Principal::Role => (
            client
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .send()
                .pages("ListAttachedRolePolicies")
                .items(|o| o.attached_policies.unwrap_or_default())
                .await?,
            client
                .list_role_policies()
                .role_name(name)
                .into_paginator()
                .send()
                .pages("ListRolePolicies")
                .items(|o| o.policy_names)
                .await?,
        ),
    };
    for policy in &attached {
        let Some(arn) = policy.policy_arn() else {
            continue;
        };
        me.grant(
            kinds::POLICY_ATTACHMENT,
            relation_key(principal, name, arn),
            format!("attaches {} to {who}", arn_name(arn)),
        );
        if !is_aws_managed(arn) {
            me.grant(
                kinds::POLICY,
                arn_name(arn),
                format!("is attached to {who}"),
            );
        }
    }
    for policy in &inline {
        me.grant(
            kinds::INLINE_POLICY,
            relation_key(principal, name, policy),
            format!("is an inline policy of {who}"),
        );
    }
    Ok(attached.len() + inline.len())
}
