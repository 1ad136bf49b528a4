//! Who changed what: the calls of sso-admin (`sso.amazonaws.com`) and of the Identity Store
//! (`identitystore.amazonaws.com`) in CloudTrail's event history of the instance's region,
//! read by `iamsnap-aws-cloudtrail`. CloudTrail names users, groups, memberships and
//! permission sets by the ids their records carry; an account assignment by its parts, from
//! which its record's id is made.

use async_trait::async_trait;
use iamsnap_aws_cloudtrail::Call;
use iamsnap_provider::{AuditEvent, AuditLog, Destructive, ProviderError, Target, Window};

use crate::AwsIdentityCenterProvider;
use crate::kinds::{self, Principal};

/// CloudTrail's names for the services the connector reads.
const SOURCES: [&str; 2] = ["sso.amazonaws.com", "identitystore.amazonaws.com"];

#[async_trait]
impl AuditLog for AwsIdentityCenterProvider {
    fn permission(&self) -> &'static str {
        iamsnap_aws_cloudtrail::PERMISSION
    }

    fn retention(&self) -> Option<chrono::Duration> {
        iamsnap_aws_cloudtrail::retention()
    }

    /// CloudTrail filters by one attribute only, the event source: the window is read whole,
    /// once per service.
    async fn events(
        &self,
        window: Window,
        _targets: &[String],
    ) -> Result<Vec<AuditEvent>, ProviderError> {
        let trail = &self.connection.clients().await.trail;
        trail.events(&SOURCES, window, targets).await
    }
}

/// The records an Identity Center call touched. A grant (an assignment made, a member added)
/// also names the permission set or group it widened, whose authoritative restore takes the
/// grant back.
pub(crate) fn targets(call: &Call) -> Vec<Target> {
    let grant = iamsnap_aws_cloudtrail::destructive(&call.name) == Some(Destructive::RoleGrant);
    let mut out = Vec::new();
    if let (Some(set), Some(account), Some(kind), Some(principal)) = (
        call.param("permissionSetArn"),
        call.param("targetId"),
        call.param("principalType"),
        call.param("principalId"),
    ) {
        let principal_kind = match kind {
            "GROUP" => Principal::Group,
            _ => Principal::User,
        };
        if grant {
            out.push(Target::by_id(set, "PermissionSet"));
        }
        out.push(Target::by_id(
            &kinds::assignment_id(set, account, principal_kind, principal),
            "AccountAssignment",
        ));
        return out;
    }
    if let Some(set) = call.param("permissionSetArn") {
        return vec![Target::by_id(set, "PermissionSet")];
    }
    if let Some(membership) = call
        .param("membershipId")
        .or_else(|| call.response.get("membershipId").and_then(|v| v.as_str()))
    {
        if grant && let Some(group) = call.param("groupId") {
            out.push(Target::by_id(group, "Group"));
        }
        out.push(Target::by_id(membership, "GroupMembership"));
        return out;
    }
    for (param, word) in [("userId", "User"), ("groupId", "Group")] {
        if let Some(id) = call
            .param(param)
            .or_else(|| call.response.get(param).and_then(|v| v.as_str()))
        {
            return vec![Target::by_id(id, word)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn ids(name: &str, request: Value, response: Value) -> Vec<String> {
        let call = Call {
            name: name.into(),
            source: SOURCES[0].into(),
            request,
            response,
        };
        targets(&call).into_iter().map(|t| t.id).collect()
    }

    #[test]
    fn calls_name_the_ids_the_records_carry() {
        let set = "arn:aws:sso:::permissionSet/ssoins-1/ps-1";
        let assignment = json!({"instanceArn": "arn:aws:sso:::instance/ssoins-1",
            "targetId": "111122223333", "targetType": "AWS_ACCOUNT",
            "permissionSetArn": set, "principalType": "GROUP", "principalId": "g-1"});
        let id = format!("{set}|111122223333|GROUP|g-1");
        assert_eq!(
            ids("DeleteAccountAssignment", assignment.clone(), Value::Null),
            vec![id.clone()]
        );
        assert_eq!(
            ids("CreateAccountAssignment", assignment, Value::Null),
            vec![set.to_string(), id]
        );
        assert_eq!(
            ids(
                "DeletePermissionSet",
                json!({"permissionSetArn": set}),
                Value::Null
            ),
            vec![set]
        );
        assert_eq!(
            ids(
                "DeleteUser",
                json!({"identityStoreId": "d-1", "userId": "u-1"}),
                Value::Null
            ),
            vec!["u-1"]
        );
        assert_eq!(
            ids(
                "DeleteGroupMembership",
                json!({"identityStoreId": "d-1", "membershipId": "m-1"}),
                Value::Null
            ),
            vec!["m-1"]
        );
        assert_eq!(
            ids(
                "CreateGroupMembership",
                json!({"identityStoreId": "d-1", "groupId": "g-1", "memberId": {"userId": "u-1"}}),
                json!({"membershipId": "m-2", "identityStoreId": "d-1"})
            ),
            vec!["g-1", "m-2"]
        );
    }
}
