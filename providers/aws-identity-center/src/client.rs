//! The sso-admin and identitystore clients: the standard AWS credential chain, an optional
//! assumed role, retries with backoff for throttling, counters of requests for `stats()`, and
//! the errors of calls with the operation they came from.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_ssoadmin::config::{Region, SharedCredentialsProvider};
use aws_sdk_ssoadmin::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use iamsnap_aws_cloudtrail::CloudTrail;
use iamsnap_provider::{ProviderError, RequestStats};
use tokio::sync::OnceCell;

use crate::config::AwsIdentityCenterConfig;

/// Attempts per call, the first included. Identity Center throttles at about 20 requests a
/// second per account; a backup of a large instance must outlast bursts.
pub const MAX_ATTEMPTS: u32 = 10;

/// Where the SDK configuration comes from.
pub(crate) enum Base {
    /// The standard chain, shaped by the source's configuration.
    Chain,
    /// A configuration the embedding program built itself.
    Given(Box<aws_config::SdkConfig>),
}

/// Both clients of one source, built together on first use.
pub(crate) struct Clients {
    pub sso: aws_sdk_ssoadmin::Client,
    pub store: aws_sdk_identitystore::Client,
    /// For `GetCallerIdentity` only.
    pub sts: aws_sdk_sts::Client,
    /// CloudTrail's event history of the instance's region, for who changed what.
    pub trail: CloudTrail,
    /// The configuration the clients are built on, for `iamsnap doctor`'s questions.
    pub sdk: aws_config::SdkConfig,
}

/// The clients of one source and their request counters. They are built on first use:
/// building resolves the profile and the assumed role, which a provider that is only
/// constructed (`iamsnap config check`) must not do.
pub(crate) struct Connection {
    config: AwsIdentityCenterConfig,
    base: std::sync::Mutex<Option<Base>>,
    built: OnceCell<Clients>,
    counter: Arc<Counter>,
}

impl Connection {
    pub fn new(config: &AwsIdentityCenterConfig, base: Base) -> Self {
        Connection {
            config: config.clone(),
            base: std::sync::Mutex::new(Some(base)),
            built: OnceCell::new(),
            counter: Arc::new(Counter::default()),
        }
    }

    /// Both clients, built on first use.
    pub async fn clients(&self) -> &Clients {
        self.built
            .get_or_init(|| async {
                let base = self
                    .base
                    .lock()
                    .expect("the base configuration lock is never poisoned")
                    .take()
                    .unwrap_or(Base::Chain);
                build(&self.config, base, self.counter.clone()).await
            })
            .await
    }

    pub fn stats(&self) -> RequestStats {
        self.counter.stats()
    }
}

/// Builds the clients for `cfg` (checked by [`AwsIdentityCenterConfig::validate`]). Nothing is
/// sent: credentials are resolved on first use.
async fn build(cfg: &AwsIdentityCenterConfig, base: Base, counter: Arc<Counter>) -> Clients {
    let mut sdk = match base {
        Base::Given(sdk) => *sdk,
        Base::Chain => {
            let region = RegionProviderChain::first_try(cfg.region.clone().map(Region::new))
                .or_default_provider()
                .or_else(Region::from_static("us-east-1"));
            let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
            if let Some(profile) = &cfg.profile {
                loader = loader.profile_name(profile);
            }
            loader.load().await
        }
    };
    if let Some(region) = &cfg.region {
        sdk = sdk
            .into_builder()
            .region(Region::new(region.clone()))
            .build();
    }
    if let Some(arn) = &cfg.assume_role_arn {
        let provider = AssumeRoleProvider::builder(arn.clone())
            .session_name("iamsnap")
            .configure(&sdk)
            .build()
            .await;
        sdk = sdk
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }
    if let Some(endpoint) = &cfg.endpoint {
        sdk = sdk.into_builder().endpoint_url(endpoint).build();
    }
    let retry = RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(500))
        .with_max_backoff(Duration::from_secs(20));
    let sso = aws_sdk_ssoadmin::config::Builder::from(&sdk)
        .retry_config(retry.clone())
        .interceptor(CountRequests(counter.clone()))
        .build();
    let store = aws_sdk_identitystore::config::Builder::from(&sdk)
        .retry_config(retry)
        .interceptor(CountRequests(counter))
        .build();
    Clients {
        sso: aws_sdk_ssoadmin::Client::from_conf(sso),
        store: aws_sdk_identitystore::Client::from_conf(store),
        sts: aws_sdk_sts::Client::new(&sdk),
        trail: CloudTrail::new(&sdk, None),
        sdk,
    }
}

/// Request counters shared by the clients' interceptors and the provider.
#[derive(Debug, Default)]
pub struct Counter {
    calls: AtomicU64,
    attempts: AtomicU64,
    throttled: AtomicU64,
}

impl Counter {
    pub fn stats(&self) -> RequestStats {
        let calls = self.calls.load(Ordering::Relaxed);
        let attempts = self.attempts.load(Ordering::Relaxed);
        RequestStats {
            requests: attempts,
            throttled: self.throttled.load(Ordering::Relaxed),
            retries: attempts.saturating_sub(calls),
        }
    }
}

#[derive(Debug)]
struct CountRequests(Arc<Counter>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "iamsnap::CountRequests"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response() {
            let status = response.status().as_u16();
            let header = response.headers().get("x-amzn-errortype").unwrap_or("");
            // The body is buffered by the time an error response is deserialized.
            let body = response.body().bytes().unwrap_or_default();
            if status == 429
                || (status >= 400 && (is_throttling_code(header) || is_throttling_body(body)))
            {
                self.0.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// True when an `x-amzn-errortype` value (`ThrottlingException:http://…`) is a throttling code.
fn is_throttling_code(value: &str) -> bool {
    let code = value.split(':').next().unwrap_or_default();
    !code.is_empty() && aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code)
}

/// True when an AWS JSON-protocol error body (`{"__type": "…#ThrottlingException"}`) carries
/// one of the SDK's throttling codes.
fn is_throttling_body(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let kind = value["__type"].as_str().or(value["code"].as_str());
    kind.map(|t| t.rsplit('#').next().unwrap_or(t))
        .is_some_and(is_throttling_code)
}

/// A call that failed after the SDK's retries, with the API operation it came from.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub op: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
    pub transport: bool,
}

impl ApiError {
    pub fn from_sdk<E>(
        op: &'static str,
        err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let transport = matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
        );
        let code = err.code().map(str::to_string);
        let message = match (&err, err.message()) {
            (_, Some(m)) => m.to_string(),
            (SdkError::ServiceError(_), None) => "no message".to_string(),
            (other, None) => {
                aws_smithy_types::error::display::DisplayErrorContext(other).to_string()
            }
        };
        ApiError {
            op,
            code,
            message,
            status,
            transport,
        }
    }

    /// An error found by the connector itself in what the service answered.
    pub fn local(op: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            op,
            code: None,
            message: message.into(),
            status: None,
            transport: false,
        }
    }

    /// True when AWS answered with error code `code` (`ResourceNotFoundException`).
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// True when the object the call named does not exist.
    pub fn not_found(&self) -> bool {
        self.is("ResourceNotFoundException")
    }

    /// The error for the engine, naming the API call and the object (`permission set Admin`).
    pub fn context(self, subject: &str) -> ProviderError {
        let url = format!("{} {subject}", self.op);
        let status = self.status.unwrap_or(0);
        let message = match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        };
        match self.code.as_deref() {
            Some(
                "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "UnrecognizedClientException"
                | "IncompleteSignature"
                | "MissingAuthenticationTokenException",
            ) => ProviderError::Unauthorized {
                url,
                status,
                message,
            },
            Some("AccessDenied" | "AccessDeniedException") => ProviderError::Forbidden {
                url,
                status,
                message,
            },
            Some(code) if aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code) => {
                ProviderError::Throttled {
                    url,
                    attempts: MAX_ATTEMPTS,
                }
            }
            _ if self.transport => ProviderError::Transport { url, message },
            _ => ProviderError::Http {
                method: "POST".into(),
                url,
                status,
                message,
            },
        }
    }
}

/// Attaches the API operation name to an SDK result:
/// `client.list_instances().send().await.api("sso:ListInstances")`.
pub(crate) trait Api<T> {
    fn api(self, op: &'static str) -> Result<T, ApiError>;
}

impl<T, E> Api<T> for Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn api(self, op: &'static str) -> Result<T, ApiError> {
        self.map_err(|e| ApiError::from_sdk(op, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_json_throttling_answers() {
        assert!(is_throttling_body(
            br#"{"__type":"com.amazonaws.swbup#ThrottlingException","message":"Rate exceeded"}"#
        ));
        assert!(is_throttling_code(
            "ThrottlingException:http://internal.amazon.com/coral/"
        ));
        assert!(!is_throttling_body(
            br#"{"__type":"ResourceNotFoundException"}"#
        ));
        assert!(!is_throttling_body(b"<html>"));
    }

    #[test]
    fn access_denied_becomes_forbidden_with_the_call_named() {
        let err = ApiError {
            op: "sso:ListPermissionSets",
            code: Some("AccessDeniedException".into()),
            message: "not authorized".into(),
            status: Some(400),
            transport: false,
        }
        .context("instance ssoins-1");
        assert!(err.is_auth());
        assert!(
            err.to_string()
                .contains("sso:ListPermissionSets instance ssoins-1"),
            "{err}"
        );
    }
}
