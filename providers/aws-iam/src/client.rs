//! The IAM client: the standard AWS credential chain, an optional assumed role, retries with
//! backoff for throttling, counters of requests for `stats()`, the errors of IAM calls with the
//! operation they came from, and the pages of IAM listings as the SDK's paginators fetch them.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_iam::config::{Region, SharedCredentialsProvider};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::operation as op;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use iamsnap_aws_cloudtrail::CloudTrail;
use iamsnap_provider::{ProviderError, RequestStats};
use tokio::sync::OnceCell;

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

/// The IAM client of one source and its request counters. The client is built on first use:
/// building resolves the profile and the assumed role, which a provider that is only
/// constructed (`iamsnap config check`) must not do.
pub(crate) struct Connection {
    config: AwsIamConfig,
    base: std::sync::Mutex<Option<Base>>,
    built: OnceCell<(aws_sdk_iam::Client, aws_config::SdkConfig)>,
    trail: OnceCell<CloudTrail>,
    counter: Arc<Counter>,
}

impl Connection {
    pub fn new(config: &AwsIamConfig, base: Base) -> Self {
        Connection {
            config: config.clone(),
            base: std::sync::Mutex::new(Some(base)),
            built: OnceCell::new(),
            trail: OnceCell::new(),
            counter: Arc::new(Counter::default()),
        }
    }

    /// The IAM client, built on first use.
    pub async fn iam(&self) -> &aws_sdk_iam::Client {
        &self.built().await.0
    }

    async fn built(&self) -> &(aws_sdk_iam::Client, aws_config::SdkConfig) {
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

    /// The reader of CloudTrail's event history in `region` (else the source's), with the
    /// same credentials and endpoint, built on first use.
    pub async fn trail(&self, region: Option<&str>) -> &CloudTrail {
        let sdk = &self.built().await.1;
        self.trail
            .get_or_init(|| async { CloudTrail::new(sdk, region) })
            .await
    }

    /// The SDK configuration the client is built on: the source's credentials and endpoint.
    pub async fn sdk(&self) -> &aws_config::SdkConfig {
        &self.built().await.1
    }

    /// The ARN the credentials act as (`sts:GetCallerIdentity`).
    pub async fn caller_arn(&self) -> Result<String, ProviderError> {
        let sts = aws_sdk_sts::Client::new(&self.built().await.1);
        let out = sts.get_caller_identity().send().await.map_err(|e| {
            ApiError::from_sdk("GetCallerIdentity", e).context("the credentials of this source")
        })?;
        out.arn()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::Decode {
                url: "sts:GetCallerIdentity".into(),
                message: "the answer has no Arn".into(),
            })
    }

    pub fn stats(&self) -> RequestStats {
        self.counter.stats()
    }
}

/// Builds the IAM client for `cfg` (checked by [`AwsIamConfig::validate`]). Nothing is sent:
/// credentials are resolved on first use.
async fn build(
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

/// The answer of a `Marker`-paged IAM listing: whether more pages follow and where the next
/// one starts. Every listing output of the SDK has both, as inherent methods: this trait lets
/// [`Pages`] check them whatever the listing.
pub(crate) trait Page {
    fn is_truncated(&self) -> bool;
    fn marker(&self) -> Option<&str>;
}

/// Implements [`Page`] with the output's own `is_truncated` and `marker`, for the listings the
/// connector reads.
macro_rules! page {
    ($($output:ty),* $(,)?) => {$(
        impl Page for $output {
            fn is_truncated(&self) -> bool {
                <$output>::is_truncated(self)
            }
            fn marker(&self) -> Option<&str> {
                <$output>::marker(self)
            }
        }
    )*};
}

page!(
    op::get_account_authorization_details::GetAccountAuthorizationDetailsOutput,
    op::get_group::GetGroupOutput,
    op::list_access_keys::ListAccessKeysOutput,
    op::list_account_aliases::ListAccountAliasesOutput,
    op::list_attached_group_policies::ListAttachedGroupPoliciesOutput,
    op::list_attached_role_policies::ListAttachedRolePoliciesOutput,
    op::list_attached_user_policies::ListAttachedUserPoliciesOutput,
    op::list_entities_for_policy::ListEntitiesForPolicyOutput,
    op::list_group_policies::ListGroupPoliciesOutput,
    op::list_groups_for_user::ListGroupsForUserOutput,
    op::list_instance_profiles::ListInstanceProfilesOutput,
    op::list_instance_profiles_for_role::ListInstanceProfilesForRoleOutput,
    op::list_mfa_devices::ListMfaDevicesOutput,
    op::list_policies::ListPoliciesOutput,
    op::list_policy_tags::ListPolicyTagsOutput,
    op::list_policy_versions::ListPolicyVersionsOutput,
    op::list_role_policies::ListRolePoliciesOutput,
    op::list_roles::ListRolesOutput,
    op::list_server_certificates::ListServerCertificatesOutput,
    op::list_signing_certificates::ListSigningCertificatesOutput,
    op::list_ssh_public_keys::ListSshPublicKeysOutput,
    op::list_user_policies::ListUserPoliciesOutput,
    op::list_user_tags::ListUserTagsOutput,
    op::list_users::ListUsersOutput,
    op::list_virtual_mfa_devices::ListVirtualMfaDevicesOutput,
);

/// The stream an SDK paginator's `send()` gives.
type PageStream<T, E> = PaginationStream<Result<T, SdkError<E, HttpResponse>>>;

/// The pages of one IAM listing, fetched by the SDK's paginator, with the API operation named on
/// errors. The listing ends after the page that says it is the last (`IsTruncated` false), even
/// if that page carries a marker, so no request is made past it. A truncated page without a
/// marker, or a marker seen before, is an error: the paginator alone would end the listing
/// there, and the backup would be silently short.
pub(crate) struct Pages<T, E> {
    op: &'static str,
    stream: PageStream<T, E>,
    markers: HashSet<String>,
    done: bool,
}

impl<T, E> Pages<T, E>
where
    T: Page,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    /// The next page; `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<T>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let Some(page) = self.stream.next().await else {
            self.done = true;
            return Ok(None);
        };
        let page = page.api(self.op)?;
        if !page.is_truncated() {
            self.done = true;
            return Ok(Some(page));
        }
        match page.marker().filter(|m| !m.is_empty()) {
            Some(marker) if self.markers.insert(marker.to_string()) => Ok(Some(page)),
            Some(_) => Err(ApiError::local(
                self.op,
                "the service returned the same Marker twice; the listing would never end",
            )),
            None => Err(ApiError::local(
                self.op,
                "the page says IsTruncated but carries no Marker",
            )),
        }
    }

    /// Every item of every page; `items` takes them out of one page.
    pub async fn items<I>(mut self, items: impl Fn(T) -> Vec<I>) -> Result<Vec<I>, ApiError> {
        let mut all = Vec::new();
        while let Some(page) = self.next().await? {
            all.extend(items(page));
        }
        Ok(all)
    }
}

/// Names the API operation of a paginator's stream:
/// `client.list_users().into_paginator().send().pages("ListUsers")`.
pub(crate) trait Paginated<T, E> {
    fn pages(self, op: &'static str) -> Pages<T, E>;
}

impl<T, E> Paginated<T, E> for PageStream<T, E> {
    fn pages(self, op: &'static str) -> Pages<T, E> {
        Pages {
            op,
            stream: self,
            markers: HashSet::new(),
            done: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use aws_sdk_iam::operation::list_users::{ListUsersError, ListUsersOutput};
    use aws_smithy_async::future::pagination_stream::fn_stream::FnStream;

    fn page(marker: Option<&str>, truncated: bool) -> ListUsersOutput {
        ListUsersOutput::builder()
            .set_users(Some(Vec::new()))
            .set_marker(marker.map(str::to_string))
            .is_truncated(truncated)
            .build()
            .unwrap()
    }

    /// A paginator's stream serving `answers` in turn, and how many of them were asked for.
    fn scripted(
        answers: Vec<ListUsersOutput>,
    ) -> (Pages<ListUsersOutput, ListUsersError>, Arc<AtomicU64>) {
        let asked = Arc::new(AtomicU64::new(0));
        let count = asked.clone();
        let stream = PaginationStream::new(FnStream::new(move |tx| {
            Box::pin(async move {
                for answer in answers {
                    count.fetch_add(1, Ordering::SeqCst);
                    if tx.send(Ok(answer)).await.is_err() {
                        return;
                    }
                }
            })
        }));
        (stream.pages("ListUsers"), asked)
    }

    #[tokio::test]
    async fn reads_to_the_last_page_and_no_further() {
        let (mut pages, asked) = scripted(vec![
            page(Some("m1"), true),
            page(Some("m2"), true),
            // The last page by IsTruncated, whatever its marker says.
            page(Some("m3"), false),
            page(None, false),
        ]);
        let mut markers = Vec::new();
        while let Some(p) = pages.next().await.unwrap() {
            markers.push(p.marker().map(str::to_string));
        }
        assert_eq!(markers.len(), 3);
        assert_eq!(markers[2].as_deref(), Some("m3"));
        assert_eq!(asked.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn refuses_a_truncated_page_without_marker_and_a_repeated_marker() {
        let (pages, _) = scripted(vec![page(None, true)]);
        let err = pages.items(|p| p.users).await.unwrap_err();
        assert!(err.message.contains("no Marker"), "{}", err.message);

        let (pages, _) = scripted(vec![
            page(Some("a"), true),
            page(Some("b"), true),
            page(Some("a"), true),
        ]);
        let err = pages.items(|p| p.users).await.unwrap_err();
        assert!(err.message.contains("same Marker twice"), "{}", err.message);
        assert_eq!(err.op, "ListUsers");
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
