//! Principals named for good, through Microsoft Graph with the settings of the Entra source
//! `entra_source` names: a user by its user principal name, a group by its display name and
//! mail nickname, a service principal by its application id. An object id does not survive a
//! principal deleted for good and re-created (by an Entra restore); these names do, so an
//! assignment recorded under them follows the principal to its new id.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use iamsnap_http::{ClientCredentials, HttpClient, HttpConfig, TokenSource};
use iamsnap_provider::{ProviderError, RequestStats, Secret};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use crate::client::ArmErrorBody;
use crate::config::EntraLink;

/// Most ids Graph's `directoryObjects/getByIds` takes at once.
const IDS_PER_REQUEST: usize = 1000;
/// The largest page Graph gives of directory collections.
const PAGE: &str = "999";

/// A principal as the directory names it for good.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Principal {
    User {
        user_principal_name: String,
    },
    Group {
        display_name: String,
        mail_nickname: String,
    },
    /// A service principal, named by its application's id.
    App {
        app_id: String,
    },
}

impl Principal {
    /// What an assignment's key names the principal by: `user:ada@contoso.com`,
    /// `group:Ops Admins <opsadmins>`, `app:{application id}`. User principal names and
    /// application ids compare without case in Entra ID, so they are kept in lower case.
    pub(crate) fn key(&self) -> String {
        match self {
            Principal::User {
                user_principal_name,
            } => format!("user:{}", user_principal_name.to_ascii_lowercase()),
            Principal::Group {
                display_name,
                mail_nickname,
            } => format!("group:{display_name} <{mail_nickname}>"),
            Principal::App { app_id } => {
                format!("app:{}", app_id.to_ascii_lowercase())
            }
        }
    }

    /// The record's `principal` attribute.
    pub(crate) fn attrs(&self) -> Value {
        match self {
            Principal::User {
                user_principal_name,
            } => json!({"userPrincipalName": user_principal_name.to_ascii_lowercase()}),
            Principal::Group {
                display_name,
                mail_nickname,
            } => json!({"displayName": display_name, "mailNickname": mail_nickname}),
            Principal::App { app_id } => {
                json!({"appId": app_id.to_ascii_lowercase()})
            }
        }
    }

    /// The principal a record's `principal` attribute names.
    pub(crate) fn from_attrs(v: &Value) -> Option<Principal> {
        let text = |f: &str| v[f].as_str().map(str::to_string);
        if let Some(user_principal_name) = text("userPrincipalName") {
            return Some(Principal::User {
                user_principal_name,
            });
        }
        if let (Some(display_name), Some(mail_nickname)) =
            (text("displayName"), text("mailNickname"))
        {
            return Some(Principal::Group {
                display_name,
                mail_nickname,
            });
        }
        text("appId").map(|app_id| Principal::App { app_id })
    }

    /// A Graph directory object (`@odata.type` saying which) as a principal.
    fn from_graph(v: &Value, odata_type: Option<&str>) -> Option<Principal> {
        let text = |f: &str| v[f].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        match odata_type.or(v["@odata.type"].as_str())? {
            "#microsoft.graph.user" => Some(Principal::User {
                user_principal_name: text("userPrincipalName")?,
            }),
            "#microsoft.graph.group" => Some(Principal::Group {
                display_name: text("displayName")?,
                mail_nickname: text("mailNickname")?,
            }),
            "#microsoft.graph.servicePrincipal" => Some(Principal::App {
                app_id: text("appId")?,
            }),
            _ => None,
        }
    }

    /// In the operator's words: `group Ops Admins <opsadmins>`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Principal::User {
                user_principal_name,
            } => format!("user {user_principal_name}"),
            Principal::Group {
                display_name,
                mail_nickname,
            } => format!("group {display_name} <{mail_nickname}>"),
            Principal::App { app_id } => {
                format!("the service principal of application {app_id}")
            }
        }
    }
}

/// `key` with OData's quoting of `'`.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Microsoft Graph, read as the Entra source signs in to it.
#[derive(Debug)]
pub(crate) struct Directory {
    /// The Entra source's name, said in messages.
    source: String,
    http: HttpClient,
    tokens: TokenSource,
    /// `https://graph.microsoft.com/v1.0`.
    root: String,
    origin: url::Origin,
    /// The live directory by principal key → object id, read before each restore plan.
    live: RwLock<Option<Arc<HashMap<String, String>>>>,
}

impl Directory {
    pub(crate) fn new(link: &EntraLink, secret: Secret) -> Result<Self, ProviderError> {
        let (token_url, graph) = link.endpoints()?;
        let tokens = TokenSource::new(ClientCredentials {
            token_url,
            client_id: link.client_id.trim().to_string(),
            client_secret: secret,
            scope: format!("{}/.default", graph.as_str().trim_end_matches('/')),
            guidance: format!(
                "check tenant_id, client_id and the client secret of sources.{}, named by entra_source",
                link.source_name
            ),
        })?;
        let mut http = HttpConfig::new("Authorization", Secret::new("Bearer"));
        http.concurrency = 4;
        // Graph's error bodies have ARM's shape: {"error": {"code", "message"}}.
        http.error_body = Arc::new(ArmErrorBody);
        Ok(Directory {
            source: link.source_name.clone(),
            http: HttpClient::new(http)?,
            tokens,
            root: format!("{}/v1.0", graph.as_str().trim_end_matches('/')),
            origin: graph.origin(),
            live: RwLock::new(None),
        })
    }

    /// The Entra source's name.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn stats(&self) -> RequestStats {
        self.http.stats()
    }

    /// Gets a token now, so that settings Graph refuses fail before anything is read.
    pub(crate) async fn sign_in(&self) -> Result<(), ProviderError> {
        self.tokens.bearer(None).await.map(|_| ())
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.root)).expect("Graph URLs are well formed")
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let answer = self
            .tokens
            .authorized(
                &self.http,
                |m| m.starts_with("InvalidAuthenticationToken"),
                || self.http.send_json(method.clone(), url, body),
            )
            .await?;
        Ok(answer.unwrap_or(Value::Null))
    }

    /// Every item of a collection, all pages read; `@odata.nextLink` kept on Graph's host.
    async fn all(&self, path: &str) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(self.url(path));
        while let Some(url) = next {
            let mut body = self.send(Method::GET, &url, None).await?;
            next = match body["@odata.nextLink"].as_str() {
                None => None,
                Some(link) => {
                    let link = Url::parse(link).map_err(|e| ProviderError::Decode {
                        url: url.to_string(),
                        message: format!("@odata.nextLink is not a URL ({e}): {link}"),
                    })?;
                    // The token goes with every request: never follow a link off Graph.
                    if link.origin() != self.origin {
                        return Err(ProviderError::Decode {
                            url: url.to_string(),
                            message: format!(
                                "@odata.nextLink points outside Microsoft Graph: {link}"
                            ),
                        });
                    }
                    (link != url).then_some(link)
                }
            };
            match body.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => out.extend(items),
                _ => {
                    return Err(ProviderError::Decode {
                        url: url.to_string(),
                        message: "a collection answer without a \"value\" array".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The principals among `ids` (object ids) that the directory holds, by id: a thousand
    /// ids a request (`POST /directoryObjects/getByIds`). An id the directory does not hold
    /// (a principal deleted) is left out.
    pub(crate) async fn names(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Principal>, ProviderError> {
        let url = self.url("/directoryObjects/getByIds");
        let mut out = HashMap::new();
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            let body = json!({"ids": chunk, "types": ["user", "group", "servicePrincipal"]});
            let answer = self.send(Method::POST, &url, Some(&body)).await?;
            for item in answer["value"].as_array().into_iter().flatten() {
                if let (Some(id), Some(p)) =
                    (item["id"].as_str(), Principal::from_graph(item, None))
                {
                    out.insert(id.to_ascii_lowercase(), p);
                }
            }
        }
        Ok(out)
    }

    /// Reads the whole directory's principals once (users, groups, service principals, 999 a
    /// page, only the properties that name them), for a restore plan to know which principals
    /// exist and under which id.
    pub(crate) async fn load(&self) -> Result<(), ProviderError> {
        let mut found = HashMap::new();
        for (path, odata_type) in [
            (
                format!("/users?$select=id,userPrincipalName&$top={PAGE}"),
                "#microsoft.graph.user",
            ),
            (
                format!("/groups?$select=id,displayName,mailNickname&$top={PAGE}"),
                "#microsoft.graph.group",
            ),
            (
                format!("/servicePrincipals?$select=id,appId&$top={PAGE}"),
                "#microsoft.graph.servicePrincipal",
            ),
        ] {
            for item in self.all(&path).await? {
                if let (Some(id), Some(p)) = (
                    item["id"].as_str(),
                    Principal::from_graph(&item, Some(odata_type)),
                ) {
                    found.insert(p.key(), id.to_ascii_lowercase());
                }
            }
        }
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(found));
        Ok(())
    }

    /// Whether the directory read by [`load`](Self::load) holds `principal`; `None` before
    /// it was read.
    pub(crate) fn holds(&self, principal: &Principal) -> Option<bool> {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        live.as_ref().map(|m| m.contains_key(&principal.key()))
    }

    /// The object id of `principal` now: from the directory read before the plan, or asked of
    /// Graph (a principal re-created since). `None` when the directory does not hold it.
    pub(crate) async fn resolve(
        &self,
        principal: &Principal,
    ) -> Result<Option<String>, ProviderError> {
        let cached = {
            let live = self.live.read().unwrap_or_else(|e| e.into_inner());
            live.as_ref().and_then(|m| m.get(&principal.key()).cloned())
        };
        if cached.is_some() {
            return Ok(cached);
        }
        let path = match principal {
            Principal::User {
                user_principal_name,
            } => format!(
                "/users?$filter=userPrincipalName eq {}&$select=id",
                quoted(user_principal_name)
            ),
            Principal::Group {
                display_name,
                mail_nickname,
            } => format!(
                "/groups?$filter=displayName eq {} and mailNickname eq {}&$select=id",
                quoted(display_name),
                quoted(mail_nickname)
            ),
            Principal::App { app_id } => format!(
                "/servicePrincipals?$filter=appId eq {}&$select=id",
                quoted(app_id)
            ),
        };
        let found = self.all(&path).await?;
        Ok(found
            .first()
            .and_then(|o| o["id"].as_str())
            .map(str::to_ascii_lowercase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_named_by_what_survives_their_re_creation() {
        let user = json!({"@odata.type": "#microsoft.graph.user", "id": "1", "userPrincipalName": "Ada@Contoso.com"});
        let group = json!({"@odata.type": "#microsoft.graph.group", "id": "2", "displayName": "Ops Admins", "mailNickname": "opsadmins"});
        let app = json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": "3", "appId": "AB-12"});
        let keys: Vec<String> = [user, group, app]
            .iter()
            .map(|o| Principal::from_graph(o, None).unwrap().key())
            .collect();
        assert_eq!(
            keys,
            [
                "user:ada@contoso.com",
                "group:Ops Admins <opsadmins>",
                "app:ab-12"
            ]
        );
        let group = Principal::Group {
            display_name: "Ops".into(),
            mail_nickname: "ops".into(),
        };
        assert_eq!(Principal::from_attrs(&group.attrs()), Some(group));
        let device = json!({"@odata.type": "#microsoft.graph.device", "id": "4"});
        assert_eq!(Principal::from_graph(&device, None), None);
    }

    #[test]
    fn quotes_are_doubled_in_filters() {
        assert_eq!(quoted("O'Neil"), "'O''Neil'");
    }
}
