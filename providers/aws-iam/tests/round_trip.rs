//! Backup → delete everything → restore → backup again, against moto's server.

mod common;

use std::collections::BTreeMap;

use common::{Moto, apply_all, assert_same_modulo_ids, counts, seed, snapshot};
use iamsnap_aws_iam::kinds;
use iamsnap_provider::{Action, Outcome, ReadProvider, WriteProvider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_account_survives_deletion_and_restore() {
    let moto = Moto::start();
    let iam = moto.iam();
    let expected = seed::seed(&iam, seed::FULL).await;
    let provider = moto.provider();

    // Backup: every kind, every object.
    let before = snapshot(&provider).await;
    let got = counts(&before);
    for (kind, n) in &expected {
        assert_eq!(
            got.get(*kind),
            Some(n),
            "count of {kind}; all counts: {got:?}"
        );
    }
    assert_eq!(got.len(), expected.len(), "unexpected kinds: {got:?}");
    assert!(before.len() >= 300, "only {} records", before.len());
    assert!(provider.stats().requests > 0);

    let policy = before
        .iter()
        .find(|r| r.kind == kinds::POLICY && r.key == "policy-04")
        .unwrap();
    assert_eq!(
        policy.attrs["versions"].as_array().unwrap().len(),
        5,
        "{policy:?}"
    );
    assert_eq!(
        policy.attrs["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["default"] == true)
            .count(),
        1
    );
    assert_eq!(policy.attrs["description"], "Lecture seule — équipe 4 ✓");
    assert_eq!(policy.attrs["path"], "/");
    let role = before
        .iter()
        .find(|r| r.kind == kinds::ROLE && r.key == "role-01")
        .unwrap();
    assert_eq!(role.attrs["path"], "/service-role/");
    assert_eq!(role.attrs["description"], "Rôle de déploiement n°1 🚀");
    assert_eq!(role.attrs["max_session_duration"], 4200);
    assert_eq!(
        role.attrs["trust_policy"]["Statement"][1]["Principal"]["AWS"][0],
        seed::role_arn(0)
    );
    assert_eq!(
        role.refs.iter().filter(|r| r.rel == "trusts").count(),
        2,
        "{role:?}"
    );
    let boundary_role = before
        .iter()
        .find(|r| r.kind == kinds::ROLE && r.key == "role-03")
        .unwrap();
    assert_eq!(
        boundary_role.attrs["permissions_boundary"],
        seed::policy_arn(0)
    );
    let user = before
        .iter()
        .find(|r| r.kind == kinds::USER && r.key == "user-00")
        .unwrap();
    assert_eq!(user.attrs["console_password"], true);
    assert_eq!(user.attrs["access_keys"].as_array().unwrap().len(), 1);
    assert_eq!(user.attrs["mfa_devices"].as_array().unwrap().len(), 1);
    assert_eq!(user.attrs["tags"]["name"], "Zoë Ångström 0");
    assert!(
        !serde_json::to_string(&before)
            .unwrap()
            .contains("SecretAccessKey"),
        "a snapshot never holds key secrets"
    );
    let cannot = provider.cannot_restore(user);
    assert_eq!(cannot.len(), 3, "{cannot:?}");
    assert!(
        cannot.iter().all(|c| c.starts_with("user user-00:")),
        "{cannot:?}"
    );
    let empty_profile = before
        .iter()
        .find(|r| r.kind == kinds::INSTANCE_PROFILE && r.key == "profile-09")
        .unwrap();
    assert_eq!(empty_profile.attrs["roles"], serde_json::json!([]));
    assert!(before.iter().any(|r| r.kind == kinds::POLICY_ATTACHMENT
        && r.key == "role/role-00|arn:aws:iam::aws:policy/ReadOnlyAccess"));

    // Incident: everything is deleted, through the connector's own delete operations.
    let mut ids = BTreeMap::new();
    let deleted = apply_all(&provider, &before, Action::Delete, &mut ids).await;
    assert!(
        deleted
            .values()
            .all(|o| matches!(o, Outcome::Applied { .. } | Outcome::AlreadyDone { .. }))
    );
    // Server certificates and MFA devices stay: the connector never deletes them.
    let empty: Vec<_> = snapshot(&provider)
        .await
        .into_iter()
        .filter(|r| !common::REPORTED.contains(&r.kind.as_str()))
        .collect();
    assert!(
        empty.is_empty(),
        "left after deleting everything: {:?}",
        counts(&empty)
    );

    // Restore: create every record, kinds in dependency order.
    let restored = apply_all(&provider, &before, Action::Create, &mut ids).await;
    assert!(
        restored
            .values()
            .all(|o| matches!(o, Outcome::Applied { .. })),
        "{:?}",
        restored
            .iter()
            .filter(|(_, o)| !matches!(o, Outcome::Applied { .. }))
            .collect::<Vec<_>>()
    );
    let after = snapshot(&provider).await;
    assert_same_modulo_ids(&before, &after);

    // Re-created users and roles have new ids, and the id map knows them.
    let old_role = before
        .iter()
        .find(|r| r.kind == kinds::ROLE && r.key == "role-00")
        .unwrap();
    let new_role = after
        .iter()
        .find(|r| r.kind == kinds::ROLE && r.key == "role-00")
        .unwrap();
    assert_ne!(old_role.id, new_role.id);
    assert_eq!(
        ids.get(&(kinds::ROLE.to_string(), old_role.id.clone())),
        Some(&new_role.id)
    );
    // role-00 trusts role-29, created after it: its trust policy was saved again in full.
    assert_eq!(
        new_role.attrs["trust_policy"]["Statement"][1]["Principal"]["AWS"][0],
        seed::role_arn(seed::FULL.roles - 1)
    );

    // Running the same restore again changes nothing.
    let again = apply_all(&provider, &before, Action::Create, &mut ids).await;
    let not_done: Vec<_> = again
        .iter()
        .filter(|(_, o)| !matches!(o, Outcome::AlreadyDone { .. }))
        .collect();
    assert!(
        not_done.is_empty(),
        "a second restore still changed: {not_done:?}"
    );
    assert_same_modulo_ids(&before, &snapshot(&provider).await);
}
