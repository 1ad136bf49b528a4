//! The Graph emulator behaves as the Graph reference says where the connector depends on it:
//! batch limits and per-item answers, page sizes, the recycle bin, permissions and token errors.

mod common;

use std::time::Duration;

use common::*;
use iamsnap_testkit::entra::RunningEntra;
use serde_json::{Value, json};

struct Graph {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Graph {
    async fn sign_in(entra: &RunningEntra, client: &str, secret: &str) -> (u16, Value) {
        let form = format!(
            "grant_type=client_credentials&client_id={client}&client_secret={secret}&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        );
        let response = reqwest::Client::new()
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                entra.base_url(),
                entra.tenant_id()
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn new(entra: &RunningEntra) -> Graph {
        let (status, token) = Graph::sign_in(entra, CLIENT_ID, SECRET).await;
        assert_eq!(status, 200, "{token}");
        Graph {
            http: reqwest::Client::new(),
            base: entra.base_url().to_string(),
            token: token["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/v1.0{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
}

#[tokio::test]
async fn pages_batches_and_errors_follow_the_reference() {
    let entra = emulator()
        .users(30)
        .groups(10)
        .apps(2)
        .start()
        .await
        .unwrap();
    let graph = Graph::new(&entra).await;

    let (status, page) = graph.get("/users?$top=20&$select=id").await;
    assert_eq!(status, 200);
    assert_eq!(page["value"].as_array().unwrap().len(), 20);
    let next = page["@odata.nextLink"].as_str().unwrap();
    let (_, rest) = graph
        .get(next.strip_prefix(&format!("{}/v1.0", graph.base)).unwrap())
        .await;
    assert_eq!(rest["value"].as_array().unwrap().len(), 10);
    assert!(rest.get("@odata.nextLink").is_none());
    let (status, error) = graph.get("/users?$top=1000").await;
    assert_eq!(status, 400);
    assert!(
        error["error"]["code"].is_string()
            && error["error"]["innerError"]["request-id"].is_string()
    );
    let (status, _) = graph.get("/users?$skiptoken=zz").await;
    assert_eq!(status, 400);

    let requests: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=1"}))
        .collect();
    let (status, _) = graph
        .call(
            reqwest::Method::POST,
            "/$batch",
            Some(json!({"requests": requests})),
        )
        .await;
    assert_eq!(status, 400, "21 requests are one too many");
    let (status, answer) = graph
        .call(reqwest::Method::POST, "/$batch", Some(json!({"requests": [
            {"id": "a", "method": "GET", "url": "/groups?$top=1&$select=id"},
            {"id": "b", "method": "GET", "url": "/groups/00000000-0000-0000-0000-000000000000/members"},
        ]})))
        .await;
    assert_eq!(status, 200);
    let by_id = |id: &str| {
        answer["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("a")["status"], 200);
    assert!(by_id("a")["body"]["@odata.nextLink"].is_string());
    assert_eq!(by_id("b")["status"], 404);
    assert_eq!(
        by_id("b")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );

    // Items beyond the rate limit are answered 429 one by one, with their own Retry-After.
    entra.set_rate_limit(Some((2, Duration::from_secs(30))));
    let requests: Vec<Value> = (0..4)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=1"}))
        .collect();
    let (status, answer) = graph
        .call(
            reqwest::Method::POST,
            "/$batch",
            Some(json!({"requests": requests})),
        )
        .await;
    assert_eq!(status, 200);
    let statuses: Vec<u64> = answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{answer}"
    );
    let throttled = answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == 429)
        .unwrap();
    let wait: u64 = throttled["headers"]["Retry-After"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait));
    assert_eq!(entra.requests("429:batch"), 2);
}

#[tokio::test]
async fn recycle_bin_keeps_ids_but_not_security_groups() {
    let entra = emulator()
        .users(10)
        .groups(10)
        .apps(1)
        .start()
        .await
        .unwrap();
    let graph = Graph::new(&entra).await;
    let (m365, security) = entra.with_tenant(|t| {
        let pick = |unified: bool| {
            t.objects["groups"]
                .iter()
                .find(|(_, g)| {
                    let types = if unified {
                        json!(["Unified"])
                    } else {
                        json!([])
                    };
                    g["groupTypes"] == types
                })
                .map(|(id, _)| id.clone())
                .unwrap()
        };
        (pick(true), pick(false))
    });
    for id in [&m365, &security] {
        let (status, _) = graph
            .call(reqwest::Method::DELETE, &format!("/groups/{id}"), None)
            .await;
        assert_eq!(status, 204);
    }
    let (_, deleted) = graph
        .get("/directory/deletedItems/microsoft.graph.group")
        .await;
    let ids: Vec<&str> = deleted["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![m365.as_str()]);
    let (status, restored) = graph
        .call(
            reqwest::Method::POST,
            &format!("/directory/deletedItems/{m365}/restore"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(restored["id"], m365.as_str());
    let (status, _) = graph
        .call(
            reqwest::Method::POST,
            &format!("/directory/deletedItems/{security}/restore"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // A restored user whose userPrincipalName was taken meanwhile is refused.
    let (_, users) = graph
        .get("/users?$top=1&$select=id,userPrincipalName")
        .await;
    let user = users["value"][0].clone();
    graph
        .call(
            reqwest::Method::DELETE,
            &format!("/users/{}", user["id"].as_str().unwrap()),
            None,
        )
        .await;
    let (status, _) = graph
        .call(
            reqwest::Method::POST,
            "/users",
            Some(json!({"accountEnabled": true, "displayName": "Twin",
            "mailNickname": "twin", "userPrincipalName": user["userPrincipalName"],
            "passwordProfile": {"password": "Xx-123456789!"}})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, error) = graph
        .call(
            reqwest::Method::POST,
            &format!(
                "/directory/deletedItems/{}/restore",
                user["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 400, "{error}");
    let (status, _) = graph
        .call(
            reqwest::Method::DELETE,
            &format!("/directory/deletedItems/{}", user["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204, "permanent delete");
}

#[tokio::test]
async fn tokens_and_permissions_are_checked() {
    let entra = emulator()
        .client_with_permissions("narrow", "narrow-secret", vec!["User.Read.All".into()])
        .users(3)
        .groups(2)
        .apps(1)
        .token_lifetime(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let (status, error) = Graph::sign_in(&entra, "unknown-app", "x").await;
    assert_eq!(status, 400);
    assert!(
        error["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS700016"),
        "{error}"
    );
    let (status, token) = Graph::sign_in(&entra, "narrow", "narrow-secret").await;
    assert_eq!(status, 200);
    let graph = Graph {
        http: reqwest::Client::new(),
        base: entra.base_url().to_string(),
        token: token["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(graph.get("/users?$top=1").await.0, 200);
    let (status, error) = graph.get("/groups?$top=1").await;
    assert_eq!(status, 403);
    assert_eq!(error["error"]["code"], "Authorization_RequestDenied");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, error) = graph.get("/users?$top=1").await;
    assert_eq!(status, 401);
    assert_eq!(error["error"]["code"], "InvalidAuthenticationToken");
}

#[tokio::test]
async fn an_invitation_creates_a_guest_pending_acceptance() {
    let entra = emulator().users(5).groups(1).apps(1).start().await.unwrap();
    let graph = Graph::new(&entra).await;
    let invite = |body: Value| graph.call(reqwest::Method::POST, "/invitations", Some(body));
    let (status, error) = invite(json!({"invitedUserEmailAddress": "ada@fabrikam.com"})).await;
    assert_eq!(status, 400, "inviteRedirectUrl is required: {error}");
    assert!(error["error"]["code"].is_string() && error["error"]["message"].is_string());
    let body = json!({
        "invitedUserEmailAddress": "ada@fabrikam.com",
        "inviteRedirectUrl": "https://myapps.microsoft.com",
        "sendInvitationMessage": false,
    });
    let (status, invitation) = invite(body.clone()).await;
    assert_eq!(status, 201, "{invitation}");
    assert_eq!(invitation["status"], "PendingAcceptance");
    assert_eq!(invitation["sendInvitationMessage"], false);
    assert!(
        invitation["inviteRedeemUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let id = invitation["invitedUser"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, user) = graph
        .call(
            reqwest::Method::GET,
            &format!("/users/{id}?$select=userPrincipalName,userType,mail,externalUserState"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["userType"], "Guest");
    assert_eq!(user["mail"], "ada@fabrikam.com");
    assert_eq!(user["externalUserState"], "PendingAcceptance");
    let upn = user["userPrincipalName"].as_str().unwrap();
    assert!(upn.starts_with("ada_fabrikam.com#EXT#@"), "{upn}");
    // Inviting the same address again invites the same guest.
    let (status, again) = invite(body).await;
    assert_eq!(status, 201);
    assert_eq!(again["invitedUser"]["id"], id.as_str());
}
