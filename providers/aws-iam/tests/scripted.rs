//! The client against a scripted IAM endpoint: answers moto cannot give (throttling,
//! `GetAccountAuthorizationDetails` in several pages).

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use iamsnap_aws_iam::{AwsIamConfig, AwsIamProvider, kinds};
use iamsnap_provider::{ConnectOptions, ReadProvider, Ref};
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

/// An IAM answer of `action` with `result` inside.
fn answer(action: &str, result: &str) -> (u16, String) {
    (
        200,
        format!(
            r#"<{action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"#
        ),
    )
}

fn encoded(doc: serde_json::Value) -> String {
    percent_encoding::utf8_percent_encode(&doc.to_string(), percent_encoding::NON_ALPHANUMERIC)
        .to_string()
}

fn trusting(arns: &[String]) -> String {
    encoded(
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": arns}, "Action": "sts:AssumeRole"}]}),
    )
}

/// One page of authorization details for `filter`: the first or the second half of the
/// account, in the shape AWS pages it.
fn details_of(filter: &str, second: bool) -> String {
    let arn = |kind: &str, name: &str| format!("arn:aws:iam::123456789012:{kind}/{name}");
    let n = if second { 2 } else { 1 };
    // The entity of the other page, which every relation points at.
    let m = 3 - n;
    let entity = match filter {
        "LocalManagedPolicy" => format!(
            "<Policies><member><PolicyName>p{n}</PolicyName><PolicyId>ANPA{n}</PolicyId><Arn>{}</Arn><Path>/</Path><DefaultVersionId>v1</DefaultVersionId><PolicyVersionList><member><Document>{}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion></member></PolicyVersionList></member></Policies>",
            arn("policy", &format!("p{n}")),
            encoded(serde_json::json!({"Version": "2012-10-17", "Statement": []}))
        ),
        // Each group holds the policy of the other page: attachments need every policy id.
        "Group" => format!(
            "<GroupDetailList><member><Path>/</Path><GroupName>g{n}</GroupName><GroupId>AGPA{n}</GroupId><Arn>{}</Arn><GroupPolicyList/><AttachedManagedPolicies><member><PolicyName>p{m}</PolicyName><PolicyArn>{}</PolicyArn></member></AttachedManagedPolicies></member></GroupDetailList>",
            arn("group", &format!("g{n}")),
            arn("policy", &format!("p{m}"))
        ),
        // Each user is a member of the group of the other page.
        "User" => format!(
            "<UserDetailList><member><Path>/</Path><UserName>u{n}</UserName><UserId>AIDA{n}</UserId><Arn>{}</Arn><CreateDate>2024-01-0{n}T00:00:00Z</CreateDate><GroupList><member>g{m}</member></GroupList><UserPolicyList/><AttachedManagedPolicies/><Tags/></member></UserDetailList>",
            arn("user", &format!("u{n}"))
        ),
        // Each role trusts the role and the user of the other page.
        "Role" => format!(
            "<RoleDetailList><member><Path>/</Path><RoleName>r{n}</RoleName><RoleId>AROA{n}</RoleId><Arn>{}</Arn><AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument><InstanceProfileList/><RolePolicyList/><AttachedManagedPolicies/><Tags/></member></RoleDetailList>",
            arn("role", &format!("r{n}")),
            trusting(&[arn("role", &format!("r{m}")), arn("user", &format!("u{m}"))])
        ),
        other => panic!("unexpected filter {other}"),
    };
    let paging = if second {
        "<IsTruncated>false</IsTruncated>".to_string()
    } else {
        format!("<IsTruncated>true</IsTruncated><Marker>{filter}-2</Marker>")
    };
    format!("{paging}{entity}")
}

/// A whole account whose authorization details come in two pages per filter, as AWS pages
/// them (moto gives one), with every relation pointing across pages.
fn paged_account(_: usize, body: &str) -> (u16, String) {
    let field = |name: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    let action = field("Action").unwrap();
    let list = |inner: &str| answer(&action, &format!("<IsTruncated>false</IsTruncated>{inner}"));
    match action.as_str() {
        "GetAccountAuthorizationDetails" => {
            let filter = field("Filter.member.1").unwrap();
            answer(&action, &details_of(&filter, field("Marker").is_some()))
        }
        "ListRoles" => {
            let roles: String = (1..=2)
                .map(|n| format!("<member><Path>/</Path><RoleName>r{n}</RoleName><RoleId>AROA{n}</RoleId><Arn>arn:aws:iam::123456789012:role/r{n}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><Description>role {n}</Description><MaxSessionDuration>7200</MaxSessionDuration></member>"))
                .collect();
            list(&format!("<Roles>{roles}</Roles>"))
        }
        "ListPolicyTags" => list("<Tags/>"),
        "ListMFADevices" => list("<MFADevices/>"),
        "ListAccessKeys" => list("<AccessKeyMetadata/>"),
        "ListInstanceProfiles" => list("<InstanceProfiles/>"),
        "ListAccountAliases" => list("<AccountAliases/>"),
        "ListSSHPublicKeys" => list("<SSHPublicKeys/>"),
        "ListSigningCertificates" => list("<Certificates/>"),
        "ListServerCertificates" => list("<ServerCertificateMetadataList/>"),
        "ListVirtualMFADevices" => list("<VirtualMFADevices/>"),
        "ListSAMLProviders" => answer(&action, "<SAMLProviderList/>"),
        "ListOpenIDConnectProviders" => answer(&action, "<OpenIDConnectProviderList/>"),
        // A backup host without the report's permissions reads each user instead.
        "GenerateCredentialReport" => (
            403,
            r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: iam:GenerateCredentialReport</Message></Error><RequestId>r</RequestId></ErrorResponse>"#.to_string(),
        ),
        "GetLoginProfile" | "GetAccountPasswordPolicy" => (
            404,
            r#"<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>none</Message></Error><RequestId>r</RequestId></ErrorResponse>"#.to_string(),
        ),
        other => panic!("unexpected call {other}: {body}"),
    }
}

#[tokio::test]
async fn a_snapshot_resolves_refs_across_pages_of_every_filter() {
    let (endpoint, seen) = serve(Arc::new(paged_account)).await;
    let records = common::snapshot(&provider(&endpoint)).await;
    let find = |kind: &str, key: &str| {
        records
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .unwrap_or_else(|| panic!("{kind} {key} in {records:#?}"))
    };
    for n in [1, 2] {
        find(kinds::POLICY, &format!("p{n}"));
        let role = find(kinds::ROLE, &format!("r{n}"));
        let m = 3 - n;
        assert_eq!(
            role.refs,
            vec![
                Ref::new("trusts", kinds::ROLE, format!("AROA{m}")),
                Ref::new("trusts", kinds::USER, format!("AIDA{m}")),
            ]
        );
        assert_eq!(role.attrs["description"], format!("role {n}"));
        let membership = find(kinds::GROUP_MEMBERSHIP, &format!("g{m}|u{n}"));
        assert_eq!(membership.id, format!("AGPA{m}|AIDA{n}"));
        let attachment = find(
            kinds::POLICY_ATTACHMENT,
            &format!("group/g{n}|arn:aws:iam::123456789012:policy/p{m}"),
        );
        assert!(
            attachment
                .refs
                .contains(&Ref::new("policy", kinds::POLICY, format!("ANPA{m}"))),
            "{attachment:?}"
        );
    }
    assert_eq!(records.len(), 12, "{records:#?}");
    let details = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|body| body.contains("Action=GetAccountAuthorizationDetails"))
        .count();
    assert_eq!(details, 8, "two pages for each of four filters");
}

/// The credential report as AWS gives it: the first generate call starts it, a later one finds
/// it complete. `u1` has a console password by the report; `u2` was created after it.
fn with_credential_report(generated: Arc<Mutex<usize>>) -> Script {
    Arc::new(move |n, body| {
        use base64::Engine;
        if body.contains("Action=GenerateCredentialReport") {
            let mut calls = generated.lock().unwrap();
            *calls += 1;
            let state = if *calls == 1 { "STARTED" } else { "COMPLETE" };
            return answer(
                "GenerateCredentialReport",
                &format!("<State>{state}</State><Description>report</Description>"),
            );
        }
        if body.contains("Action=GetCredentialReport") {
            let csv = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
                u1,arn:aws:iam::123456789012:user/u1,2024-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n";
            let content = base64::engine::general_purpose::STANDARD.encode(csv);
            return answer(
                "GetCredentialReport",
                &format!(
                    "<Content>{content}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2024-01-01T12:00:00Z</GeneratedTime>"
                ),
            );
        }
        paged_account(n, body)
    })
}

#[tokio::test]
async fn the_credential_report_is_waited_for_and_answers_for_the_users_it_lists() {
    let generated = Arc::new(Mutex::new(0));
    let (endpoint, seen) = serve(with_credential_report(generated.clone())).await;
    let records = common::snapshot(&provider(&endpoint)).await;
    assert_eq!(
        *generated.lock().unwrap(),
        2,
        "generated, then found complete"
    );
    let user = |key: &str| {
        records
            .iter()
            .find(|r| r.kind == kinds::USER && r.key == key)
            .unwrap()
    };
    // The report says u1 has a password, where GetLoginProfile would have said it has none.
    assert_eq!(user("u1").attrs["console_password"], true);
    assert_eq!(user("u2").attrs["console_password"], false);
    let calls = |action: &str, user: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|b| {
                b.contains(&format!("Action={action}&")) && b.contains(&format!("UserName={user}"))
            })
            .count()
    };
    for action in ["GetLoginProfile", "ListMFADevices", "ListAccessKeys"] {
        assert_eq!(
            calls(action, "u1"),
            0,
            "{action} for u1, which the report lists"
        );
        assert_eq!(
            calls(action, "u2"),
            1,
            "{action} for u2, created after the report"
        );
    }
}

#[tokio::test]
async fn a_denied_credential_report_falls_back_to_reading_each_user() {
    let (endpoint, seen) = serve(Arc::new(paged_account)).await;
    let records = common::snapshot(&provider(&endpoint)).await;
    assert_eq!(records.iter().filter(|r| r.kind == kinds::USER).count(), 2);
    let logins = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|b| b.contains("Action=GetLoginProfile"))
        .count();
    assert_eq!(logins, 2);
}
