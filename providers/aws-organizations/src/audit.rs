//! Who changed what: Organizations' calls (`organizations.amazonaws.com`) in CloudTrail's
//! event history, kept in `us-east-1` whatever the source's region, read by
//! `iamsnap-aws-cloudtrail`. CloudTrail names OUs, accounts, policies and the root by the ids
//! their records carry; a policy attachment by the policy and the target, the two objects its
//! record names.

use async_trait::async_trait;
use iamsnap_aws_cloudtrail::{Call, GLOBAL_REGION};
use iamsnap_provider::{AuditEvent, AuditLog, ProviderError, Target, Window};

use crate::AwsOrganizationsProvider;

/// CloudTrail's name for Organizations' events.
const SOURCE: &str = "organizations.amazonaws.com";

#[async_trait]
impl AuditLog for AwsOrganizationsProvider {
    fn permission(&self) -> &'static str {
        iamsnap_aws_cloudtrail::PERMISSION
    }

    fn retention(&self) -> Option<chrono::Duration> {
        iamsnap_aws_cloudtrail::retention()
    }

    /// CloudTrail filters by one attribute only, the event source: the window is read whole.
    async fn events(
        &self,
        window: Window,
        _targets: &[String],
    ) -> Result<Vec<AuditEvent>, ProviderError> {
        let trail = self.connection.trail(Some(GLOBAL_REGION)).await;
        trail.events(&[SOURCE], window, targets).await
    }
}

/// The records an Organizations call touched.
pub(crate) fn targets(call: &Call) -> Vec<Target> {
    if let (Some(account), Some(service)) =
        (call.param("accountId"), call.param("servicePrincipal"))
    {
        return vec![Target::by_id(
            &format!("{account}|{service}"),
            "DelegatedAdministrator",
        )];
    }
    let mut out = Vec::new();
    for (param, word) in [
        ("policyId", "Policy"),
        ("targetId", "Target"),
        ("organizationalUnitId", "OrganizationalUnit"),
        ("accountId", "Account"),
        ("rootId", "Root"),
        ("resourceId", "Resource"),
    ] {
        if let Some(id) = call.param(param) {
            out.push(Target::by_id(id, word));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(name: &str, request: serde_json::Value) -> Vec<String> {
        let call = Call {
            name: name.into(),
            source: SOURCE.into(),
            request,
            response: serde_json::Value::Null,
        };
        targets(&call).into_iter().map(|t| t.id).collect()
    }

    #[test]
    fn calls_name_the_ids_the_records_carry() {
        assert_eq!(
            ids(
                "DetachPolicy",
                json!({"policyId": "p-1", "targetId": "ou-1"})
            ),
            vec!["p-1", "ou-1"]
        );
        assert_eq!(ids("DeletePolicy", json!({"policyId": "p-1"})), vec!["p-1"]);
        assert_eq!(
            ids(
                "MoveAccount",
                json!({"accountId": "111122223333", "sourceParentId": "ou-1", "destinationParentId": "r-1"})
            ),
            vec!["111122223333"]
        );
        assert_eq!(
            ids(
                "DeregisterDelegatedAdministrator",
                json!({"accountId": "111122223333", "servicePrincipal": "sso.amazonaws.com"})
            ),
            vec!["111122223333|sso.amazonaws.com"]
        );
    }
}
