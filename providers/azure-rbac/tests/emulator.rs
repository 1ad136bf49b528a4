//! The ARM emulator behaves as Microsoft's ARM reference says where the connector depends on
//! it: `api-version` required, ARM's error bodies, `$filter=atScope()` and `principalId eq`,
//! `nextLink` paging, `409 RoleAssignmentExists`, `429` with `Retry-After`, and a new role
//! definition briefly unknown to role assignment creation.

use std::time::Duration;

use iamsnap_testkit::azure::{AzureEmulator, OWNER, RunningAzure};
use reqwest::Method;
use serde_json::{Value, json};

const CLIENT_ID: &str = "6a5b4c3d-7777-4000-8000-0000000e0e01";
const SECRET: &str = "azure-emulator-secret";

struct Arm {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Arm {
    async fn new(azure: &RunningAzure) -> Arm {
        let http = reqwest::Client::new();
        let base = azure.base_url().to_string();
        let token: Value = http
            .post(format!("{base}/{}/oauth2/v2.0/token", azure.tenant_id()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={SECRET}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_string();
        Arm { http, base, token }
    }

    /// `method path` as given (no `api-version` added).
    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            retry,
        )
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, body, _) = self
            .raw(method, &format!("{path}{sep}api-version=2022-04-01"), body)
            .await;
        (status, body)
    }
}

async fn start(assignments: usize) -> RunningAzure {
    AzureEmulator::builder()
        .client(CLIENT_ID, SECRET)
        .subscriptions(2)
        .resource_groups(4)
        .assignments(assignments)
        .custom_roles(2)
        .page_size(10)
        .seed(4)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn api_version_is_required_and_errors_have_arms_body() {
    let azure = start(5).await;
    let arm = Arm::new(&azure).await;
    let (status, body, _) = arm.raw(Method::GET, "/subscriptions", None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["code"], "MissingApiVersionParameter",
        "{body}"
    );
    let (status, body) = arm.call(Method::GET, "/subscriptions", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 2);
    let (status, body) = arm
        .call(
            Method::GET,
            "/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("SubscriptionNotFound"))
    );
    let unauthenticated = reqwest::get(format!(
        "{}/subscriptions?api-version=2022-12-01",
        azure.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);
}

#[tokio::test]
async fn lists_page_with_next_link_and_filter_at_scope_and_by_principal() {
    let azure = start(60).await;
    let arm = Arm::new(&azure).await;
    let sub = azure.with_state(|s| s.subscriptions[0].id.clone());
    let list = format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments");
    let (status, first) = arm.call(Method::GET, &list, None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["value"].as_array().unwrap().len(), 10);
    let next = first["nextLink"].as_str().expect("a nextLink");
    assert!(
        next.contains("api-version=2022-04-01") && next.contains("skiptoken"),
        "{next}"
    );
    let (status, second, _) = arm
        .raw(
            Method::GET,
            next.strip_prefix(azure.base_url()).unwrap(),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(second["value"][0]["id"], first["value"][0]["id"]);
    let (_, at) = arm
        .call(Method::GET, &format!("{list}?$filter=atScope()"), None)
        .await;
    for a in at["value"].as_array().unwrap() {
        assert_eq!(
            a["properties"]["scope"],
            format!("/subscriptions/{sub}"),
            "{a}"
        );
    }
    let own = azure.client_oid().to_string();
    let (_, mine) = arm
        .call(
            Method::GET,
            &format!("{list}?$filter=principalId%20eq%20'{own}'"),
            None,
        )
        .await;
    let mine = mine["value"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["properties"]["principalType"], "ServicePrincipal");
}

#[tokio::test]
async fn a_new_role_is_briefly_unknown_and_a_duplicate_assignment_conflicts() {
    let azure = start(0).await;
    let arm = Arm::new(&azure).await;
    let sub = azure.with_state(|s| s.subscriptions[0].id.clone());
    let principal = azure.with_state(|s| s.principals.keys().next().unwrap().clone());
    let role = "1b2c3d4e-0000-4000-8000-00000000abcd";
    let (status, body) = arm
        .call(
            Method::PUT,
            &format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
            ),
            Some(
                json!({"properties": {"roleName": "Night Shift", "type": "CustomRole",
                "permissions": [{"actions": ["Microsoft.Compute/*/read"]}],
                "assignableScopes": [format!("/subscriptions/{sub}")]}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let assign = |name: &'static str, role: String| {
        let arm = &arm;
        let sub = sub.clone();
        let principal = principal.clone();
        async move {
            arm.call(
                Method::PUT,
                &format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                Some(json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                    "principalId": principal}})),
            )
            .await
        }
    };
    let (status, body) = assign("0a0a0a0a-0000-4000-8000-000000000001", role.into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("RoleDefinitionDoesNotExist")),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, body) = assign("0a0a0a0a-0000-4000-8000-000000000001", role.into()).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = assign("0a0a0a0a-0000-4000-8000-000000000002", role.into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("RoleAssignmentExists")),
        "{body}"
    );
    let (status, body) = assign("0a0a0a0a-0000-4000-8000-000000000001", OWNER.into()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("RoleAssignmentUpdateNotPermitted")),
        "{body}"
    );
    let (status, body) = arm
        .call(
            Method::DELETE,
            &format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
            ),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("RoleDefinitionHasAssignments")),
        "{body}"
    );
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() {
    let azure = start(0).await;
    let arm = Arm::new(&azure).await;
    azure.set_rate_limit(Some((2, Duration::from_secs(60))));
    for _ in 0..2 {
        assert_eq!(arm.call(Method::GET, "/subscriptions", None).await.0, 200);
    }
    let (status, body, retry) = arm
        .raw(Method::GET, "/subscriptions?api-version=2022-12-01", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("TooManyRequests"))
    );
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn eligibilities_are_written_through_requests() {
    let azure = start(0).await;
    let arm = Arm::new(&azure).await;
    let sub = azure.with_state(|s| s.subscriptions[0].id.clone());
    let principal = azure.with_state(|s| s.principals.keys().next().unwrap().clone());
    let request = |name: &'static str, kind: &'static str| {
        let (arm, sub, principal) = (&arm, sub.clone(), principal.clone());
        async move {
            let path = format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{name}?api-version=2020-10-01"
            );
            let body = json!({"properties": {"requestType": kind, "principalId": principal,
                "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"),
                "scheduleInfo": {"expiration": {"type": "AfterDateTime", "endDateTime": "2031-01-01T00:00:00Z"}}}});
            let (status, body, _) = arm.raw(Method::PUT, &path, Some(body)).await;
            (status, body)
        }
    };
    let (status, body) = request("0c0c0c0c-0000-4000-8000-000000000001", "AdminAssign").await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = request("0c0c0c0c-0000-4000-8000-000000000002", "AdminAssign").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("RoleAssignmentExists")),
        "{body}"
    );
    let list = format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleEligibilitySchedules?api-version=2020-10-01&$filter=atScope()"
    );
    let (_, listed, _) = arm.raw(Method::GET, &list, None).await;
    assert_eq!(
        listed["value"][0]["properties"]["endDateTime"], "2031-01-01T00:00:00Z",
        "{listed}"
    );
    let (status, _) = request("0c0c0c0c-0000-4000-8000-000000000003", "AdminRemove").await;
    assert_eq!(status, 201);
    let (status, body) = request("0c0c0c0c-0000-4000-8000-000000000004", "AdminRemove").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("RoleAssignmentDoesNotExist")),
        "{body}"
    );
}
