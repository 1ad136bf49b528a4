//! Live objects by natural key: the root, an OU by its path, a policy by type and name. Found
//! ids are kept for the rest of the restore (one restore runs on one provider instance), and
//! what the restore itself creates or deletes updates them.

use std::collections::HashMap;

use aws_sdk_organizations::types::PolicyType;
use tokio::sync::{Mutex, OnceCell};

use super::Ctx;
use crate::client::{Api, ApiError};
use crate::kinds::{Target, child_path, policy_key, split_policy_key};

/// Ids of live objects by natural key.
#[derive(Debug, Default)]
pub(crate) struct Live {
    root: OnceCell<String>,
    units: Mutex<HashMap<String, String>>,
    policies: Mutex<HashMap<String, String>>,
}

impl Live {
    pub async fn forget_unit(&self, path: &str) {
        let prefix = format!("{path}/");
        self.units
            .lock()
            .await
            .retain(|p, _| p != path && !p.starts_with(&prefix));
    }

    pub async fn remember_unit(&self, path: &str, id: &str) {
        self.units
            .lock()
            .await
            .insert(path.to_string(), id.to_string());
    }

    pub async fn forget_policy(&self, key: &str) {
        self.policies.lock().await.remove(key);
    }

    pub async fn remember_policy(&self, key: &str, id: &str) {
        self.policies
            .lock()
            .await
            .insert(key.to_string(), id.to_string());
    }
}

/// The root's id.
pub(super) async fn root_id(ctx: &Ctx<'_>) -> Result<String, ApiError> {
    ctx.live
        .root
        .get_or_try_init(|| async {
            let pages: Vec<_> = ctx
                .client
                .list_roots()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .api("ListRoots")?;
            pages
                .iter()
                .flat_map(|p| p.roots())
                .find_map(|r| r.id().map(str::to_string))
                .ok_or_else(|| ApiError::local("ListRoots", "the organization has no root"))
        })
        .await
        .cloned()
}

/// The child OUs of `parent_id`: (name, id).
pub(super) async fn children(
    ctx: &Ctx<'_>,
    parent_id: &str,
) -> Result<Vec<(String, String)>, ApiError> {
    let pages: Vec<_> = ctx
        .client
        .list_organizational_units_for_parent()
        .parent_id(parent_id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListOrganizationalUnitsForParent")?;
    Ok(pages
        .iter()
        .flat_map(|p| p.organizational_units())
        .filter_map(|u| Some((u.name()?.to_string(), u.id()?.to_string())))
        .collect())
}

/// The id of the live OU at `path`, walking down from the root past what is known.
pub(super) async fn unit_id(ctx: &Ctx<'_>, path: &str) -> Result<Option<String>, ApiError> {
    if let Some(id) = ctx.live.units.lock().await.get(path) {
        return Ok(Some(id.clone()));
    }
    let mut id = root_id(ctx).await?;
    let mut parent: Option<String> = None;
    for name in path.split('/') {
        let walked = child_path(parent.as_deref(), name);
        let known = ctx.live.units.lock().await.get(&walked).cloned();
        id = match known {
            Some(known) => known,
            None => {
                let found = children(ctx, &id).await?;
                let mut units = ctx.live.units.lock().await;
                for (child, child_id) in found {
                    units.insert(child_path(parent.as_deref(), &child), child_id);
                }
                match units.get(&walked) {
                    Some(found) => found.clone(),
                    None => return Ok(None),
                }
            }
        };
        parent = Some(walked);
    }
    Ok(Some(id))
}

/// The id of the live policy with key `TYPE/name` (AWS-managed ones included).
pub(super) async fn policy_id(ctx: &Ctx<'_>, key: &str) -> Result<Option<String>, ApiError> {
    if let Some(id) = ctx.live.policies.lock().await.get(key) {
        return Ok(Some(id.clone()));
    }
    let (policy_type, _) = split_policy_key(key)
        .ok_or_else(|| ApiError::local("ListPolicies", &format!("malformed policy key {key}")))?;
    let pages: Vec<_> = ctx
        .client
        .list_policies()
        .filter(PolicyType::from(policy_type))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListPolicies")?;
    let mut policies = ctx.live.policies.lock().await;
    for p in pages.iter().flat_map(|p| p.policies()) {
        if let (Some(name), Some(id)) = (p.name(), p.id()) {
            policies.insert(policy_key(policy_type, name), id.to_string());
        }
    }
    Ok(policies.get(key).cloned())
}

/// The live id of a target, or an error naming what is missing.
pub(super) async fn target_id(ctx: &Ctx<'_>, target: &Target) -> Result<String, ApiError> {
    match target {
        Target::Root => root_id(ctx).await,
        Target::Account(id) => Ok(id.clone()),
        Target::Unit(path) => unit_id(ctx, path).await?.ok_or_else(|| ApiError {
            code: Some("OrganizationalUnitNotFoundException".into()),
            ..ApiError::local(
                "ListOrganizationalUnitsForParent",
                &format!("no organizational unit at {path}"),
            )
        }),
    }
}
