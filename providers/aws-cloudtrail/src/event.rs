//! One CloudTrail record (the `CloudTrailEvent` JSON of a `LookupEvents` answer) read into
//! the parts iamsnap keeps: who (`userIdentity`), from where (`sourceIPAddress`), what
//! (`eventName`, `requestParameters`), whether it worked (`errorCode`).
//!
//! Request and response elements are kept only while the connector picks its targets out of
//! them: they may hold policy documents, never secrets (CloudTrail hides passwords), but
//! nothing of them reaches an [`AuditEvent`] besides the targets.

use chrono::{DateTime, Utc};
use iamsnap_provider::{Actor, ActorKind, AuditEvent, Destructive, Target};
use serde::Deserialize;
use serde_json::Value;

/// The fields of a CloudTrail record that iamsnap reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_time: Option<DateTime<Utc>>,
    event_source: Option<String>,
    event_name: Option<String>,
    #[serde(default)]
    user_identity: Option<UserIdentity>,
    #[serde(default, rename = "sourceIPAddress")]
    source_ip_address: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    request_parameters: Option<Value>,
    #[serde(default)]
    response_elements: Option<Value>,
    #[serde(default)]
    read_only: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    principal_id: Option<String>,
    #[serde(default)]
    arn: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    invoked_by: Option<String>,
    #[serde(default)]
    session_context: Option<SessionContext>,
    /// Identity Center users acting in the access portal.
    #[serde(default)]
    on_behalf_of: Option<OnBehalfOf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    #[serde(default)]
    session_issuer: Option<SessionIssuer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(default)]
    user_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnBehalfOf {
    #[serde(default)]
    user_id: Option<String>,
}

/// One API call as CloudTrail recorded it, for a connector to name the records it touched.
#[derive(Debug, Clone)]
pub struct Call {
    /// The API operation (`DeleteUser`, `DeleteAccountAssignment`).
    pub name: String,
    /// The service (`iam.amazonaws.com`).
    pub source: String,
    /// `requestParameters`: the call's parameters, names starting lower case (`userName`).
    pub request: Value,
    /// `responseElements`: what the service answered, for calls that create.
    pub response: Value,
}

impl Call {
    /// The string parameter `name` of the request (`userName`), if any.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.request.get(name).and_then(Value::as_str)
    }
}

/// Reads one CloudTrail record; `None` when it is not JSON of CloudTrail's shape or is a
/// read-only call (`Get*`, `List*`), which changes nothing.
pub(crate) fn parse(
    text: &str,
    fallback_time: Option<DateTime<Utc>>,
    targets: &dyn Fn(&Call) -> Vec<Target>,
) -> Option<AuditEvent> {
    let record: Record = serde_json::from_str(text).ok()?;
    if record.read_only == Some(true) {
        return None;
    }
    let time = record.event_time.or(fallback_time)?;
    let call = Call {
        name: record.event_name.unwrap_or_default(),
        source: record.event_source.unwrap_or_default(),
        request: record.request_parameters.unwrap_or(Value::Null),
        response: record.response_elements.unwrap_or(Value::Null),
    };
    let targets = targets(&call);
    Some(AuditEvent {
        time,
        actor: actor(record.user_identity.unwrap_or_default()),
        destructive: destructive(&call.name),
        operation: call.name,
        targets,
        client_ip: record.source_ip_address.filter(|ip| !ip.is_empty()),
        outcome: match record.error_code {
            Some(_) => "failure".into(),
            None => "success".into(),
        },
    })
}

/// Who made the call, from `userIdentity`: the ARN as id; a user's name, a role's
/// `ROLE/SESSION`, or for Identity Center's permission-set roles the session name (the
/// person's user name in the access portal).
fn actor(identity: UserIdentity) -> Actor {
    let arn = identity.arn.clone().unwrap_or_default();
    let session = || arn.rsplit('/').next().unwrap_or_default().to_string();
    let id = if arn.is_empty() {
        identity.principal_id.clone().unwrap_or_default()
    } else {
        arn.clone()
    };
    match identity.kind.as_deref().unwrap_or_default() {
        "IAMUser" => Actor {
            kind: ActorKind::User,
            name: identity.user_name.unwrap_or_else(session),
            id,
        },
        "Root" => Actor {
            kind: ActorKind::User,
            name: "root".into(),
            id,
        },
        "AssumedRole" => {
            let role = identity
                .session_context
                .and_then(|c| c.session_issuer)
                .and_then(|i| i.user_name)
                .unwrap_or_default();
            let session = session();
            if role.starts_with("AWSReservedSSO_") {
                Actor {
                    kind: ActorKind::User,
                    name: session,
                    id,
                }
            } else {
                Actor {
                    kind: ActorKind::App,
                    name: format!("{role}/{session}"),
                    id,
                }
            }
        }
        "FederatedUser" | "SAMLUser" | "WebIdentityUser" => Actor {
            kind: ActorKind::User,
            name: identity.user_name.unwrap_or_else(session),
            id,
        },
        "IdentityCenterUser" => {
            let user = identity.on_behalf_of.and_then(|o| o.user_id);
            Actor {
                kind: ActorKind::User,
                name: user.clone().unwrap_or_default(),
                id: if id.is_empty() {
                    user.unwrap_or_default()
                } else {
                    id
                },
            }
        }
        "AWSService" => {
            let service = identity.invoked_by.unwrap_or_default();
            Actor {
                kind: ActorKind::App,
                id: if id.is_empty() { service.clone() } else { id },
                name: service,
            }
        }
        _ => Actor {
            kind: if id.is_empty() {
                ActorKind::Unknown
            } else {
                ActorKind::App
            },
            name: identity.user_name.unwrap_or_default(),
            id,
        },
    }
}

/// The incident category of an IAM, Identity Center or Organizations call, by its name.
/// Removing MFA comes first, then anything that changes what a policy allows (a policy
/// written, deleted, detached; a trust policy; a permissions boundary; an account moved
/// between OUs, which changes the SCPs over it), then grants (a policy attached to a
/// principal, a group joined, an account assignment, a delegated administrator), then any
/// other deletion or removal.
pub fn destructive(name: &str) -> Option<Destructive> {
    const MFA: &[&str] = &[
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "DeleteMfaDeviceForUser",
    ];
    const POLICY: &[&str] = &[
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "UpdateAssumeRolePolicy",
        "UpdateAccountPasswordPolicy",
        "UpdatePolicy",
        "AttachPolicy",
        "DisablePolicyType",
        "MoveAccount",
    ];
    const GRANT: &[&str] = &[
        "AddUserToGroup",
        "CreateAccountAssignment",
        "CreateGroupMembership",
        "RegisterDelegatedAdministrator",
    ];
    if MFA.contains(&name) {
        return Some(Destructive::MfaReset);
    }
    let policy_word = name.contains("Policy") || name.contains("PermissionsBoundary");
    if POLICY.contains(&name)
        || (policy_word
            && ["Put", "Delete", "Detach"]
                .iter()
                .any(|verb| name.starts_with(verb)))
    {
        return Some(Destructive::PolicyChange);
    }
    if GRANT.contains(&name) || (name.starts_with("Attach") && policy_word) {
        return Some(Destructive::RoleGrant);
    }
    let removes = ["Delete", "Remove", "Deregister", "Close", "Leave"];
    removes
        .iter()
        .any(|verb| name.starts_with(verb))
        .then_some(Destructive::Deletion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(call: &Call) -> Vec<Target> {
        call.param("userName")
            .map(|name| Target {
                id: name.to_string(),
                kind: "AWS::IAM::User".into(),
                name: name.to_string(),
                record: Some(format!("aws.user:{name}")),
            })
            .into_iter()
            .collect()
    }

    /// The IAM user record of the CloudTrail User Guide's "Example log files" (an IAM user
    /// calling `CreateUser`), with `eventName` made a deletion.
    const IAM_USER: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA6ON6E4XEGITEXAMPLE","arn":"arn:aws:iam::888888888888:user/Mary","accountId":"888888888888","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"Mary","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"2023-07-19T21:11:57Z","mfaAuthenticated":"false"}}},"eventTime":"2023-07-19T21:25:09Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","userAgent":"aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/iam.create-user","requestParameters":{"userName":"Richard"},"responseElements":null,"requestID":"2d528c76-329e-410b-9516-EXAMPLE565dc","eventID":"ba0801a1-87ec-4d26-be87-EXAMPLE75bbb","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"888888888888","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"iam.amazonaws.com"},"sessionCredentialFromConsole":"true"}"#;

    /// The assumed-role record of the same guide's examples, refused with `AccessDenied`.
    const ASSUMED_ROLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName","arn":"arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName","accountId":"123456789012","accessKeyId":"ASIAIOSFODNN7EXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAIDPPEZS35WEXAMPLE","arn":"arn:aws:iam::123456789012:role/RoleToBeAssumed","accountId":"123456789012","userName":"RoleToBeAssumed"},"attributes":{"creationDate":"2023-07-19T15:46:09Z","mfaAuthenticated":"false"}}},"eventTime":"2023-07-19T16:11:34Z","eventSource":"iam.amazonaws.com","eventName":"DetachRolePolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.13.5","errorCode":"AccessDenied","errorMessage":"User is not authorized","requestParameters":{"roleName":"deploy","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"},"responseElements":null,"requestID":"4c0c4c46","eventID":"e6f5dd53","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}"#;

    /// An Identity Center user in the access portal (the user guide's `IdentityCenterUser`
    /// identity) deleting an account assignment through a permission-set role.
    const SSO_ROLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:ada@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/ada@example.com","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_AdministratorAccess_0123456789abcdef"}}},"eventTime":"2026-12-06T10:00:00Z","eventSource":"sso.amazonaws.com","eventName":"DeleteAccountAssignment","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.7","requestParameters":{"instanceArn":"arn:aws:sso:::instance/ssoins-1","targetId":"111122223333","targetType":"AWS_ACCOUNT","permissionSetArn":"arn:aws:sso:::permissionSet/ssoins-1/ps-1","principalType":"USER","principalId":"u-1"},"responseElements":{"accountAssignmentDeletionStatus":{"status":"IN_PROGRESS"}},"readOnly":false,"eventType":"AwsApiCall"}"#;

    #[test]
    fn an_iam_user_deleting_a_user_is_read_from_the_reference_record() {
        let event = parse(IAM_USER, None, &names).unwrap();
        assert_eq!(event.actor.kind, ActorKind::User);
        assert_eq!(event.actor.name, "Mary");
        assert_eq!(event.actor.id, "arn:aws:iam::888888888888:user/Mary");
        assert_eq!(event.operation, "DeleteUser");
        assert_eq!(event.client_ip.as_deref(), Some("192.0.2.0"));
        assert_eq!(event.outcome, "success");
        assert_eq!(event.destructive, Some(Destructive::Deletion));
        assert_eq!(event.targets[0].record.as_deref(), Some("aws.user:Richard"));
        assert_eq!(event.time.to_rfc3339(), "2023-07-19T21:25:09+00:00");
    }

    #[test]
    fn an_assumed_role_is_an_app_and_an_error_code_a_failure() {
        let event = parse(ASSUMED_ROLE, None, &|_| Vec::new()).unwrap();
        assert_eq!(event.actor.kind, ActorKind::App);
        assert_eq!(event.actor.name, "RoleToBeAssumed/MySessionName");
        assert_eq!(event.outcome, "failure");
        assert_eq!(event.destructive, Some(Destructive::PolicyChange));
    }

    #[test]
    fn a_person_through_an_identity_center_role_is_named_by_the_session() {
        let event = parse(SSO_ROLE, None, &|call| {
            vec![Target {
                id: call.param("principalId").unwrap().to_string(),
                kind: "USER".into(),
                name: String::new(),
                record: None,
            }]
        })
        .unwrap();
        assert_eq!(event.actor.kind, ActorKind::User);
        assert_eq!(event.actor.name, "ada@example.com");
        assert_eq!(event.targets[0].id, "u-1");
        assert_eq!(event.destructive, Some(Destructive::Deletion));
    }

    #[test]
    fn read_only_calls_and_other_text_are_left_out() {
        let read = IAM_USER.replace(r#""readOnly":false"#, r#""readOnly":true"#);
        assert!(parse(&read, None, &names).is_none());
        assert!(parse("not json", None, &names).is_none());
    }

    #[test]
    fn incident_categories_follow_the_operation_names() {
        let d = destructive;
        assert_eq!(d("DeleteUser"), Some(Destructive::Deletion));
        assert_eq!(d("RemoveUserFromGroup"), Some(Destructive::Deletion));
        assert_eq!(d("DeleteAccountAssignment"), Some(Destructive::Deletion));
        assert_eq!(d("DeleteSSHPublicKey"), Some(Destructive::Deletion));
        assert_eq!(d("PutRolePolicy"), Some(Destructive::PolicyChange));
        assert_eq!(d("DeleteRolePolicy"), Some(Destructive::PolicyChange));
        assert_eq!(d("DetachUserPolicy"), Some(Destructive::PolicyChange));
        assert_eq!(d("DeletePolicy"), Some(Destructive::PolicyChange));
        assert_eq!(
            d("PutInlinePolicyToPermissionSet"),
            Some(Destructive::PolicyChange)
        );
        assert_eq!(
            d("DeleteRolePermissionsBoundary"),
            Some(Destructive::PolicyChange)
        );
        assert_eq!(d("UpdateAssumeRolePolicy"), Some(Destructive::PolicyChange));
        assert_eq!(d("MoveAccount"), Some(Destructive::PolicyChange));
        assert_eq!(d("AttachRolePolicy"), Some(Destructive::RoleGrant));
        assert_eq!(
            d("AttachManagedPolicyToPermissionSet"),
            Some(Destructive::RoleGrant)
        );
        assert_eq!(d("AddUserToGroup"), Some(Destructive::RoleGrant));
        assert_eq!(d("CreateAccountAssignment"), Some(Destructive::RoleGrant));
        assert_eq!(d("DeactivateMFADevice"), Some(Destructive::MfaReset));
        assert_eq!(d("DeleteVirtualMFADevice"), Some(Destructive::MfaReset));
        assert_eq!(d("CreateUser"), None);
        assert_eq!(d("TagRole"), None);
        assert_eq!(d("CreatePolicy"), None);
    }
}
