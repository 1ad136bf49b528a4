//! Partial incidents restored with update and create operations, and the paging of listings.

mod common;

use std::collections::BTreeMap;

use common::{Moto, assert_same_modulo_ids, by_key, no_ids, seed, snapshot};
use iamsnap_aws_iam::kinds;
use iamsnap_provider::{Action, Operation, Outcome, ReadProvider, Record, WriteProvider};
use serde_json::json;

fn op(action: Action, desired: Option<&Record>, current: Option<&Record>) -> Operation {
    let any = desired.or(current).unwrap();
    Operation {
        action,
        kind: any.kind.clone(),
        key: any.key.clone(),
        desired: desired.cloned(),
        current: current.cloned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_trust_deleted_version_and_lost_membership_are_restored() {
    let moto = Moto::start();
    let iam = moto.iam();
    seed::seed(&iam, seed::SMALL).await;
    let provider = moto.provider();
    provider.healthcheck().await.unwrap();
    // moto's caller is the user `moto`: restore must never delete it.
    let me = provider.self_identity().await.unwrap().unwrap();
    assert_eq!((me.kind.as_str(), me.key.as_str()), (kinds::USER, "moto"));
    assert!(me.grants.is_empty(), "moto's caller is no IAM user: {me:?}");
    let before = snapshot(&provider).await;
    let snap = by_key(&before);
    // A user fetched alone has what a snapshot reads about it beyond the details.
    let user = provider
        .fetch(kinds::USER, "user-00")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user,
        snap[&(kinds::USER.to_string(), "user-00".to_string())]
    );
    assert_eq!(user.attrs["console_password"], true);
    let policy = provider
        .fetch(kinds::POLICY, "policy-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        policy,
        snap[&(kinds::POLICY.to_string(), "policy-01".to_string())]
    );
    let get = |kind: &str, key: &str| snap[&(kind.to_string(), key.to_string())].clone();

    // An attacker widens one role's trust, retags it and shortens its sessions, deletes a
    // policy version and takes a user out of a group.
    iam.update_assume_role_policy()
        .role_name("role-01")
        .policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]}).to_string())
        .send()
        .await
        .unwrap();
    iam.tag_role()
        .role_name("role-01")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("env")
                .value("pwned")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    iam.update_role()
        .role_name("role-01")
        .max_session_duration(43200)
        .send()
        .await
        .unwrap();
    let policy = get(kinds::POLICY, "policy-02");
    assert_eq!(policy.attrs["versions"].as_array().unwrap().len(), 3);
    let versions = iam
        .list_policy_versions()
        .policy_arn(seed::policy_arn(2))
        .send()
        .await
        .unwrap();
    let victim = versions
        .versions()
        .iter()
        .find(|v| !v.is_default_version())
        .unwrap()
        .version_id()
        .unwrap()
        .to_string();
    iam.delete_policy_version()
        .policy_arn(seed::policy_arn(2))
        .version_id(victim)
        .send()
        .await
        .unwrap();
    let membership = before
        .iter()
        .find(|r| r.kind == kinds::GROUP_MEMBERSHIP)
        .unwrap()
        .clone();
    let (group, user) = membership.key.split_once('|').unwrap();
    iam.remove_user_from_group()
        .group_name(group)
        .user_name(user)
        .send()
        .await
        .unwrap();

    let broken = snapshot(&provider).await;
    let live = by_key(&broken);
    let live_get = |kind: &str, key: &str| live.get(&(kind.to_string(), key.to_string())).cloned();
    assert_ne!(
        live_get(kinds::ROLE, "role-01").unwrap().attrs,
        get(kinds::ROLE, "role-01").attrs
    );
    assert!(live_get(kinds::GROUP_MEMBERSHIP, &membership.key).is_none());

    let ids = no_ids();
    let role = get(kinds::ROLE, "role-01");
    let outcome = provider
        .apply(
            &op(
                Action::Update,
                Some(&role),
                live_get(kinds::ROLE, "role-01").as_ref(),
            ),
            &ids,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let outcome = provider
        .apply(
            &op(
                Action::Update,
                Some(&policy),
                live_get(kinds::POLICY, "policy-02").as_ref(),
            ),
            &ids,
        )
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let outcome = provider
        .apply(&op(Action::Create, Some(&membership), None), &ids)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");

    assert_same_modulo_ids(&before, &snapshot(&provider).await);
    // Each again: nothing left to do.
    for (action, record) in [
        (Action::Update, &role),
        (Action::Update, &policy),
        (Action::Create, &membership),
    ] {
        let outcome = provider
            .apply(&op(action, Some(record), None), &ids)
            .await
            .unwrap();
        assert!(
            matches!(outcome, Outcome::AlreadyDone { .. }),
            "{} {}: {outcome:?}",
            record.kind,
            record.key
        );
    }
    // fetch reads one object back for verification.
    let fetched = provider
        .fetch(kinds::ROLE, "role-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fetched.attrs, role.attrs);
    // Further fetches of the kind reuse that read; an apply drops it.
    let requests = provider.stats().requests;
    assert!(
        provider
            .fetch(kinds::ROLE, "no-such-role")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        provider.stats().requests,
        requests,
        "a second fetch of roles read again"
    );
    let mut renamed = role.clone();
    renamed.attrs["description"] = json!("changed by a restore");
    let outcome = provider
        .apply(&op(Action::Update, Some(&renamed), None), &ids)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let fetched = provider
        .fetch(kinds::ROLE, "role-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fetched.attrs["description"], "changed by a restore");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_at_five_versions_gets_a_new_default_within_the_limit() {
    let moto = Moto::start();
    let iam = moto.iam();
    seed::seed(&iam, seed::SMALL).await;
    let provider = moto.provider();
    // policy-04 is not seeded at SMALL scale: make one with five versions, default v2.
    let mut desired = snapshot(&provider)
        .await
        .into_iter()
        .find(|r| r.key == "policy-02")
        .unwrap();
    let docs: Vec<_> = (1..=5)
        .map(|v| serde_json::from_str::<serde_json::Value>(&seed::policy_doc(2, 10 + v)).unwrap())
        .collect();
    desired.attrs["versions"] = docs
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"document": d, "default": i == 4}))
        .collect();
    let desired = Record::new(
        desired.kind,
        desired.id,
        desired.key,
        desired.attrs,
        desired.refs,
    );
    let outcome = provider
        .apply(&op(Action::Update, Some(&desired), None), &no_ids())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let live = provider
        .fetch(kinds::POLICY, "policy-02")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.attrs["versions"], desired.attrs["versions"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_id_principal_is_mapped_to_the_recreated_role() {
    let moto = Moto::start();
    let iam = moto.iam();
    seed::seed(&iam, seed::SMALL).await;
    let provider = moto.provider();
    let before = snapshot(&provider).await;
    let target = before
        .iter()
        .find(|r| r.kind == kinds::ROLE && r.key == "role-02")
        .unwrap()
        .clone();
    assert!(target.id.starts_with("AROA"), "{}", target.id);

    // A snapshot whose trust policy shows a principal by unique id, as IAM does once that
    // principal was deleted; the id map says which live role it became.
    let mut trusting = before
        .iter()
        .find(|r| r.kind == kinds::ROLE && r.key == "role-00")
        .unwrap()
        .clone();
    trusting.key = "role-new".into();
    trusting.attrs["trust_policy"] = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "AROAOLDIDOFROLE02XYZ"}, "Action": "sts:AssumeRole"}]});
    let mut ids = BTreeMap::new();
    ids.insert(
        (kinds::ROLE.to_string(), "AROAOLDIDOFROLE02XYZ".to_string()),
        target.id.clone(),
    );
    let outcome = provider
        .apply(&op(Action::Create, Some(&trusting), None), &ids)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    let live = provider
        .fetch(kinds::ROLE, "role-new")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        live.attrs["trust_policy"]["Statement"][0]["Principal"]["AWS"],
        seed::role_arn(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_follows_markers_when_listings_page() {
    let moto = Moto::start();
    let iam = moto.iam();
    // moto pages ListRoles at 100 by default: 130 roles make the snapshot's ListRoles page.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string();
    for i in 0..130 {
        iam.create_role()
            .role_name(format!("fn-{i:03}"))
            .assume_role_policy_document(&trust)
            .description(format!("function {i}"))
            .send()
            .await
            .unwrap();
    }
    let raw = iam.list_roles().send().await.unwrap();
    assert!(
        raw.is_truncated(),
        "moto stopped paging ListRoles; this test no longer covers Marker"
    );
    let provider = moto.provider();
    let roles: Vec<Record> = snapshot(&provider)
        .await
        .into_iter()
        .filter(|r| r.kind == kinds::ROLE)
        .collect();
    assert_eq!(roles.len(), 130);
    // The descriptions come from ListRoles: the ones past the first page are there too.
    assert!(roles.iter().all(|r| {
        r.attrs["description"]
            == format!(
                "function {}",
                &r.key[3..]
                    .trim_start_matches('0')
                    .parse::<u32>()
                    .unwrap_or(0)
            )
    }));
}
