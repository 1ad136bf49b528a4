//! The connector against a scripted endpoint, for what moto cannot answer: several instances,
//! an asynchronous provisioning still in progress, the permissions boundary, tag and
//! `UpdateUser` requests as the API reference documents them, and a store synchronized by
//! SCIM (external ids, which only an identity provider sets).

use std::sync::{Arc, Mutex};

use iamsnap_aws_identity_center::{AwsIdentityCenterConfig, AwsIdentityCenterProvider, kinds};
use iamsnap_provider::{
    Action, ConnectOptions, Operation, ReadProvider, Record, Ref, WriteProvider,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `(operation, request body)` → `(status, answer)`; the operation is the `X-Amz-Target`'s
/// last part (`ListInstances`).
type Script = Arc<dyn Fn(&str, &Value) -> (u16, Value) + Send + Sync>;
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Serves the script on a loopback port, the AWS JSON protocol way; returns the endpoint and
/// the requests received.
async fn serve(script: Script) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let request = loop {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let header = |name: &str| {
                        text[..end].lines().find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                        })
                    };
                    let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
                    if buf.len() >= end + 4 + length {
                        let target = header("x-amz-target").unwrap_or_default();
                        let op = target.rsplit('.').next().unwrap_or_default().to_string();
                        let body = serde_json::from_str(&text[end + 4..end + 4 + length])
                            .unwrap_or(Value::Null);
                        break Some((op, body));
                    }
                }
            };
            let Some((op, body)) = request else { continue };
            log.lock().unwrap().push((op.clone(), body.clone()));
            let (status, answer) = script(&op, &body);
            let answer = answer.to_string();
            let kind = answer_type(status, &answer);
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\n{kind}content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await.ok();
            socket.shutdown().await.ok();
        }
    });
    (endpoint, seen)
}

fn answer_type(status: u16, answer: &str) -> String {
    if status < 400 {
        return String::new();
    }
    let v: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
    format!(
        "x-amzn-errortype: {}\r\n",
        v["__type"].as_str().unwrap_or("")
    )
}

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-1111111111111111";
const SET: &str = "arn:aws:sso:::permissionSet/ssoins-1111111111111111/ps-2222222222222222";

fn instance(arn: &str) -> Value {
    json!({"InstanceArn": arn, "IdentityStoreId": "d-1234567890", "OwnerAccountId": "123456789012", "Status": "ACTIVE"})
}

fn not_found() -> (u16, Value) {
    (
        400,
        json!({"__type": "ResourceNotFoundException", "message": "not found"}),
    )
}

fn provider(endpoint: &str) -> AwsIdentityCenterProvider {
    use aws_sdk_ssoadmin::config::{
        BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
    };
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "a", "b", None, None, "tests",
        )))
        .build();
    let cfg = AwsIdentityCenterConfig {
        endpoint: Some(endpoint.to_string()),
        ..AwsIdentityCenterConfig::default()
    };
    AwsIdentityCenterProvider::with_sdk_config("sso", &cfg, &ConnectOptions::default(), sdk)
        .unwrap()
}

fn calls(seen: &Seen, op: &str) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(o, _)| o == op)
        .map(|(_, b)| b.clone())
        .collect()
}

#[tokio::test]
async fn several_instances_need_instance_arn_and_are_named() {
    let other = "arn:aws:sso:::instance/ssoins-3333333333333333";
    let (endpoint, _) = serve(Arc::new(move |op, _| match op {
        "ListInstances" => (
            200,
            json!({"Instances": [instance(INSTANCE), instance(other)]}),
        ),
        _ => not_found(),
    }))
    .await;
    let err = provider(&endpoint)
        .healthcheck()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("returns 2 instances"), "{err}");
    assert!(err.contains(INSTANCE) && err.contains(other), "{err}");
    assert!(err.contains("set instance_arn"), "{err}");
}

fn update(kind: &str, key: &str, desired: Value, live: Value) -> Operation {
    Operation {
        action: Action::Update,
        kind: kind.into(),
        key: key.into(),
        desired: Some(Record::new(kind, "old-id", key, desired, vec![])),
        current: Some(Record::new(kind, "live-id", key, live, vec![])),
    }
}

#[tokio::test]
async fn tags_boundary_and_provisioning_follow_the_api_reference() {
    let polls = Arc::new(Mutex::new(0));
    let counted = polls.clone();
    let (endpoint, seen) = serve(Arc::new(move |op, _| match op {
        "ListInstances" => (200, json!({"Instances": [instance(INSTANCE)]})),
        "ListPermissionSets" => (200, json!({"PermissionSets": [SET]})),
        "DescribePermissionSet" => (
            200,
            json!({"PermissionSet": {"Name": "Admin", "PermissionSetArn": SET, "SessionDuration": "PT1H"}}),
        ),
        "ListTagsForResource" => (200, json!({"Tags": [{"Key": "old", "Value": "x"}]})),
        "ListManagedPoliciesInPermissionSet" => (200, json!({"AttachedManagedPolicies": []})),
        "ListCustomerManagedPolicyReferencesInPermissionSet" => {
            (200, json!({"CustomerManagedPolicyReferences": []}))
        }
        "GetInlinePolicyForPermissionSet" => (200, json!({})),
        "GetPermissionsBoundaryForPermissionSet" => not_found(),
        "ListAccountsForProvisionedPermissionSet" => (200, json!({"AccountIds": ["111111111111"]})),
        "ProvisionPermissionSet" => (
            200,
            json!({"PermissionSetProvisioningStatus": {"Status": "IN_PROGRESS", "RequestId": "r-1"}}),
        ),
        "DescribePermissionSetProvisioningStatus" => {
            *counted.lock().unwrap() += 1;
            (200, json!({"PermissionSetProvisioningStatus": {"Status": "SUCCEEDED", "RequestId": "r-1"}}))
        }
        _ => (200, json!({})),
    }))
    .await;
    let p = provider(&endpoint);
    let op = update(
        kinds::PERMISSION_SET,
        "Admin",
        json!({
            "SessionDuration": "PT1H",
            "Tags": {"team": "platform"},
            "PermissionsBoundary": {"CustomerManagedPolicyReference": {"Name": "fence", "Path": "/b/"}},
        }),
        json!({"SessionDuration": "PT1H", "Tags": {"old": "x"}}),
    );
    let ids = std::collections::BTreeMap::new();
    let outcome = p.apply(&op, &ids).await.unwrap();
    assert!(
        matches!(outcome, iamsnap_provider::Outcome::Applied { ref id } if id == SET),
        "{outcome:?}"
    );

    assert_eq!(calls(&seen, "UntagResource")[0]["TagKeys"], json!(["old"]));
    assert_eq!(
        calls(&seen, "TagResource")[0]["Tags"],
        json!([{"Key": "team", "Value": "platform"}])
    );
    assert_eq!(
        calls(&seen, "PutPermissionsBoundaryToPermissionSet")[0]["PermissionsBoundary"],
        json!({"CustomerManagedPolicyReference": {"Name": "fence", "Path": "/b/"}})
    );
    let provision = &calls(&seen, "ProvisionPermissionSet")[0];
    assert_eq!(provision["TargetType"], "ALL_PROVISIONED_ACCOUNTS");
    assert_eq!(provision["PermissionSetArn"], SET);
    assert_eq!(
        *polls.lock().unwrap(),
        1,
        "the in-progress request is polled until done"
    );
    // Tags alone never touch the roles in the accounts: no UpdatePermissionSet was needed.
    assert!(calls(&seen, "UpdatePermissionSet").is_empty());
}

#[tokio::test]
async fn update_user_sends_attribute_operations() {
    let (endpoint, seen) = serve(Arc::new(|op, _| match op {
        "ListInstances" => (200, json!({"Instances": [instance(INSTANCE)]})),
        "GetUserId" => (
            200,
            json!({"UserId": "u-1", "IdentityStoreId": "d-1234567890"}),
        ),
        "DescribeUser" => (
            200,
            json!({"UserId": "u-1", "IdentityStoreId": "d-1234567890", "UserName": "ada",
                   "DisplayName": "Ada", "Title": "Intern", "NickName": "A"}),
        ),
        _ => (200, json!({})),
    }))
    .await;
    let p = provider(&endpoint);
    let op = update(
        kinds::USER,
        "ada",
        json!({
            "DisplayName": "Ada",
            "Title": "CTO",
            "Name": {"GivenName": "Ada", "FamilyName": "Lovelace"},
            "Enterprise": {"employeeNumber": "7", "costCenter": "R&D"},
        }),
        json!({"DisplayName": "Ada", "Title": "Intern", "NickName": "A"}),
    );
    let ids = std::collections::BTreeMap::new();
    p.apply(&op, &ids).await.unwrap();
    let sent = &calls(&seen, "UpdateUser")[0];
    assert_eq!(sent["UserId"], "u-1");
    let ops: Vec<(String, Value)> = sent["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["AttributePath"].as_str().unwrap().to_string(),
                o["AttributeValue"].clone(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            (
                "name".into(),
                json!({"givenName": "Ada", "familyName": "Lovelace"})
            ),
            ("nickName".into(), Value::Null),
            ("title".into(), json!("CTO")),
            (
                "extensions.aws:identitystore:enterprise".into(),
                json!({"employeeNumber": "7", "costCenter": "R&D"})
            ),
        ]
    );
}

#[tokio::test]
async fn a_store_synchronized_by_scim_is_refused_and_assignments_are_not() {
    let (endpoint, _) = serve(Arc::new(|op, _| match op {
        "ListInstances" => (200, json!({"Instances": [instance(INSTANCE)]})),
        "ListUsers" => (
            200,
            json!({"Users": [{"UserId": "u-1", "IdentityStoreId": "d-1234567890", "UserName": "ada",
                              "ExternalIds": [{"Issuer": "https://scim.example.com", "Id": "42"}]}]}),
        ),
        "ListGroups" => (200, json!({"Groups": []})),
        _ => (200, json!({})),
    }))
    .await;
    let p = provider(&endpoint);
    let user = Record::new(kinds::USER, "u-2", "bob", json!({}), vec![]);
    assert_eq!(
        p.refuses(Action::Create, &user),
        None,
        "not known to be synchronized yet"
    );
    p.before_plan().await.unwrap();
    let reason = p.refuses(Action::Create, &user).unwrap();
    assert!(
        reason.contains("SCIM") && reason.contains("--kinds"),
        "{reason}"
    );
    let assignment = Record::new(
        kinds::ACCOUNT_ASSIGNMENT,
        "a",
        "Admin|111111111111/user/bob",
        json!({}),
        vec![Ref::new("principal", kinds::USER, "u-2")],
    );
    assert_eq!(p.refuses(Action::Create, &assignment), None);
}
