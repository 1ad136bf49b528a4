//! `LookupEvents`: one event source at a time, paged by `NextToken`, spaced to CloudTrail's two
//! lookups per second, throttling retried by the SDK's standard retry with backoff.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsError;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};
use iamsnap_provider::{AuditEvent, ProviderError, Target, Window};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::event::{Call, parse};

/// Attempts per lookup, the first included: a throttled lookup waits and tries again.
const MAX_ATTEMPTS: u32 = 8;

/// CloudTrail answers two lookups per second per account and region.
const SPACING: Duration = Duration::from_millis(500);

/// The most events a page holds.
const PAGE: i32 = 50;

/// A reader of one region's CloudTrail event history.
#[derive(Debug)]
pub struct CloudTrail {
    client: aws_sdk_cloudtrail::Client,
    /// When the last lookup was sent, to keep to CloudTrail's rate.
    last: Mutex<Option<Instant>>,
}

impl CloudTrail {
    /// A reader with the credentials and endpoint of `sdk`, in `region` when given (the
    /// events of IAM and Organizations are in [`crate::GLOBAL_REGION`]), else in `sdk`'s.
    /// Nothing is sent until [`CloudTrail::events`].
    pub fn new(sdk: &aws_config::SdkConfig, region: Option<&str>) -> CloudTrail {
        let mut conf = aws_sdk_cloudtrail::config::Builder::from(sdk).retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_secs(1))
                .with_max_backoff(Duration::from_secs(20)),
        );
        if let Some(region) = region {
            conf = conf.region(Region::new(region.to_string()));
        }
        CloudTrail {
            client: aws_sdk_cloudtrail::Client::from_conf(conf.build()),
            last: Mutex::new(None),
        }
    }

    /// The calls that changed something, recorded by `sources` (`iam.amazonaws.com`, …) in
    /// `window`, oldest first; `targets` names the records each call touched.
    pub async fn events(
        &self,
        sources: &[&str],
        window: Window,
        targets: impl Fn(&Call) -> Vec<Target> + Sync,
    ) -> Result<Vec<AuditEvent>, ProviderError> {
        let mut events = Vec::new();
        for source in sources {
            let mut newest_first = Vec::new();
            self.read_source(source, window, &targets, &mut newest_first)
                .await?;
            // CloudTrail's times are whole seconds: calls of one second keep the order the
            // history gives them in, reversed, when sorted by time.
            newest_first.reverse();
            events.extend(newest_first);
        }
        events.sort_by_key(|e| e.time);
        Ok(events)
    }

    async fn read_source(
        &self,
        source: &str,
        window: Window,
        targets: &(dyn Fn(&Call) -> Vec<Target> + Sync),
        into: &mut Vec<AuditEvent>,
    ) -> Result<(), ProviderError> {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventSource)
            .attribute_value(source)
            .build()
            .map_err(|e| ProviderError::Decode {
                url: format!("cloudtrail:LookupEvents {source}"),
                message: e.to_string(),
            })?;
        let mut token: Option<String> = None;
        loop {
            self.wait_turn().await;
            let answer = self
                .client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(smithy_time(window.since))
                .end_time(smithy_time(window.until))
                .max_results(PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| error(source, e))?;
            for event in answer.events() {
                let Some(text) = event.cloud_trail_event() else {
                    continue;
                };
                let at = event
                    .event_time()
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos()));
                // EndTime is inclusive in CloudTrail; the window's end is not.
                if let Some(found) = parse(text, at, targets)
                    && found.time >= window.since
                    && found.time < window.until
                {
                    into.push(found);
                }
            }
            match answer.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(()),
            }
        }
    }

    /// Waits until half a second has passed since the last lookup.
    async fn wait_turn(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + SPACING).await;
        }
        *last = Some(Instant::now());
    }
}

fn smithy_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(t.timestamp_millis())
}

/// The engine's error for a failed lookup of `source`'s events.
fn error(source: &str, err: SdkError<LookupEventsError, HttpResponse>) -> ProviderError {
    let url = format!("cloudtrail:LookupEvents EventSource={source}");
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_string();
    let message = match err.message() {
        Some(m) => format!("{code}: {m}"),
        None if !code.is_empty() => code.clone(),
        None => aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
    };
    match code.as_str() {
        "AccessDenied" | "AccessDeniedException" => ProviderError::Forbidden {
            url,
            status,
            message,
        },
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => ProviderError::Unauthorized {
            url,
            status,
            message,
        },
        c if aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&c) => {
            ProviderError::Throttled {
                url,
                attempts: MAX_ATTEMPTS,
            }
        }
        _ if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_)
        ) =>
        {
            ProviderError::Transport { url, message }
        }
        _ => ProviderError::Http {
            method: "POST".into(),
            url,
            status,
            message,
        },
    }
}
