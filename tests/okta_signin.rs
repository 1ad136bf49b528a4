//! End to end: an incident on what Okta sign-in depends on — a custom authorization server
//! deleted with its scopes, claims, access policies and rules, and a rule of another server
//! changed — then `iamsnap diff` and `iamsnap restore --apply`.

mod support;

use serde_json::{Value, json};
use support::okta_api::{Api, count_by_kind_key};
use support::*;

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

const SERVER: &str = "okta.authorization_server";
const UNDER_SERVER: &[&str] = &[
    "okta.auth_server_scope",
    "okta.auth_server_claim",
    "okta.auth_server_policy",
    "okta.auth_server_rule",
];

#[test]
fn a_deleted_authorization_server_comes_back_with_everything_under_it() {
    let org = Org::start(40, 8, 4);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let server = before
        .iter()
        .find(|r| r.kind == SERVER && r.key == "Payments API")
        .expect("the seed has the Payments API server");
    let under: Vec<&iamsnap_provider::Record> = before
        .iter()
        .filter(|r| UNDER_SERVER.contains(&r.kind.as_str()) && r.key.starts_with("Payments API|"))
        .collect();
    assert!(under.len() >= 7 + 2 + 2 + 1 + 2, "{}", under.len());
    let rule = before
        .iter()
        .find(|r| {
            r.kind == "okta.auth_server_rule"
                && r.key == "default|Default Policy|Default Policy Rule"
        })
        .expect("the default server's rule");

    // The incident: the server is deleted (with all under it) and a token lifetime changed.
    api.delete(server);
    let mut changed = rule.clone();
    changed.attrs["actions"]["token"]["accessTokenLifetimeMinutes"] = json!(5);
    api.update(rule, changed);

    let diff = json_of(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    let changes = diff["changes"].as_array().unwrap();
    let lifetime = changes
        .iter()
        .find(|c| c["kind"] == "okta.auth_server_rule" && c["key"] == rule.key.as_str())
        .expect("the changed rule is in the diff");
    assert!(
        lifetime["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| { f["path"] == "/attrs/actions/token/accessTokenLifetimeMinutes" }),
        "{lifetime:#}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["kind"] == SERVER && c["key"] == "Payments API"),
        "{diff:#}"
    );

    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let cannot = report["cannot_restore"].to_string();
    assert!(
        cannot.contains("signing keys of Payments API"),
        "{report:#}"
    );
    assert!(cannot.contains("JWKS"), "{report:#}");

    let again = json_of(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = api.records();
    assert!(count_by_kind_key(&after).values().all(|n| *n == 1));
    let live = |kind: &str, key: &str| {
        after
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .unwrap_or_else(|| panic!("{kind} {key} is back"))
    };
    let server_back = live(SERVER, "Payments API");
    assert_ne!(server_back.id, server.id, "a new server");
    assert_eq!(server_back.attrs, server.attrs);
    for record in &under {
        let back = live(&record.kind, &record.key);
        assert_eq!(back.attrs, record.attrs, "{}", record.key);
        // References name the re-created server and policy, and the same groups and users.
        for r in &back.refs {
            let target = after.iter().find(|t| t.kind == r.kind && t.id == r.id);
            assert!(
                target.is_some(),
                "{} {} names a live {} {}",
                back.kind,
                back.key,
                r.kind,
                r.id
            );
        }
        assert_eq!(back.target("server").unwrap().id, server_back.id);
    }
    assert_eq!(
        live("okta.auth_server_rule", &rule.key).attrs,
        rule.attrs,
        "the token lifetime is the snapshot's again"
    );
    assert!(!stdout(&applied).contains(OKTA_TOKEN) && !stderr(&applied).contains(OKTA_TOKEN));
}

#[test]
fn trusted_origins_come_back_with_their_scopes_and_status() {
    let org = Org::start(20, 6, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let origins: Vec<&iamsnap_provider::Record> = before
        .iter()
        .filter(|r| r.kind == "okta.trusted_origin")
        .collect();
    assert_eq!(origins.len(), 3, "the seed trusts three origins");
    let portal = origins
        .iter()
        .find(|r| r.key == "https://portal.example.com")
        .unwrap();
    let intranet = origins
        .iter()
        .find(|r| r.key == "https://intranet.example.com")
        .unwrap();

    // The incident: the portal is no longer trusted, the intranet loses iframe embedding and
    // is deactivated.
    api.delete(portal);
    let mut changed = (*intranet).clone();
    changed.attrs["scopes"] = json!([{"type": "CORS"}]);
    changed.attrs["status"] = json!("INACTIVE");
    api.update(intranet, changed);

    let diff = json_of(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    let fields: Vec<String> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["key"] == intranet.key.as_str())
        .flat_map(|c| c["fields"].as_array().cloned().unwrap_or_default())
        .map(|f| f["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        fields.iter().any(|f| f.starts_with("/attrs/scopes")),
        "{fields:?}"
    );
    assert!(fields.iter().any(|f| f == "/attrs/status"), "{fields:?}");

    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0, "{}", describe(&applied));
    let again = json_of(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = api.records();
    for origin in &origins {
        let back = after
            .iter()
            .find(|r| r.kind == origin.kind && r.key == origin.key)
            .unwrap_or_else(|| panic!("{} is trusted again", origin.key));
        assert_eq!(back.attrs, origin.attrs, "{}", origin.key);
    }
}

#[test]
fn a_deleted_saml_idp_comes_back_and_idp_discovery_routes_to_it_again() {
    let org = Org::start(20, 6, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let find = |records: &[iamsnap_provider::Record], kind: &str, key: &str| {
        records
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} {key}"))
    };
    let saml = find(&before, "okta.identity_provider", "Partner SAML");
    let oidc = find(&before, "okta.identity_provider", "Contractors OIDC");
    let key = before
        .iter()
        .find(|r| r.kind == "okta.idp_key" && r.id == saml.target("signing_key").unwrap().id)
        .cloned()
        .expect("the SAML IdP's certificate");
    let routing = find(
        &before,
        "okta.policy_rule",
        "IDP_DISCOVERY|Idp Discovery Policy|Partner users",
    );
    assert_eq!(routing.target("idp").unwrap().id, saml.id);

    // The incident: both IdPs, and the certificate the SAML one trusted, are deleted; the
    // discovery rule is left naming an IdP that is gone.
    api.delete(&saml);
    api.delete(&oidc);
    api.delete(&key);

    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let text = report.to_string();
    assert!(
        text.contains("Partner SAML: a re-created SAML identity provider has a new id"),
        "{report:#}"
    );
    assert!(
        text.contains("client secret"),
        "the OIDC IdP's secret is named: {report:#}"
    );

    let after = api.records();
    let saml_back = find(&after, "okta.identity_provider", "Partner SAML");
    assert_ne!(saml_back.id, saml.id);
    assert_eq!(saml_back.attrs["policy"], saml.attrs["policy"]);
    let key_back = find(&after, "okta.idp_key", &key.key);
    assert_ne!(
        key_back.id, key.id,
        "the certificate is uploaded again under a new kid"
    );
    assert_eq!(
        saml_back.attrs["protocol"]["credentials"]["trust"]["kid"],
        key_back.id.as_str()
    );
    let routing_back = find(&after, "okta.policy_rule", &routing.key);
    assert_eq!(routing_back.target("idp").unwrap().id, saml_back.id);
    assert!(
        !after
            .iter()
            .any(|r| r.kind == "okta.identity_provider" && r.key == oidc.key),
        "an OIDC IdP is never created without its secret"
    );

    // What is left is only what cannot be done: the OIDC IdP, refused again with its reason.
    let again = json_of(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    let planned: Vec<&Value> = again["operations"].as_array().unwrap().iter().collect();
    assert!(
        planned.iter().all(|o| o["key"] == oidc.key.as_str()),
        "{again:#}"
    );
}

/// The sign-in objects around the policies: an authenticator is turned off, a group loses an
/// owner, an authenticator enrollment policy stops offering WebAuthn, a behavior detection
/// rule is deleted and a profile mapping sends another attribute; `diff` shows each, field by
/// field where it changed, and `restore --apply` brings every one back.
#[test]
fn authenticators_behaviors_and_group_owners_come_back() {
    let org = Org::start(30, 8, 3);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let find = |records: &[iamsnap_provider::Record], kind: &str, key: &str| {
        records
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} {key}"))
    };
    let question = find(&before, "okta.authenticator", "security_question");
    assert_eq!(question.attrs["status"], "ACTIVE");
    let behavior = find(&before, "okta.behavior", "Far from the office");
    let owner = before
        .iter()
        .find(|r| r.kind == "okta.group_owner" && r.key.contains("|user:"))
        .cloned()
        .expect("the seed has group owners");
    let enrollment = before
        .iter()
        .find(|r| {
            r.kind == "okta.policy" && r.attrs["type"] == "MFA_ENROLL" && r.attrs["system"] == false
        })
        .cloned()
        .expect("a custom authenticator enrollment policy");
    let mapping = before
        .iter()
        .find(|r| {
            r.kind == "okta.profile_mapping"
                && r.attrs["properties"]["department"]["expression"] == "user.department"
        })
        .cloned()
        .expect("a mapping sends the department to a SAML app");
    let webauthn = enrollment.attrs["settings"]["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["key"] == "webauthn")
        .expect("the policy offers WebAuthn");

    // The incident.
    let mut off = question.clone();
    off.attrs["status"] = json!("INACTIVE");
    api.update(&question, off);
    api.delete(&owner);
    api.delete(&behavior);
    let mut narrowed = enrollment.clone();
    narrowed.attrs["settings"]["authenticators"][webauthn]["enroll"]["self"] = json!("NOT_ALLOWED");
    api.update(&enrollment, narrowed);
    let mut remapped = mapping.clone();
    remapped.attrs["properties"]["department"]["expression"] = json!("user.title");
    api.update(&mapping, remapped);

    let diff = json_of(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    let changes = diff["changes"].as_array().unwrap();
    let fields_of = |kind: &str, key: &str| -> Vec<String> {
        changes
            .iter()
            .filter(|c| c["kind"] == kind && c["key"] == key)
            .flat_map(|c| c["fields"].as_array().cloned().unwrap_or_default())
            .map(|f| f["path"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        fields_of("okta.authenticator", "security_question"),
        ["/attrs/status"],
        "{diff:#}"
    );
    assert_eq!(
        fields_of("okta.profile_mapping", &mapping.key),
        ["/attrs/properties/department/expression"],
        "{diff:#}"
    );
    let policy_fields = fields_of("okta.policy", &enrollment.key);
    assert!(
        policy_fields
            .iter()
            .any(|f| f.starts_with("/attrs/settings/authenticators")),
        "{policy_fields:?}"
    );
    for (kind, key) in [
        ("okta.behavior", behavior.key.as_str()),
        ("okta.group_owner", owner.key.as_str()),
    ] {
        assert!(
            changes.iter().any(|c| c["kind"] == kind && c["key"] == key),
            "{kind} {key} in {diff:#}"
        );
    }

    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let again = json_of(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = api.records();
    assert!(count_by_kind_key(&after).values().all(|n| *n == 1));
    assert_eq!(
        find(&after, "okta.authenticator", "security_question").attrs,
        question.attrs
    );
    assert_eq!(
        find(&after, &enrollment.kind, &enrollment.key).attrs,
        enrollment.attrs
    );
    assert_eq!(
        find(&after, &mapping.kind, &mapping.key).attrs,
        mapping.attrs
    );
    let behavior_back = find(&after, "okta.behavior", &behavior.key);
    assert_ne!(behavior_back.id, behavior.id, "a re-created rule");
    assert_eq!(behavior_back.attrs, behavior.attrs);
    let owner_back = find(&after, "okta.group_owner", &owner.key);
    assert_eq!(owner_back.attrs, owner.attrs);
    assert_eq!(
        owner_back.target("owner").unwrap().id,
        owner.target("owner").unwrap().id,
        "the same user owns the group again"
    );
}

/// The references of `record` in key space: (relation, kind, key of the referenced record).
fn refs_by_key(
    record: &iamsnap_provider::Record,
    records: &[iamsnap_provider::Record],
) -> std::collections::BTreeSet<(String, String, String)> {
    record
        .refs
        .iter()
        .map(|r| {
            let key = records
                .iter()
                .find(|t| t.kind == r.kind && t.id == r.id)
                .map_or_else(|| format!("missing {}", r.id), |t| t.key.clone());
            (r.rel.clone(), r.kind.clone(), key)
        })
        .collect()
}

#[test]
fn delegated_admin_roles_hooks_and_email_templates_come_back() {
    let org = Org::start(30, 8, 4);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let find = |records: &[iamsnap_provider::Record], kind: &str, key: &str| {
        records
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} {key}"))
    };
    let role = find(&before, "okta.custom_role", "Help Desk Lite");
    let set = find(&before, "okta.resource_set", "Team support");
    let binding = find(
        &before,
        "okta.resource_set_binding",
        "Team support|Help Desk Lite",
    );
    let assignments: Vec<iamsnap_provider::Record> = before
        .iter()
        .filter(|r| {
            r.kind == "okta.admin_role_assignment"
                && r.key.ends_with("|CUSTOM:Help Desk Lite@Team support")
        })
        .cloned()
        .collect();
    assert_eq!(assignments.len(), 2, "bound to a group and a user");
    assert!(set.refs.iter().any(|r| r.kind == "okta.group"));
    let hook = find(&before, "okta.event_hook", "User lifecycle to SIEM");
    assert_eq!(
        (&hook.attrs["status"], &hook.attrs["verificationStatus"]),
        (&json!("ACTIVE"), &json!("VERIFIED"))
    );

    // The incident: the binding, its resource set and its role are deleted, and so is an
    // event hook.
    api.delete(&binding);
    api.delete(&set);
    api.delete(&role);
    api.delete(&hook);
    // An inline hook that still holds its secret is deactivated: the restore activates it.
    let inline = find(&before, "okta.inline_hook", "Token enrichment");
    let mut off = inline.clone();
    off.attrs["status"] = json!("INACTIVE");
    api.update(&inline, off);
    // An email template customization is rewritten.
    let email = find(
        &before,
        "okta.email_customization",
        "Acme Partners|UserActivation|fr",
    );
    let mut rewritten = email.clone();
    rewritten.attrs["subject"] = json!("Votre compte a été suspendu");
    api.update(&email, rewritten);

    let diff = json_of(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    let changed = |kind: &str, key: &str| {
        diff["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == kind && c["key"] == key)
    };
    for r in [&role, &set, &binding, &hook]
        .into_iter()
        .chain(&assignments)
    {
        assert!(changed(&r.kind, &r.key), "{} {}: {diff:#}", r.kind, r.key);
    }
    let subject = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "okta.email_customization" && c["key"] == email.key.as_str())
        .expect("the rewritten email is in the diff");
    assert!(
        subject["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "/attrs/subject"),
        "{subject:#}"
    );

    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    // The hook's secret is named with the operator's next step.
    let cannot: Vec<String> = report["cannot_restore"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "okta.event_hook")
        .map(|c| c["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        cannot
            .iter()
            .any(|r| r.starts_with("event hook User lifecycle to SIEM:")
                && r.contains("Authorization header")
                && r.contains("Verify")
                && r.contains("Activate")
                && r.contains("/lifecycle/verify")),
        "{report:#}"
    );
    let again = json_of(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = api.records();
    assert!(count_by_kind_key(&after).values().all(|n| *n == 1));
    // The hook is back with its settings, inactive and unverified until its secret is set.
    let hook_back = find(&after, "okta.event_hook", &hook.key);
    assert_ne!(hook_back.id, hook.id);
    for field in ["events", "name", "description"] {
        assert_eq!(hook_back.attrs[field], hook.attrs[field], "{field}");
    }
    assert_eq!(
        hook_back.attrs["channel"]["config"]["uri"],
        hook.attrs["channel"]["config"]["uri"]
    );
    assert_eq!(
        hook_back.attrs["channel"]["config"]["headers"],
        hook.attrs["channel"]["config"]["headers"]
    );
    assert_eq!(
        (
            &hook_back.attrs["status"],
            &hook_back.attrs["verificationStatus"]
        ),
        (&json!("INACTIVE"), &json!("UNVERIFIED"))
    );
    assert_eq!(
        org.okta.with_org(|o| o.hook_secret(&hook_back.id)),
        None,
        "no secret is made up"
    );
    assert_eq!(find(&after, "okta.inline_hook", &inline.key), inline);
    assert_eq!(find(&after, "okta.email_customization", &email.key), email);
    for record in [&role, &set, &binding].into_iter().chain(&assignments) {
        let back = find(&after, &record.kind, &record.key);
        assert_eq!(back.attrs, record.attrs, "{} {}", record.kind, record.key);
        // Every reference names a live object, the same one in key space.
        assert_eq!(
            refs_by_key(&back, &after),
            refs_by_key(record, &before),
            "{} {}",
            record.kind,
            record.key
        );
    }
    let role_back = find(&after, "okta.custom_role", &role.key);
    let set_back = find(&after, "okta.resource_set", &set.key);
    assert_ne!(role_back.id, role.id, "a new role");
    let binding_back = find(&after, "okta.resource_set_binding", &binding.key);
    assert_eq!(binding_back.target("role").unwrap().id, role_back.id);
    assert_eq!(binding_back.target("resource_set").unwrap().id, set_back.id);
    for a in &assignments {
        let back = find(&after, &a.kind, &a.key);
        assert_eq!(back.target("role").unwrap().id, role_back.id);
        assert_eq!(back.target("resource_set").unwrap().id, set_back.id);
    }
    assert!(!stdout(&applied).contains(OKTA_TOKEN) && !stderr(&applied).contains(OKTA_TOKEN));
}

/// A policy of a type iamsnap does not know, found through the app bound to it, is backed up
/// as Okta returns it, and the backup says how many such policies of each type it saved.
#[test]
fn a_policy_type_iamsnap_does_not_know_is_saved_and_counted() {
    let org = Org::start(10, 4, 2);
    org.okta.with_org(|o| {
        let policy = o.add_policy_of_type("FUTURE_POLICY", "Future sign-in", false);
        let app = o.apps_json()[0]["id"].as_str().unwrap().to_string();
        assert!(o.bind_app_to_policy(&app, &policy));
    });
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 0);
    let log = stderr(&backup);
    assert!(
        log.contains("policies of a type iamsnap does not know")
            && log.contains("FUTURE_POLICY")
            && log.contains("count=1"),
        "{log}"
    );
    let records = Api::new(&ws, &org.url()).records();
    let policy = records
        .iter()
        .find(|r| r.kind == "okta.policy" && r.key == "FUTURE_POLICY|Future sign-in")
        .expect("the policy is backed up");
    assert_eq!(policy.attrs["type"], "FUTURE_POLICY");
}

/// The whole sign-in incident at once: an authorization server with everything under it, a
/// SAML IdP an IdP-discovery rule routes to, a trusted origin, a custom role with its resource
/// set and binding, a group's owner and an event hook deleted; an authenticator deactivated and
/// an access policy rule changed. One `restore --apply` brings back every restorable fact
/// (compared in key space, so that re-created objects' new ids do not count), names the signing
/// keys and the hook's secret with their next step, and leaves nothing for a second plan.
#[test]
fn the_whole_sign_in_incident_is_restored_in_one_run() {
    let org = Org::start(30, 8, 4);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let find = |kind: &str, key: &str| {
        before
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} {key}"))
    };
    let server = find(SERVER, "Payments API");
    let idp = find("okta.identity_provider", "Partner SAML");
    let origin = find("okta.trusted_origin", "https://portal.example.com");
    let role = find("okta.custom_role", "Help Desk Lite");
    let set = find("okta.resource_set", "Team support");
    let binding = find("okta.resource_set_binding", "Team support|Help Desk Lite");
    let hook = find("okta.event_hook", "User lifecycle to SIEM");
    let owner = before
        .iter()
        .find(|r| r.kind == "okta.group_owner" && r.key.contains("|user:"))
        .cloned()
        .expect("the seed has group owners");
    let question = find("okta.authenticator", "security_question");
    let rule = before
        .iter()
        .find(|r| {
            r.kind == "okta.policy_rule"
                && r.key.starts_with("ACCESS_POLICY|")
                && r.attrs["system"] != true
        })
        .cloned()
        .expect("a custom access policy rule");

    api.delete(&binding);
    api.delete(&set);
    api.delete(&role);
    api.delete(&server);
    api.delete(&idp);
    api.delete(&origin);
    api.delete(&owner);
    api.delete(&hook);
    let mut off = question.clone();
    off.attrs["status"] = json!("INACTIVE");
    api.update(&question, off);
    let mut changed = rule.clone();
    changed.attrs["name"] = json!(format!("{} (edited)", rule.attrs["name"].as_str().unwrap()));
    changed.attrs["priority"] = json!(rule.attrs["priority"].as_u64().unwrap_or(1) + 1);
    api.update(&rule, changed);

    // The incident is seen: every object it touched differs before the restore.
    let incident = json_of(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    let differs = |r: &iamsnap_provider::Record| {
        incident["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == r.kind.as_str() && c["old_id"] == r.id.as_str())
    };
    for r in [
        &server, &idp, &origin, &role, &set, &binding, &hook, &owner, &question, &rule,
    ] {
        assert!(differs(r), "{} {}: {incident:#}", r.kind, r.key);
    }

    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let reasons: Vec<(String, String)> = report["cannot_restore"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let named = |kind: &str, words: &[&str]| {
        reasons
            .iter()
            .any(|(k, r)| k == kind && words.iter().all(|w| r.contains(w)))
    };
    assert!(named(SERVER, &["Payments API", "JWKS"]), "{report:#}");
    assert!(
        named("okta.event_hook", &["User lifecycle to SIEM", "Verify"]),
        "{report:#}"
    );

    // Every touched object is back in key space; only the re-created event hook differs, as
    // `cannot_restore` says: inactive and without its auth header until the secret is entered
    // with it, with a new creation time.
    let diff = json_of(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    let touched: Vec<&str> = [
        SERVER,
        "okta.identity_provider",
        "okta.idp_key",
        "okta.trusted_origin",
        "okta.custom_role",
        "okta.resource_set",
        "okta.resource_set_binding",
        "okta.admin_role_assignment",
        "okta.group_owner",
        "okta.authenticator",
        "okta.policy_rule",
    ]
    .into_iter()
    .chain(UNDER_SERVER.iter().copied())
    .collect();
    for change in diff["changes"].as_array().unwrap() {
        let kind = change["kind"].as_str().unwrap();
        assert!(!touched.contains(&kind), "still differs: {change:#}");
        if kind == "okta.event_hook" {
            for field in change["fields"].as_array().unwrap() {
                let path = field["path"].as_str().unwrap();
                assert!(
                    [
                        "/attrs/status",
                        "/attrs/created",
                        "/attrs/verificationStatus",
                        "/attrs/channel/config/authScheme",
                    ]
                    .contains(&path),
                    "{change:#}"
                );
            }
        }
    }
    let again = json_of(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert!(
        again["operations"].as_array().unwrap().is_empty(),
        "{again:#}"
    );
}
