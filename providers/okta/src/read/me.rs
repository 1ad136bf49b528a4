//! The user the token acts as and what gives it its admin rights, read before every restore
//! plan so that the plan never weakens them.

use iamsnap_provider::{ProviderError, SelfIdentity};
use serde_json::Value;

use super::limits;
use crate::client::OktaClient;
use crate::kinds::*;
use crate::records::{self, GroupHead, Principal, str_at};

/// The user the token acts as (`/api/v1/users/me`) and what gives it its admin rights: its own
/// role assignments (`/users/{id}/roles`), and for each of its groups that holds roles
/// (`/users/{id}/groups`, then `/groups/{id}/roles`) the group's role assignments, its
/// membership of the group and the group itself. Three requests, and one more per group of
/// the user.
pub(crate) async fn self_identity(c: &OktaClient) -> Result<Option<SelfIdentity>, ProviderError> {
    // A token that acts as no user has no user to protect.
    let Some(me) = c.get_opt(&c.url("/api/v1/users/me", &[])).await? else {
        return Ok(None);
    };
    let (id, login) = (str_at(&me, "/id"), str_at(&me, "/profile/login"));
    if id.is_empty() || login.is_empty() {
        return Ok(None);
    }
    let mut identity = SelfIdentity::new(USER, login);
    let index = super::iam::Index::default();
    let user = Principal::User {
        id: id.to_string(),
        login: login.to_string(),
    };
    for role in roles(c, &user).await? {
        let set = set_label(c, &index, &role).await?;
        identity.grant(
            ADMIN_ROLE,
            records::role_key(&user, &role, &set),
            format!("assigns {} to {USER} {login}", role_name(&role)),
        );
    }
    let url = c.url(
        &format!("/api/v1/users/{id}/groups"),
        &[("limit", limits::GROUPS)],
    );
    for g in c.all(url).await? {
        let head = GroupHead::of(&g);
        let group = Principal::Group {
            id: head.id.clone(),
            name: head.name.clone(),
        };
        let roles = roles(c, &group).await?;
        if roles.is_empty() {
            continue;
        }
        let held: Vec<String> = roles.iter().map(role_name).collect();
        let held = held.join(", ");
        for role in &roles {
            let set = set_label(c, &index, role).await?;
            identity.grant(
                ADMIN_ROLE,
                records::role_key(&group, role, &set),
                format!(
                    "assigns {} to group {}, of which {login} is a member",
                    role_name(role),
                    head.name
                ),
            );
        }
        identity.grant(
            GROUP_MEMBERSHIP,
            format!("{}|{login}", head.name),
            format!(
                "makes {login} a member of {}, which holds {held}",
                head.name
            ),
        );
        identity.grant(
            GROUP,
            &head.name,
            format!("holds {held} for its member {login}"),
        );
    }
    Ok(Some(identity))
}

/// The roles assigned to `principal`, without their targets.
async fn roles(c: &OktaClient, principal: &Principal) -> Result<Vec<Value>, ProviderError> {
    let roles = c.get(&c.url(&principal.path(), &[])).await?;
    Ok(roles.as_array().cloned().unwrap_or_default())
}

/// The label of the resource set of a custom role assignment (empty for a standard role).
async fn set_label(
    c: &OktaClient,
    index: &super::iam::Index,
    role: &Value,
) -> Result<String, ProviderError> {
    match str_at(role, "/type") {
        "CUSTOM" => index.set_label(c, str_at(role, "/resource-set")).await,
        _ => Ok(String::new()),
    }
}

/// `SUPER_ADMIN`, or a custom role's label.
fn role_name(role: &Value) -> String {
    match str_at(role, "/type") {
        "CUSTOM" => format!("the custom role {}", str_at(role, "/label")),
        other => other.to_string(),
    }
}
