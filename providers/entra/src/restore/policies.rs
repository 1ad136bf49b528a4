//! Restore of the tenant's access policies: conditional access policies and named locations
//! (found by display name, created or patched), and the authentication methods policy with its
//! per-method configurations (patched where they differ). An enabled conditional access policy
//! is written report-only unless policy states are restored.

use iamsnap_http::status_of;
use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{Restore, same, writable};
use crate::kinds::*;
use crate::read::fetch;
use crate::records::{self, id_of};

/// Report-only: the policy is evaluated and logged, never enforced.
pub(super) const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";

impl Restore<'_> {
    /// The state a conditional access policy is written with.
    fn policy_state(&self, desired: &Value, live: Option<&Value>) -> Value {
        if self.restore_policy_state || desired != "enabled" {
            return desired.clone();
        }
        match live {
            Some(state) if state == "enabled" => desired.clone(),
            _ => Value::String(REPORT_ONLY.into()),
        }
    }

    fn policy_path(kind: &str) -> &'static str {
        if kind == CONDITIONAL_ACCESS_POLICY {
            "/identity/conditionalAccess/policies"
        } else {
            "/identity/conditionalAccess/namedLocations"
        }
    }

    /// `record` naming the application (client) ids its applications have live: a
    /// re-created application has a new one, found through its ref (already the live object
    /// id).
    async fn live_app_ids(&self, record: &Record) -> Result<Record, ProviderError> {
        let mut record = record.clone();
        for r in record.refs.clone() {
            let Some(old) = r.rel.strip_prefix(crate::ca::APP_REF) else {
                continue;
            };
            let url = self.client.url(&format!(
                "/applications/{}?$select=appId",
                fetch::segment(&r.id)
            ));
            let Some(app) = self.client.get_opt(&url).await? else {
                continue;
            };
            let new = app["appId"].as_str().unwrap_or_default();
            if !new.is_empty() && new != old {
                for field in ["includeApplications", "excludeApplications"] {
                    super::rewrite_within(
                        &mut record.attrs["conditions"]["applications"][field],
                        old,
                        new,
                    );
                }
            }
        }
        Ok(record)
    }

    /// Creates or updates a conditional access policy or named location by display name.
    pub(super) async fn save_policy(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let record = &self.live_app_ids(record).await?;
        let path = Self::policy_path(&record.kind);
        let live = self
            .client
            .all(path)
            .await?
            .into_iter()
            .find(|p| p["displayName"] == record.key.as_str());
        let mut desired = writable(&record.kind, &record.attrs, live.is_none());
        if record.kind == CONDITIONAL_ACCESS_POLICY {
            let state =
                self.policy_state(&record.attrs["state"], live.as_ref().map(|l| &l["state"]));
            desired.insert("state".into(), state);
        }
        let Some(live) = live else {
            if record.kind == NAMED_LOCATION {
                desired.insert(
                    "@odata.type".into(),
                    Value::from(named_location_type(&record.attrs)),
                );
            }
            let created = self
                .client
                .send(
                    Method::POST,
                    &self.client.url(path),
                    Some(&Value::Object(desired)),
                )
                .await?
                .unwrap_or(Value::Null);
            return Ok(Outcome::Applied {
                id: id_of(&created).to_string(),
            });
        };
        let id = id_of(&live).to_string();
        let mut patch: Map<String, Value> = desired
            .into_iter()
            .filter(|(k, v)| !same(v, &live[k.as_str()]))
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        if record.kind == NAMED_LOCATION {
            patch.insert("@odata.type".into(), live["@odata.type"].clone());
        }
        let url = self.client.url(&format!("{path}/{id}"));
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_policy(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let path = Self::policy_path(&record.kind);
        let live = self
            .client
            .all(path)
            .await?
            .into_iter()
            .find(|p| p["displayName"] == record.key.as_str());
        let Some(live) = live else {
            return Ok(Outcome::AlreadyDone {
                id: record.id.clone(),
            });
        };
        let id = id_of(&live).to_string();
        match self
            .client
            .send(
                Method::DELETE,
                &self.client.url(&format!("{path}/{id}")),
                None,
            )
            .await
        {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }

    /// The tenant-wide policy and each method's configuration, patched where they differ.
    pub(super) async fn authentication_methods(
        &self,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        let url = self.client.url("/policies/authenticationMethodsPolicy");
        let live = records::authentication_methods_policy(&self.client.get(&url).await?);
        let read_only = [
            "id",
            "displayName",
            "description",
            "policyVersion",
            "authenticationMethodConfigurations",
        ];
        let patch: Map<String, Value> = record
            .attrs
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| !read_only.contains(&k.as_str()) && !same(v, &live.attrs[k.as_str()]))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut changed = false;
        if !patch.is_empty() {
            self.client
                .send(Method::PATCH, &url, Some(&Value::Object(patch)))
                .await?;
            changed = true;
        }
        let live_configs = live.attrs["authenticationMethodConfigurations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for config in record.attrs["authenticationMethodConfigurations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let current = live_configs.iter().find(|c| c["id"] == config["id"]);
            if current.is_some_and(|c| same(config, c)) {
                continue;
            }
            let mut body = config.as_object().cloned().unwrap_or_default();
            body.remove("id");
            let config_url = self.client.url(&format!(
                "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{}",
                fetch::segment(id_of(config))
            ));
            self.client
                .send(Method::PATCH, &config_url, Some(&Value::Object(body)))
                .await?;
            changed = true;
        }
        let id = record.id.clone();
        Ok(if changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }
}

/// The type Graph requires on a new named location, which a snapshot does not keep (Graph
/// writes `@odata.type` on every object it returns): IP ranges make an IP location, the rest
/// are country locations.
fn named_location_type(attrs: &Value) -> &'static str {
    if attrs.get("ipRanges").is_some() {
        "#microsoft.graph.ipNamedLocation"
    } else {
        "#microsoft.graph.countryNamedLocation"
    }
}

const STRENGTHS: &str = "/policies/authenticationStrengthPolicies";

impl Restore<'_> {
    async fn live_strength(&self, record: &Record) -> Result<Option<Value>, ProviderError> {
        Ok(self
            .client
            .all(STRENGTHS)
            .await?
            .into_iter()
            .find(|s| s["displayName"] == record.key.as_str()))
    }

    /// Creates a custom authentication strength, or brings a live one to the snapshot's name,
    /// description (`PATCH`) and combinations (`updateAllowedCombinations`).
    pub(super) async fn save_strength(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let desired = &record.attrs;
        let Some(live) = self.live_strength(record).await? else {
            let body = serde_json::json!({"displayName": desired["displayName"],
                "description": desired["description"], "allowedCombinations": desired["allowedCombinations"]});
            let created = self
                .client
                .send(Method::POST, &self.client.url(STRENGTHS), Some(&body))
                .await?
                .unwrap_or(Value::Null);
            return Ok(Outcome::Applied {
                id: id_of(&created).to_string(),
            });
        };
        let id = id_of(&live).to_string();
        let Some(current) = crate::ca::strength(&live) else {
            return Err(super::precondition(
                record,
                "a built-in authentication strength has this name: rename the custom one, or restore it by hand",
            ));
        };
        let mut changed = false;
        let patch: Map<String, Value> = ["displayName", "description"]
            .iter()
            .filter(|f| current.attrs[**f] != desired[**f])
            .map(|f| (f.to_string(), desired[*f].clone()))
            .collect();
        if !patch.is_empty() {
            let url = self.client.url(&format!("{STRENGTHS}/{id}"));
            self.client
                .send(Method::PATCH, &url, Some(&Value::Object(patch)))
                .await?;
            changed = true;
        }
        if current.attrs["allowedCombinations"] != desired["allowedCombinations"] {
            let url = self
                .client
                .url(&format!("{STRENGTHS}/{id}/updateAllowedCombinations"));
            let body = serde_json::json!({"allowedCombinations": desired["allowedCombinations"]});
            self.client.send(Method::POST, &url, Some(&body)).await?;
            changed = true;
        }
        Ok(if changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }

    pub(super) async fn delete_strength(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let Some(live) = self.live_strength(record).await? else {
            return Ok(Outcome::AlreadyDone {
                id: record.id.clone(),
            });
        };
        let id = id_of(&live).to_string();
        let url = self.client.url(&format!("{STRENGTHS}/{id}"));
        match self.client.send(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }
}

impl Restore<'_> {
    /// Brings the tenant's authorization policy to the snapshot's settings: one `PATCH` of
    /// the properties that differ (a complex one, such as the default user role's
    /// permissions, sent whole).
    pub(super) async fn authorization(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let url = self.client.url("/policies/authorizationPolicy");
        let live = self.client.get(&url).await?;
        let patch: Map<String, Value> = record
            .attrs
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| !same(v, &live[k.as_str()]))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let id = records::AUTHORIZATION_POLICY_KEY.to_string();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_named_location_says_which_type_it_is() {
        let ip = json!({"displayName": "Office", "ipRanges": [{"cidrAddress": "203.0.113.0/24"}], "isTrusted": true});
        let countries = json!({"displayName": "Embargo", "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": false});
        assert_eq!(named_location_type(&ip), "#microsoft.graph.ipNamedLocation");
        assert_eq!(
            named_location_type(&countries),
            "#microsoft.graph.countryNamedLocation"
        );
    }
}
