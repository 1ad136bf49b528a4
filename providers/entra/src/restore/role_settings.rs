//! Restore of the PIM settings of directory roles: the live policy of the role (a re-created
//! custom role's by its new id) found through its assignment, and each rule that differs from
//! the snapshot's patched on its own, as Graph requires. A rule the live policy does not have
//! cannot be added.

use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;

use super::{Restore, precondition, same};
use crate::read::fetch::segment;
use crate::role_settings::{self, POLICIES};

impl Restore<'_> {
    pub(super) async fn role_setting(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let role = record
            .target("role")
            .map(|r| r.id.clone())
            .unwrap_or_else(|| record.key.clone());
        let Some(live) = role_settings::assignment(self.client, &role).await? else {
            return Err(precondition(
                record,
                "the role has no PIM policy in the live tenant; restore the role first",
            ));
        };
        let policy = live["policyId"].as_str().unwrap_or_default().to_string();
        let live_rules = live["policy"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut changed = false;
        for rule in record.attrs["rules"].as_array().into_iter().flatten() {
            let id = rule["id"].as_str().unwrap_or_default();
            let Some(current) = live_rules.iter().find(|r| r["id"] == id) else {
                continue;
            };
            if same(rule, current) {
                continue;
            }
            let url = self.client.url(&format!(
                "{POLICIES}/{}/rules/{}",
                segment(&policy),
                segment(id)
            ));
            self.client.send(Method::PATCH, &url, Some(rule)).await?;
            changed = true;
        }
        Ok(if changed {
            Outcome::Applied { id: policy }
        } else {
            Outcome::AlreadyDone { id: policy }
        })
    }
}
