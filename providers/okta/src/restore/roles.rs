//! Admin role assignments of users and groups: standard roles with their group and app
//! targets; custom roles over their resource set ([`super::iam`]).

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use iamsnap_http::status_of;

use super::{Restore, created_id, precondition, unsupported};
use crate::client::OktaClient;
use crate::kinds::*;
use crate::records::str_at;

impl Restore<'_> {
    /// Assigns a standard role and brings its targets to the desired ones.
    pub(super) async fn assign_role(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let role_type = str_at(&desired.attrs, "/type").to_string();
        if role_type.is_empty() {
            return Err(unsupported(op, "the record names no role type"));
        }
        let assignee = desired
            .target("assignee")
            .ok_or_else(|| precondition(op, "the record does not name its assignee"))?;
        let (who, natural) = op
            .key
            .split_once(':')
            .and_then(|(w, rest)| rest.rsplit_once('|').map(|(n, _)| (w, n)))
            .ok_or_else(|| {
                precondition(op, "the key should read user:LOGIN|TYPE or group:NAME|TYPE")
            })?;
        let principal = self
            .endpoint(op, desired, "assignee", &assignee.kind, natural)
            .await?;
        let base = format!("/api/v1/{who}s/{principal}/roles");
        if role_type == "CUSTOM" {
            return self.assign_custom_role(op, desired, &base).await;
        }
        let roles = c.get(&c.url(&base, &[])).await?;
        let existing = roles
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == role_type.as_str())
            .map(|r| str_at(r, "/id").to_string());
        let mut existing = existing;
        // Okta refuses to remove a role's last target: a role that must apply to everything
        // again is assigned anew.
        if let Some(id) = &existing
            && !has_targets(desired)
            && self
                .targeted(&format!("{base}/{id}/targets"), &role_type)
                .await?
        {
            c.send(Method::DELETE, &c.url(&format!("{base}/{id}"), &[]), None)
                .await?;
            existing = None;
        }
        let (id, fresh) = match existing {
            Some(id) => (id, false),
            None => (self.assign(op, &base, &role_type).await?, true),
        };
        let changed = self
            .converge_targets(op, desired, &format!("{base}/{id}/targets"))
            .await?;
        Ok(if fresh || changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }

    /// Assigns a role of `role_type` at `base` (a user's or group's roles); its id.
    async fn assign(
        &self,
        op: &Operation,
        base: &str,
        role_type: &str,
    ) -> Result<String, ProviderError> {
        let c = self.c();
        let url = c.url(base, &[("disableNotifications", "true")]);
        let body = json!({"type": role_type});
        created_id(op, c.send(Method::POST, &url, Some(&body)).await?)
    }

    /// Whether the live role at `base` (its targets) is narrowed to some groups or apps.
    async fn targeted(&self, base: &str, role_type: &str) -> Result<bool, ProviderError> {
        let c = self.c();
        let list = match role_type {
            "USER_ADMIN" | "HELP_DESK_ADMIN" | "GROUP_MEMBERSHIP_ADMIN" => "groups",
            "APP_ADMIN" => "catalog/apps",
            _ => return Ok(false),
        };
        let url = c.url(&format!("{base}/{list}"), &[("limit", "1")]);
        Ok(c.get(&url).await?.as_array().is_some_and(|a| !a.is_empty()))
    }

    async fn converge_targets(
        &self,
        op: &Operation,
        desired: &Record,
        base: &str,
    ) -> Result<bool, ProviderError> {
        let c = self.c();
        let mut changed = false;
        let role_type = str_at(&desired.attrs, "/type");
        let mut want_groups = Vec::new();
        let mut want_apps = Vec::new();
        for r in desired.refs.iter().filter(|r| r.rel == "target") {
            let live = self.live(op, &r.kind, &r.id)?;
            if r.kind == GROUP {
                want_groups.push(live);
            } else if r.kind == APP {
                want_apps.push(live);
            }
        }
        if matches!(
            role_type,
            "USER_ADMIN" | "HELP_DESK_ADMIN" | "GROUP_MEMBERSHIP_ADMIN"
        ) {
            let have: Vec<String> = c
                .all(c.url(&format!("{base}/groups"), &[]))
                .await?
                .iter()
                .map(|g| str_at(g, "/id").to_string())
                .collect();
            // Added before removed: the last target of a role cannot be removed.
            for g in want_groups.iter().filter(|g| !have.contains(g)) {
                c.send(
                    Method::PUT,
                    &c.url(&format!("{base}/groups/{g}"), &[]),
                    None,
                )
                .await?;
                changed = true;
            }
            for g in have.iter().filter(|g| !want_groups.contains(g)) {
                c.send(
                    Method::DELETE,
                    &c.url(&format!("{base}/groups/{g}"), &[]),
                    None,
                )
                .await?;
                changed = true;
            }
        }
        if role_type == "APP_ADMIN" {
            let want_catalog: Vec<&str> = desired.attrs["targets"]["apps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["catalog"].as_str())
                .collect();
            changed |= self
                .converge_app_targets(base, &want_catalog, &want_apps)
                .await?;
        }
        Ok(changed)
    }

    /// Brings an `APP_ADMIN` role's app targets to whole catalog apps `catalog` (key names)
    /// and app instances `instances` (live ids). Instances are named in the paths by their
    /// app's key name, which the target list does not show: it is read from the app.
    async fn converge_app_targets(
        &self,
        base: &str,
        catalog: &[&str],
        instances: &[String],
    ) -> Result<bool, ProviderError> {
        let c = self.c();
        let have: Vec<Value> = c.all(c.url(&format!("{base}/catalog/apps"), &[])).await?;
        let have_ids: Vec<&str> = have.iter().filter_map(|a| a["id"].as_str()).collect();
        let have_catalog: Vec<&str> = have
            .iter()
            .filter(|a| a.get("id").is_none())
            .map(|a| str_at(a, "/name"))
            .collect();
        let put = |path: String| async move {
            let url = c.url(&path, &[]);
            c.send(Method::PUT, &url, None).await.map(|_| ())
        };
        let delete = |path: String| async move {
            let url = c.url(&path, &[]);
            match c.send(Method::DELETE, &url, None).await {
                Err(e) if status_of(&e) != Some(404) => Err(e),
                _ => Ok(()),
            }
        };
        let mut changed = false;
        // Added before removed, so that the last target of a role is never removed; an
        // unwanted whole catalog app is removed before an instance of the same app is added.
        for name in catalog.iter().filter(|n| !have_catalog.contains(n)) {
            put(format!("{base}/catalog/apps/{}", OktaClient::segment(name))).await?;
            changed = true;
        }
        let unwanted: Vec<&str> = have_catalog
            .iter()
            .copied()
            .filter(|n| !catalog.contains(n))
            .collect();
        let mut added = Vec::new();
        for a in instances.iter().filter(|a| !have_ids.contains(&a.as_str())) {
            added.push((self.app_name(a).await?, a));
        }
        let (later, now): (Vec<_>, Vec<_>) = added
            .iter()
            .partition(|(name, _)| unwanted.contains(&name.as_str()));
        for (name, a) in now {
            put(format!("{base}/catalog/apps/{name}/{a}")).await?;
            changed = true;
        }
        for name in &unwanted {
            delete(format!("{base}/catalog/apps/{}", OktaClient::segment(name))).await?;
            changed = true;
        }
        for (name, a) in later {
            put(format!("{base}/catalog/apps/{name}/{a}")).await?;
        }
        for a in have_ids
            .iter()
            .filter(|id| !instances.iter().any(|w| w == *id))
        {
            let name = self.app_name(a).await?;
            delete(format!("{base}/catalog/apps/{name}/{a}")).await?;
            changed = true;
        }
        Ok(changed)
    }

    /// The key name of app `id` (`salesforce`, `oidc_client`, a custom app's generated name),
    /// as a path segment.
    async fn app_name(&self, id: &str) -> Result<String, ProviderError> {
        let c = self.c();
        let app = c.get(&c.url(&format!("/api/v1/apps/{id}"), &[])).await?;
        Ok(OktaClient::segment(str_at(&app, "/name")))
    }

    pub(super) async fn delete_role(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let assignee = op
            .current
            .as_ref()
            .and_then(|r| r.target("assignee"))
            .ok_or_else(|| {
                precondition(op, "the live role assignment does not name its assignee")
            })?;
        let who = if assignee.kind == USER {
            "users"
        } else {
            "groups"
        };
        let path = format!("/api/v1/{who}/{}/roles/{id}", assignee.id);
        self.delete_at(&path, id).await
    }
}

/// Whether a role assignment record is narrowed to some groups or apps.
fn has_targets(desired: &Record) -> bool {
    desired.refs.iter().any(|r| r.rel == "target")
        || desired.attrs["targets"]["apps"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
}
