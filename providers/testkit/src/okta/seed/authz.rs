//! Custom authorization servers: Okta's `default` one, as orgs with API Access Management
//! have it, and in an org with teams an API's own server with custom scopes, claims, an
//! access policy for its client apps and rules naming groups, users and scopes; a second
//! one inactive with manual key rotation.

use serde_json::{Value, json};

use super::past;
use crate::okta::model::{AuthServer, Org, ts};

/// The scopes every authorization server has (`system: true`), never deleted.
pub(crate) const SYSTEM_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    "device_sso",
];

/// A server as Okta returns it, with its system scopes and nothing else.
pub(crate) fn new_server(org: &mut Org, id: &str, body: &Value, created: &str) -> AuthServer {
    let kid = org.new_id("kid");
    let mut server = body.clone();
    server["id"] = json!(id);
    if server.get("issuerMode").is_none_or(Value::is_null) {
        server["issuerMode"] = json!("ORG_URL");
    }
    if server.get("status").is_none_or(Value::is_null) {
        server["status"] = json!("ACTIVE");
    }
    let rotation = body
        .pointer("/credentials/signing/rotationMode")
        .cloned()
        .unwrap_or(json!("AUTO"));
    server["credentials"] = json!({"signing": {"kid": kid, "rotationMode": rotation,
        "lastRotated": created, "nextRotation": created, "use": "sig"}});
    server["created"] = json!(created);
    server["lastUpdated"] = json!(created);
    server["_links"] = json!({"self": {"href": format!("/api/v1/authorizationServers/{id}")}});
    let scopes = SYSTEM_SCOPES
        .iter()
        .map(|name| {
            let sid = org.new_id("scp");
            json!({"id": sid, "name": name, "displayName": name,
                   "description": format!("Requests the {name} scope"), "system": true,
                   "default": false, "consent": "IMPLICIT", "metadataPublish": "ALL_CLIENTS",
                   "optional": false})
        })
        .collect();
    AuthServer {
        server,
        scopes,
        ..AuthServer::default()
    }
}

pub(crate) fn rule_json(
    id: &str,
    (name, priority): (&str, u64),
    people: Value,
    scopes: &[&str],
) -> Value {
    json!({"id": id, "name": name, "type": "RESOURCE_ACCESS", "priority": priority,
           "status": "ACTIVE", "system": false,
           "conditions": {"people": people,
                          "grantTypes": {"include": ["authorization_code", "client_credentials"]},
                          "scopes": {"include": scopes}},
           "actions": {"token": {"accessTokenLifetimeMinutes": 60,
                                 "refreshTokenLifetimeMinutes": 0,
                                 "refreshTokenWindowMinutes": 10080}}})
}

pub(super) fn seed_auth_servers(org: &mut Org) {
    let created = ts(past(org));
    // Okta's own default server keeps its id, `default`, in every org.
    let default = json!({"name": "default", "description": "Default Authorization Server",
                         "audiences": ["api://default"]});
    let mut server = new_server(org, "default", &default, &created);
    let pid = org.new_id("00p");
    server.policies.push(json!({"id": pid, "type": "OAUTH_AUTHORIZATION_POLICY",
        "name": "Default Policy", "description": "Default policy description", "priority": 1,
        "status": "ACTIVE", "system": false, "conditions": {"clients": {"include": ["ALL_CLIENTS"]}}}));
    let rid = org.new_id("0pr");
    let everyone = json!({"groups": {"include": ["EVERYONE"]}});
    server.rules.insert(
        pid,
        vec![rule_json(
            &rid,
            ("Default Policy Rule", 1),
            everyone,
            &["*"],
        )],
    );
    org.auth_servers.insert("default".into(), server);

    let teams: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let Some(team) = teams.first().cloned() else {
        return;
    };

    let client = org
        .apps
        .iter()
        .find(|(_, a)| a["signOnMode"] == "OPENID_CONNECT")
        .map(|(id, _)| id.clone());
    let user = org.users.keys().nth(1).cloned();

    let id = org.new_id("aus");
    let payments = json!({"name": "Payments API", "description": "Tokens for the payments API",
                          "audiences": ["api://payments"], "issuerMode": "ORG_URL"});
    let mut server = new_server(org, &id, &payments, &created);
    for (name, consent) in [
        ("payments:read", "IMPLICIT"),
        ("payments:write", "REQUIRED"),
    ] {
        let sid = org.new_id("scp");
        server
            .scopes
            .push(json!({"id": sid, "name": name, "displayName": name,
            "description": format!("Allows {name}"), "system": false, "default": false,
            "consent": consent, "metadataPublish": "NO_CLIENTS", "optional": false}));
    }
    let (c1, c2) = (org.new_id("ocl"), org.new_id("ocl"));
    server
        .claims
        .push(json!({"id": c1, "name": "department", "status": "ACTIVE",
        "claimType": "RESOURCE", "valueType": "EXPRESSION", "value": "user.department",
        "alwaysIncludeInToken": true, "system": false,
        "conditions": {"scopes": ["payments:read"]}}));
    server
        .claims
        .push(json!({"id": c2, "name": "groups", "status": "ACTIVE",
        "claimType": "IDENTITY", "valueType": "GROUPS", "group_filter_type": "STARTS_WITH",
        "value": "Pay", "alwaysIncludeInToken": false, "system": false,
        "conditions": {"scopes": []}}));
    let pid = org.new_id("00p");
    let clients = client.map_or(json!(["ALL_CLIENTS"]), |c| json!([c]));
    server
        .policies
        .push(json!({"id": pid, "type": "OAUTH_AUTHORIZATION_POLICY",
        "name": "Payments clients", "description": "Apps that call the payments API",
        "priority": 1, "status": "ACTIVE", "system": false,
        "conditions": {"clients": {"include": clients}}}));
    let (r1, r2) = (org.new_id("0pr"), org.new_id("0pr"));
    let staff = json!({"groups": {"include": [team]}, "users": {"exclude": user.iter().collect::<Vec<_>>()}});
    let readers = rule_json(&r1, ("Staff read", 1), staff, &["openid", "payments:read"]);
    let mut writers = rule_json(
        &r2,
        ("Writers", 2),
        json!({"users": {"include": user.iter().collect::<Vec<_>>()}}),
        &["payments:write"],
    );
    writers["actions"]["token"]["accessTokenLifetimeMinutes"] = json!(15);
    server.rules.insert(pid, vec![readers, writers]);
    org.auth_servers.insert(id, server);

    let id = org.new_id("aus");
    let partner = json!({"name": "Partner API", "description": "Retired partner integration",
                         "audiences": ["api://partners", "https://partners.example.com"],
                         "status": "INACTIVE",
                         "credentials": {"signing": {"rotationMode": "MANUAL"}}});
    let server = new_server(org, &id, &partner, &created);
    org.auth_servers.insert(id, server);
}

/// Makes the first rule of the first custom server (not `default`) call the token inline hook
/// `hook`, as a rule that enriches its tokens does.
pub(crate) fn use_token_hook(org: &mut Org, hook: &str) {
    let server = org
        .auth_servers
        .values_mut()
        .find(|a| a.server["name"] != "default" && a.rules.values().any(|r| !r.is_empty()));
    if let Some(rule) = server
        .and_then(|a| a.rules.values_mut().find(|r| !r.is_empty()))
        .and_then(|r| r.first_mut())
    {
        rule["actions"]["token"]["inlineHook"] = json!({"id": hook});
    }
}
