//! Resource Manager v3 over the shared HTTP kit: bearer tokens from the service account key,
//! `nextPageToken` paging, and Google's error bodies.

use std::sync::Arc;

use iamsnap_http::{ErrorBody, HttpClient, HttpConfig};
use iamsnap_provider::{ProviderError, RequestStats, Secret};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::auth::Tokens;

/// `{"error": {"code": 409, "message": "…", "status": "ABORTED"}}`.
#[derive(Debug)]
struct GoogleErrorBody;

impl ErrorBody for GoogleErrorBody {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let error = value.get("error")?;
        let message = error.get("message")?.as_str()?;
        let status = error.get("status").and_then(Value::as_str).unwrap_or("");
        Some(
            format!("{status}: {message}")
                .trim_start_matches(": ")
                .to_string(),
        )
    }
}

#[derive(Debug)]
pub(crate) struct Client {
    http: HttpClient,
    tokens: Tokens,
    /// `https://cloudresourcemanager.googleapis.com/v3`.
    root: String,
    /// `https://iam.googleapis.com/v1`.
    iam_root: String,
}

impl Client {
    pub(crate) fn new(
        tokens: Tokens,
        resourcemanager: &Url,
        iam: &Url,
        concurrency: usize,
    ) -> Result<Self, ProviderError> {
        let mut config = HttpConfig::new("Authorization", Secret::new("Bearer"));
        config.concurrency = concurrency;
        config.error_body = Arc::new(GoogleErrorBody);
        Ok(Client {
            http: HttpClient::new(config)?,
            tokens,
            root: format!("{}/v3", resourcemanager.as_str().trim_end_matches('/')),
            iam_root: format!("{}/v1", iam.as_str().trim_end_matches('/')),
        })
    }

    /// The service account the client signs in as, and its key's id.
    pub(crate) fn key_id(&self) -> (&str, &str) {
        self.tokens.key_id()
    }

    pub(crate) fn stats(&self) -> RequestStats {
        self.http.stats()
    }

    /// `path` under `/v3` (`folders:search`, `projects/p:getIamPolicy`).
    pub(crate) fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}/{path}", self.root)).expect("Resource Manager URLs are well formed")
    }

    /// `path` under IAM's `/v1` (`projects/p/serviceAccounts`).
    pub(crate) fn iam_url(&self, path: &str) -> Url {
        Url::parse(&format!("{}/{path}", self.iam_root)).expect("IAM URLs are well formed")
    }

    /// `path` under IAM's `/v2` (`policies/ATTACHMENT_POINT/denypolicies`), its `%2F` kept.
    pub(crate) fn iam_v2_url(&self, path: &str) -> Url {
        let root = self.iam_root.trim_end_matches("/v1");
        Url::parse(&format!("{root}/v2/{path}")).expect("IAM URLs are well formed")
    }

    /// Sends with a valid token; once more with a new token when the API refuses it.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let token = self.tokens.bearer(None).await?;
        self.http.set_credential(token.clone())?;
        let answer = match self.http.send_json(method.clone(), url, body).await {
            Err(ProviderError::Unauthorized { .. }) => {
                let fresh = self.tokens.bearer(Some(&token)).await?;
                self.http.set_credential(fresh)?;
                self.http.send_json(method, url, body).await
            }
            other => other,
        }?;
        Ok(answer.unwrap_or(Value::Null))
    }

    /// Every item of `field` over all pages of a search or list.
    pub(crate) async fn all(&self, path: &str, field: &str) -> Result<Vec<Value>, ProviderError> {
        self.all_of(self.url(path), field).await
    }

    /// Every item of `field` over all pages from `first`.
    pub(crate) async fn all_of(
        &self,
        first: Url,
        field: &str,
    ) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = first.clone();
            url.query_pairs_mut().append_pair("pageSize", "100");
            if let Some(t) = &token {
                url.query_pairs_mut().append_pair("pageToken", t);
            }
            let page = self.send(Method::GET, &url, None).await?;
            out.extend(page[field].as_array().cloned().unwrap_or_default());
            match page["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// A resource's policy at version 3 (conditions included). A service account's own
    /// policy (`projects/P/serviceAccounts/EMAIL`) is IAM's, which takes the version as a query
    /// parameter and an empty body; the others are Resource Manager's.
    pub(crate) async fn get_policy(&self, resource: &str) -> Result<Value, ProviderError> {
        if is_account(resource) {
            let mut url = self.iam_url(&format!("{resource}:getIamPolicy"));
            url.query_pairs_mut()
                .append_pair("options.requestedPolicyVersion", "3");
            return self.send(Method::POST, &url, None).await;
        }
        let body = serde_json::json!({"options": {"requestedPolicyVersion": 3}});
        self.send(
            Method::POST,
            &self.url(&format!("{resource}:getIamPolicy")),
            Some(&body),
        )
        .await
    }

    /// Writes a policy; `mask` names the fields written.
    pub(crate) async fn set_policy(
        &self,
        resource: &str,
        policy: &Value,
        mask: &str,
    ) -> Result<Value, ProviderError> {
        let body = serde_json::json!({"policy": policy, "updateMask": mask});
        let path = format!("{resource}:setIamPolicy");
        let url = if is_account(resource) {
            self.iam_url(&path)
        } else {
            self.url(&path)
        };
        self.send(Method::POST, &url, Some(&body)).await
    }
}

/// Whether `resource` is a service account (`projects/P/serviceAccounts/EMAIL`), whose policy
/// IAM serves.
pub(crate) fn is_account(resource: &str) -> bool {
    resource.contains("/serviceAccounts/")
}
