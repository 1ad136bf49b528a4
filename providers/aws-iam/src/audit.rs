//! Who changed what: IAM's calls in CloudTrail's event history (`iam.amazonaws.com`, kept in
//! `us-east-1` whatever the source's region), read by `iamsnap-aws-cloudtrail`. CloudTrail
//! names users, groups, roles and policies by name or ARN, while their records carry unique
//! ids, so each target gives the record it is as `KIND:KEY`.

use async_trait::async_trait;
use iamsnap_aws_cloudtrail::{Call, GLOBAL_REGION};
use iamsnap_provider::{AuditEvent, AuditLog, Destructive, ProviderError, Target, Window};

use crate::AwsIamProvider;
use crate::kinds::{self, Principal};

/// CloudTrail's name for IAM's events.
const SOURCE: &str = "iam.amazonaws.com";

#[async_trait]
impl AuditLog for AwsIamProvider {
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

/// The principal a call names (`userName`, `groupName`, `roleName`), if any.
fn principal(call: &Call) -> Option<(Principal, &str)> {
    [
        (Principal::User, "userName"),
        (Principal::Group, "groupName"),
        (Principal::Role, "roleName"),
    ]
    .into_iter()
    .find_map(|(p, param)| call.param(param).map(|name| (p, name)))
}

fn principal_target(p: Principal, name: &str) -> Target {
    let word = match p {
        Principal::User => "AWS::IAM::User",
        Principal::Group => "AWS::IAM::Group",
        Principal::Role => "AWS::IAM::Role",
    };
    Target::of_record(p.kind(), name, word)
}

/// The records an IAM call touched. A relationship (a membership, an attachment, an inline
/// policy) is named alone, so that undoing the call restores just it; a grant also names the
/// principal or group it widened, whose authoritative restore takes the grant back.
pub(crate) fn targets(call: &Call) -> Vec<Target> {
    let grant = iamsnap_aws_cloudtrail::destructive(&call.name) == Some(Destructive::RoleGrant);
    let mut out = Vec::new();
    if let (Some(group), Some(user)) = (call.param("groupName"), call.param("userName")) {
        if grant {
            out.push(principal_target(Principal::Group, group));
        }
        out.push(Target::of_record(
            kinds::GROUP_MEMBERSHIP,
            &format!("{group}|{user}"),
            "GroupMembership",
        ));
        return out;
    }
    if let Some(profile) = call.param("instanceProfileName") {
        out.push(Target::of_record(
            kinds::INSTANCE_PROFILE,
            profile,
            "AWS::IAM::InstanceProfile",
        ));
        return out;
    }
    if let Some((p, name)) = principal(call) {
        if let Some(arn) = call.param("policyArn") {
            if grant {
                out.push(principal_target(p, name));
            }
            out.push(Target::of_record(
                kinds::POLICY_ATTACHMENT,
                &kinds::relation_key(p, name, arn),
                "PolicyAttachment",
            ));
            return out;
        }
        if let Some(policy) = call.param("policyName") {
            out.push(Target::of_record(
                kinds::INLINE_POLICY,
                &kinds::relation_key(p, name, policy),
                "InlinePolicy",
            ));
            return out;
        }
        // Keys and certificates are records of their own; a user's other facets (console
        // password, access keys, MFA) are attributes of the user's record.
        for (param, word) in [
            ("sSHPublicKeyId", "SSHPublicKey"),
            ("certificateId", "SigningCertificate"),
        ] {
            if let Some(id) = call.param(param) {
                return vec![Target::by_id(id, word)];
            }
        }
        out.push(principal_target(p, name));
        if let Some(serial) = call.param("serialNumber") {
            out.push(Target::by_id(serial, "MFADevice"));
        }
        out.extend(created_ids(call));
        return out;
    }
    if let Some(arn) = call.param("policyArn") {
        if !kinds::is_aws_managed(arn) {
            out.push(Target::of_record(
                kinds::POLICY,
                kinds::arn_name(arn),
                "AWS::IAM::Policy",
            ));
        }
        return out;
    }
    for (param, word) in [
        ("sAMLProviderArn", "SAMLProvider"),
        ("openIDConnectProviderArn", "OIDCProvider"),
        ("serialNumber", "MFADevice"),
    ] {
        if let Some(arn) = call.param(param) {
            return vec![Target::by_id(arn, word)];
        }
    }
    if let Some(alias) = call.param("accountAlias") {
        return vec![Target::of_record(
            kinds::ACCOUNT_ALIAS,
            alias,
            "AccountAlias",
        )];
    }
    if let Some(name) = call.param("serverCertificateName") {
        return vec![Target::of_record(
            kinds::SERVER_CERTIFICATE,
            name,
            "ServerCertificate",
        )];
    }
    if call.name.ends_with("AccountPasswordPolicy") {
        return vec![Target::of_record(
            kinds::PASSWORD_POLICY,
            kinds::PASSWORD_POLICY_KEY,
            "PasswordPolicy",
        )];
    }
    out
}

/// The unique id a creating call answered with (`CreateUser` → `user.userId`), which a
/// record of the new object carries.
fn created_ids(call: &Call) -> Vec<Target> {
    [
        ("user", "userId", "AWS::IAM::User"),
        ("group", "groupId", "AWS::IAM::Group"),
        ("role", "roleId", "AWS::IAM::Role"),
    ]
    .into_iter()
    .filter_map(|(object, field, word)| {
        let id = call.response.get(object)?.get(field)?.as_str()?;
        Some(Target::by_id(id, word))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn call(name: &str, request: Value) -> Call {
        Call {
            name: name.into(),
            source: SOURCE.into(),
            request,
            response: Value::Null,
        }
    }

    fn records(call: &Call) -> Vec<String> {
        targets(call)
            .into_iter()
            .map(|t| t.record.unwrap_or(t.id))
            .collect()
    }

    #[test]
    fn calls_name_the_records_the_connector_keeps() {
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let detached = format!("aws.policy_attachment:role/deploy|{admin}");
        let attached = format!("aws.policy_attachment:user/eve|{admin}");
        let cases = [
            (
                call("DeleteUser", json!({"userName": "ada"})),
                vec!["aws.user:ada"],
            ),
            (
                call(
                    "RemoveUserFromGroup",
                    json!({"groupName": "ops", "userName": "ada"}),
                ),
                vec!["aws.group_membership:ops|ada"],
            ),
            (
                call(
                    "AddUserToGroup",
                    json!({"groupName": "admins", "userName": "eve"}),
                ),
                vec!["aws.group:admins", "aws.group_membership:admins|eve"],
            ),
            (
                call(
                    "DetachRolePolicy",
                    json!({"roleName": "deploy", "policyArn": admin}),
                ),
                vec![detached.as_str()],
            ),
            (
                call(
                    "AttachUserPolicy",
                    json!({"userName": "eve", "policyArn": admin}),
                ),
                vec!["aws.user:eve", attached.as_str()],
            ),
            (
                call(
                    "PutGroupPolicy",
                    json!({"groupName": "ops", "policyName": "s3", "policyDocument": "{}"}),
                ),
                vec!["aws.inline_policy:group/ops|s3"],
            ),
            (
                call(
                    "DeletePolicy",
                    json!({"policyArn": "arn:aws:iam::123456789012:policy/team/ReadOnly"}),
                ),
                vec!["aws.policy:ReadOnly"],
            ),
            (
                call(
                    "DeleteSSHPublicKey",
                    json!({"userName": "ada", "sSHPublicKeyId": "APKAEXAMPLE"}),
                ),
                vec!["APKAEXAMPLE"],
            ),
            (
                call(
                    "DeactivateMFADevice",
                    json!({"userName": "ada", "serialNumber": "arn:aws:iam::1:mfa/ada"}),
                ),
                vec!["aws.user:ada", "arn:aws:iam::1:mfa/ada"],
            ),
            (
                call(
                    "DeleteSAMLProvider",
                    json!({"sAMLProviderArn": "arn:aws:iam::1:saml-provider/Okta"}),
                ),
                vec!["arn:aws:iam::1:saml-provider/Okta"],
            ),
            (
                call("DeleteAccountPasswordPolicy", Value::Null),
                vec!["aws.password_policy:password-policy"],
            ),
            (
                call(
                    "DetachRolePolicy",
                    json!({"roleName": "x", "policyArn": "arn:aws:iam::aws:policy/a"}),
                ),
                vec!["aws.policy_attachment:role/x|arn:aws:iam::aws:policy/a"],
            ),
        ];
        for (call, expected) in cases {
            assert_eq!(records(&call), expected, "{}", call.name);
        }
    }

    #[test]
    fn a_created_user_is_also_named_by_its_unique_id() {
        let mut created = call("CreateUser", json!({"userName": "bob"}));
        created.response = json!({"user": {"userName": "bob", "userId": "AIDAEXAMPLE"}});
        assert_eq!(records(&created), vec!["aws.user:bob", "AIDAEXAMPLE"]);
    }
}
