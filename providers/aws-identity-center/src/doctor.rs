//! What `iamsnap doctor` asks AWS of an Identity Center source (see [`iamsnap_aws_caller`]): who the
//! credentials are and how old, and whether IAM's policy simulator allows them the actions a
//! restore makes.

/// Every action a restore may make: the `IamsnapIdentityCenterWrite` statement of `docs/aws-identity-center.md`, which a test keeps
/// equal to this list.
pub(crate) const RESTORE_ACTIONS: &[&str] = &[
    "sso:CreatePermissionSet",
    "sso:UpdatePermissionSet",
    "sso:DeletePermissionSet",
    "sso:TagResource",
    "sso:UntagResource",
    "sso:AttachManagedPolicyToPermissionSet",
    "sso:DetachManagedPolicyFromPermissionSet",
    "sso:AttachCustomerManagedPolicyReferenceToPermissionSet",
    "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
    "sso:PutInlinePolicyToPermissionSet",
    "sso:DeleteInlinePolicyFromPermissionSet",
    "sso:PutPermissionsBoundaryToPermissionSet",
    "sso:DeletePermissionsBoundaryFromPermissionSet",
    "sso:ProvisionPermissionSet",
    "sso:DescribePermissionSetProvisioningStatus",
    "sso:CreateAccountAssignment",
    "sso:DeleteAccountAssignment",
    "sso:DescribeAccountAssignmentCreationStatus",
    "sso:DescribeAccountAssignmentDeletionStatus",
    "identitystore:DescribeUser",
    "identitystore:DescribeGroup",
    "identitystore:GetUserId",
    "identitystore:GetGroupId",
    "identitystore:CreateUser",
    "identitystore:UpdateUser",
    "identitystore:DeleteUser",
    "identitystore:CreateGroup",
    "identitystore:UpdateGroup",
    "identitystore:DeleteGroup",
    "identitystore:CreateGroupMembership",
    "identitystore:DeleteGroupMembership",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_asked_are_the_documented_restore_policy() {
        let page = include_str!("../../../docs/aws-identity-center.md");
        assert_eq!(
            iamsnap_aws_caller::documented_actions(page, "IamsnapIdentityCenterWrite"),
            RESTORE_ACTIONS
        );
    }
}
