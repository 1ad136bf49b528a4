//! Access tokens for a service account: a JWT assertion signed RS256 with the account's key
//! and exchanged at the token endpoint (the JWT bearer grant of RFC 7523), kept until shortly
//! before it expires. The private key is a [`Secret`]: never in Debug output, logs or errors.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use iamsnap_http::{OAuth2Error, error_message};
use iamsnap_provider::{ProviderError, Secret, redact};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::json;
use url::Url;

/// The scope asked for: Resource Manager's and IAM's methods take no narrower one.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A service account key file, as `gcloud iam service-accounts keys create` writes it.
#[derive(Deserialize)]
struct RawKeyFile {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    private_key_id: String,
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    client_email: String,
    token_uri: Option<String>,
}

/// A checked service account key.
pub(crate) struct KeyFile {
    kind: String,
    private_key_id: String,
    private_key: Secret,
    pub(crate) client_email: String,
    pub(crate) token_uri: Option<String>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// Reads and checks a key file; errors name the file, never its contents.
    pub(crate) fn read(path: &Path, what: &str) -> Result<KeyFile, ProviderError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ProviderError::Config(format!("{what}: cannot read {}: {e}", path.display()))
        })?;
        let raw: RawKeyFile = serde_json::from_str(&text).map_err(|e| {
            ProviderError::Config(format!(
                "{what}: {} is not a service account key file (line {}); download one with `gcloud iam service-accounts keys create`",
                path.display(),
                e.line()
            ))
        })?;
        let key = KeyFile {
            kind: raw.kind,
            private_key_id: raw.private_key_id,
            private_key: Secret::new(raw.private_key),
            client_email: raw.client_email,
            token_uri: raw.token_uri,
        };
        if key.kind != "service_account" {
            return Err(ProviderError::Config(format!(
                "{what}: {} holds {:?} credentials; iamsnap signs in as a service account: give it a service account key file",
                path.display(),
                key.kind
            )));
        }
        if key.client_email.is_empty() || key.private_key.expose().is_empty() {
            return Err(ProviderError::Config(format!(
                "{what}: {} lacks client_email or private_key; download the key again",
                path.display()
            )));
        }
        key.signer(what)?;
        Ok(key)
    }

    fn signer(&self, what: &str) -> Result<RsaKeyPair, ProviderError> {
        let b64: String = self
            .private_key
            .expose()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        let der = STANDARD.decode(b64).map_err(|_| {
            ProviderError::Config(format!(
                "{what}: the key file's private_key is not a PEM key"
            ))
        })?;
        RsaKeyPair::from_pkcs8(&der).map_err(|_| {
            ProviderError::Config(format!(
                "{what}: the key file's private_key is not a PKCS#8 RSA key"
            ))
        })
    }

    /// A signed assertion for `audience`, valid an hour from now.
    fn assertion(&self, audience: &str) -> Result<String, ProviderError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id});
        let claims = json!({"iss": self.client_email, "scope": SCOPE, "aud": audience, "iat": now, "exp": now + 3600});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let pair = self.signer("credentials_file")?;
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .map_err(|_| {
            ProviderError::Config(
                "cannot sign the token assertion with the service account key".into(),
            )
        })?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// Access tokens of one service account.
pub(crate) struct Tokens {
    key: KeyFile,
    endpoint: Url,
    http: reqwest::Client,
    current: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("key", &self.key)
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(key: KeyFile, endpoint: Url) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("iamsnap/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Tokens {
            key,
            endpoint,
            http,
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// The service account the key belongs to, and the key's id (never the key).
    pub(crate) fn key_id(&self) -> (&str, &str) {
        (&self.key.client_email, &self.key.private_key_id)
    }

    /// The `Authorization` value to send: the current token, or a new one when it is missing,
    /// due for refresh, or `stale` (the API refused it).
    pub(crate) async fn bearer(&self, stale: Option<&Secret>) -> Result<Secret, ProviderError> {
        let mut current = self.current.lock().await;
        if let Some((token, refresh_at)) = current.as_ref()
            && Instant::now() < *refresh_at
            && stale != Some(token)
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.request().await?;
        let token = Secret::new(format!("Bearer {}", token.expose()));
        *current = Some((
            token.clone(),
            Instant::now() + lifetime - (lifetime / 4).min(Duration::from_secs(300)),
        ));
        Ok(token)
    }

    async fn request(&self) -> Result<(Secret, Duration), ProviderError> {
        let url = redact::scrubbed(self.endpoint.as_str());
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let form = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
                .append_pair("assertion", &self.key.assertion(self.endpoint.as_str())?)
                .finish();
            let sent = self
                .http
                .post(self.endpoint.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form)
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < 4 => {
                    tracing::debug!(%url, error = %e, "token request failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ProviderError::Transport {
                        url,
                        message: redact::scrubbed(format!("cannot reach the token endpoint: {e}")),
                    });
                }
            };
            let status = response.status();
            let body = response.bytes().await.unwrap_or_default();
            if status.is_success() {
                let answer: TokenAnswer =
                    serde_json::from_slice(&body).map_err(|e| ProviderError::Decode {
                        url: url.clone(),
                        message: format!("the token answer is not the JSON expected: {e}"),
                    })?;
                return Ok((
                    Secret::new(answer.access_token),
                    Duration::from_secs(answer.expires_in.max(60)),
                ));
            }
            if (status.as_u16() == 429 || status.is_server_error()) && attempt < 4 {
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                continue;
            }
            return Err(ProviderError::Unauthorized {
                url,
                status: status.as_u16(),
                message: format!(
                    "{}; check credentials_file (the key may have been deleted or disabled) and token_url",
                    error_message(&body, &OAuth2Error)
                ),
            });
        }
    }
}
