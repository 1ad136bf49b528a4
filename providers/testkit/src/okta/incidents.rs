//! Changes to an org made beside the API, for tests: what real orgs do that a seed does not
//! (policy types the reference does not list, a list answering with another type), and
//! incidents on sign-in objects.

use serde_json::{Value, json};

use super::model::{Org, ts};

impl Org {
    /// Gives the org a policy of `policy_type` (any name, listed or not) with a catch-all rule:
    /// its id. `listed` says whether `GET /api/v1/policies?type=…` answers for the type (else
    /// 400, as for a type the org lacks).
    pub fn add_policy_of_type(&mut self, policy_type: &str, name: &str, listed: bool) -> String {
        if listed {
            self.policy_types.insert(policy_type.to_string());
        }
        let id = self.new_id("00p");
        let rule = self.new_id("0pr");
        let created = ts(self.now);
        let policy = json!({"id": id, "type": policy_type, "name": name, "status": "ACTIVE",
            "system": false, "priority": 1, "description": format!("{name} ({policy_type})"),
            "conditions": null, "created": created, "lastUpdated": created,
            "_links": {"self": {"href": format!("/api/v1/policies/{id}")},
                       "rules": {"href": format!("/api/v1/policies/{id}/rules")}}});
        let rule = json!({"id": rule, "type": policy_type, "name": "Catch-all rule", "priority": 99,
            "status": "ACTIVE", "system": true, "created": created, "lastUpdated": created,
            "conditions": null, "actions": {},
            "_links": {"self": {"href": format!("/api/v1/policies/{id}/rules/{rule}")}}});
        self.policy_rules.insert(id.clone(), vec![rule]);
        self.policies.insert(id.clone(), policy);
        id
    }

    /// Makes `GET /api/v1/policies?type=REQUESTED` also list the policies whose type is
    /// `answered`, as an org may for a type it renamed.
    pub fn alias_policy_type(&mut self, requested: &str, answered: &str) {
        self.policy_types.insert(requested.to_string());
        self.policy_aliases
            .insert(requested.to_string(), answered.to_string());
    }

    /// Binds app `app` to policy `policy` whatever its type.
    pub fn bind_app_to_policy(&mut self, app: &str, policy: &str) -> bool {
        match self.apps.get_mut(app) {
            Some(a) => {
                a["_links"]["accessPolicy"] = json!({"href": format!("/api/v1/policies/{policy}")});
                true
            }
            None => false,
        }
    }

    /// Takes Okta Identity Governance away: the Group Owners API then answers 403.
    pub fn disable_governance(&mut self) {
        self.governance = false;
    }

    /// The id of the authenticator with `key`.
    pub fn authenticator_id(&self, key: &str) -> Option<String> {
        self.authenticators
            .iter()
            .find(|(_, a)| a["key"] == key)
            .map(|(id, _)| id.clone())
    }

    /// Every authenticator as Okta returns it.
    pub fn authenticators_json(&self) -> Vec<Value> {
        self.authenticators.values().cloned().collect()
    }
}
