//! The identity a restore runs as. Credentials from Identity Center itself are a session of the
//! role it provisions in each account, `AWSReservedSSO_<permission set>_<suffix>`, named after
//! the user: that user, the permission set and its assignment to the user on that account give
//! the restore its rights, and a restore never deletes or changes them.

use iamsnap_provider::SelfIdentity;

use crate::kinds::{self, Principal, assignment_key};

/// The Identity Center user and permission set behind `arn`
/// (`arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/ada`), if the
/// credentials are an Identity Center session.
pub(crate) fn identity_of_arn(arn: &str) -> Option<SelfIdentity> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, "sts", "", account, resource] = parts.as_slice() else {
        return None;
    };
    let mut path = resource.split('/');
    let (Some("assumed-role"), Some(role), Some(user)) = (path.next(), path.next(), path.next())
    else {
        return None;
    };
    let set = role.strip_prefix("AWSReservedSSO_")?.rsplit_once('_')?.0;
    let mut me = SelfIdentity::new(kinds::USER, user);
    me.grant(
        kinds::ACCOUNT_ASSIGNMENT,
        assignment_key(set, account, Principal::User, user),
        format!("assigns permission set {set} to user {user} on {account}"),
    );
    me.grant(
        kinds::PERMISSION_SET,
        set,
        format!("is permission set {set}, which user {user} signs in with"),
    );
    Some(me)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_center_session_names_its_user_and_permission_set() {
        let me = identity_of_arn(
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/ada",
        )
        .unwrap();
        assert_eq!(me.key, "ada");
        let keys: Vec<&str> = me.grants.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["Admin|111122223333/user/ada", "Admin"]);
        assert!(identity_of_arn("arn:aws:sts::111122223333:assumed-role/deploy/ci").is_none());
        assert!(identity_of_arn("arn:aws:iam::111122223333:user/ada").is_none());
    }
}
