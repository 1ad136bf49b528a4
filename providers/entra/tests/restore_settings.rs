//! Restore of tenant settings that are not directory objects: claims-mapping and token-lifetime
//! policies with their assignments to service principals, and the cross-tenant access policy
//! (default settings and partner organisations), and the PIM settings of directory roles.

mod common;

use common::*;
use iamsnap_entra::kinds::*;
use iamsnap_provider::{Outcome, Record};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_policies_and_their_assignments_come_back() {
    let entra = emulator()
        .users(50)
        .groups(4)
        .apps(4)
        .seed(5)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;
    let claims = find(&before, CLAIMS_MAPPING_POLICY, |_| true).clone();
    let lifetime = find(&before, TOKEN_LIFETIME_POLICY, |_| true).clone();
    let assigned: Vec<Record> = before
        .iter()
        .filter(|r| r.kind == SERVICE_PRINCIPAL_POLICY)
        .cloned()
        .collect();
    assert!(assigned.len() >= 3, "{assigned:?}");
    // The claims-mapping policy deleted (its assignments with it), the token-lifetime policy
    // given other lifetimes and taken off its service principal.
    entra.with_tenant(|t| {
        assert!(t.sts_policies.remove(&claims.id).is_some());
        t.policy_targets.remove(&claims.id);
        t.sts_policies.get_mut(&lifetime.id).unwrap()["definition"] = serde_json::json!([
            r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"23:00:00"}}"#
        ]);
        t.policy_targets.remove(&lifetime.id);
    });

    let mut ids = Ids::new();
    let done = restore_pass(&provider, &before, &mut ids).await;
    for r in assigned.iter().chain([&claims, &lifetime]) {
        assert!(
            matches!(outcome_of(&done, &r.kind, &r.key), Outcome::Applied { .. }),
            "{} {}",
            r.kind,
            r.key
        );
    }
    let after = snapshot(&provider).await;
    let recreated = find(&after, CLAIMS_MAPPING_POLICY, |p| p.key == claims.key);
    assert_ne!(recreated.id, claims.id, "a deleted policy gets a new id");
    assert_eq!(recreated.attrs, claims.attrs);
    assert_eq!(
        find(&after, TOKEN_LIFETIME_POLICY, |p| p.key == lifetime.key).attrs,
        lifetime.attrs
    );
    for r in &assigned {
        let back = find(&after, SERVICE_PRINCIPAL_POLICY, |a| a.key == r.key);
        let policy = back.target("policy").unwrap();
        if policy.kind == CLAIMS_MAPPING_POLICY {
            assert_eq!(policy.id, recreated.id, "assigned the re-created policy");
        }
    }
    let again = restore_pass(&provider, &before, &mut ids).await;
    assert!(
        again.is_empty(),
        "{:?}",
        again
            .iter()
            .map(|(op, _)| (&op.kind, &op.key))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_tenant_settings_and_partners_come_back() {
    let entra = emulator()
        .users(50)
        .groups(4)
        .apps(2)
        .seed(6)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;
    let default = find(&before, CROSS_TENANT_DEFAULT, |_| true).clone();
    let partners: Vec<Record> = before
        .iter()
        .filter(|r| r.kind == CROSS_TENANT_PARTNER)
        .cloned()
        .collect();
    assert!(partners.len() >= 2, "{partners:?}");
    // Guests come from the partners the settings list.
    let guests: Vec<&Record> = before
        .iter()
        .filter(|r| r.kind == USER && r.attrs["userType"] == "Guest")
        .collect();
    assert_eq!(
        entra.with_tenant(|t| t.cross_tenant_partners.len()),
        partners.len()
    );
    assert!(
        guests
            .iter()
            .map(|g| g.attrs["mail"].as_str().unwrap().split('@').nth(1).unwrap())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            >= 2,
        "guests from several partner organisations"
    );
    // The incident: B2B collaboration blocked by default, one partner removed, another's MFA
    // trust withdrawn.
    let (gone, changed) = (&partners[0], &partners[1]);
    entra.with_tenant(|t| {
        t.cross_tenant_default["b2bCollaborationInbound"]["usersAndGroups"]["accessType"] =
            serde_json::json!("blocked");
        t.cross_tenant_partners.remove(&gone.key);
        t.cross_tenant_partners.get_mut(&changed.key).unwrap()["inboundTrust"] =
            serde_json::json!({"isMfaAccepted": false});
    });

    let mut ids = Ids::new();
    let done = restore_pass(&provider, &before, &mut ids).await;
    for r in [&default, gone, changed] {
        assert!(
            matches!(outcome_of(&done, &r.kind, &r.key), Outcome::Applied { .. }),
            "{} {}",
            r.kind,
            r.key
        );
    }
    let after = snapshot(&provider).await;
    for r in [&default, gone, changed] {
        assert_eq!(
            find(&after, &r.kind, |a| a.key == r.key).attrs,
            r.attrs,
            "{}",
            r.key
        );
    }
    let again = restore_pass(&provider, &before, &mut ids).await;
    assert!(
        again.is_empty(),
        "{:?}",
        again
            .iter()
            .map(|(op, _)| (&op.kind, &op.key))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pim_settings_of_roles_come_back_for_a_re_created_custom_role_too() {
    let entra = emulator()
        .users(60)
        .groups(4)
        .apps(2)
        .seed(8)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;
    let rule = |r: &Record, id: &str| -> serde_json::Value {
        r.attrs["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
            .unwrap()
    };
    // The seed asks for approval to activate Global Administrator.
    let global = find(&before, ROLE_SETTING, |r| {
        rule(r, "Approval_EndUser_Assignment")["setting"]["isApprovalRequired"] == true
    })
    .clone();
    let custom = find(&before, ROLE_SETTING, |r| r.target("role").is_some()).clone();
    let custom_role = custom.target("role").unwrap().id.clone();
    // The snapshot's custom role allowed activations for a day; since, approval was switched
    // off for Global Administrator and the custom role deleted for good with what used it.
    let mut wanted = custom.clone();
    for r in wanted.attrs["rules"].as_array_mut().unwrap() {
        if r["id"] == "Expiration_EndUser_Assignment" {
            r["maximumDuration"] = serde_json::json!("P1D");
        }
    }
    let snapshot_records: Vec<Record> = before
        .iter()
        .map(|r| {
            if r.kind == ROLE_SETTING && r.key == custom.key {
                wanted.clone()
            } else {
                r.clone()
            }
        })
        .collect();
    entra.with_tenant(|t| {
        for r in t.role_policy_rules.get_mut(&global.key).unwrap() {
            if r["id"] == "Approval_EndUser_Assignment" {
                r["setting"]["isApprovalRequired"] = serde_json::json!(false);
            }
        }
        t.role_definitions.remove(&custom_role);
        t.role_eligibilities
            .retain(|_, e| e["roleDefinitionId"] != custom_role.as_str());
        t.role_assignments
            .retain(|_, a| a["roleDefinitionId"] != custom_role.as_str());
        for p in t.ca_policies.values_mut() {
            for f in ["includeRoles", "excludeRoles"] {
                if let Some(roles) = p["conditions"]["users"][f].as_array_mut() {
                    roles.retain(|r| r != custom_role.as_str());
                }
            }
        }
    });

    let mut ids = Ids::new();
    let done = restore_pass(&provider, &snapshot_records, &mut ids).await;
    for r in [&global, &wanted] {
        assert!(
            matches!(outcome_of(&done, &r.kind, &r.key), Outcome::Applied { .. }),
            "{} {}",
            r.kind,
            r.key
        );
    }
    let after = snapshot(&provider).await;
    assert_eq!(
        find(&after, ROLE_SETTING, |a| a.key == global.key).attrs,
        global.attrs
    );
    let back = find(&after, ROLE_SETTING, |a| a.key == wanted.key);
    assert_eq!(
        back.attrs, wanted.attrs,
        "the re-created role has the snapshot's settings"
    );
    assert_ne!(back.target("role").unwrap().id, custom_role);
    let again = restore_pass(&provider, &snapshot_records, &mut ids).await;
    assert!(
        again.is_empty(),
        "{:?}",
        again
            .iter()
            .map(|(op, _)| (&op.kind, &op.key))
            .collect::<Vec<_>>()
    );
}
