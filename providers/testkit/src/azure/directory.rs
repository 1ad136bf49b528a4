//! The directory of an emulated Azure tenant linked to a running Entra emulator
//! (`--entra-url`): ARM checks the principal of every role assignment and eligibility it is
//! asked to create against Entra ID, as the real one does, so the two emulators are one tenant.
//! The emulator signs in to Graph with its own client's credentials, which the Entra emulator
//! must know too (one app registration of the tenant).

use std::time::Duration;

use serde_json::{Value, json};

/// Graph, as the Azure emulator reads it.
#[derive(Debug)]
pub(crate) struct EntraDirectory {
    base: String,
    tenant: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<String>>,
}

/// `#microsoft.graph.user` → `User`, as ARM spells a principal's type.
fn principal_type(odata_type: &str) -> Option<&'static str> {
    match odata_type {
        "#microsoft.graph.user" => Some("User"),
        "#microsoft.graph.group" => Some("Group"),
        "#microsoft.graph.servicePrincipal" => Some("ServicePrincipal"),
        _ => None,
    }
}

impl EntraDirectory {
    pub(crate) fn new(base: &str, tenant: &str, client_id: &str, client_secret: &str) -> Self {
        EntraDirectory {
            base: base.trim_end_matches('/').to_string(),
            tenant: tenant.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            token: tokio::sync::Mutex::new(None),
        }
    }

    async fn token(&self, fresh: bool) -> std::io::Result<String> {
        let mut token = self.token.lock().await;
        if let (Some(t), false) = (token.as_ref(), fresh) {
            return Ok(t.clone());
        }
        let answer: Value = self
            .http
            .post(format!("{}/{}/oauth2/v2.0/token", self.base, self.tenant))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .map_err(std::io::Error::other)?
            .json()
            .await
            .map_err(std::io::Error::other)?;
        let t = answer["access_token"]
            .as_str()
            .ok_or_else(|| {
                std::io::Error::other(format!("the Entra emulator refused the client: {answer}"))
            })?
            .to_string();
        *token = Some(t.clone());
        Ok(t)
    }

    /// One Graph call, signed in again once if the token expired.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<Value> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}/v1.0{path}", self.base)
        };
        for fresh in [false, true] {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token(fresh).await?);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(std::io::Error::other)?;
            if response.status().as_u16() == 401 && !fresh {
                continue;
            }
            let status = response.status();
            let answer: Value = response.json().await.map_err(std::io::Error::other)?;
            if !status.is_success() {
                return Err(std::io::Error::other(format!(
                    "{method} {url}: {status} {answer}"
                )));
            }
            return Ok(answer);
        }
        unreachable!("the second attempt returns")
    }

    /// Every user, group and service principal: (object id, ARM's principal type).
    pub(crate) async fn principals(&self) -> std::io::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for (collection, kind) in [
            ("users", "User"),
            ("groups", "Group"),
            ("servicePrincipals", "ServicePrincipal"),
        ] {
            let mut next = Some(format!("/{collection}?$select=id&$top=999"));
            while let Some(path) = next {
                let page = self.call(reqwest::Method::GET, &path, None).await?;
                for item in page["value"].as_array().into_iter().flatten() {
                    if let Some(id) = item["id"].as_str() {
                        out.push((id.to_ascii_lowercase(), kind.to_string()));
                    }
                }
                next = page["@odata.nextLink"].as_str().map(str::to_string);
            }
        }
        Ok(out)
    }

    /// ARM's principal type of object `id`, or `None` when the directory does not hold it.
    pub(crate) async fn lookup(&self, id: &str) -> std::io::Result<Option<String>> {
        let body = json!({"ids": [id], "types": ["user", "group", "servicePrincipal"]});
        let answer = self
            .call(
                reqwest::Method::POST,
                "/directoryObjects/getByIds",
                Some(&body),
            )
            .await?;
        Ok(answer["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|o| o["@odata.type"].as_str().and_then(principal_type))
            .map(str::to_string))
    }
}
