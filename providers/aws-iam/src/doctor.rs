//! What `iamsnap doctor` asks AWS of an IAM source (see [`iamsnap_aws_caller`]): who the
//! credentials are and how old, and whether IAM's policy simulator allows them the actions a
//! restore makes.

/// Every action a restore may make: the `IamsnapRestoreWrite` statement of `docs/aws-iam.md`, which a test keeps
/// equal to this list.
pub(crate) const RESTORE_ACTIONS: &[&str] = &[
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
    "iam:DeletePolicy",
    "iam:CreateGroup",
    "iam:UpdateGroup",
    "iam:DeleteGroup",
    "iam:AddUserToGroup",
    "iam:RemoveUserFromGroup",
    "iam:CreateUser",
    "iam:UpdateUser",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
    "iam:DeleteUser",
    "iam:DeleteLoginProfile",
    "iam:DeleteAccessKey",
    "iam:DeactivateMFADevice",
    "iam:DeleteSigningCertificate",
    "iam:DeleteSSHPublicKey",
    "iam:UploadSSHPublicKey",
    "iam:UpdateSSHPublicKey",
    "iam:UploadSigningCertificate",
    "iam:UpdateSigningCertificate",
    "iam:CreateRole",
    "iam:CreateServiceLinkedRole",
    "iam:UpdateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:DeleteRole",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:DetachUserPolicy",
    "iam:DetachGroupPolicy",
    "iam:DetachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:DeleteUserPolicy",
    "iam:DeleteGroupPolicy",
    "iam:DeleteRolePolicy",
    "iam:CreateInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:UntagInstanceProfile",
    "iam:DeleteInstanceProfile",
    "iam:CreateSAMLProvider",
    "iam:UpdateSAMLProvider",
    "iam:TagSAMLProvider",
    "iam:UntagSAMLProvider",
    "iam:DeleteSAMLProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:UpdateAccountPasswordPolicy",
    "iam:DeleteAccountPasswordPolicy",
    "iam:CreateAccountAlias",
    "iam:DeleteAccountAlias",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_asked_are_the_documented_restore_policy() {
        let page = include_str!("../../../docs/aws-iam.md");
        assert_eq!(
            iamsnap_aws_caller::documented_actions(page, "IamsnapRestoreWrite"),
            RESTORE_ACTIONS
        );
    }
}
