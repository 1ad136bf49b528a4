use std::io::{Read, Write};
use std::net::TcpListener;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use iamsnap_provider::doctor::Status;

use super::*;

/// A SimulatePrincipalPolicy answer laid out as the example of the IAM API reference
/// (`API_SimulatePrincipalPolicy`, "Example"): one action allowed by a matched statement, one
/// denied by default, here also outside the Organizations SCPs and a permissions boundary.
const SAMPLE: &str = r#"<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <SimulatePrincipalPolicyResult>
    <IsTruncated>false</IsTruncated>
    <EvaluationResults>
      <member>
        <MatchedStatements>
          <member>
            <SourcePolicyId>PolicyInputList.1</SourcePolicyId>
            <EndPosition><Column>4</Column><Line>7</Line></EndPosition>
            <StartPosition><Column>16</Column><Line>3</Line></StartPosition>
          </member>
        </MatchedStatements>
        <MissingContextValues/>
        <EvalResourceName>*</EvalResourceName>
        <EvalDecision>allowed</EvalDecision>
        <EvalActionName>iam:CreateUser</EvalActionName>
      </member>
      <member>
        <MatchedStatements/>
        <MissingContextValues/>
        <OrganizationsDecisionDetail>
          <AllowedByOrganizations>false</AllowedByOrganizations>
        </OrganizationsDecisionDetail>
        <PermissionsBoundaryDecisionDetail>
          <AllowedByPermissionsBoundary>false</AllowedByPermissionsBoundary>
        </PermissionsBoundaryDecisionDetail>
        <EvalResourceName>*</EvalResourceName>
        <EvalDecision>implicitDeny</EvalDecision>
        <EvalActionName>iam:DeleteUser</EvalActionName>
      </member>
      <member>
        <MatchedStatements/>
        <MissingContextValues/>
        <EvalResourceName>*</EvalResourceName>
        <EvalDecision>explicitDeny</EvalDecision>
        <EvalActionName>iam:DeleteRole</EvalActionName>
      </member>
    </EvaluationResults>
  </SimulatePrincipalPolicyResult>
  <ResponseMetadata>
    <RequestId>004d7059-4c14-11e5-b121-bd8c7EXAMPLE</RequestId>
  </ResponseMetadata>
</SimulatePrincipalPolicyResponse>"#;

/// An endpoint that answers every request with `status` and `body`.
fn endpoint(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = vec![0; 64 * 1024];
            let _ = stream.read(&mut request);
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    url
}

fn sdk(url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            )),
        )
        .endpoint_url(url)
        .build()
}

#[tokio::test]
async fn the_reference_answer_is_read_as_one_failure_naming_each_denied_action() {
    let url = endpoint("200 OK", "text/xml", SAMPLE);
    let iam = iam_client(&sdk(&url));
    let arn = "arn:aws:iam::123456789012:user/iamsnap";
    let results = simulate(
        &iam,
        arn,
        &["iam:CreateUser", "iam:DeleteUser", "iam:DeleteRole"],
    )
    .await
    .unwrap();
    assert_eq!(results.len(), 3);
    let check = judge(arn, 3, &results);
    assert_eq!(check.status, Status::Fail);
    assert!(!check.detail.contains("iam:CreateUser"), "{}", check.detail);
    for part in [
        "2 of the 3",
        "iam:DeleteUser (implicitDeny: no policy allows it; an Organizations service control policy does not allow it; the permissions boundary does not allow it)",
        "iam:DeleteRole (explicitDeny: a policy denies it)",
    ] {
        assert!(check.detail.contains(part), "{part:?} in {}", check.detail);
    }
    let allowed: Vec<_> = results
        .into_iter()
        .filter(|r| r.eval_action_name == "iam:CreateUser")
        .collect();
    assert_eq!(judge(arn, 1, &allowed).status, Status::Ok);
}

#[tokio::test]
async fn an_endpoint_without_the_simulator_is_a_reason_not_a_failure() {
    // What moto 5 answers to SimulatePrincipalPolicy: Flask's page for an unhandled error.
    let url = endpoint(
        "500 INTERNAL SERVER ERROR",
        "text/html; charset=utf-8",
        "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n",
    );
    let why = simulate(
        &iam_client(&sdk(&url)),
        "arn:aws:iam::1:user/x",
        &["iam:CreateUser"],
    )
    .await
    .unwrap_err();
    assert!(
        why.contains("does not implement SimulatePrincipalPolicy"),
        "{why}"
    );
    let denied = endpoint(
        "403 Forbidden",
        "text/xml",
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/x is not authorized to perform: iam:SimulatePrincipalPolicy</Message></Error><RequestId>1</RequestId></ErrorResponse>",
    );
    let why = simulate(
        &iam_client(&sdk(&denied)),
        "arn:aws:iam::1:user/x",
        &["iam:CreateUser"],
    )
    .await
    .unwrap_err();
    assert!(
        why.contains("may not call iam:SimulatePrincipalPolicy"),
        "{why}"
    );
}

#[test]
fn the_simulated_principal_is_the_user_or_the_role_behind_a_session() {
    assert_eq!(
        Principal::of("arn:aws:iam::123456789012:root"),
        Principal::Root
    );
    assert_eq!(
        Principal::of("arn:aws:iam::123456789012:user/ops/backup"),
        Principal::User("arn:aws:iam::123456789012:user/ops/backup".into())
    );
    assert_eq!(
        Principal::of("arn:aws:sts::123456789012:assumed-role/iamsnap-restore/iamsnap"),
        Principal::Role(
            "iamsnap-restore".into(),
            "arn:aws:iam::123456789012:role/iamsnap-restore".into()
        )
    );
    assert_eq!(
        Principal::of("arn:aws-cn:sts::123456789012:assumed-role/r/s"),
        Principal::Role("r".into(), "arn:aws-cn:iam::123456789012:role/r".into())
    );
    assert_eq!(
        Principal::of("arn:aws:sts::123456789012:federated-user/bob"),
        Principal::Other
    );
}

#[test]
fn keys_older_than_ninety_days_warn() {
    let now = DateTime::parse_from_rfc3339("2026-06-30T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let fresh = key_age_check("backup", "…WXYZ", now - chrono::TimeDelta::days(90), now);
    assert_eq!(fresh.status, Status::Ok);
    assert!(fresh.detail.contains("90 days ago"), "{}", fresh.detail);
    let old = key_age_check("backup", "…WXYZ", now - chrono::TimeDelta::days(91), now);
    assert_eq!(old.status, Status::Warn);
    assert!(
        old.detail.contains("IAM user backup") && old.detail.contains("rotating"),
        "{}",
        old.detail
    );
}

#[test]
fn a_session_says_when_it_ends() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let check = session_expiry(now + Duration::from_secs(3600), now);
    assert_eq!(check.status, Status::Ok);
    assert!(check.detail.contains("60 min left"), "{}", check.detail);
}
