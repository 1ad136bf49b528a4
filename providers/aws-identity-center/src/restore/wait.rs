//! Identity Center applies assignments and provisioning asynchronously: the call returns a
//! request id and a status, and the work is done when a status call says SUCCEEDED. Polls
//! with a doubling pause, for a bounded time.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ssoadmin::types::StatusValues;

use crate::client::ApiError;

/// How long an asynchronous request may stay IN_PROGRESS before the operation fails. AWS
/// documents minutes for provisioning to many accounts.
pub const TIMEOUT: Duration = Duration::from_secs(300);

/// Where one asynchronous request stands.
pub struct Status {
    pub status: Option<StatusValues>,
    pub failure: Option<String>,
}

/// Waits until `poll` reports the request `first` began with as done; an error when it
/// failed, with AWS's reason, or is still in progress after [`TIMEOUT`].
pub async fn until_done<F, Fut>(op: &'static str, first: Status, poll: F) -> Result<(), ApiError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Status, ApiError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    let mut now = first;
    loop {
        match now.status {
            Some(StatusValues::Succeeded) | None => return Ok(()),
            Some(StatusValues::Failed) => {
                return Err(ApiError::local(
                    op,
                    format!(
                        "the request failed: {}",
                        now.failure.as_deref().unwrap_or("no reason given")
                    ),
                ));
            }
            _ if started.elapsed() > TIMEOUT => {
                return Err(ApiError::local(
                    op,
                    format!(
                        "still in progress after {}s; check it in the IAM Identity Center console, then run the restore again",
                        TIMEOUT.as_secs()
                    ),
                ));
            }
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
        now = poll().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn polls_until_succeeded_and_reports_failures() {
        let polls = AtomicU32::new(0);
        let in_progress = || Status {
            status: Some(StatusValues::InProgress),
            failure: None,
        };
        until_done("sso:X", in_progress(), || async {
            let n = polls.fetch_add(1, Ordering::SeqCst);
            Ok(Status {
                status: Some(if n < 1 {
                    StatusValues::InProgress
                } else {
                    StatusValues::Succeeded
                }),
                failure: None,
            })
        })
        .await
        .unwrap();
        assert_eq!(polls.load(Ordering::SeqCst), 2);

        let failed = Status {
            status: Some(StatusValues::Failed),
            failure: Some("the account is suspended".into()),
        };
        let err = until_done("sso:X", failed, || async { unreachable!() })
            .await
            .unwrap_err();
        assert!(
            err.message.contains("the account is suspended"),
            "{}",
            err.message
        );
    }
}
