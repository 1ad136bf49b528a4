//! Custom admin roles, resource sets, their bindings, and custom role assignments.
//!
//! A role is created with its permissions, then each permission's conditions are set; an
//! existing one is brought to the snapshot's label, description and permissions. A resource
//! set is created with its resources as REST URLs (ORNs for those that have none), ids
//! rewritten to live ones through the refs; an existing one gains what it lacks before it
//! loses what the snapshot does not have. A binding is created with its members (users and
//! groups as REST URLs of their live ids) or has its members brought to the snapshot's. A
//! custom role assignment of a user or group names the live role and resource set.

use iamsnap_http::status_of;
use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, created_id, done, precondition, unsupported};
use crate::client::OktaClient;
use crate::kinds::*;
use crate::read::iam::{self as fetch, ROLES, SETS};
use crate::records::iam::{MEMBER, member_path, member_target, path_of, resource_path};
use crate::records::str_at;

pub(super) const OLD_CUSTOM_ASSIGNMENT: &str = "this custom role assignment was backed up before iamsnap read custom roles and names no role or resource set: assign it again in the Admin Console (Security → Administrators)";

/// A resource as a restore compares it: the URL path of what it names (or its ORN when it
/// has no URL) and its conditions.
#[derive(Debug, Clone, PartialEq)]
struct Resource {
    at: String,
    conditions: Option<Value>,
}

impl Resource {
    /// A live resource, as `GET …/resources` lists it; its id.
    fn live(v: &Value) -> (Resource, String) {
        let href = str_at(v, "/_links/self/href");
        let at = if href.is_empty() {
            str_at(v, "/orn").to_string()
        } else {
            path_of(href)
        };
        let conditions = v.get("conditions").filter(|c| !c.is_null()).cloned();
        (Resource { at, conditions }, str_at(v, "/id").to_string())
    }

    /// What the API takes: a REST URL on the org (its query kept), or the ORN.
    fn value(&self, r: &Restore<'_>) -> String {
        if self.at.starts_with('/') {
            let org = r.c().url("/", &[]);
            org.join(&self.at)
                .map_or_else(|_| org.to_string() + &self.at[1..], |u| u.to_string())
        } else {
            self.at.clone()
        }
    }
}

impl Restore<'_> {
    pub(super) async fn create_custom_role(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some(live) = fetch::custom_role(c, &op.key).await? {
            self.converge_permissions(str_at(&live, "/id"), &desired.attrs)
                .await?;
            return Ok(done(&live));
        }
        let labels: Vec<String> = permissions(&desired.attrs)
            .iter()
            .map(|p| str_at(p, "/label").to_string())
            .collect();
        let body = json!({
            "label": desired.attrs["label"],
            "description": desired.attrs["description"],
            "permissions": labels,
        });
        let live = c
            .send(Method::POST, &c.url(ROLES, &[]), Some(&body))
            .await?;
        let id = created_id(op, live)?;
        // Conditions are set per permission, once it exists.
        self.converge_permissions(&id, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_custom_role(
        &self,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let body =
            json!({"label": desired.attrs["label"], "description": desired.attrs["description"]});
        let url = c.url(&format!("{ROLES}/{id}"), &[]);
        c.send(Method::PUT, &url, Some(&body)).await?;
        self.converge_permissions(&id, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    /// Brings the permissions of role `id` and their conditions to those of `attrs`: missing
    /// ones added, changed conditions replaced (a permission whose conditions must go is
    /// removed and added again), extra ones removed.
    async fn converge_permissions(&self, id: &str, attrs: &Value) -> Result<(), ProviderError> {
        let c = self.c();
        let live = fetch::permissions(c, id).await?;
        let base = format!("{ROLES}/{id}/permissions");
        let at = |label: &str| c.url(&format!("{base}/{}", OktaClient::segment(label)), &[]);
        let want = permissions(attrs);
        for w in &want {
            let label = str_at(w, "/label");
            let conditions = w.get("conditions").filter(|c| !c.is_null());
            let body = conditions.map_or_else(|| json!({}), |c| json!({"conditions": c}));
            match live.iter().find(|l| str_at(l, "/label") == label) {
                None => {
                    c.send(Method::POST, &at(label), Some(&body)).await?;
                }
                Some(l) if l.get("conditions").filter(|c| !c.is_null()) != conditions => {
                    if conditions.is_some() {
                        c.send(Method::PUT, &at(label), Some(&body)).await?;
                    } else {
                        c.send(Method::DELETE, &at(label), None).await?;
                        c.send(Method::POST, &at(label), Some(&body)).await?;
                    }
                }
                Some(_) => {}
            }
        }
        for l in &live {
            let label = str_at(l, "/label");
            if !want.iter().any(|w| str_at(w, "/label") == label) {
                c.send(Method::DELETE, &at(label), None).await?;
            }
        }
        Ok(())
    }

    pub(super) async fn delete_custom_role(&self, id: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{ROLES}/{id}"), id).await
    }

    /// The resources `desired` (a resource set) should hold live: its refs at their live ids,
    /// then the resources it keeps as they are.
    fn desired_resources(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Vec<Resource>, ProviderError> {
        let mut out = Vec::new();
        for r in &desired.refs {
            let Some(path) = resource_path(&r.rel, &r.kind, &r.id) else {
                continue;
            };
            let live = self.live(op, &r.kind, &r.id)?;
            let path = resource_path(&r.rel, &r.kind, &live).unwrap_or(path);
            out.push(Resource {
                at: path,
                conditions: None,
            });
        }
        for kept in desired.attrs["resources"].as_array().into_iter().flatten() {
            let at = match (kept.get("href"), kept.get("orn")) {
                (Some(Value::String(href)), _) => href.clone(),
                (_, Some(Value::String(orn))) => orn.clone(),
                _ => continue,
            };
            let conditions = kept.get("conditions").filter(|c| !c.is_null()).cloned();
            out.push(Resource { at, conditions });
        }
        Ok(out)
    }

    pub(super) async fn create_resource_set(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some(live) = fetch::resource_set(c, &op.key).await? {
            self.converge_resources(op, str_at(&live, "/id"), desired)
                .await?;
            return Ok(done(&live));
        }
        let want = self.desired_resources(op, desired)?;
        let body = json!({
            "label": desired.attrs["label"],
            "description": desired.attrs["description"],
            "resources": want.iter().map(|r| r.value(self)).collect::<Vec<_>>(),
        });
        let live = c.send(Method::POST, &c.url(SETS, &[]), Some(&body)).await?;
        let id = created_id(op, live)?;
        if want.iter().any(|r| r.conditions.is_some()) {
            self.converge_resources(op, &id, desired).await?;
        }
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_resource_set(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let body =
            json!({"label": desired.attrs["label"], "description": desired.attrs["description"]});
        let url = c.url(&format!("{SETS}/{id}"), &[]);
        c.send(Method::PUT, &url, Some(&body)).await?;
        self.converge_resources(op, &id, desired).await?;
        Ok(Outcome::Applied { id })
    }

    /// Brings the resources of set `id` to those of `desired`: missing ones added first (a set
    /// is never left empty on the way), then conditions replaced, then extra ones removed.
    async fn converge_resources(
        &self,
        op: &Operation,
        id: &str,
        desired: &Record,
    ) -> Result<(), ProviderError> {
        let c = self.c();
        let want = self.desired_resources(op, desired)?;
        let base = format!("{SETS}/{id}/resources");
        let mut live: Vec<(Resource, String)> = fetch::resources(c, id)
            .await?
            .iter()
            .map(Resource::live)
            .collect();
        let additions: Vec<String> = want
            .iter()
            .filter(|w| !live.iter().any(|(l, _)| l.at == w.at))
            .map(|w| w.value(self))
            .collect();
        if !additions.is_empty() {
            let body = json!({"additions": additions});
            c.send(Method::PATCH, &c.url(&base, &[]), Some(&body))
                .await?;
            live = fetch::resources(c, id)
                .await?
                .iter()
                .map(Resource::live)
                .collect();
        }
        for w in &want {
            if let Some((l, rid)) = live.iter().find(|(l, _)| l.at == w.at)
                && l.conditions != w.conditions
            {
                let body = json!({"conditions": w.conditions.clone().unwrap_or(Value::Null)});
                let url = c.url(&format!("{base}/{rid}"), &[]);
                c.send(Method::PUT, &url, Some(&body)).await?;
            }
        }
        for (l, rid) in &live {
            if !want.iter().any(|w| w.at == l.at) {
                let url = c.url(&format!("{base}/{rid}"), &[]);
                match c.send(Method::DELETE, &url, None).await {
                    Err(e) if status_of(&e) != Some(404) => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    pub(super) async fn delete_resource_set(&self, id: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{SETS}/{id}"), id).await
    }

    /// The live ids of the set and role a binding (or custom role assignment) names: through
    /// their refs, or by the labels in its attrs.
    async fn set_and_role(
        &self,
        op: &Operation,
        record: &Record,
    ) -> Result<(String, String), ProviderError> {
        let set = match record.target("resource_set") {
            Some(r) => self.live(op, RESOURCE_SET, &r.id)?,
            None => {
                let label = str_at(&record.attrs, "/resourceSet");
                let found = fetch::resource_set(self.c(), label).await?;
                found
                    .map(|s| str_at(&s, "/id").to_string())
                    .ok_or_else(|| {
                        precondition(
                            op,
                            &format!("resource set {label} does not exist live; restore it first"),
                        )
                    })?
            }
        };
        let role = match record.target("role") {
            Some(r) => self.live(op, CUSTOM_ROLE, &r.id)?,
            // One of Okta's standard IAM roles, named by its type.
            None => str_at(&record.attrs, "/role").to_string(),
        };
        Ok((set, role))
    }

    /// The REST URLs of the members `desired` (a binding) should have, at live ids.
    fn desired_members(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Vec<String>, ProviderError> {
        let mut out = Vec::new();
        for r in desired.refs.iter().filter(|r| r.rel == MEMBER) {
            let live = self.live(op, &r.kind, &r.id)?;
            if let Some(path) = member_path(&r.kind, &live) {
                out.push(path);
            }
        }
        Ok(out)
    }

    pub(super) async fn create_binding(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let (set, role) = self.set_and_role(op, desired).await?;
        let id = format!("{set}:{role}");
        let url = c.url(&format!("{SETS}/{set}/bindings/{role}"), &[]);
        if c.get_opt(&url).await?.is_some() {
            let changed = self.converge_members(op, &set, &role, desired).await?;
            return Ok(if changed {
                Outcome::Applied { id }
            } else {
                Outcome::AlreadyDone { id }
            });
        }
        let members: Vec<String> = self
            .desired_members(op, desired)?
            .iter()
            .map(|p| c.url(p, &[]).to_string())
            .collect();
        let body = json!({"role": role, "members": members});
        let url = c.url(&format!("{SETS}/{set}/bindings"), &[]);
        c.send(Method::POST, &url, Some(&body)).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_binding(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let (set, role) = self.set_and_role(op, desired).await?;
        self.converge_members(op, &set, &role, desired).await?;
        Ok(Outcome::Applied {
            id: format!("{set}:{role}"),
        })
    }

    /// Brings the members of the binding of `role` to `set` to those of `desired`: missing
    /// ones added before extra ones are removed. Whether anything changed.
    async fn converge_members(
        &self,
        op: &Operation,
        set: &str,
        role: &str,
        desired: &Record,
    ) -> Result<bool, ProviderError> {
        let c = self.c();
        let want = self.desired_members(op, desired)?;
        let base = format!("{SETS}/{set}/bindings/{role}/members");
        let live: Vec<(String, String)> = fetch::members(c, set, role)
            .await?
            .iter()
            .map(|m| {
                let path = path_of(str_at(m, "/_links/self/href"));
                (path, str_at(m, "/id").to_string())
            })
            .collect();
        let additions: Vec<String> = want
            .iter()
            .filter(|w| !live.iter().any(|(p, _)| p == *w))
            .map(|p| c.url(p, &[]).to_string())
            .collect();
        let mut changed = false;
        if !additions.is_empty() {
            let body = json!({"additions": additions});
            c.send(Method::PATCH, &c.url(&base, &[]), Some(&body))
                .await?;
            changed = true;
        }
        for (path, member) in &live {
            if member_target(path).is_some() && !want.contains(path) {
                let url = c.url(&format!("{base}/{member}"), &[]);
                match c.send(Method::DELETE, &url, None).await {
                    Err(e) if status_of(&e) != Some(404) => return Err(e),
                    _ => changed = true,
                }
            }
        }
        Ok(changed)
    }

    /// Deletes the binding `id` (`SET:ROLE` live ids), and with it its members' assignments.
    pub(super) async fn delete_binding(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let (set, role) = match (
            op.current.as_ref().and_then(|r| r.target("resource_set")),
            id.split_once(':'),
        ) {
            (Some(s), Some((_, role))) => (s.id.clone(), role.to_string()),
            (_, Some((set, role))) => (set.to_string(), role.to_string()),
            _ => return Err(precondition(op, "the binding's id should read SET:ROLE")),
        };
        self.delete_at(&format!("{SETS}/{set}/bindings/{role}"), id)
            .await
    }

    /// Assigns a custom role over a resource set to the user or group at `base` (its roles'
    /// path), unless it holds that assignment already.
    pub(super) async fn assign_custom_role(
        &self,
        op: &Operation,
        desired: &Record,
        base: &str,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if desired.target("role").is_none() || desired.target("resource_set").is_none() {
            return Err(unsupported(op, OLD_CUSTOM_ASSIGNMENT));
        }
        let (set, role) = self.set_and_role(op, desired).await?;
        let roles = c.get(&c.url(base, &[])).await?;
        let held = roles.as_array().into_iter().flatten().find(|r| {
            r["type"] == "CUSTOM" && str_at(r, "/role") == role && str_at(r, "/resource-set") == set
        });
        if let Some(held) = held {
            return Ok(done(held));
        }
        let url = c.url(base, &[("disableNotifications", "true")]);
        let body = json!({"type": "CUSTOM", "role": role, "resource-set": set});
        let live = c.send(Method::POST, &url, Some(&body)).await?;
        Ok(Outcome::Applied {
            id: created_id(op, live)?,
        })
    }
}

/// The permissions of a custom role record.
fn permissions(attrs: &Value) -> Vec<Value> {
    attrs["permissions"].as_array().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::iam::resource_target;

    #[test]
    fn resources_of_objects_are_paths_and_the_rest_as_kept() {
        let (r, id) = Resource::live(&json!({"id": "ire1", "orn": "orn:x",
            "_links": {"self": {"href": "https://acme.okta.com/api/v1/groups/00g1/users"}}}));
        assert_eq!(
            (r.at.as_str(), id.as_str()),
            ("/api/v1/groups/00g1/users", "ire1")
        );
        assert_eq!(resource_target(&r.at).unwrap().2, "00g1");
        let (r, _) = Resource::live(&json!({"id": "ire2", "orn": "orn:okta:workflow:00o1:flows"}));
        assert_eq!(r.at, "orn:okta:workflow:00o1:flows");
    }
}
