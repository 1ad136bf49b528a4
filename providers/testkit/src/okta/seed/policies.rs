//! Network zones and policies as a new org has them, plus custom ones.
//!
//! Every policy type of the reference exists. Okta's own (default) policies carry Okta's names
//! and condition blocks, with a default rule each; the read-only types (IdP discovery, entity
//! risk, session violation, client update, identity claims sourcing) have their one default
//! policy and no others. Custom policies of the types the API creates target a team and have
//! rules that name zones, users and user types; a custom app sign-in policy comes with its
//! catch-all rule, as Okta makes one with it.

use serde_json::{Value, json};

use super::past;
use crate::okta::model::{Org, ts};

/// Every policy type of the reference (`GET /api/v1/policies?type=…`).
pub(crate) const POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
    "POST_AUTH_SESSION",
    "ENTITY_RISK",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
    "SELF_SERVICE_REGISTRATION",
];

/// The types `POST /api/v1/policies` creates; the others are Okta's, one per org.
pub(crate) const CREATABLE_POLICY_TYPES: &[&str] = &[
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
    "DEVICE_SIGNAL_COLLECTION",
];

/// Types whose policies take no rules beyond the one they come with.
pub(crate) const NO_MORE_RULES: &[&str] = &[
    "PROFILE_ENROLLMENT",
    "POST_AUTH_SESSION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
];

/// Okta's name for the default policy of a type, `None` for types without one.
fn default_policy_name(policy_type: &str) -> Option<&'static str> {
    Some(match policy_type {
        "OKTA_SIGN_ON" | "PASSWORD" | "MFA_ENROLL" | "ACCESS_POLICY" | "PROFILE_ENROLLMENT" => {
            "Default Policy"
        }
        "IDP_DISCOVERY" => "Idp Discovery Policy",
        "POST_AUTH_SESSION" => "Post Auth Session Policy",
        "ENTITY_RISK" => "Entity Risk Policy",
        "SESSION_VIOLATION_DETECTION" => "Session Violation Detection Policy",
        "CLIENT_UPDATE" => "Client Update Policy",
        "IDENTITY_CLAIM_SOURCING" => "Default policy",
        _ => return None,
    })
}

/// The type of a policy's rules.
pub(crate) fn rule_type(policy_type: &str) -> &str {
    match policy_type {
        "OKTA_SIGN_ON" => "SIGN_ON",
        other => other,
    }
}

/// The rule a policy comes with: Okta's name for it and its conditions.
pub(crate) fn default_rule(policy_type: &str) -> (&'static str, Value) {
    match policy_type {
        "OKTA_SIGN_ON" => (
            "Default Rule",
            json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"},
                   "risk": {"behaviors": []}, "riskScore": {"level": "ANY"},
                   "identityProvider": {"provider": "ANY"}}),
        ),
        "PASSWORD" | "MFA_ENROLL" | "IDP_DISCOVERY" => (
            "Default Rule",
            json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}}),
        ),
        "ACCESS_POLICY" => (
            "Catch-all Rule",
            json!({"people": {"users": {"exclude": []}, "groups": {"exclude": []}},
                   "network": {"connection": "ANYWHERE"}, "riskScore": {"level": "ANY"},
                   "userType": {"include": [], "exclude": []}}),
        ),
        _ => ("Catch-all rule", Value::Null),
    }
}

/// A rule as Okta stores it.
pub(crate) fn rule_json(
    policy_id: &str,
    rule_id: &str,
    policy_type: &str,
    (name, priority, system): (&str, u64, bool),
    conditions: Value,
    created: &str,
) -> Value {
    json!({
        "id": rule_id, "type": rule_type(policy_type), "name": name, "priority": priority,
        "status": "ACTIVE", "system": system, "created": created, "lastUpdated": created,
        "conditions": conditions, "actions": rule_actions(policy_type),
        "_links": {"self": {"href": format!("/api/v1/policies/{policy_id}/rules/{rule_id}")}},
    })
}

/// The catch-all rule Okta makes with a new policy of a type that has one, if it does.
pub(crate) fn rule_made_with(
    org: &mut Org,
    policy_id: &str,
    policy_type: &str,
    created: &str,
) -> Option<Value> {
    if !matches!(policy_type, "ACCESS_POLICY" | "PROFILE_ENROLLMENT") {
        return None;
    }
    let (name, conditions) = default_rule(policy_type);
    let rule_id = org.new_id("rul");
    Some(rule_json(
        policy_id,
        &rule_id,
        policy_type,
        (name, 99, true),
        conditions,
        created,
    ))
}

pub(super) fn seed_zones(org: &mut Org) {
    let zones = [
        ("LegacyIpZone", "IP", true, "ACTIVE"),
        ("BlockedIpZone", "IP", true, "ACTIVE"),
        ("Offices", "IP", false, "ACTIVE"),
        ("VPN egress", "IP", false, "ACTIVE"),
        ("Embargoed countries", "DYNAMIC", false, "INACTIVE"),
    ];
    for (i, (name, kind, system, status)) in zones.into_iter().enumerate() {
        let id = org.new_id("nzo");
        let created = past(org);
        let mut zone = json!({
            "type": kind, "id": id, "name": name, "status": status, "usage": if name == "BlockedIpZone" { "BLOCKLIST" } else { "POLICY" },
            "system": system, "created": ts(created), "lastUpdated": ts(created),
            "_links": {"self": {"href": format!("/api/v1/zones/{id}")}},
        });
        if kind == "IP" {
            zone["gateways"] = if system {
                json!([])
            } else {
                json!([{"type": "CIDR", "value": format!("198.51.100.{}/32", i * 8)},
                       {"type": "RANGE", "value": format!("203.0.113.{}-203.0.113.{}", i * 10, i * 10 + 9)}])
            };
            zone["proxies"] = json!(null);
        } else {
            zone["locations"] =
                json!([{"country": "KP", "region": null}, {"country": "IR", "region": null}]);
            zone["proxyType"] = json!("ANY");
            zone["asns"] = json!([]);
        }
        org.zones.insert(id, zone);
    }
}

pub(super) fn seed_policies(org: &mut Org) {
    let okta: Vec<String> = org
        .groups
        .iter()
        .filter(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
        .collect();
    let office = org
        .zones
        .iter()
        .find(|(_, z)| z["name"] == "Offices")
        .map(|(id, _)| id.clone());
    let contractor = org
        .user_types
        .iter()
        .find(|(_, t)| t["default"] != true)
        .map(|(id, _)| id.clone());
    let everyone = org.everyone.clone();
    for (t, &policy_type) in POLICY_TYPES.iter().enumerate() {
        let creatable = CREATABLE_POLICY_TYPES.contains(&policy_type);
        let customs = if okta.is_empty() || !creatable {
            0
        } else {
            1 + t % 2
        };
        let default = default_policy_name(policy_type);
        for p in 0..=customs {
            let system = p == 0;
            let Some(name) = (if system {
                default.map(str::to_string)
            } else {
                Some(format!(
                    "{} policy {p}",
                    policy_type.to_lowercase().replace('_', " ")
                ))
            }) else {
                continue;
            };
            let id = org.new_id("00p");
            let created = ts(past(org));
            let mut policy = json!({
                "id": id, "type": policy_type, "name": name,
                "description": format!("{name} for {policy_type}"),
                "status": if !system && t % 3 == 2 { "INACTIVE" } else { "ACTIVE" },
                "system": system,
                "priority": if system { customs + 1 } else { p },
                "created": created, "lastUpdated": created,
                "conditions": policy_conditions(policy_type, if system { &everyone } else { &okta[(t + p) % okta.len()] }),
                "settings": policy_settings(policy_type),
                "_links": {"self": {"href": format!("/api/v1/policies/{id}")},
                           "rules": {"href": format!("/api/v1/policies/{id}/rules")}},
            });
            if !system && policy_type == "MFA_ENROLL" {
                // A team's policy also offers WebAuthn and phone, and not security questions.
                if let Some(list) = policy
                    .pointer_mut("/settings/authenticators")
                    .and_then(Value::as_array_mut)
                {
                    list.push(json!({"key": "webauthn", "enroll": {"self": "OPTIONAL"}}));
                    list.push(json!({"key": "phone_number", "enroll": {"self": "OPTIONAL"}}));
                    list.push(
                        json!({"key": "security_question", "enroll": {"self": "NOT_ALLOWED"}}),
                    );
                }
            }
            if policy["settings"].is_null() {
                policy.as_object_mut().map(|m| m.remove("settings"));
            }
            let mut rules = Vec::new();
            if system {
                let (rule, conditions) = default_rule(policy_type);
                let rid = org.new_id("0pr");
                rules.push(rule_json(
                    &id,
                    &rid,
                    policy_type,
                    (rule, 99, true),
                    conditions,
                    &created,
                ));
            } else if let Some(mut rule) = rule_made_with(org, &id, policy_type, &created) {
                // An org that changed its custom policy's catch-all rule: deny by default.
                if policy_type == "ACCESS_POLICY" {
                    rule["actions"]["appSignOn"]["access"] = json!("DENY");
                }
                rules.push(rule);
            }
            // Rules beyond the one a policy comes with: on custom policies, and on the default
            // policies of the read-only types that take rules.
            let more = if NO_MORE_RULES.contains(&policy_type) {
                0
            } else if system {
                usize::from(
                    !creatable && policy_type != "SELF_SERVICE_REGISTRATION" && !okta.is_empty(),
                )
            } else {
                2
            };
            for r in 0..more {
                let rid = org.new_id("0pr");
                let mut conditions = json!({"people": {"users": {"exclude": []}},
                                             "network": {"connection": "ANYWHERE"}});
                if let Some(zone) = &office {
                    conditions["network"] = json!({"connection": "ZONE", "include": [zone]});
                }
                if r == 1 {
                    conditions["people"]["users"]["exclude"] = json!([org.me.clone()]);
                }
                if matches!(policy_type, "ACCESS_POLICY" | "OKTA_SIGN_ON") {
                    conditions["riskScore"] = json!({"level": "ANY"});
                }
                if policy_type == "OKTA_SIGN_ON" && r == 0 {
                    // Sign-in from a new country is challenged (behaviors are named).
                    conditions["risk"] = json!({"behaviors": ["New Country"]});
                }
                if policy_type == "ACCESS_POLICY"
                    && let Some(contractor) = &contractor
                {
                    conditions["userType"] = json!({"include": [], "exclude": [contractor]});
                }
                rules.push(rule_json(
                    &id,
                    &rid,
                    policy_type,
                    (&format!("Rule {r}"), r as u64 + 1, false),
                    conditions,
                    &created,
                ));
            }
            org.policy_rules.insert(id.clone(), rules);
            org.policies.insert(id, policy);
        }
    }
}

/// A policy's `conditions`: the group it applies to, where the type has people conditions.
fn policy_conditions(policy_type: &str, group: &str) -> Value {
    match policy_type {
        "OKTA_SIGN_ON" | "MFA_ENROLL" => json!({"people": {"groups": {"include": [group]}}}),
        "PASSWORD" => json!({"people": {"groups": {"include": [group]}},
                              "authProvider": {"provider": "OKTA"}}),
        _ => Value::Null,
    }
}

fn policy_settings(policy_type: &str) -> Value {
    match policy_type {
        "PASSWORD" => json!({"password": {
            "complexity": {"minLength": 12, "minLowerCase": 1, "minUpperCase": 1, "minNumber": 1, "minSymbol": 0,
                           "excludeUsername": true, "dictionary": {"common": {"exclude": true}},
                           "excludeAttributes": []},
            "age": {"maxAgeDays": 0, "expireWarnDays": 0, "minAgeMinutes": 0, "historyCount": 4},
            "lockout": {"maxAttempts": 10, "autoUnlockMinutes": 0, "userLockoutNotificationChannels": [],
                        "showLockoutFailures": false}},
            "recovery": {"factors": {"okta_email": {"status": "ACTIVE"}}},
            "delegation": {"options": {"skipUnlock": false}}}),
        "MFA_ENROLL" => json!({"type": "AUTHENTICATORS", "authenticators": [
            {"key": "okta_verify", "enroll": {"self": "REQUIRED"}},
            {"key": "okta_email", "enroll": {"self": "NOT_ALLOWED"}}]}),
        _ => Value::Null,
    }
}

fn rule_actions(policy_type: &str) -> Value {
    match policy_type {
        "OKTA_SIGN_ON" => {
            json!({"signon": {"access": "ALLOW", "requireFactor": true, "factorPromptMode": "ALWAYS",
            "primaryFactor": "PASSWORD_IDP_ANY_FACTOR",
            "session": {"usePersistentCookie": false, "maxSessionIdleMinutes": 120, "maxSessionLifetimeMinutes": 0}}})
        }
        "PASSWORD" => {
            json!({"passwordChange": {"access": "ALLOW"}, "selfServicePasswordReset": {"access": "ALLOW"},
            "selfServiceUnlock": {"access": "DENY"}})
        }
        "MFA_ENROLL" => json!({"enroll": {"self": "CHALLENGE"}}),
        "IDP_DISCOVERY" => json!({"idp": {"providers": [{"type": "OKTA"}]}}),
        "ACCESS_POLICY" => json!({"appSignOn": {"access": "ALLOW", "verificationMethod": {
            "factorMode": "2FA", "type": "ASSURANCE", "reauthenticateIn": "PT2H", "constraints": []}}}),
        "PROFILE_ENROLLMENT" => {
            json!({"profileEnrollment": {"access": "ALLOW", "activationRequirements": {"emailVerification": true},
            "profileAttributes": [{"name": "email", "label": "Email", "required": true}],
            "unknownUserAction": "DENY", "targetGroupIds": null}})
        }
        "POST_AUTH_SESSION" => json!({"postAuthSession": {"failureActions": []}}),
        "ENTITY_RISK" => json!({"entityRisk": {"actions": []}}),
        "SESSION_VIOLATION_DETECTION" => {
            json!({"sessionViolationDetection": {"policyEvaluation": {"enabled": true}}})
        }
        "CLIENT_UPDATE" => json!({"updateControls": {"actions": []}}),
        "IDENTITY_CLAIM_SOURCING" => json!({"claimSourcing": {"redirectType": "IDP_DISCOVERY"}}),
        _ => json!({}),
    }
}

/// Binds every third app to the first custom app sign-in policy; the others stay with the
/// default one, as every new app does.
pub(super) fn bind_apps(org: &mut Org) {
    let default = org.default_access_policy();
    let custom = org
        .policies
        .iter()
        .find(|(_, p)| p["type"] == "ACCESS_POLICY" && p["system"] != true)
        .map(|(id, _)| id.clone());
    let apps: Vec<String> = org.apps.keys().cloned().collect();
    for (i, app) in apps.iter().enumerate() {
        let policy = match (&custom, i % 3) {
            (Some(custom), 1) => Some(custom.clone()),
            _ => default.clone(),
        };
        if let Some(policy) = policy {
            org.apps.get_mut(app).expect("the app")["_links"]["accessPolicy"] =
                json!({"href": format!("/api/v1/policies/{policy}")});
        }
    }
}

/// The org's identity providers, and an IdP discovery rule sending the partner's domain to
/// its SAML IdP, as Okta puts it before the default rule.
pub(super) fn seed_idps(org: &mut Org, created: &str) {
    let Some(team) = org
        .groups
        .iter()
        .find(|(_, g)| g["type"] == "OKTA_GROUP")
        .map(|(id, _)| id.clone())
    else {
        return;
    };
    let saml = crate::okta::idps::seed(org, created, &team);
    let Some(policy) = org
        .policies
        .iter()
        .find(|(_, p)| p["type"] == "IDP_DISCOVERY")
        .map(|(id, _)| id.clone())
    else {
        return;
    };
    let id = org.new_id("0pr");
    let mut rule = rule_json(
        &policy,
        &id,
        "IDP_DISCOVERY",
        ("Partner users", 1, false),
        json!({"network": {"connection": "ANYWHERE"},
               "userIdentifier": {"type": "IDENTIFIER",
                                  "patterns": [{"matchType": "SUFFIX", "value": "partner.example.org"}]}}),
        created,
    );
    rule["actions"] = json!({"idp": {"providers": [{"type": "SAML2", "id": saml}]}});
    let rules = org.policy_rules.entry(policy).or_default();
    for r in rules.iter_mut() {
        r["priority"] = json!(r["priority"].as_u64().unwrap_or(1) + 1);
    }
    rules.insert(0, rule);
}
