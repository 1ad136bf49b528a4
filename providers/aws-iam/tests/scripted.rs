//! The client against a scripted IAM endpoint: answers moto cannot give (throttling,
//! `GetAccountAuthorizationDetails` in several pages).

use std::sync::{Arc, Mutex};

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use iamsnap_aws_iam::{AwsIamConfig, AwsIamProvider, kinds};
use iamsnap_provider::{ConnectOptions, ReadProvider};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Script = Arc<dyn Fn(usize, &str) -> (u16, String) + Send + Sync>;

/// Serves one scripted answer per request on a loopback port; returns the endpoint and the
/// request bodies received.
async fn serve(script: Script) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = socket.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break Some(text[end + 4..end + 4 + length].to_string());
                    }
                }
            };
            let Some(body) = body else { continue };
            let n = {
                let mut seen = log.lock().unwrap();
                seen.push(body.clone());
                seen.len() - 1
            };
            let (status, answer) = script(n, &body);
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.ok();
        }
    });
    (endpoint, seen)
}

fn provider(endpoint: &str) -> AwsIamProvider {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "a", "b", None, None, "tests",
        )))
        .build();
    let cfg = AwsIamConfig {
        endpoint: Some(endpoint.to_string()),
        ..AwsIamConfig::default()
    };
    AwsIamProvider::with_sdk_config("scripted", &cfg, &ConnectOptions::default(), sdk).unwrap()
}

const THROTTLED: &str = r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"#;

fn details_page(groups: &[&str], marker: Option<&str>) -> String {
    let members: String = groups
        .iter()
        .map(|g| format!("<member><Path>/</Path><GroupName>{g}</GroupName><GroupId>AGPA{}</GroupId><Arn>arn:aws:iam::123456789012:group/{g}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><GroupPolicyList/><AttachedManagedPolicies/></member>", g.to_uppercase()))
        .collect();
    let paging = match marker {
        Some(m) => format!("<IsTruncated>true</IsTruncated><Marker>{m}</Marker>"),
        None => "<IsTruncated>false</IsTruncated>".to_string(),
    };
    format!(
        r#"<GetAccountAuthorizationDetailsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountAuthorizationDetailsResult>{paging}<UserDetailList/><GroupDetailList>{members}</GroupDetailList><RoleDetailList/><Policies/></GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>"#
    )
}

#[tokio::test]
async fn throttled_calls_are_retried_and_counted() {
    let (endpoint, seen) = serve(Arc::new(|n, _| {
        if n < 2 {
            (400, THROTTLED.to_string())
        } else {
            (200, details_page(&[], None))
        }
    }))
    .await;
    let provider = provider(&endpoint);
    provider
        .healthcheck()
        .await
        .expect("the third attempt succeeds");
    assert_eq!(seen.lock().unwrap().len(), 3);
    let stats = provider.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.throttled),
        (3, 2, 2),
        "{stats:?}"
    );
}

#[tokio::test]
async fn authorization_details_are_read_to_the_last_page() {
    let (endpoint, seen) = serve(Arc::new(|_, body| {
        assert!(
            body.contains("Action=GetAccountAuthorizationDetails"),
            "{body}"
        );
        assert!(body.contains("Filter.member.1=Group"), "{body}");
        if body.contains("Marker=page-3") {
            (200, details_page(&["gamma"], None))
        } else if body.contains("Marker=page-2") {
            (200, details_page(&["beta"], Some("page-3")))
        } else {
            (200, details_page(&["alpha"], Some("page-2")))
        }
    }))
    .await;
    let provider = provider(&endpoint);
    let gamma = provider
        .fetch(kinds::GROUP, "gamma")
        .await
        .unwrap()
        .expect("the group on the last page");
    assert_eq!(gamma.id, "AGPAGAMMA");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn access_denied_names_the_call_and_the_permission_to_grant() {
    let (endpoint, _) = serve(Arc::new(|_, _| {
        (403, r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: iam:GetAccountAuthorizationDetails</Message></Error><RequestId>r</RequestId></ErrorResponse>"#.to_string())
    }))
    .await;
    let err = provider(&endpoint)
        .fetch(kinds::GROUP, "any")
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("iam:GetAccountAuthorizationDetails filter Group"),
        "{text}"
    );
    assert!(text.contains("Grant the permissions"), "{text}");
}
