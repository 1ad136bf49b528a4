//! What `iamsnap doctor` asks AWS of an Organizations source (see [`iamsnap_aws_caller`]): who the
//! credentials are and how old, and whether IAM's policy simulator allows them the actions a
//! restore makes.

/// Every action a restore may make: the `IamsnapOrganizationsRestoreWrite` statement of `docs/aws-organizations.md`, which a test keeps
/// equal to this list.
pub(crate) const RESTORE_ACTIONS: &[&str] = &[
    "organizations:EnablePolicyType",
    "organizations:CreateOrganizationalUnit",
    "organizations:DeleteOrganizationalUnit",
    "organizations:CreatePolicy",
    "organizations:UpdatePolicy",
    "organizations:DeletePolicy",
    "organizations:AttachPolicy",
    "organizations:DetachPolicy",
    "organizations:MoveAccount",
    "organizations:TagResource",
    "organizations:UntagResource",
    "organizations:RegisterDelegatedAdministrator",
    "organizations:DeregisterDelegatedAdministrator",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_asked_are_the_documented_restore_policy() {
        let page = include_str!("../../../docs/aws-organizations.md");
        assert_eq!(
            iamsnap_aws_caller::documented_actions(page, "IamsnapOrganizationsRestoreWrite"),
            RESTORE_ACTIONS
        );
    }
}
