//! Principals in trust policies across a restore.
//!
//! A trust policy that names a role or user by ARN keeps working when that principal is
//! re-created, but IAM refuses to save a trust policy naming a principal that does not exist,
//! and it shows a deleted principal as its old unique id (`AROA…`, `AIDA…`), which never
//! matches the re-created one. So a role is first saved without the principals that do not
//! exist yet, and its full trust policy is saved again as soon as they are created; unique
//! ids are mapped to the re-created principal's ARN.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{Ctx, Deferred};
use crate::client::{Api, ApiError, Paginated};
use crate::kinds::{self, Principal, document_text};

/// The account and partition restore writes into, from `sts:GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub partition: String,
    pub account: String,
}

impl Caller {
    /// From the caller's ARN, `arn:PARTITION:sts::ACCOUNT:assumed-role/…`.
    pub fn from_arn(arn: &str) -> Option<Caller> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, _, _, account, _] if !account.is_empty() => Some(Caller {
                partition: partition.to_string(),
                account: account.to_string(),
            }),
            _ => None,
        }
    }

    /// `arn:aws:iam::123456789012:policy/path/name`.
    pub fn arn(&self, resource_type: &str, path: &str, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:{resource_type}{path}{name}",
            self.partition, self.account
        )
    }

    /// The principal (user or role of this account) an ARN names.
    fn own_principal(&self, arn: &str) -> Option<(Principal, String)> {
        let prefix = format!("arn:{}:iam::{}:", self.partition, self.account);
        let resource = arn.strip_prefix(&prefix)?;
        let (kind, rest) = resource.split_once('/')?;
        let principal = match kind {
            "user" => Principal::User,
            "role" => Principal::Role,
            _ => return None,
        };
        Some((principal, rest.rsplit('/').next()?.to_string()))
    }
}

/// The record of the user or role the credentials act as, which a restore must not delete:
/// `arn:aws:iam::1:user/path/ada` → user `ada`; `arn:aws:sts::1:assumed-role/Admin/session` →
/// role `Admin`; the account root has no record.
pub(crate) fn identity_of_arn(arn: &str) -> Option<(String, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    match parts.next()? {
        "user" => Some((kinds::USER.into(), resource.rsplit('/').next()?.into())),
        "assumed-role" => Some((kinds::ROLE.into(), parts.next()?.into())),
        "role" => Some((kinds::ROLE.into(), resource.rsplit('/').next()?.into())),
        _ => None,
    }
}

/// A role's or user's unique id as IAM shows a deleted principal.
fn unique_id_kind(value: &str) -> Option<&'static str> {
    let kind = match value.get(..4)? {
        "AROA" => kinds::ROLE,
        "AIDA" => kinds::USER,
        _ => return None,
    };
    (value.len() >= 16
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
    .then_some(kind)
}

/// The trust policy to save for role `role` now: `desired` with unique ids mapped to ARNs and
/// without the principals that do not exist yet. Remembers what was left out.
pub(crate) async fn prepare_trust(
    ctx: &Ctx<'_>,
    role: &str,
    desired: &Value,
) -> Result<Value, ApiError> {
    let (doc, missing) = resolve(ctx, desired).await?;
    let mut deferred = ctx.state.deferred_trust.lock().await;
    if missing.is_empty() {
        deferred.remove(role);
    } else {
        let waiting: Vec<String> = missing
            .iter()
            .map(|(p, name)| format!("{}/{name}", p.as_str()))
            .collect();
        tracing::warn!(
            role,
            waiting_for = %waiting.join(", "),
            "trust policy saved without principals that do not exist yet; it is saved in full when this restore creates them"
        );
        deferred.insert(
            role.to_string(),
            Deferred {
                desired: desired.clone(),
                missing,
            },
        );
    }
    Ok(doc)
}

/// After a user or role was created or updated: saves again, in full, every trust policy that
/// was waiting for it.
pub(crate) async fn created(
    ctx: &Ctx<'_>,
    kind: &str,
    name: &str,
) -> Result<(), iamsnap_provider::ProviderError> {
    let principal = if kind == kinds::USER {
        Principal::User
    } else {
        Principal::Role
    };
    let ready: Vec<(String, Value)> = {
        let mut deferred = ctx.state.deferred_trust.lock().await;
        let mut ready = Vec::new();
        for (role, entry) in deferred.iter_mut() {
            if entry.missing.remove(&(principal, name.to_string())) && entry.missing.is_empty() {
                ready.push((role.clone(), entry.desired.clone()));
            }
        }
        for (role, _) in &ready {
            deferred.remove(role);
        }
        ready
    };
    for (role, desired) in ready {
        let doc = prepare_trust(ctx, &role, &desired)
            .await
            .map_err(|e| e.context(&format!("{} {role}", kinds::ROLE)))?;
        ctx.client
            .update_assume_role_policy()
            .role_name(&role)
            .policy_document(document_text(&doc))
            .send()
            .await
            .api("UpdateAssumeRolePolicy")
            .map_err(|e| e.context(&format!("{} {role}", kinds::ROLE)))?;
        tracing::info!(role = %role, "trust policy saved again in full");
    }
    Ok(())
}

async fn resolve(
    ctx: &Ctx<'_>,
    desired: &Value,
) -> Result<(Value, BTreeSet<(Principal, String)>), ApiError> {
    let mut doc = desired.clone();
    let mut missing = BTreeSet::new();
    let statements: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => return Ok((doc, missing)),
    };
    let was_array = doc["Statement"].is_array();
    let mut kept_statements = Vec::new();
    for mut statement in statements {
        let Some(aws) = statement.pointer("/Principal/AWS").cloned() else {
            kept_statements.push(statement);
            continue;
        };
        let values: Vec<String> = match &aws {
            Value::String(s) => vec![s.clone()],
            Value::Array(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let mut kept = Vec::new();
        for value in values {
            if let Some(p) = ctx.caller.own_principal(&value) {
                if exists(ctx, &p).await? {
                    kept.push(value);
                } else {
                    missing.insert(p);
                }
            } else if let Some(kind) = unique_id_kind(&value) {
                let live = ctx
                    .ids
                    .live_id(kind, &value)
                    .unwrap_or_else(|| value.clone());
                match arn_of(ctx, &live).await? {
                    Some(arn) => kept.push(arn),
                    None => {
                        tracing::warn!(principal = %value, "trust policy names a deleted principal that the snapshot cannot map; left out")
                    }
                }
            } else {
                kept.push(value);
            }
        }
        let Some(Value::Object(principal)) = statement.get_mut("Principal") else {
            continue;
        };
        if kept.is_empty() {
            principal.remove("AWS");
            if principal.is_empty() {
                continue;
            }
        } else if aws.is_string() && kept.len() == 1 {
            principal.insert("AWS".into(), Value::String(kept.remove(0)));
        } else {
            principal.insert(
                "AWS".into(),
                Value::Array(kept.into_iter().map(Value::String).collect()),
            );
        }
        kept_statements.push(statement);
    }
    if kept_statements.is_empty() {
        // IAM needs at least one statement: deny everyone until the full policy is saved.
        kept_statements
            .push(json!({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}));
    }
    let statement = if was_array || kept_statements.len() > 1 {
        Value::Array(kept_statements)
    } else {
        kept_statements.remove(0)
    };
    if let Value::Object(map) = &mut doc {
        map.insert("Statement".into(), statement);
    } else {
        let mut map = Map::new();
        map.insert("Statement".into(), statement);
        doc = Value::Object(map);
    }
    Ok((doc, missing))
}

async fn exists(ctx: &Ctx<'_>, (principal, name): &(Principal, String)) -> Result<bool, ApiError> {
    let found = match principal {
        Principal::Role => ctx
            .client
            .get_role()
            .role_name(name)
            .send()
            .await
            .api("GetRole")
            .map(drop),
        _ => ctx
            .client
            .get_user()
            .user_name(name)
            .send()
            .await
            .api("GetUser")
            .map(drop),
    };
    match found {
        Ok(()) => Ok(true),
        Err(e) if e.is("NoSuchEntity") => Ok(false),
        Err(e) => Err(e),
    }
}

/// The ARN of the live user or role with unique id `id`, listing users and roles on a miss.
async fn arn_of(ctx: &Ctx<'_>, id: &str) -> Result<Option<String>, ApiError> {
    if let Some(arn) = ctx.state.arns.lock().await.get(id) {
        return Ok(Some(arn.clone()));
    }
    let users = ctx
        .client
        .list_users()
        .into_paginator()
        .send()
        .pages("ListUsers")
        .items(|o| o.users)
        .await?;
    let roles = ctx
        .client
        .list_roles()
        .into_paginator()
        .send()
        .pages("ListRoles")
        .items(|o| o.roles)
        .await?;
    let mut arns = ctx.state.arns.lock().await;
    for u in users {
        arns.insert(u.user_id().to_string(), u.arn().to_string());
    }
    for r in roles {
        arns.insert(r.role_id().to_string(), r.arn().to_string());
    }
    Ok(arns.get(id).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_arns_give_account_and_partition() {
        let caller =
            Caller::from_arn("arn:aws-us-gov:sts::123456789012:assumed-role/restore/s").unwrap();
        assert_eq!(
            caller.arn("policy", "/team/", "p"),
            "arn:aws-us-gov:iam::123456789012:policy/team/p"
        );
        assert_eq!(
            caller.own_principal("arn:aws-us-gov:iam::123456789012:role/svc/deploy"),
            Some((Principal::Role, "deploy".into()))
        );
        assert_eq!(
            caller.own_principal("arn:aws-us-gov:iam::999999999999:role/deploy"),
            None
        );
        assert_eq!(
            caller.own_principal("arn:aws-us-gov:iam::123456789012:root"),
            None
        );
    }

    #[test]
    fn caller_arns_name_the_record_restore_must_keep() {
        assert_eq!(
            identity_of_arn("arn:aws:iam::123456789012:user/ops/ada"),
            Some((kinds::USER.into(), "ada".into()))
        );
        assert_eq!(
            identity_of_arn("arn:aws:sts::123456789012:assumed-role/iamsnap-restore/iamsnap"),
            Some((kinds::ROLE.into(), "iamsnap-restore".into()))
        );
        assert_eq!(identity_of_arn("arn:aws:iam::123456789012:root"), None);
    }

    #[test]
    fn recognises_unique_ids_only() {
        assert_eq!(unique_id_kind("AROA3XFRBF535PLBIFPI4"), Some(kinds::ROLE));
        assert_eq!(unique_id_kind("AIDACKCEVSQ6C2EXAMPLE"), Some(kinds::USER));
        assert_eq!(unique_id_kind("AROA"), None);
        assert_eq!(unique_id_kind("arn:aws:iam::1:role/x"), None);
    }
}
