//! The live object behind a natural key, as the API answers it: the lookups that [`super::fetch`]
//! (records by kind), idempotent restore writes and verification share.

use iamsnap_provider::ProviderError;
use serde_json::Value;

use super::limits;
use crate::client::OktaClient;
use crate::records::{Principal, str_at};

/// Splits a relationship key `a|b` at its last `|` (logins never hold one; names might).
pub(crate) fn split_pair<'a>(
    kind: &str,
    key: &'a str,
) -> Result<(&'a str, &'a str), ProviderError> {
    key.rsplit_once('|')
        .ok_or_else(|| ProviderError::Precondition {
            kind: kind.to_string(),
            key: key.to_string(),
            message: "the key should read `a|b`".into(),
        })
}

pub(crate) async fn user(c: &OktaClient, login: &str) -> Result<Option<Value>, ProviderError> {
    let url = c.url(
        &format!("/api/v1/users/{}", OktaClient::segment(login)),
        &[],
    );
    c.get_opt(&url).await
}

pub(crate) async fn group(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    let search = format!("profile.name eq \"{}\"", name.replace('"', "\\\""));
    let url = c.url(
        "/api/v1/groups",
        &[("search", &search), ("limit", limits::GROUPS)],
    );
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|g| str_at(g, "/profile/name") == name))
}

pub(crate) async fn group_rule(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    let url = c.url(
        "/api/v1/groups/rules",
        &[("search", name), ("limit", limits::GROUP_RULES)],
    );
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|r| str_at(r, "/name") == name))
}

pub(crate) async fn app(c: &OktaClient, label: &str) -> Result<Option<Value>, ProviderError> {
    let url = c.url("/api/v1/apps", &[("q", label), ("limit", limits::APPS)]);
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|a| str_at(a, "/label") == label))
}

pub(crate) async fn policy(c: &OktaClient, key: &str) -> Result<Option<Value>, ProviderError> {
    // Any type, known to the connector or not: the org says whether it has it.
    let Some((policy_type, name)) = key.split_once('|') else {
        return Ok(None);
    };
    let is = |p: &Value| str_at(p, "/type") == policy_type && str_at(p, "/name") == name;
    let found = super::policies::list(c, policy_type)
        .await?
        .into_iter()
        .find(|p| is(p));
    if found.is_some() || super::policies::POLICY_TYPES.contains(&policy_type) {
        return Ok(found);
    }
    // A type the connector does not know may be listed only under a known type's name.
    for known in super::policies::POLICY_TYPES {
        if let Some(p) = super::policies::list(c, known)
            .await?
            .into_iter()
            .find(|p| is(p))
        {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// A rule of a policy, by `TYPE|policy name|rule name`; with its policy's id.
pub(crate) async fn policy_rule(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(String, Value)>, ProviderError> {
    let Some((policy_key, rule)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some(p) = policy(c, policy_key).await? else {
        return Ok(None);
    };
    let id = str_at(&p, "/id").to_string();
    let url = c.url(
        &format!("/api/v1/policies/{id}/rules"),
        &[("limit", limits::POLICY_RULES)],
    );
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|r| str_at(r, "/name") == rule)
        .map(|r| (id, r)))
}

pub(crate) async fn zone(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    let url = c.url("/api/v1/zones", &[("limit", limits::ZONES)]);
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|z| str_at(z, "/name") == name))
}

/// A trusted origin by its origin URL.
pub(crate) async fn trusted_origin(
    c: &OktaClient,
    origin: &str,
) -> Result<Option<Value>, ProviderError> {
    let url = c.url(
        "/api/v1/trustedOrigins",
        &[("q", origin), ("limit", limits::TRUSTED_ORIGINS)],
    );
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|o| str_at(o, "/origin") == origin))
}

pub(crate) async fn idp(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    let url = c.url("/api/v1/idps", &[("q", name), ("limit", limits::IDPS)]);
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|i| str_at(i, "/name") == name))
}

/// An IdP signing certificate by its SHA-256 thumbprint.
pub(crate) async fn idp_key(
    c: &OktaClient,
    thumbprint: &str,
) -> Result<Option<Value>, ProviderError> {
    let url = c.url(
        "/api/v1/idps/credentials/keys",
        &[("limit", limits::IDP_KEYS)],
    );
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|k| str_at(k, "/x5t#S256") == thumbprint))
}

pub(crate) async fn user_type(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    let types = c.get(&c.url("/api/v1/meta/types/user", &[])).await?;
    Ok(types
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| str_at(t, "/name") == name)
        .cloned())
}

/// The user type whose profile schema has key `key`: the type of that name (`default`, the
/// key of snapshots that kept one schema, is the default type).
pub(crate) async fn schema_type(c: &OktaClient, key: &str) -> Result<Option<Value>, ProviderError> {
    let types = c.get(&c.url("/api/v1/meta/types/user", &[])).await?;
    Ok(types
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            if key == "default" {
                t["default"] == true
            } else {
                str_at(t, "/name") == key
            }
        })
        .cloned())
}

/// Whether `user_id` is a member of `group_id`, read from the user's groups (shorter than the
/// group's members for big groups).
pub(crate) async fn is_member(
    c: &OktaClient,
    group_id: &str,
    user_id: &str,
) -> Result<bool, ProviderError> {
    let url = c.url(
        &format!("/api/v1/users/{user_id}/groups"),
        &[("limit", limits::GROUPS)],
    );
    let mut pages = c.pages(url);
    while let Some(items) = pages.next().await? {
        if items.iter().any(|g| str_at(g, "/id") == group_id) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The principal of a role key `user:LOGIN|TYPE` / `group:NAME|TYPE`, if it exists.
pub(crate) async fn principal(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(Principal, String)>, ProviderError> {
    let Some((who, role)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let found = if let Some(login) = who.strip_prefix("user:") {
        user(c, login).await?.map(|u| Principal::User {
            id: str_at(&u, "/id").to_string(),
            login: str_at(&u, "/profile/login").to_string(),
        })
    } else if let Some(name) = who.strip_prefix("group:") {
        group(c, name).await?.map(|g| Principal::Group {
            id: str_at(&g, "/id").to_string(),
            name: name.to_string(),
        })
    } else {
        None
    };
    Ok(found.map(|p| (p, role.to_string())))
}
