//! A restore never locks out the identity it runs as, in either mode, for any connector.
//!
//! For each of Okta (emulator), Entra ID (emulator) and AWS IAM (moto): the snapshot is taken
//! while the identity iamsnap runs as is suspended, disabled or quarantined (a path and a tag),
//! then the identity is restored and given more rights (admin roles, a role-holding group,
//! policy attachments). An additive restore would weaken the identity back to the snapshot,
//! an authoritative one would take the new rights away: both plan nothing for them, show each
//! operation as not restored with the reason, say what to do by hand, exit 0 as a plan with
//! nothing to do does, and `--apply` leaves the identity and its rights as they were.

mod support;

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use iamsnap_testkit::entra::{EntraEmulator, RunningEntra};
use iamsnap_testkit::moto::MotoServer;
use serde_json::{Value, json};
use support::*;

/// One HTTP call with a bearer or SSWS `authorization`, on a runtime of its own.
fn call(
    method: reqwest::Method,
    url: &str,
    authorization: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .header("authorization", authorization)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}

/// The plan of `args`, as JSON, from a run that must exit 0.
fn plan_json(run: impl Fn(&[&str]) -> std::process::Output, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let out = run(&args);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

/// Asserts that the plan runs nothing and leaves out exactly `expected` (action, kind, key),
/// each with a reason naming the identity, and tells the operator what to do by hand.
#[track_caller]
fn assert_protected(plan: &Value, expected: &[(&str, &str, &str)]) {
    assert_eq!(plan["operations"], json!([]), "{plan:#}");
    let mut skipped: Vec<(String, String, String)> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let reason = s["reason"].as_str().unwrap();
            assert!(reason.contains("the identity iamsnap runs as"), "{reason}");
            (
                s["action"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
                s["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    skipped.sort();
    let mut expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, k, key)| (a.to_string(), k.to_string(), key.to_string()))
        .collect();
    expected.sort();
    assert_eq!(skipped, expected, "{plan:#}");
    let by_hand: usize = plan["cannot_restore"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reason"].as_str().unwrap().contains("make it by hand"))
        .map(|c| c["count"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(by_hand, expected.len(), "{plan:#}");
}

/// Plans and applies `okta-test@latest`-style restores of `snap` in both modes: each plan
/// leaves out what `additive` and `authoritative` list, and applying changes nothing.
fn restore_both_ways(
    run: impl Fn(&[&str]) -> std::process::Output,
    snap: &str,
    additive: &[(&str, &str, &str)],
    authoritative: &[(&str, &str, &str)],
    unchanged: impl Fn() -> Value,
) {
    let before = unchanged();
    let plan = plan_json(&run, &["restore", snap]);
    assert_protected(&plan, additive);
    let text = run(&["restore", snap]);
    assert_exit(&text, 0);
    assert!(
        stdout(&text).contains("Not restored") && stdout(&text).contains("make it by hand"),
        "{}",
        describe(&text)
    );
    assert_exit(&run(&["restore", snap, "--apply", "--yes"]), 0);
    assert_eq!(
        unchanged(),
        before,
        "an additive restore changed the identity"
    );

    let authoritative_args = [
        "restore",
        snap,
        "--mode",
        "authoritative",
        "--max-deletes",
        "0",
    ];
    let plan = plan_json(&run, &authoritative_args);
    assert_protected(&plan, authoritative);
    let mut apply = authoritative_args.to_vec();
    apply.extend(["--apply", "--yes"]);
    assert_exit(&run(&apply), 0);
    assert_eq!(
        unchanged(),
        before,
        "an authoritative restore changed the identity or its rights"
    );
}

#[test]
fn okta_never_suspends_or_demotes_the_token_owner() {
    let org = Org::start(30, 4, 1);
    let ws = Workspace::new(&org.url());
    let base = org.url();
    let ssws = format!("SSWS {OKTA_TOKEN}");
    let okta = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let (status, answer) = call(method, &format!("{base}{path}"), &ssws, body);
        assert!(status < 300, "{path}: {status} {answer}");
        answer
    };
    let me = okta(reqwest::Method::GET, "/api/v1/users/me", None);
    let (id, login) = (
        me["id"].as_str().unwrap().to_string(),
        me["profile"]["login"].as_str().unwrap().to_string(),
    );

    // The snapshot holds the token owner suspended, without the rights it has now.
    okta(
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}/lifecycle/suspend"),
        None,
    );
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    okta(
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}/lifecycle/unsuspend"),
        None,
    );
    okta(
        reqwest::Method::POST,
        &format!("/api/v1/users/{id}/roles"),
        Some(json!({"type": "ORG_ADMIN"})),
    );
    let group = okta(
        reqwest::Method::POST,
        "/api/v1/groups",
        Some(json!({"profile": {"name": "Break-glass admins"}})),
    );
    let gid = group["id"].as_str().unwrap().to_string();
    okta(
        reqwest::Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{id}"),
        None,
    );
    // Okta lists the new membership only a short while after the 204.
    std::thread::sleep(OKTA_CONSISTENCY_DELAY);
    okta(
        reqwest::Method::POST,
        &format!("/api/v1/groups/{gid}/roles"),
        Some(json!({"type": "SUPER_ADMIN"})),
    );

    let identity = || {
        let user = okta(reqwest::Method::GET, &format!("/api/v1/users/{id}"), None);
        let roles = okta(
            reqwest::Method::GET,
            &format!("/api/v1/users/{id}/roles"),
            None,
        );
        let groups = okta(
            reqwest::Method::GET,
            &format!("/api/v1/users/{id}/groups"),
            None,
        );
        let group_roles = okta(
            reqwest::Method::GET,
            &format!("/api/v1/groups/{gid}/roles"),
            None,
        );
        let types = |v: &Value| {
            let mut t: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["type"].as_str().unwrap().to_string())
                .collect();
            t.sort();
            t
        };
        let in_group = groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == gid.as_str());
        json!({"status": user["status"], "roles": types(&roles), "in_group": in_group, "group_roles": types(&group_roles)})
    };
    assert_eq!(identity()["status"], "ACTIVE");
    assert_eq!(identity()["in_group"], true);

    let user = "okta.user";
    let role = "okta.admin_role_assignment";
    let status = ("update", user, login.as_str());
    restore_both_ways(
        |args| ws.iamsnap(args),
        "okta-test@latest",
        &[status],
        &[
            status,
            ("delete", role, &format!("user:{login}|ORG_ADMIN")),
            ("delete", role, "group:Break-glass admins|SUPER_ADMIN"),
            (
                "delete",
                "okta.group_membership",
                &format!("Break-glass admins|{login}"),
            ),
            ("delete", "okta.group", "Break-glass admins"),
        ],
        identity,
    );
    let plan = ws.iamsnap(&["restore", "okta-test@latest"]);
    assert!(
        stdout(&plan).contains("never changes its status (ACTIVE → SUSPENDED)"),
        "{}",
        describe(&plan)
    );
}

const ENTRA_CLIENT: &str = "0b7c1d2e-4444-4000-8000-0000000c11e1";
const ENTRA_SECRET: &str = "entra-secret-lockout-5151";

struct Tenant {
    entra: RunningEntra,
    _runtime: tokio::runtime::Runtime,
}

impl Tenant {
    fn graph(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let base = self.entra.base_url();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let token: Value = runtime.block_on(async {
            reqwest::Client::new()
                .post(format!(
                    "{base}/{}/oauth2/v2.0/token",
                    self.entra.tenant_id()
                ))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", ENTRA_CLIENT),
                    ("client_secret", ENTRA_SECRET),
                    ("scope", "https://graph.microsoft.com/.default"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let (status, answer) = call(method, &format!("{base}/v1.0{path}"), &bearer, body);
        assert!(status < 300, "{path}: {status} {answer}");
        answer
    }
}

#[test]
fn entra_never_disables_or_strips_the_service_principal() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let entra = runtime
        .block_on(
            EntraEmulator::builder()
                .tenant("contoso-lockout")
                .client(ENTRA_CLIENT, ENTRA_SECRET)
                .users(30)
                .groups(4)
                .apps(2)
                .policies(1)
                .seed(5)
                .start(),
        )
        .expect("the Entra emulator starts");
    let name = "iamsnap backup";
    let sp = entra.with_tenant(|t| t.add_client_principal(ENTRA_CLIENT, name));
    let tenant = Tenant {
        entra,
        _runtime: runtime,
    };
    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(ws.path("entra.secret"), ENTRA_SECRET).unwrap();
    let url = tenant.entra.base_url().to_string();
    std::fs::write(
        ws.path("iamsnap.toml"),
        format!(
            "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.entra-test]\nprovider = \"entra\"\ntenant_id = \"{}\"\nclient_id = \"{ENTRA_CLIENT}\"\nclient_secret_file = \"entra.secret\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\n",
            ws.recipient,
            ws.verify_key,
            tenant.entra.tenant_id()
        ),
    )
    .unwrap();

    // The snapshot holds the service principal disabled, without the rights it has now.
    let patch = reqwest::Method::PATCH;
    tenant.graph(
        patch.clone(),
        &format!("/servicePrincipals/{sp}"),
        Some(json!({"accountEnabled": false})),
    );
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    tenant.graph(
        patch,
        &format!("/servicePrincipals/{sp}"),
        Some(json!({"accountEnabled": true})),
    );

    let post = reqwest::Method::POST;
    let roles = tenant.graph(
        reqwest::Method::GET,
        "/roleManagement/directory/roleDefinitions",
        None,
    );
    let role_id = |wanted: &str| {
        roles["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["displayName"] == wanted)
            .unwrap_or_else(|| panic!("no role {wanted}: {roles}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (direct, via_group) = ("Global Administrator", "User Administrator");
    tenant.graph(
        post.clone(),
        "/roleManagement/directory/roleAssignments",
        Some(json!({"principalId": sp, "roleDefinitionId": role_id(direct), "directoryScopeId": "/"})),
    );
    let group = tenant.graph(
        post.clone(),
        "/groups",
        Some(json!({"displayName": "iamsnap operators", "mailEnabled": false, "mailNickname": "iamsnapops",
                    "securityEnabled": true, "isAssignableToRole": true, "groupTypes": []})),
    );
    let gid = group["id"].as_str().unwrap().to_string();
    tenant.graph(
        post.clone(),
        &format!("/groups/{gid}/members/$ref"),
        Some(json!({"@odata.id": format!("{url}/v1.0/directoryObjects/{sp}")})),
    );
    tenant.graph(
        post.clone(),
        "/roleManagement/directory/roleAssignments",
        Some(json!({"principalId": gid, "roleDefinitionId": role_id(via_group), "directoryScopeId": "/"})),
    );
    let graph_sp = tenant.graph(
        reqwest::Method::GET,
        "/servicePrincipals?$filter=appId%20eq%20%2700000003-0000-0000-c000-000000000000%27",
        None,
    )["value"][0]
        .clone();
    let (graph_id, graph_name) = (
        graph_sp["id"].as_str().unwrap().to_string(),
        graph_sp["displayName"].as_str().unwrap().to_string(),
    );
    let app_role = graph_sp["appRoles"][0]["id"].as_str().unwrap().to_string();
    tenant.graph(
        post,
        &format!("/servicePrincipals/{graph_id}/appRoleAssignedTo"),
        Some(json!({"principalId": sp, "resourceId": graph_id, "appRoleId": app_role})),
    );

    let identity = || {
        let sp_now = tenant.graph(
            reqwest::Method::GET,
            &format!("/servicePrincipals/{sp}"),
            None,
        );
        let assignments = tenant.graph(
            reqwest::Method::GET,
            "/roleManagement/directory/roleAssignments",
            None,
        );
        let mut mine: Vec<String> = assignments["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["principalId"] == sp.as_str() || a["principalId"] == gid.as_str())
            .map(|a| a["roleDefinitionId"].as_str().unwrap().to_string())
            .collect();
        mine.sort();
        let members = tenant.graph(
            reqwest::Method::GET,
            &format!("/groups/{gid}/members"),
            None,
        );
        let app_roles = tenant.graph(
            reqwest::Method::GET,
            &format!("/servicePrincipals/{graph_id}/appRoleAssignedTo"),
            None,
        );
        let granted = app_roles["value"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["principalId"] == sp.as_str())
            .count();
        json!({
            "enabled": sp_now["accountEnabled"],
            "roles": mine,
            "member": members["value"].as_array().unwrap().iter().any(|m| m["id"] == sp.as_str()),
            "app_roles": granted,
        })
    };
    assert_eq!(identity()["enabled"], true);
    assert_eq!(identity()["roles"].as_array().unwrap().len(), 2);

    let me = ("update", "entra.service_principal", name);
    let principal = format!("servicePrincipal:{name}");
    restore_both_ways(
        |args| ws.iamsnap(args),
        "entra-test@latest",
        &[me],
        &[
            me,
            (
                "delete",
                "entra.directory_role_assignment",
                &format!("{direct}|{principal}|/"),
            ),
            (
                "delete",
                "entra.directory_role_assignment",
                &format!("{via_group}|group:iamsnap operators|/"),
            ),
            (
                "delete",
                "entra.group_member",
                &format!("iamsnap operators|{principal}"),
            ),
            ("delete", "entra.group", "iamsnap operators"),
            (
                "delete",
                "entra.app_role_assignment",
                &format!("{graph_name}|{app_role}|{principal}"),
            ),
        ],
        identity,
    );
}

#[test]
fn aws_never_fences_or_detaches_the_caller() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .build(),
    );
    let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).to_string();
    // moto's credentials act as the user `moto`. In the snapshot it sits under a quarantine
    // path and carries a tag that attribute-based policies key on; moto keeps no permissions
    // boundary in what it reports, which would be the same case.
    let admin_arn = runtime.block_on(async {
        iam.create_user()
            .user_name("moto")
            .path("/quarantined/")
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("access")
                    .value("read-only")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let admin = iam
            .create_policy()
            .policy_name("everything")
            .policy_document(&document)
            .send()
            .await
            .unwrap();
        admin.policy().unwrap().arn().unwrap().to_string()
    });

    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(
        ws.path("iamsnap.toml"),
        format!(
            "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.aws-test]\nprovider = \"aws-iam\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n",
            ws.recipient, ws.verify_key, moto.endpoint
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(ws.dir.path())
            .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    runtime.block_on(async {
        // Out of quarantine: made again (moto cannot move a user), and given rights.
        iam.delete_user().user_name("moto").send().await.unwrap();
        iam.create_user().user_name("moto").send().await.unwrap();
        iam.attach_user_policy()
            .user_name("moto")
            .policy_arn(&admin_arn)
            .send()
            .await
            .unwrap();
        iam.create_group()
            .group_name("operators")
            .send()
            .await
            .unwrap();
        iam.put_group_policy()
            .group_name("operators")
            .policy_name("operate")
            .policy_document(&document)
            .send()
            .await
            .unwrap();
        iam.add_user_to_group()
            .group_name("operators")
            .user_name("moto")
            .send()
            .await
            .unwrap();
    });

    let identity = || {
        runtime.block_on(async {
            let user = iam.get_user().user_name("moto").send().await.unwrap();
            let attached = iam.list_attached_user_policies().user_name("moto").send().await.unwrap();
            let groups = iam.list_groups_for_user().user_name("moto").send().await.unwrap();
            let inline = iam.list_group_policies().group_name("operators").send().await.unwrap();
            let policy = iam.get_policy().policy_arn(&admin_arn).send().await.is_ok();
            json!({
                "path": user.user().unwrap().path(),
                "tags": user.user().unwrap().tags().len(),
                "attached": attached.attached_policies().iter().map(|p| p.policy_arn().unwrap()).collect::<Vec<_>>(),
                "groups": groups.groups().iter().map(|g| g.group_name()).collect::<Vec<_>>(),
                "group_policies": inline.policy_names(),
                "policy": policy,
            })
        })
    };
    assert_eq!(identity()["path"], "/");

    let me = ("update", "aws.user", "moto");
    restore_both_ways(
        run,
        "aws-test@latest",
        &[me],
        &[
            me,
            (
                "delete",
                "aws.policy_attachment",
                &format!("user/moto|{admin_arn}"),
            ),
            ("delete", "aws.group_membership", "operators|moto"),
            ("delete", "aws.group", "operators"),
            ("delete", "aws.inline_policy", "group/operators|operate"),
        ],
        identity,
    );
    let plan = run(&["restore", "aws-test@latest"]);
    assert!(
        stdout(&plan).contains("never changes its path, tags"),
        "{}",
        describe(&plan)
    );
}
