//! Admin role assignments of users and groups, with their group and app targets. Only
//! standard roles are restored; custom roles need their resource set.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

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
        if role_type == "CUSTOM" || role_type.is_empty() {
            return Err(unsupported(
                op,
                "custom roles need their resource set and role definition; assign them in the Admin Console",
            ));
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
        let roles = c.get(&c.url(&base, &[])).await?;
        let existing = roles
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["type"] == role_type.as_str())
            .map(|r| str_at(r, "/id").to_string());
        let (id, fresh) = match existing {
            Some(id) => (id, false),
            None => {
                let url = c.url(&base, &[("disableNotifications", "true")]);
                let body = json!({"type": role_type});
                (
                    created_id(op, c.send(Method::POST, &url, Some(&body)).await?)?,
                    true,
                )
            }
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
            let have: Vec<Value> = c.all(c.url(&format!("{base}/catalog/apps"), &[])).await?;
            let have_ids: Vec<&str> = have.iter().filter_map(|a| a["id"].as_str()).collect();
            for a in want_apps.iter().filter(|a| !have_ids.contains(&a.as_str())) {
                let app = c.get(&c.url(&format!("/api/v1/apps/{a}"), &[])).await?;
                let name = OktaClient::segment(str_at(&app, "/name"));
                c.send(
                    Method::PUT,
                    &c.url(&format!("{base}/catalog/apps/{name}/{a}"), &[]),
                    None,
                )
                .await?;
                changed = true;
            }
            for a in have.iter().filter(|a| {
                a["id"]
                    .as_str()
                    .is_some_and(|id| !want_apps.iter().any(|w| w == id))
            }) {
                let name = OktaClient::segment(str_at(a, "/name"));
                let path = format!("{base}/catalog/apps/{name}/{}", str_at(a, "/id"));
                c.send(Method::DELETE, &c.url(&path, &[]), None).await?;
                changed = true;
            }
        }
        Ok(changed)
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
