//! Deterministic seeding of an org: the same seed and sizes give the same org, ids included.
//!
//! The org's shape follows real ones whatever its size: a user is in about three groups
//! besides Everyone on average (half of them in Staff, one to four teams each, directory users
//! in a directory group, at most one rule-derived group), so memberships grow with users, not
//! with groups (3.1 to 3.2 per user from 30 to 3,000 groups at 3,000 users);
//! one user in ten has a direct app assignment; apps are assigned to one or two groups.

mod authz;
mod meta;
mod policies;

pub(crate) use authz::new_server;
pub(crate) use meta::{add_schema, type_schema};
pub(crate) use policies::{CREATABLE_POLICY_TYPES, NO_MORE_RULES, POLICY_TYPES, rule_made_with};

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::model::{
    AppUser, DEPARTMENTS, DOMAIN, FIRST_NAMES, LAST_NAMES, Org, Profile, Role, TITLES, User, ts,
};

/// What to seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedSpec {
    pub users: usize,
    pub groups: usize,
    pub apps: usize,
    pub seed: u64,
}

pub(crate) fn seed(spec: SeedSpec) -> Org {
    let mut org = Org::empty(spec.seed);
    meta::seed_meta(&mut org);
    seed_users(&mut org, spec.users);
    seed_apps(&mut org, spec.apps);
    seed_groups(&mut org, spec.groups);
    seed_memberships(&mut org);
    seed_assignments(&mut org);
    seed_rules(&mut org);
    let rules: Vec<String> = org.rules.keys().cloned().collect();
    for rule in rules {
        org.run_rule(&rule);
    }
    policies::seed_zones(&mut org);
    policies::seed_policies(&mut org);
    policies::bind_apps(&mut org);
    seed_roles(&mut org);
    authz::seed_auth_servers(&mut org);
    // A new org trusts no origin; one in use trusts a few.
    if org.groups.values().any(|g| g["type"] == "OKTA_GROUP") {
        let created = ts(past(&mut org));
        super::origins::seed(&mut org, &created);
        policies::seed_idps(&mut org, &created);
        seed_custom_roles(&mut org);
        let token_hook = super::hooks::seed(&mut org, &created);
        authz::use_token_hook(&mut org, &token_hook);
    }
    signin(&mut org);
    // Every org has its default brand; one in use has a second brand and customized emails.
    let in_use = org.groups.values().any(|g| g["type"] == "OKTA_GROUP");
    let created = ts(past(&mut org));
    super::brands::seed(&mut org, in_use, &created);
    // Okta's ids are unique across orgs. Objects made through the API afterwards draw their ids
    // from fresh entropy, not from the seed's stream: two orgs started from one seed (a source
    // and the empty org it is restored into) would otherwise hand out each other's seeded ids.
    org.rng = StdRng::from_entropy();
    org
}

/// Authenticators and behavior detection rules (Okta's own in every org, more in an org in
/// use, which the seeded policies name), and group owners: seeded last, so that the objects
/// seeded before keep their ids.
fn signin(org: &mut Org) {
    let in_use = org.groups.values().any(|g| g["type"] == "OKTA_GROUP");
    let created = past(org);
    super::authenticators::seed(org, in_use, &ts(created));
    super::behaviors::seed(org, in_use, &ts(created));
    if in_use {
        super::owners::seed(org, created);
    }
    super::mappings::seed(org, in_use);
    // A team's app sign-in policy asks for a security key or biometric, naming it by id.
    let webauthn = org
        .authenticators
        .iter()
        .find(|(_, a)| a["key"] == "webauthn")
        .map(|(id, _)| id.clone());
    let custom = org
        .policies
        .iter()
        .find(|(_, p)| p["type"] == "ACCESS_POLICY" && p["system"] != true)
        .map(|(id, _)| id.clone());
    if let (Some(webauthn), Some(policy)) = (webauthn, custom)
        && let Some(rule) = org
            .policy_rules
            .get_mut(&policy)
            .and_then(|rules| rules.iter_mut().find(|r| r["name"] == "Rule 0"))
    {
        rule["actions"]["appSignOn"]["verificationMethod"]["constraints"] = json!([
            {"possession": {"authenticationMethods": [
                {"key": "webauthn", "method": "webauthn", "id": webauthn}]}}]);
    }
}

pub(super) fn past(org: &mut Org) -> i64 {
    org.now - org.rng.gen_range(3_600..2 * 365 * 86_400)
}

fn seed_users(org: &mut Org, n: usize) {
    let types: Vec<String> = org.user_types.keys().cloned().collect();
    let default_type = org
        .user_types
        .iter()
        .find(|(_, t)| t["default"] == true)
        .map(|(id, _)| id.clone())
        .expect("a default user type");
    let contractor = types
        .iter()
        .find(|t| **t != default_type)
        .cloned()
        .unwrap_or_else(|| default_type.clone());
    for i in 0..n {
        let id = org.new_id("00u");
        let r: u32 = org.rng.gen_range(0..100);
        // The first user is the admin the token belongs to: always ACTIVE.
        let status = if i == 0 {
            "ACTIVE"
        } else {
            match r {
                0..=2 => "STAGED",
                3..=4 => "PROVISIONED",
                5..=7 => "SUSPENDED",
                8..=9 => "DEPROVISIONED",
                10 => "PASSWORD_EXPIRED",
                11 => "LOCKED_OUT",
                _ => "ACTIVE",
            }
        };
        let created = past(org);
        let activated = (!matches!(status, "STAGED" | "PROVISIONED")).then_some(created + 60);
        let provider = if org.rng.gen_ratio(1, 20) {
            ("ACTIVE_DIRECTORY", "corp.example.com")
        } else {
            ("OKTA", "OKTA")
        };
        let profile = Profile::Seeded {
            n: i as u32,
            first: org.rng.gen_range(0..FIRST_NAMES.len()) as u8,
            last: org.rng.gen_range(0..LAST_NAMES.len()) as u8,
            department: org.rng.gen_range(0..DEPARTMENTS.len()) as u8,
            title: org.rng.gen_range(0..TITLES.len()) as u8,
            cost_center: org.rng.gen_range(COST_CENTERS),
            clearance: org.rng.gen_range(0..4),
        };
        let type_id = if org.rng.gen_ratio(1, 10) {
            contractor.clone()
        } else {
            default_type.clone()
        };
        let user = User {
            id: id.clone(),
            status,
            type_id,
            created,
            activated,
            status_changed: activated,
            last_login: activated.map(|a| a + 86_400),
            last_updated: created + 120,
            password_changed: activated.filter(|_| provider.0 == "OKTA"),
            provider,
            profile,
        };
        if i == 0 {
            org.me = id.clone();
        }
        org.logins.insert(user.profile.login(), id.clone());
        org.users.insert(id, user);
    }
}

fn seed_apps(org: &mut Org, n: usize) {
    for i in 0..n {
        let id = org.new_id("0oa");
        let created = past(org);
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        let status = if i % 9 == 8 { "INACTIVE" } else { "ACTIVE" };
        let app = match i % 4 {
            0 => bookmark_app(&id, &format!("{dept} Wiki {i}"), i),
            1 => swa_app(&id, &format!("{dept} Portal {i}"), i),
            2 => saml_app(&id, &format!("{dept} SAML {i}"), i),
            _ => oidc_app(org, &id, &format!("{dept} Web {i}"), i),
        };
        let mut app = app;
        app["status"] = json!(status);
        app["created"] = json!(ts(created));
        app["lastUpdated"] = json!(ts(created + 300));
        app["accessibility"] =
            json!({"selfService": false, "errorRedirectUrl": null, "loginRedirectUrl": null});
        app["visibility"] = json!({"autoSubmitToolbar": false,
            "hide": {"iOS": false, "web": false}, "appLinks": {}});
        app["_links"] = json!({"self": {"href": format!("/api/v1/apps/{id}")}});
        org.apps.insert(id.clone(), app);
        org.app_users.insert(id.clone(), BTreeMap::new());
        org.app_groups.insert(id, BTreeMap::new());
    }
}

pub(crate) fn bookmark_app(id: &str, label: &str, i: usize) -> Value {
    json!({
        "id": id, "name": "bookmark", "label": label, "signOnMode": "BOOKMARK", "features": [],
        "credentials": {"scheme": "EDIT_USERNAME_AND_PASSWORD", "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}},
        "settings": {"app": {"requestIntegration": false, "url": format!("https://wiki{i}.{DOMAIN}/")},
                      "notifications": {"vpn": {"network": {"connection": "DISABLED"}}}},
    })
}

pub(crate) fn swa_app(id: &str, label: &str, i: usize) -> Value {
    json!({
        "id": id, "name": "template_swa", "label": label, "signOnMode": "BROWSER_PLUGIN", "features": [],
        "credentials": {"scheme": "EDIT_USERNAME_AND_PASSWORD", "revealPassword": false,
                        "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}},
        "settings": {"app": {"buttonField": "btn-login", "passwordField": "password", "usernameField": "username",
                             "url": format!("https://portal{i}.{DOMAIN}/login"), "loginUrlRegex": null}},
    })
}

pub(crate) fn saml_app(id: &str, label: &str, i: usize) -> Value {
    json!({
        "id": id, "name": format!("examplecom_saml{i}_1"), "label": label, "signOnMode": "SAML_2_0",
        "features": [],
        "credentials": {"userNameTemplate": {"template": "${source.email}", "type": "BUILT_IN"},
                        "signing": {"kid": format!("kid-{i}")}},
        "settings": {"app": {}, "signOn": {
            "defaultRelayState": "", "ssoAcsUrl": format!("https://saml{i}.{DOMAIN}/acs"),
            "idpIssuer": "http://www.okta.com/${org.externalKey}",
            "audience": format!("https://saml{i}.{DOMAIN}/metadata"),
            "recipient": format!("https://saml{i}.{DOMAIN}/acs"),
            "destination": format!("https://saml{i}.{DOMAIN}/acs"),
            "subjectNameIdTemplate": "${user.userName}",
            "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "responseSigned": true, "assertionSigned": true,
            "signatureAlgorithm": "RSA_SHA256", "digestAlgorithm": "SHA256",
            "honorForceAuthn": true, "authnContextClassRef": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "attributeStatements": [{"type": "EXPRESSION", "name": "department", "namespace": "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified", "values": ["user.department"]}],
        }},
    })
}

pub(crate) fn oidc_app(org: &mut Org, id: &str, label: &str, i: usize) -> Value {
    let secret: String = (0..40)
        .map(|_| {
            let c = org.rng.gen_range(0..62u8);
            (match c {
                0..=9 => b'0' + c,
                10..=35 => b'a' + c - 10,
                _ => b'A' + c - 36,
            }) as char
        })
        .collect();
    json!({
        "id": id, "name": "oidc_client", "label": label, "signOnMode": "OPENID_CONNECT", "features": [],
        "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                        "signing": {"kid": format!("kid-{i}")},
                        "oauthClient": {"autoKeyRotation": true, "client_id": id,
                                        "client_secret": secret,
                                        "token_endpoint_auth_method": "client_secret_basic"}},
        "settings": {"app": {}, "oauthClient": {
            "client_uri": format!("https://app{i}.{DOMAIN}"), "logo_uri": null,
            "redirect_uris": [format!("https://app{i}.{DOMAIN}/callback")],
            "post_logout_redirect_uris": [format!("https://app{i}.{DOMAIN}/")],
            "response_types": ["code"], "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "web", "consent_method": "REQUIRED", "issuer_mode": "DYNAMIC",
        }},
    })
}

fn seed_groups(org: &mut Org, n: usize) {
    if n == 0 {
        return;
    }
    let everyone = org.new_id("00g");
    let created = past(org);
    org.groups.insert(
        everyone.clone(),
        group_json(
            &everyone,
            "BUILT_IN",
            "Everyone",
            "All users in your organization",
            created,
            None,
        ),
    );
    org.everyone = everyone;
    let app_ids: Vec<String> = org.apps.keys().cloned().collect();
    for i in 1..n {
        let id = org.new_id("00g");
        let created = past(org);
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        // One group in five comes from an app (imported from a directory), when there are apps.
        let group = if i % 5 == 4 && !app_ids.is_empty() {
            let app = &app_ids[i % app_ids.len()];
            group_json(
                &id,
                "APP_GROUP",
                &format!("{dept} Directory {i}"),
                &format!("Imported {dept} group"),
                created,
                Some(app),
            )
        } else if i == 1 {
            group_json(
                &id,
                "OKTA_GROUP",
                "Staff",
                "Every second person",
                created,
                None,
            )
        } else {
            group_json(
                &id,
                "OKTA_GROUP",
                &format!("{dept} Team {i}"),
                &format!("{dept} people, team {i}"),
                created,
                None,
            )
        };
        org.groups.insert(id.clone(), group);
        org.members.insert(id, BTreeSet::new());
    }
}

pub(crate) fn group_json(
    id: &str,
    kind: &str,
    name: &str,
    description: &str,
    created: i64,
    source_app: Option<&String>,
) -> Value {
    let mut g = json!({
        "id": id,
        "created": ts(created),
        "lastUpdated": ts(created),
        "lastMembershipUpdated": ts(created),
        "objectClass": ["okta:user_group"],
        "type": kind,
        "profile": {"name": name, "description": description},
        "_links": {
            "users": {"href": format!("/api/v1/groups/{id}/users")},
            "apps": {"href": format!("/api/v1/groups/{id}/apps")},
        },
    });
    if let Some(app) = source_app {
        g["objectClass"] = json!(["okta:windows_security_principal"]);
        g["source"] = json!({"id": app});
        g["profile"]["windowsDomainQualifiedName"] = json!(format!("CORP\\{name}"));
    }
    g
}

/// Direct memberships: every second user in Staff, one to four teams each (a few big teams,
/// many small ones), each directory-sourced user (one in twenty) in one directory group. With the rules' slices
/// ([`seed_rules`]) a user is in about three groups besides Everyone on average, four with
/// it, however many groups there are.
fn seed_memberships(org: &mut Org) {
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let app_groups: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "APP_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let staff = org
        .groups
        .iter()
        .find(|(_, g)| g["profile"]["name"] == "Staff")
        .map(|(id, _)| id.clone());
    let users: Vec<String> = org.users.keys().cloned().collect();
    for (i, user) in users.iter().enumerate() {
        if let Some(staff) = &staff
            && i % 2 == 0
        {
            org.members
                .get_mut(staff)
                .expect("group")
                .insert(user.clone());
        }
        if okta.len() > 1 {
            // Skewed towards the first groups, so sizes vary as in a real org.
            for _ in 0..org.rng.gen_range(1..5) {
                let x: f64 = org.rng.r#gen();
                let idx = 1 + ((x * x) * (okta.len() - 1) as f64) as usize;
                let g = &okta[idx.min(okta.len() - 1)];
                org.members.get_mut(g).expect("group").insert(user.clone());
            }
        }
        // Directory groups hold the users their directory brings in, as imported groups do.
        if !app_groups.is_empty() && org.users[user].provider.0 == "ACTIVE_DIRECTORY" {
            let g = &app_groups[org.rng.gen_range(0..app_groups.len())];
            org.members.get_mut(g).expect("group").insert(user.clone());
        }
    }
}

fn seed_assignments(org: &mut Org) {
    let apps: Vec<String> = org.apps.keys().cloned().collect();
    if apps.is_empty() {
        return;
    }
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let users: Vec<String> = org.users.keys().cloned().collect();
    for user in &users {
        if org.rng.gen_ratio(1, 10) {
            let app = apps[org.rng.gen_range(0..apps.len())].clone();
            let created = past(org);
            let profile = (org.apps[&app]["signOnMode"] == "SAML_2_0").then(|| {
                let mut p = serde_json::Map::new();
                p.insert("role".into(), json!("member"));
                Box::new(p)
            });
            org.app_users.get_mut(&app).expect("app").insert(
                user.clone(),
                AppUser {
                    created,
                    user_name: None,
                    profile,
                },
            );
        }
    }
    for app in &apps {
        if okta.is_empty() {
            break;
        }
        let k = org.rng.gen_range(1..=2.min(okta.len()));
        let chosen: Vec<String> = okta.choose_multiple(&mut org.rng, k).cloned().collect();
        for (priority, g) in chosen.into_iter().enumerate() {
            let created = past(org);
            let assignment = json!({
                "id": g, "priority": priority, "lastUpdated": ts(created), "profile": {},
                "_links": {"app": {"href": format!("/api/v1/apps/{app}")},
                           "group": {"href": format!("/api/v1/groups/{g}")}},
            });
            org.app_groups
                .get_mut(app)
                .expect("app")
                .insert(g, assignment);
        }
    }
}

/// Cost centers of seeded users (`CC-100` to `CC-159`).
const COST_CENTERS: std::ops::Range<u16> = 100..160;

/// One group rule per ten `OKTA_GROUP`s, three in four active, each adding a slice of one
/// department to one group. Real orgs scope a rule to a team, a role or a site, not to a
/// whole department, and a rule's slice here narrows as rules grow in number: the whole
/// department while there are at most ten rules, one title in it up to 80 rules, one title in
/// one cost center beyond (4,800 distinct slices). No two rules share a slice up to 4,800
/// rules (48,000 groups), so each user is matched by one rule at most and rules add fewer than
/// one membership per user, whatever the group count.
fn seed_rules(org: &mut Org) {
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let n = okta.len() / 10 + usize::from(okta.len() >= 2);
    let (departments, titles) = (DEPARTMENTS.len(), TITLES.len());
    let cost_centers = COST_CENTERS.len();
    for i in 0..n {
        let id = org.new_id("0pr");
        let created = past(org);
        let dept = DEPARTMENTS[i % departments];
        let title = TITLES[(i / departments) % titles];
        let cost_center = COST_CENTERS.start + ((i / (departments * titles)) % cost_centers) as u16;
        let department = format!("user.department==\"{dept}\"");
        let (name, expression) = if n <= departments {
            (format!("{dept} by department {i}"), department)
        } else if n <= departments * titles {
            (
                format!("{dept} {title} by title {i}"),
                format!("{department} && user.title==\"{title}\""),
            )
        } else {
            (
                format!("{dept} {title} in CC-{cost_center} {i}"),
                format!(
                    "{department} && user.title==\"{title}\" && user.costCenter==\"CC-{cost_center}\""
                ),
            )
        };
        let target = okta[(i * 7 + 1) % okta.len()].clone();
        let status = if i % 4 == 3 { "INACTIVE" } else { "ACTIVE" };
        let rule = json!({
            "type": "group_rule", "id": id, "status": status,
            "name": name,
            "created": ts(created), "lastUpdated": ts(created),
            "conditions": {
                "people": {"users": {"exclude": []}, "groups": {"exclude": []}},
                "expression": {"value": expression, "type": "urn:okta:expression:1.0"},
            },
            "actions": {"assignUserToGroups": {"groupIds": [target]}},
        });
        org.rules.insert(id, rule);
    }
}

fn seed_roles(org: &mut Org) {
    // The token's owner is the super admin; a few other active users hold lesser roles.
    let users: Vec<String> = std::iter::once(org.me.clone())
        .filter(|me| !me.is_empty())
        .chain(
            org.users
                .values()
                .filter(|u| u.status == "ACTIVE" && u.id != org.me)
                .map(|u| u.id.clone())
                .take(5),
        )
        .collect();
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let apps: Vec<String> = org.apps.keys().cloned().collect();
    let plan: [(&str, bool, bool); 6] = [
        ("SUPER_ADMIN", false, false),
        ("ORG_ADMIN", false, false),
        ("USER_ADMIN", true, false),
        ("APP_ADMIN", false, true),
        ("HELP_DESK_ADMIN", true, false),
        ("READ_ONLY_ADMIN", false, false),
    ];
    for (user, (role_type, group_target, app_target)) in users.iter().zip(plan) {
        let mut role = new_role(
            org,
            role_type,
            group_target.then(|| okta.first().cloned()).flatten(),
            app_target.then(|| apps.first().cloned()).flatten(),
        );
        if app_target {
            // Besides one app instance, every instance of a catalog app the org has none of.
            role.target_catalog.insert("zoomus".to_string());
        }
        org.user_roles.entry(user.clone()).or_default().push(role);
    }
    for (g, role_type) in okta
        .iter()
        .skip(1)
        .take(2)
        .zip(["GROUP_MEMBERSHIP_ADMIN", "REPORT_ADMIN"])
    {
        let target = (role_type == "GROUP_MEMBERSHIP_ADMIN")
            .then(|| okta.first().cloned())
            .flatten();
        let role = new_role(org, role_type, target, None);
        org.group_roles.entry(g.clone()).or_default().push(role);
    }
}

/// A custom role bound to groups that hold no standard role, and to an active user other than
/// the token's owner.
fn seed_custom_roles(org: &mut Org) {
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let user = org
        .users
        .values()
        .filter(|u| u.status == "ACTIVE" && u.id != org.me && !org.user_roles.contains_key(&u.id))
        .map(|u| u.id.clone())
        .next();
    super::iam::seed(org, &okta, user.as_deref());
}

/// Makes an active user without roles a Read-only Administrator, the user a read-only API
/// token acts as (an Okta API token has the roles of the admin who created it), and returns
/// its id. The last such user: the first one gets a custom role.
pub(crate) fn read_only_admin(org: &mut Org) -> Option<String> {
    let user = org
        .users
        .values()
        .rev()
        .filter(|u| u.status == "ACTIVE" && u.id != org.me && !org.user_roles.contains_key(&u.id))
        .map(|u| u.id.clone())
        .next()?;
    let role = new_role(org, "READ_ONLY_ADMIN", None, None);
    org.user_roles.insert(user.clone(), vec![role]);
    org.read_only_me = Some(user.clone());
    Some(user)
}

fn new_role(org: &mut Org, role_type: &str, group: Option<String>, app: Option<String>) -> Role {
    let id = org.new_id("ra1");
    let created = past(org);
    Role {
        id,
        role_type: role_type.to_string(),
        created,
        target_groups: group.into_iter().collect(),
        target_apps: app.into_iter().collect(),
        target_catalog: BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(users: usize, seed: u64) -> SeedSpec {
        SeedSpec {
            users,
            groups: 30,
            apps: 6,
            seed,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_org() {
        let a = seed(spec(500, 7));
        let b = seed(spec(500, 7));
        let c = seed(spec(500, 8));
        assert!(a.users.keys().eq(b.users.keys()));
        assert!(a.groups.keys().eq(b.groups.keys()));
        assert_eq!(a.members, b.members);
        assert_eq!(a.policies, b.policies);
        assert!(!a.users.keys().eq(c.users.keys()));
    }

    #[test]
    fn sizes_are_exact_and_the_org_is_realistic() {
        let org = seed(spec(2_345, 1));
        let counts = org.counts();
        assert_eq!(counts.users, 2_345);
        assert_eq!(counts.groups, 30);
        assert_eq!(counts.apps, 6);
        assert_eq!(org.logins.len(), 2_345, "logins are unique");
        let (_, largest) = org.largest_group().unwrap();
        assert!(
            largest > 1_000,
            "some group is bigger than a page of members"
        );
        assert!(counts.group_rules > 0 && counts.app_group_assignments > 0);
        assert!(counts.policies >= POLICY_TYPES.len() && counts.policy_rules > counts.policies);
        for status in [
            "STAGED",
            "PROVISIONED",
            "ACTIVE",
            "SUSPENDED",
            "DEPROVISIONED",
        ] {
            assert!(!org.user_ids_with_status(status).is_empty(), "{status}");
        }
        let me = org.user_roles.get(&org.me).unwrap();
        assert_eq!(
            me[0].role_type, "SUPER_ADMIN",
            "the token's owner is a super admin"
        );
    }

    #[test]
    fn memberships_per_user_stay_realistic_whatever_the_group_count() {
        for (users, groups) in [(3_000, 30), (3_000, 300), (3_000, 3_000)] {
            let org = seed(SeedSpec {
                users,
                groups,
                apps: 20,
                seed: 3,
            });
            let counts = org.counts();
            let per_user = counts.group_memberships as f64 / users as f64;
            assert!(
                (2.5..4.5).contains(&per_user),
                "{groups} groups: {per_user:.2} memberships per user"
            );
            let ruled: usize = org
                .rules
                .values()
                .filter(|r| r["status"] == "ACTIVE")
                .map(|r| {
                    org.members[r["actions"]["assignUserToGroups"]["groupIds"][0]
                        .as_str()
                        .unwrap()]
                    .len()
                })
                .sum();
            assert!(ruled > 0, "{groups} groups: active rules add members");
        }
    }
}
