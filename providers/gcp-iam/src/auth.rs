//! Access tokens, from Application Default Credentials as Google's client libraries find them:
//! a credentials file (`credentials_file`, else `GOOGLE_APPLICATION_CREDENTIALS`, else the one
//! `gcloud auth application-default login` wrote), else the metadata server of the Compute
//! Engine VM, GKE node or Cloud Run service the job runs on. A service account key signs a JWT
//! assertion (RS256) exchanged at the token endpoint (the JWT bearer grant of RFC 7523); user
//! credentials exchange their refresh token; the metadata server hands out its service
//! account's token. Tokens are kept until shortly before they expire. Private keys, client
//! secrets, refresh tokens and access tokens are [`Secret`]s: never in Debug output, logs or
//! errors.
//!
//! Neither `gcp_auth` nor `yup-oauth2` fits: the first fixes the metadata server's and the user
//! credentials' token URLs (no emulator can stand in for them), the second fixes the user
//! credentials' one and logs token answers whole at debug level, which the command line's
//! `-v` would print.

use std::path::{Path, PathBuf};
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

/// The metadata server's host, unless `GCE_METADATA_HOST` names another (as Google's client
/// libraries read it, for emulators and proxies).
const METADATA_HOST: &str = "metadata.google.internal";

/// Where credentials come from.
pub(crate) enum Credentials {
    /// A service account key file.
    ServiceAccount(KeyFile),
    /// A user's refresh token (`gcloud auth application-default login`).
    User(UserCredentials),
    /// The metadata server's token endpoint.
    Metadata(Url),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ServiceAccount(key) => key.fmt(f),
            Credentials::User(user) => f
                .debug_struct("UserCredentials")
                .field("client_id", &user.client_id)
                .finish_non_exhaustive(),
            Credentials::Metadata(url) => f.debug_tuple("Metadata").field(&url.as_str()).finish(),
        }
    }
}

impl Credentials {
    /// Application Default Credentials: `configured` (the source's `credentials_file`), else
    /// the file `GOOGLE_APPLICATION_CREDENTIALS` names, else gcloud's application default
    /// credentials file, else the metadata server.
    pub(crate) fn find(configured: Option<PathBuf>, source: &str) -> Result<Self, ProviderError> {
        if let Some(path) = configured {
            return Credentials::read(&path, &format!("sources.{source}.credentials_file"));
        }
        if let Some(path) =
            std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").filter(|p| !p.is_empty())
        {
            return Credentials::read(Path::new(&path), "GOOGLE_APPLICATION_CREDENTIALS");
        }
        if let Some(path) = gcloud_file().filter(|p| p.is_file()) {
            return Credentials::read(&path, "gcloud's application default credentials");
        }
        let host = std::env::var("GCE_METADATA_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| METADATA_HOST.to_string());
        let url =
            format!("http://{host}/computeMetadata/v1/instance/service-accounts/default/token");
        let url = Url::parse(&url).ok().filter(|u| u.path().starts_with("/computeMetadata/")).ok_or_else(|| {
            ProviderError::Config(format!(
                "GCE_METADATA_HOST: {host:?} is not a host name with an optional port, such as \"{METADATA_HOST}\" or \"169.254.169.254:80\""
            ))
        })?;
        Ok(Credentials::Metadata(url))
    }

    /// Reads a credentials file: a service account key or a user's refresh token. Errors name
    /// the file, never its contents.
    pub(crate) fn read(path: &Path, what: &str) -> Result<Self, ProviderError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ProviderError::Config(format!("{what}: cannot read {}: {e}", path.display()))
        })?;
        let not_json = |e: serde_json::Error| {
            ProviderError::Config(format!(
                "{what}: {} is not a credentials file (line {}); download a service account key with `gcloud iam service-accounts keys create`",
                path.display(),
                e.line()
            ))
        };
        #[derive(Deserialize)]
        struct Kind {
            #[serde(rename = "type", default)]
            kind: String,
        }
        let kind: Kind = serde_json::from_str(&text).map_err(not_json)?;
        match kind.kind.as_str() {
            "service_account" => {
                let raw: RawKeyFile = serde_json::from_str(&text).map_err(not_json)?;
                KeyFile::check(raw, path, what).map(Credentials::ServiceAccount)
            }
            "authorized_user" => {
                let raw: RawUser = serde_json::from_str(&text).map_err(not_json)?;
                if [&raw.client_id, &raw.client_secret, &raw.refresh_token]
                    .iter()
                    .any(|f| f.is_empty())
                {
                    return Err(ProviderError::Config(format!(
                        "{what}: {} lacks client_id, client_secret or refresh_token; run `gcloud auth application-default login` again",
                        path.display()
                    )));
                }
                Ok(Credentials::User(UserCredentials {
                    client_id: raw.client_id,
                    client_secret: Secret::new(raw.client_secret),
                    refresh_token: Secret::new(raw.refresh_token),
                    token_uri: raw.token_uri,
                }))
            }
            other => Err(ProviderError::Config(format!(
                "{what}: {} holds {other:?} credentials, which this build does not read; give it a service account key file or `gcloud auth application-default login` user credentials, or run on Google Cloud without a file to use the metadata server",
                path.display()
            ))),
        }
    }

    /// The token endpoint the file names, if it names one.
    pub(crate) fn token_uri(&self) -> Option<&str> {
        match self {
            Credentials::ServiceAccount(key) => key.token_uri.as_deref(),
            Credentials::User(user) => user.token_uri.as_deref(),
            Credentials::Metadata(_) => None,
        }
    }

    /// What an operator checks when the token endpoint refuses these credentials.
    fn advice(&self) -> &'static str {
        match self {
            Credentials::ServiceAccount(_) => {
                "check credentials_file (the key may have been deleted or disabled) and token_url"
            }
            Credentials::User(_) => {
                "the refresh token was refused (revoked, or expired by a session length policy): run `gcloud auth application-default login` again"
            }
            Credentials::Metadata(_) => {
                "check that the VM, node or service runs as a service account with the cloud-platform access scope"
            }
        }
    }
}

/// gcloud's application default credentials file: `$CLOUDSDK_CONFIG/` or `~/.config/gcloud/`
/// `application_default_credentials.json`.
fn gcloud_file() -> Option<PathBuf> {
    let dir = match std::env::var_os("CLOUDSDK_CONFIG").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?)
            .join(".config/gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}

/// A user's credentials file, as `gcloud auth application-default login` writes it.
#[derive(Deserialize)]
struct RawUser {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    refresh_token: String,
    token_uri: Option<String>,
}

/// A user's refresh token and the OAuth client it was issued to.
pub(crate) struct UserCredentials {
    client_id: String,
    client_secret: Secret,
    refresh_token: Secret,
    token_uri: Option<String>,
}

/// A service account key file, as `gcloud iam service-accounts keys create` writes it.
#[derive(Deserialize)]
struct RawKeyFile {
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
    /// Checks a key file's fields; errors name the file, never its contents.
    fn check(raw: RawKeyFile, path: &Path, what: &str) -> Result<KeyFile, ProviderError> {
        let key = KeyFile {
            private_key_id: raw.private_key_id,
            private_key: Secret::new(raw.private_key),
            client_email: raw.client_email,
            token_uri: raw.token_uri,
        };
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

/// Access tokens of one set of credentials.
pub(crate) struct Tokens {
    credentials: Credentials,
    /// The token endpoint, or the metadata server's.
    endpoint: Url,
    http: reqwest::Client,
    current: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens from `credentials`; `token_url` is the token endpoint of a credentials file, and
    /// unused with the metadata server.
    pub(crate) fn new(credentials: Credentials, token_url: Url) -> Result<Self, ProviderError> {
        let endpoint = match &credentials {
            Credentials::Metadata(url) => url.clone(),
            _ => token_url,
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("iamsnap/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Tokens {
            credentials,
            endpoint,
            http,
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// Who the credentials sign in as, and the key's id when they are a service account key
    /// (never the key); empty for user credentials and the metadata server, which have no key.
    pub(crate) fn key_id(&self) -> (&str, &str) {
        match &self.credentials {
            Credentials::ServiceAccount(key) => (&key.client_email, &key.private_key_id),
            Credentials::User(_) => ("the user of the application default credentials", ""),
            Credentials::Metadata(_) => ("the metadata server's service account", ""),
        }
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
            let sent = self.send().await?;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < 4 => {
                    tracing::debug!(%url, error = %e, "token request failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                    continue;
                }
                Err(e) => {
                    let what = match self.credentials {
                        Credentials::Metadata(_) => {
                            "cannot reach the metadata server (not on Google Cloud? then set credentials_file or GOOGLE_APPLICATION_CREDENTIALS to a service account key file)"
                        }
                        _ => "cannot reach the token endpoint",
                    };
                    return Err(ProviderError::Transport {
                        url,
                        message: redact::scrubbed(format!("{what}: {e}")),
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
                    "{}; {}",
                    error_message(&body, &OAuth2Error),
                    self.credentials.advice()
                ),
            });
        }
    }

    /// One token request: the JWT bearer grant, the refresh token grant, or the metadata
    /// server's GET (which must carry `Metadata-Flavor: Google`).
    async fn send(&self) -> Result<reqwest::Result<reqwest::Response>, ProviderError> {
        let form = |pairs: &[(&str, &str)]| {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            self.http
                .post(self.endpoint.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        };
        let request = match &self.credentials {
            Credentials::ServiceAccount(key) => {
                let assertion = key.assertion(self.endpoint.as_str())?;
                form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", &assertion),
                ])
            }
            Credentials::User(user) => form(&[
                ("grant_type", "refresh_token"),
                ("client_id", &user.client_id),
                ("client_secret", user.client_secret.expose()),
                ("refresh_token", user.refresh_token.expose()),
            ]),
            Credentials::Metadata(url) => self
                .http
                .get(url.clone())
                .header("Metadata-Flavor", "Google"),
        };
        Ok(request.send().await)
    }
}
