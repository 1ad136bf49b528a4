//! The Organizations client: the standard AWS credential chain, an optional assumed role,
//! retries with backoff for throttling, counters of requests for `stats()`, and the errors of
//! calls with the operation they came from.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_organizations::config::{Region, SharedCredentialsProvider};
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
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

use crate::config::AwsOrganizationsConfig;

/// Attempts per call, the first included. Organizations throttles its control plane at a few
/// requests per second per account (`TooManyRequestsException`), so a backup of a large
/// organization must outlast bursts.
pub const MAX_ATTEMPTS: u32 = 10;

pub(crate) type Client = aws_sdk_organizations::Client;

/// Where the SDK configuration comes from.
pub(crate) enum Base {
    /// The standard chain, shaped by the source's configuration.
    Chain,
    /// A configuration the embedding program built itself.
    Given(Box<aws_config::SdkConfig>),
}

/// The client of one source and its request counters, built on first use: building resolves
/// the profile and the assumed role, which a provider that is only constructed must not do.
pub(crate) struct Connection {
    config: AwsOrganizationsConfig,
    base: std::sync::Mutex<Option<Base>>,
    built: OnceCell<(Client, aws_config::SdkConfig)>,
    trail: OnceCell<CloudTrail>,
    counter: Arc<Counter>,
}

impl Connection {
    pub fn new(config: &AwsOrganizationsConfig, base: Base) -> Self {
        Connection {
            config: config.clone(),
            base: std::sync::Mutex::new(Some(base)),
            built: OnceCell::new(),
            trail: OnceCell::new(),
            counter: Arc::new(Counter::default()),
        }
    }

    /// The Organizations client, built on first use.
    pub async fn client(&self) -> &Client {
        &self.built().await.0
    }

    /// The reader of CloudTrail's event history in `region` (else the source's), with the
    /// same credentials and endpoint, built on first use.
    pub async fn trail(&self, region: Option<&str>) -> &CloudTrail {
        let sdk = &self.built().await.1;
        self.trail
            .get_or_init(|| async { CloudTrail::new(sdk, region) })
            .await
    }

    /// The configuration the client is built on, for `iamsnap doctor`'s questions.
    pub async fn sdk(&self) -> &aws_config::SdkConfig {
        &self.built().await.1
    }

    async fn built(&self) -> &(Client, aws_config::SdkConfig) {
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

/// Builds the client for `cfg` (checked by [`AwsOrganizationsConfig::validate`]). Nothing is
/// sent: credentials are resolved on first use.
async fn build(
    cfg: &AwsOrganizationsConfig,
    base: Base,
    counter: Arc<Counter>,
) -> (Client, aws_config::SdkConfig) {
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
    let conf = aws_sdk_organizations::config::Builder::from(&sdk)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(500))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .interceptor(CountRequests(counter));
    (Client::from_conf(conf.build()), sdk)
}

/// Request counters shared by the client's interceptor and the provider.
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
            let body = response.body().bytes().unwrap_or_default();
            if status == 429 || (status >= 400 && is_throttling_body(body)) {
                self.0.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// True when an AWS JSON-protocol error body names one of the SDK's throttling codes
/// (`{"__type": "TooManyRequestsException", …}`).
fn is_throttling_body(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let code = value["__type"].as_str().unwrap_or_default();
    // The type may carry a namespace: `com.amazonaws.organizations#TooManyRequestsException`.
    let code = code.rsplit('#').next().unwrap_or(code);
    aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code)
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

    /// An error found by the connector itself in what Organizations answered.
    pub fn local(op: &'static str, message: &str) -> Self {
        ApiError {
            op,
            code: None,
            message: message.to_string(),
            status: None,
            transport: false,
        }
    }

    /// True when AWS answered with error code `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// True when the object the call names does not exist (any of Organizations' not-found
    /// codes: `OrganizationalUnitNotFoundException`, `PolicyNotFoundException`, …).
    pub fn is_not_found(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.ends_with("NotFoundException"))
    }

    /// The error for the engine, naming the API call and the object.
    pub fn context(self, subject: &str) -> ProviderError {
        let url = format!("organizations:{} {subject}", self.op);
        let status = self.status.unwrap_or(0);
        let message = match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        };
        match self.code.as_deref() {
            Some(
                "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "ExpiredTokenException"
                | "IncompleteSignature"
                | "MissingAuthenticationToken",
            ) => ProviderError::Unauthorized {
                url,
                status,
                message,
            },
            Some("AccessDeniedException" | "AccessDenied") => ProviderError::Forbidden {
                url,
                status,
                message,
            },
            Some("AWSOrganizationsNotInUseException") => ProviderError::Precondition {
                kind: "organization".into(),
                key: subject.to_string(),
                message: format!(
                    "{message}; the credentials must belong to the organization's management account (or a delegated administrator account)"
                ),
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

/// Attaches the API operation name to an SDK result: `client.list_roots().send().await.api("ListRoots")`.
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
    fn recognises_throttling_bodies() {
        assert!(is_throttling_body(
            br#"{"__type":"TooManyRequestsException","Message":"slow down"}"#
        ));
        assert!(is_throttling_body(
            br#"{"__type":"com.amazonaws.organizations#TooManyRequestsException"}"#
        ));
        assert!(!is_throttling_body(
            br#"{"__type":"PolicyNotFoundException"}"#
        ));
        assert!(!is_throttling_body(b"<html>"));
    }

    #[test]
    fn errors_name_the_call_and_say_what_to_do() {
        let err = ApiError {
            op: "ListRoots",
            code: Some("AccessDeniedException".into()),
            message: "not authorized".into(),
            status: Some(400),
            transport: false,
        }
        .context("the organization");
        assert!(err.is_auth());
        assert!(err.to_string().contains("organizations:ListRoots"), "{err}");
        let err = ApiError {
            op: "DescribeOrganization",
            code: Some("AWSOrganizationsNotInUseException".into()),
            message: "not in an organization".into(),
            status: Some(400),
            transport: false,
        }
        .context("the organization");
        assert!(err.to_string().contains("management account"), "{err}");
        assert!(!ApiError::local("x", "y").is_not_found());
        let missing = ApiError {
            code: Some("ChildNotFoundException".into()),
            ..ApiError::local("x", "y")
        };
        assert!(missing.is_not_found());
    }
}
