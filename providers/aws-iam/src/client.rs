//! The IAM client: the standard AWS credential chain, an optional assumed role, retries with
//! backoff for throttling, and counters of requests for `stats()`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_iam::config::{Region, SharedCredentialsProvider};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use iamsnap_provider::{ProviderError, RequestStats};

use crate::config::AwsIamConfig;

/// Attempts per call, the first included. IAM's control plane throttles hard (a few requests
/// per second per account), so a backup of a large account must outlast long bursts. The
/// standard retry mode is used: the adaptive mode's client-side rate limiter, estimated from the
/// few calls of a short run, slowed a single throttled call to tens of seconds.
pub const MAX_ATTEMPTS: u32 = 10;

/// Where the SDK configuration comes from.
pub(crate) enum Base {
    /// The standard chain, shaped by the source's configuration.
    Chain,
    /// A configuration the embedding program built itself.
    Given(Box<aws_config::SdkConfig>),
}

/// Builds the IAM client for `cfg` (checked by [`AwsIamConfig::validate`]). Nothing is sent:
/// credentials are resolved on first use.
pub(crate) async fn build(
    cfg: &AwsIamConfig,
    base: Base,
    counter: Arc<Counter>,
) -> (aws_sdk_iam::Client, aws_config::SdkConfig) {
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
    let conf = aws_sdk_iam::config::Builder::from(&sdk)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(500))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .interceptor(CountRequests(counter));
    (aws_sdk_iam::Client::from_conf(conf.build()), sdk)
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
            // The body is buffered by the time an error response is deserialized.
            let body = response.body().bytes().unwrap_or_default();
            if status == 429 || (status >= 400 && is_throttling_body(body)) {
                self.0.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }
}

/// True when an AWS query-protocol error body carries one of the SDK's throttling codes.
fn is_throttling_body(body: &[u8]) -> bool {
    let body = String::from_utf8_lossy(body);
    aws_runtime::retries::classifiers::THROTTLING_ERRORS
        .iter()
        .any(|code| body.contains(&format!("<Code>{code}</Code>")))
}

/// An IAM call that failed after the SDK's retries, with the API operation it came from.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub op: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
    pub transport: bool,
}

impl ApiError {
    pub fn from_sdk<E, R>(op: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + HasStatus,
    {
        let status = err.raw_response().map(HasStatus::status);
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

    /// An error found by the connector itself in what IAM answered.
    pub fn local(op: &'static str, message: &str) -> Self {
        ApiError {
            op,
            code: None,
            message: message.to_string(),
            status: None,
            transport: false,
        }
    }

    /// A missing object found without IAM saying so (a name absent from a listing).
    pub fn no_such_entity(op: &'static str, message: &str) -> Self {
        ApiError {
            code: Some("NoSuchEntity".into()),
            ..ApiError::local(op, message)
        }
    }

    /// True when AWS answered with error code `code` (`NoSuchEntity`, `EntityAlreadyExists`).
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The error for the engine, naming the API call and the object (`role app-deploy`).
    pub fn context(self, subject: &str) -> ProviderError {
        let url = format!("iam:{} {subject}", self.op);
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
                | "UnrecognizedClientException"
                | "IncompleteSignature"
                | "MissingAuthenticationToken",
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

/// The HTTP status of a raw response, whatever the SDK's response type.
pub(crate) trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Attaches the API operation name to an SDK result: `client.get_role().send().await.api("GetRole")`.
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

/// One page of a `Marker`-paged IAM listing.
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    pub marker: Option<String>,
}

/// Reads every page of a listing: calls `fetch` with the previous page's marker for as long as
/// the answer says `IsTruncated`. A truncated page without a marker, or a marker seen before, is
/// an error rather than an endless loop or a silently short listing.
pub(crate) async fn all_pages<T, F, Fut>(op: &'static str, mut fetch: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let page = fetch(marker.take()).await?;
        items.extend(page.items);
        if !page.is_truncated {
            return Ok(items);
        }
        match page.marker {
            Some(next) if seen.insert(next.clone()) => marker = Some(next),
            Some(_) => {
                return Err(ApiError {
                    op,
                    code: None,
                    message:
                        "the service returned the same Marker twice; the listing would never end"
                            .into(),
                    status: None,
                    transport: false,
                });
            }
            None => {
                return Err(ApiError {
                    op,
                    code: None,
                    message: "the page says IsTruncated but carries no Marker".into(),
                    status: None,
                    transport: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn page(items: &[u32], marker: Option<&str>) -> Result<Page<u32>, ApiError> {
        Ok(Page {
            items: items.to_vec(),
            is_truncated: marker.is_some(),
            marker: marker.map(str::to_string),
        })
    }

    #[tokio::test]
    async fn follows_markers_to_the_last_page() {
        let asked = Mutex::new(Vec::new());
        let all = all_pages("ListUsers", |marker| {
            asked.lock().unwrap().push(marker.clone());
            let answer = match marker.as_deref() {
                None => page(&[1, 2], Some("m1")),
                Some("m1") => page(&[3], Some("m2")),
                Some("m2") => page(&[4, 5], None),
                other => panic!("unexpected marker {other:?}"),
            };
            async move { answer }
        })
        .await
        .unwrap();
        assert_eq!(all, [1, 2, 3, 4, 5]);
        assert_eq!(
            *asked.lock().unwrap(),
            [None, Some("m1".to_string()), Some("m2".to_string())]
        );
    }

    #[tokio::test]
    async fn refuses_a_truncated_page_without_marker_and_a_repeated_marker() {
        let err = all_pages("ListRoles", |_| async {
            page(&[1], None).map(|p| Page {
                is_truncated: true,
                ..p
            })
        })
        .await
        .unwrap_err();
        assert!(err.message.contains("no Marker"), "{}", err.message);

        let err = all_pages("ListRoles", |_| async { page(&[1], Some("same")) })
            .await
            .unwrap_err();
        assert!(err.message.contains("same Marker twice"), "{}", err.message);
    }

    #[test]
    fn recognises_throttling_bodies() {
        assert!(is_throttling_body(
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
        ));
        assert!(!is_throttling_body(
            b"<Error><Code>NoSuchEntity</Code></Error>"
        ));
    }

    #[test]
    fn access_denied_becomes_forbidden_with_the_call_named() {
        let err = ApiError {
            op: "GetAccountAuthorizationDetails",
            code: Some("AccessDenied".into()),
            message: "not authorized".into(),
            status: Some(403),
            transport: false,
        }
        .context("filter Role");
        assert!(err.is_auth());
        assert!(
            err.to_string()
                .contains("iam:GetAccountAuthorizationDetails filter Role"),
            "{err}"
        );
    }
}
