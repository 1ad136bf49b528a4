//! Custom authorization servers: the server list (paged, 200 a page), then for each server
//! its scopes, claims and access policies, and each policy's rules. An org without API Access
//! Management answers the server list with 401 or 403: it has no servers, which is logged.

use futures::TryStreamExt;
use iamsnap_http::status_of;
use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;

use super::{Snapshot, limits};
use crate::client::OktaClient;
use crate::records::authz::{self as records, ServerHead};
use crate::records::str_at;

const BASE: &str = "/api/v1/authorizationServers";

impl Snapshot<'_> {
    pub(super) async fn authorization_servers(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let servers = match servers(c).await {
            Ok(servers) => servers,
            Err(e) if matches!(status_of(&e), Some(401 | 403)) => {
                tracing::warn!(
                    "the org answered {} to the list of authorization servers (no API Access Management, or the token may not read them): none backed up",
                    status_of(&e).unwrap_or_default()
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        futures::stream::iter(servers.into_iter().map(Ok))
            .try_for_each_concurrent(self.fan_out, |server| async move {
                for record in server_records(c, server).await? {
                    self.send(record).await?;
                }
                Ok(())
            })
            .await
    }
}

pub(crate) async fn servers(c: &OktaClient) -> Result<Vec<Value>, ProviderError> {
    c.all(c.url(BASE, &[("limit", limits::AUTH_SERVERS)])).await
}

/// A server and everything under it, as records.
async fn server_records(c: &OktaClient, server: Value) -> Result<Vec<Record>, ProviderError> {
    let head = ServerHead::of(&server);
    let mut out = vec![records::server(server)?];
    for v in scopes(c, &head.id).await? {
        out.push(records::scope(&head, v)?);
    }
    for v in claims(c, &head.id).await? {
        out.push(records::claim(&head, v)?);
    }
    for v in policies(c, &head.id).await? {
        let policy_id = str_at(&v, "/id").to_string();
        let policy = records::policy(&head, v)?;
        for r in rules(c, &head.id, &policy_id).await? {
            out.push(records::rule(&head, &policy_id, &policy.key, r)?);
        }
        out.push(policy);
    }
    Ok(out)
}

pub(crate) async fn scopes(c: &OktaClient, server: &str) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(
        &format!("{BASE}/{server}/scopes"),
        &[("limit", limits::AUTH_SCOPES)],
    );
    c.all(url).await
}

pub(crate) async fn claims(c: &OktaClient, server: &str) -> Result<Vec<Value>, ProviderError> {
    c.all(c.url(&format!("{BASE}/{server}/claims"), &[])).await
}

pub(crate) async fn policies(c: &OktaClient, server: &str) -> Result<Vec<Value>, ProviderError> {
    c.all(c.url(&format!("{BASE}/{server}/policies"), &[]))
        .await
}

pub(crate) async fn rules(
    c: &OktaClient,
    server: &str,
    policy: &str,
) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(&format!("{BASE}/{server}/policies/{policy}/rules"), &[]);
    c.all(url).await
}

/// A server by name.
pub(crate) async fn server(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    let url = c.url(BASE, &[("q", name), ("limit", limits::AUTH_SERVERS)]);
    Ok(c.all(url)
        .await?
        .into_iter()
        .find(|s| str_at(s, "/name") == name))
}

/// The object of one family under a server, by key `SERVER|member`: the server's head and
/// the object, `member` matched by `is`.
async fn member_of(
    c: &OktaClient,
    key: &str,
    list: impl AsyncFnOnce(&OktaClient, &str) -> Result<Vec<Value>, ProviderError>,
    is: impl Fn(&Value, &str) -> bool,
) -> Result<Option<(ServerHead, Value)>, ProviderError> {
    let Some((server_name, member)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some(s) = server(c, server_name).await? else {
        return Ok(None);
    };
    let head = ServerHead::of(&s);
    let found = list(c, &head.id).await?.into_iter().find(|v| is(v, member));
    Ok(found.map(|v| (head, v)))
}

fn named(v: &Value, name: &str) -> bool {
    str_at(v, "/name") == name
}

pub(crate) async fn scope(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(ServerHead, Value)>, ProviderError> {
    member_of(c, key, scopes, named).await
}

pub(crate) async fn claim(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(ServerHead, Value)>, ProviderError> {
    member_of(c, key, claims, |v, m| records::claim_member(v) == m).await
}

pub(crate) async fn policy(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(ServerHead, Value)>, ProviderError> {
    member_of(c, key, policies, named).await
}

/// A rule by `SERVER|POLICY|rule`: its server, its policy's id, the rule.
pub(crate) async fn rule(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(ServerHead, String, Value)>, ProviderError> {
    let Some((policy_key, name)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some((head, p)) = policy(c, policy_key).await? else {
        return Ok(None);
    };
    let policy_id = str_at(&p, "/id").to_string();
    let found = rules(c, &head.id, &policy_id)
        .await?
        .into_iter()
        .find(|r| named(r, name));
    Ok(found.map(|r| (head, policy_id, r)))
}

/// One record of the authorization server kinds by key, read live.
pub(crate) async fn record(
    c: &OktaClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    use crate::kinds::*;
    match kind {
        AUTH_SERVER => server(c, key).await?.map(records::server).transpose(),
        AUTH_SCOPE => scope(c, key)
            .await?
            .map(|(s, v)| records::scope(&s, v))
            .transpose(),
        AUTH_CLAIM => claim(c, key)
            .await?
            .map(|(s, v)| records::claim(&s, v))
            .transpose(),
        AUTH_POLICY => policy(c, key)
            .await?
            .map(|(s, v)| records::policy(&s, v))
            .transpose(),
        _ => match rule(c, key).await? {
            Some((s, policy_id, v)) => {
                let policy_key = key.rsplit_once('|').map_or("", |(p, _)| p);
                records::rule(&s, &policy_id, policy_key, v).map(Some)
            }
            None => Ok(None),
        },
    }
}
