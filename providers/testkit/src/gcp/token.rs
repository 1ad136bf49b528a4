//! The OAuth 2.0 token endpoint: the JWT bearer grant (RFC 7523) with an RS256 assertion
//! signed by the service account's key, checked against the key's public part, and the refresh
//! token grant of a user's application default credentials; and the metadata server's token
//! endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::Shared;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{KeyPair, RSA_PKCS1_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey};
use serde_json::{Value, json};

/// The emulator's service account key: a fixed RSA key made for these tests only, so that
/// starting an emulator costs no key generation. It signs nothing outside the emulator.
pub const TEST_KEY_PEM: &str = include_str!("test-key.pem");
/// Its id, as `private_key_id` in the key file and `kid` in assertions.
pub const KEY_ID: &str = "3f1c2e7a9b0d4c5e8f6a1b2c3d4e5f60718293a4";
/// Lifetime of issued access tokens.
pub const LIFETIME: Duration = Duration::from_secs(3599);
/// The grant type of a signed assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The public half of the test key, DER (RSAPublicKey).
fn public_key() -> Vec<u8> {
    let der = pem_body(TEST_KEY_PEM);
    let pair = RsaKeyPair::from_pkcs8(&der).expect("the test key is a PKCS#8 RSA key");
    pair.public_key().as_ref().to_vec()
}

fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("the test key is base64")
}

/// The service account key file (`gcloud iam service-accounts keys create`'s JSON).
pub fn key_file(org_project: &str, client_email: &str, token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": org_project,
        "private_key_id": KEY_ID,
        "private_key": TEST_KEY_PEM,
        "client_email": client_email,
        "client_id": "109876543210987654321",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
}

/// Why an assertion is refused: `(error, error_description)` of RFC 6749 §5.2.
type Refusal = (&'static str, String);

/// The OAuth client of the emulator's user credentials (`gcloud auth application-default
/// login`'s), and its secret and refresh token: made up for these tests.
pub const USER_CLIENT_ID: &str = "764086051850-emulated.apps.googleusercontent.com";
pub const USER_CLIENT_SECRET: &str = "emulated-client-secret-d3b07384";
pub const USER_REFRESH_TOKEN: &str = "1//emulated-refresh-token-c157a79031e1c40f";

/// A user's application default credentials file, as `gcloud auth application-default login`
/// writes it (it names no token endpoint: Google's is implied).
pub fn user_credentials() -> Value {
    json!({
        "type": "authorized_user",
        "client_id": USER_CLIENT_ID,
        "client_secret": USER_CLIENT_SECRET,
        "refresh_token": USER_REFRESH_TOKEN,
        "quota_project_id": "org-admin",
    })
}

/// Checks a refresh token grant (RFC 6749 §6) against the emulator's user credentials.
pub fn verify_refresh(form: &HashMap<String, String>) -> Result<(), Refusal> {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != USER_CLIENT_ID || field("client_secret") != USER_CLIENT_SECRET {
        return Err(("invalid_client", "The OAuth client was not found.".into()));
    }
    if field("refresh_token") != USER_REFRESH_TOKEN {
        return Err(("invalid_grant", "Token has been expired or revoked.".into()));
    }
    Ok(())
}

/// Checks an assertion for `client_email` addressed to `audience`.
pub fn verify(assertion: &str, client_email: &str, audience: &str) -> Result<(), Refusal> {
    let invalid = |m: &str| ("invalid_grant", m.to_string());
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, claims, sig] = parts[..] else {
        return Err(invalid(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ));
    };
    let decode = |s: &str| -> Result<Value, Refusal> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| invalid("Invalid JWT: not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| invalid("Invalid JWT: not JSON"))
    };
    let header = decode(head)?;
    let claims = decode(claims)?;
    if header["alg"] != "RS256" {
        return Err(invalid("Invalid JWT: alg must be RS256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| invalid("Invalid JWT Signature."))?;
    let signed = format!("{head}.{}", parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key())
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| invalid("Invalid JWT Signature."))?;
    if claims["iss"] != client_email {
        return Err(("invalid_client", "The OAuth client was not found.".into()));
    }
    // Through a proxy the client names the proxy's address: the path is what must match.
    let path_of = |u: &str| url::Url::parse(u).map(|u| u.path().to_string()).ok();
    let aud = claims["aud"].as_str().unwrap_or_default();
    if path_of(aud).is_none() || path_of(aud) != path_of(audience) {
        return Err(invalid("Invalid JWT: aud must be the token endpoint's URL"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    match (iat, exp) {
        (Some(iat), Some(exp)) if exp > now && exp - iat <= 3600 && iat <= now + 300 => Ok(()),
        _ => Err(invalid(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        )),
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub expires: Instant,
}

/// `POST /token`: an access token for a valid signed assertion.
pub(super) async fn endpoint(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    shared.count("token");
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let refuse = |error: &str, description: String| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    let checked = match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER) => match form.get("assertion") {
            Some(assertion) => verify(assertion, &shared.client_email, &shared.token_url),
            None => Err((
                "invalid_request",
                "Missing required parameter: assertion".into(),
            )),
        },
        Some("refresh_token") => {
            shared.count("token:refresh_token");
            verify_refresh(&form)
        }
        _ => Err(("unsupported_grant_type", "Invalid grant_type.".into())),
    };
    if let Err((error, description)) = checked {
        return refuse(error, description);
    }
    axum::Json(issue(&shared)).into_response()
}

/// `GET /computeMetadata/v1/instance/service-accounts/default/token`: the token of the
/// service account the VM runs as. The metadata server answers only requests that carry
/// `Metadata-Flavor: Google` and refuses any that went through a proxy (`X-Forwarded-For`),
/// so that a page cannot make a browser fetch tokens.
pub(super) async fn metadata(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.count("metadata");
    let flavor = headers.get("metadata-flavor").and_then(|v| v.to_str().ok());
    if flavor != Some("Google") || headers.contains_key("x-forwarded-for") {
        return (
            axum::http::StatusCode::FORBIDDEN,
            [("metadata-flavor", "Google")],
            "Missing required header \"Metadata-Flavor\": \"Google\"\n",
        )
            .into_response();
    }
    let mut response = axum::Json(issue(&shared)).into_response();
    response.headers_mut().insert(
        "metadata-flavor",
        axum::http::HeaderValue::from_static("Google"),
    );
    response
}

/// A new access token: `{"access_token", "expires_in", "token_type"}`.
fn issue(shared: &Shared) -> Value {
    let token = format!(
        "ya29.emulated-{:016x}",
        shared.serial.fetch_add(1, Ordering::Relaxed) * 0x9e37_79b9
    );
    shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            token.clone(),
            Issued {
                expires: Instant::now() + LIFETIME,
            },
        );
    json!({"access_token": token, "expires_in": LIFETIME.as_secs(), "token_type": "Bearer"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::RSA_PKCS1_SHA256;

    fn assertion(claims: Value) -> String {
        let head = URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let pair = RsaKeyPair::from_pkcs8(&pem_body(TEST_KEY_PEM)).unwrap();
        let mut sig = vec![0; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            format!("{head}.{body}").as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn a_signed_assertion_is_accepted_and_a_tampered_one_refused() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({"iss": "sa@p.iam.gserviceaccount.com", "aud": "http://127.0.0.1:1/token", "iat": now, "exp": now + 3600});
        let good = assertion(claims.clone());
        verify(
            &good,
            "sa@p.iam.gserviceaccount.com",
            "http://127.0.0.1:2/token",
        )
        .unwrap();
        let mut forged = claims;
        forged["iss"] = json!("other@p.iam.gserviceaccount.com");
        let (head, _) = good.rsplit_once('.').unwrap();
        let (head, _) = head.split_once('.').unwrap();
        let swapped = format!(
            "{head}.{}.{}",
            URL_SAFE_NO_PAD.encode(forged.to_string()),
            good.rsplit_once('.').unwrap().1
        );
        let refused = verify(
            &swapped,
            "other@p.iam.gserviceaccount.com",
            "http://127.0.0.1:2/token",
        )
        .unwrap_err();
        assert_eq!(refused.1, "Invalid JWT Signature.");
    }
}
