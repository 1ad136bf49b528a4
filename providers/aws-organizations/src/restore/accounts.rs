//! The root's policy types, accounts (moved back to their OU, tags), and delegated
//! administrators.

use aws_sdk_organizations::types::PolicyType;
use iamsnap_provider::Record;
use serde_json::Value;

use super::lookup::{root_id, target_id};
use super::{Ctx, Done, str_attr, tags, target_attr};
use crate::client::{Api, ApiError};

/// Enables the policy types of `desired` the live root lacks (never disables one: see
/// [`super::reachable`]).
pub(super) async fn converge_root(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let id = root_id(ctx).await?;
    let pages: Vec<_> = ctx
        .client
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListRoots")?;
    let live: Vec<String> = pages
        .iter()
        .flat_map(|p| p.roots())
        .flat_map(|r| r.policy_types())
        .filter(|t| t.status() == Some(&aws_sdk_organizations::types::PolicyTypeStatus::Enabled))
        .filter_map(|t| t.r#type().map(|t| t.as_str().to_string()))
        .collect();
    let mut changed = false;
    for policy_type in desired.attrs["policy_types"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if live.iter().any(|t| t == policy_type) {
            continue;
        }
        match ctx
            .client
            .enable_policy_type()
            .root_id(&id)
            .policy_type(PolicyType::from(policy_type))
            .send()
            .await
            .api("EnablePolicyType")
        {
            Ok(_) => changed = true,
            Err(e) if e.is("PolicyTypeAlreadyEnabledException") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Done::changed_if(changed, id))
}

/// Moves an account back to the OU of `desired` and converges its tags. An account absent
/// live never gets here: [`super::refuses`] leaves its creation out of the plan.
pub(super) async fn converge_account(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let account = desired.key.as_str();
    let want = target_id(ctx, &target_attr(desired, "parent")?).await?;
    let parents = ctx
        .client
        .list_parents()
        .child_id(account)
        .send()
        .await
        .api("ListParents")?;
    let have = parents
        .parents()
        .iter()
        .find_map(|p| p.id())
        .ok_or_else(|| ApiError::local("ListParents", "the account has no parent"))?
        .to_string();
    let mut changed = false;
    if have != want {
        ctx.client
            .move_account()
            .account_id(account)
            .source_parent_id(&have)
            .destination_parent_id(&want)
            .send()
            .await
            .api("MoveAccount")?;
        changed = true;
    }
    changed |= tags::converge(ctx, account, &desired.attrs).await?;
    Ok(Done::changed_if(changed, account.to_string()))
}

/// Registers the account of `desired` as delegated administrator of its service.
pub(super) async fn register(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let account = str_attr(desired, "account");
    let service = str_attr(desired, "service");
    match ctx
        .client
        .register_delegated_administrator()
        .account_id(account)
        .service_principal(service)
        .send()
        .await
        .api("RegisterDelegatedAdministrator")
    {
        Ok(_) => Ok(Done::Changed(desired.key.clone())),
        Err(e) if e.is("AccountAlreadyRegisteredException") => {
            Ok(Done::Unchanged(desired.key.clone()))
        }
        Err(e) => Err(e),
    }
}

/// Deregisters a delegated administrator; false when it was not registered.
pub(super) async fn deregister(ctx: &Ctx<'_>, key: &str) -> Result<bool, ApiError> {
    let (account, service) = key.split_once('|').ok_or_else(|| {
        ApiError::local(
            "DeregisterDelegatedAdministrator",
            &format!("malformed key {key}: expected ACCOUNT|SERVICE"),
        )
    })?;
    match ctx
        .client
        .deregister_delegated_administrator()
        .account_id(account)
        .service_principal(service)
        .send()
        .await
        .api("DeregisterDelegatedAdministrator")
    {
        Ok(_) => Ok(true),
        Err(e) if e.is("AccountNotRegisteredException") => Ok(false),
        Err(e) => Err(e),
    }
}
