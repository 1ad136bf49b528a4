//! Azure Resource Manager through the HTTP kit: a client-credentials token for ARM's
//! resource (the same [`TokenSource`] the Entra connector signs in with), the `api-version`
//! of each resource type, `nextLink` paging kept on ARM's host, and ARM's error bodies.

use std::sync::Arc;

use base64::Engine;
use iamsnap_http::{ClientCredentials, ErrorBody, HttpClient, HttpConfig, TokenSource, status_of};
use iamsnap_provider::{ProviderError, RequestStats, Secret};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::config::AzureRbacConfig;

/// The token audience of Azure Resource Manager: the client-credentials grant takes every
/// role the application holds, no finer scope.
pub(crate) const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// `api-version` of the `Microsoft.Authorization` role types.
pub(crate) const RBAC_API: &str = "2022-04-01";
/// `api-version` of PIM for Azure resources.
pub(crate) const PIM_API: &str = "2020-10-01";
/// `api-version` of management locks.
pub(crate) const LOCKS_API: &str = "2016-09-01";
/// `api-version` of management groups.
pub(crate) const MANAGEMENT_GROUPS_API: &str = "2020-05-01";
/// `api-version` of subscriptions and resource groups.
pub(crate) const RESOURCES_API: &str = "2022-12-01";

#[derive(Debug)]
pub(crate) struct ArmClient {
    http: HttpClient,
    tokens: TokenSource,
    base: Url,
}

impl ArmClient {
    pub(crate) fn new(
        source_name: &str,
        config: &AzureRbacConfig,
        secret: Secret,
    ) -> Result<Self, ProviderError> {
        let (token_url, base) = config.endpoints(source_name)?;
        let tokens = TokenSource::new(ClientCredentials {
            token_url,
            client_id: config.client_id.trim().to_string(),
            client_secret: secret,
            scope: ARM_SCOPE.into(),
            guidance: "check tenant_id, client_id and the client secret configured for this source, and that the secret has not expired".into(),
        })?;
        let mut http = HttpConfig::new("Authorization", Secret::new("Bearer"));
        http.concurrency = config.concurrency();
        http.error_body = Arc::new(ArmErrorBody);
        Ok(ArmClient {
            http: HttpClient::new(http)?,
            tokens,
            base,
        })
    }

    pub(crate) fn stats(&self) -> RequestStats {
        self.http.stats()
    }

    /// `path` (an ARM id or a collection under one) with `api-version` and further `query`.
    pub(crate) fn url(&self, path: &str, api: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("api-version", api);
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    /// Runs `call` with a valid token; once more with a new token when ARM says the token
    /// expired or was revoked meanwhile.
    async fn authorized<T, F, Fut>(&self, call: F) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        self.tokens
            .authorized(&self.http, token_refused, call)
            .await
    }

    /// The object id of the service principal iamsnap signs in as: the `oid` claim of its
    /// access token (read, never verified: it only names whose grants a restore spares).
    pub(crate) async fn caller_oid(&self) -> Result<String, ProviderError> {
        let token = self.tokens.bearer(None).await?;
        let payload = token
            .expose()
            .trim_start_matches("Bearer ")
            .split('.')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let claims: Option<Value> = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        claims
            .as_ref()
            .and_then(|c| c["oid"].as_str())
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| ProviderError::Decode {
                url: ARM_SCOPE.into(),
                message: "the access token carries no oid claim: sign in as an application (service principal), not a user".into(),
            })
    }

    pub(crate) async fn get(&self, url: &Url) -> Result<Value, ProviderError> {
        self.authorized(|| self.http.get_json::<Value>(url)).await
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        self.authorized(|| self.http.send_json(method.clone(), url, body))
            .await
    }

    /// One page of a list and the link to the next one.
    pub(crate) async fn page(&self, url: &Url) -> Result<(Vec<Value>, Option<Url>), ProviderError> {
        let mut body = self.get(url).await?;
        let next = match body["nextLink"].as_str().filter(|s| !s.is_empty()) {
            None => None,
            Some(link) => {
                let next = Url::parse(link).map_err(|e| ProviderError::Decode {
                    url: url.to_string(),
                    message: format!("nextLink is not a URL ({e}): {link}"),
                })?;
                // The token goes with every request: never follow a link off ARM.
                if next.origin() != self.base.origin() {
                    return Err(ProviderError::Decode {
                        url: url.to_string(),
                        message: format!("nextLink points outside Azure Resource Manager: {next}"),
                    });
                }
                (next != *url).then_some(next)
            }
        };
        match body.get_mut("value").map(Value::take) {
            Some(Value::Array(items)) => Ok((items, next)),
            _ => Err(ProviderError::Decode {
                url: url.to_string(),
                message: "a list answer without a \"value\" array".into(),
            }),
        }
    }

    /// Every item of a list, all pages read.
    pub(crate) async fn all(&self, first: Url) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next {
            let (items, following) = self.page(&url).await?;
            out.extend(items);
            next = following;
        }
        Ok(out)
    }
}

/// Whether ARM's explanation of a 401 says the token sent expired or was revoked.
fn token_refused(message: &str) -> bool {
    message.starts_with("InvalidAuthenticationToken")
        || message.starts_with("ExpiredAuthenticationToken")
}

/// ARM's error code of `error`, when it is an answer of `status`: `RoleAssignmentExists`.
pub(crate) fn arm_code(error: &ProviderError, status: u16) -> Option<&str> {
    if status_of(error) != Some(status) {
        return None;
    }
    let message = match error {
        ProviderError::Http { message, .. }
        | ProviderError::Forbidden { message, .. }
        | ProviderError::Unauthorized { message, .. } => message,
        _ => return None,
    };
    message.split(':').next()
}

/// `{"error": {"code": "RoleAssignmentExists", "message": "…"}}`.
#[derive(Debug)]
pub(crate) struct ArmErrorBody;

impl ErrorBody for ArmErrorBody {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let error = value.get("error")?;
        let message = error.get("message").and_then(Value::as_str)?;
        Some(match error.get("code").and_then(Value::as_str) {
            Some(code) => format!("{code}: {message}"),
            None => message.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamsnap_http::error_message;

    #[test]
    fn arm_error_bodies_read_as_code_and_message() {
        let body = br#"{"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists."}}"#;
        let message = error_message(body, &ArmErrorBody);
        assert_eq!(
            message,
            "RoleAssignmentExists: The role assignment already exists."
        );
        let error = ProviderError::Http {
            method: "PUT".into(),
            url: "u".into(),
            status: 409,
            message,
        };
        assert_eq!(arm_code(&error, 409), Some("RoleAssignmentExists"));
        assert_eq!(arm_code(&error, 400), None);
    }
}
