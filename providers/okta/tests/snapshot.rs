//! Reading a whole emulated org: completeness, paging, throttling, retries, auth errors.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use iamsnap_okta::kinds::*;
use iamsnap_provider::{ProviderError, ReadProvider, WriteProvider};
use iamsnap_testkit::okta::OktaEmulator;

use common::{count, counts, provider, snapshot};

#[tokio::test]
async fn full_read_matches_the_seed_and_pages_through_big_lists() {
    let okta = OktaEmulator::builder()
        .users(2_500)
        .groups(30)
        .apps(8)
        .seed(42)
        .token("read-token")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "read-token", 8);
    let records = snapshot(&p).await.unwrap();
    let got = counts(&records);
    let want = okta.with_org(|org| org.counts());

    assert_eq!(
        count(&got, USER),
        2_500,
        "every seeded user, deprovisioned ones included"
    );
    assert_eq!(count(&got, USER), want.users);
    assert_eq!(count(&got, GROUP), want.groups);
    assert_eq!(count(&got, GROUP), 30);
    assert_eq!(count(&got, GROUP_MEMBERSHIP), want.group_memberships);
    assert_eq!(count(&got, GROUP_RULE), want.group_rules);
    assert_eq!(count(&got, APP), want.apps);
    assert_eq!(count(&got, APP_USER), want.app_user_assignments);
    assert_eq!(count(&got, APP_GROUP), want.app_group_assignments);
    assert_eq!(count(&got, POLICY), want.policies);
    assert_eq!(count(&got, POLICY_RULE), want.policy_rules);
    assert_eq!(count(&got, NETWORK_ZONE), want.network_zones);
    assert_eq!(count(&got, ADMIN_ROLE), want.admin_role_assignments);
    assert_eq!(count(&got, USER_TYPE), want.user_types);
    // One profile schema per user type.
    assert_eq!(count(&got, USER_SCHEMA), want.user_schemas);
    assert_eq!(count(&got, AUTH_SERVER), want.authorization_servers);
    assert_eq!(count(&got, AUTH_SCOPE), want.auth_server_scopes);
    assert_eq!(count(&got, AUTH_CLAIM), want.auth_server_claims);
    assert_eq!(count(&got, AUTH_POLICY), want.auth_server_policies);
    assert_eq!(count(&got, AUTH_RULE), want.auth_server_rules);
    assert_eq!(count(&got, TRUSTED_ORIGIN), want.trusted_origins);
    assert_eq!(count(&got, IDP), want.identity_providers);
    assert_eq!(count(&got, IDP_KEY), want.idp_keys);
    assert_eq!(count(&got, AUTHENTICATOR), want.authenticators);
    assert_eq!(count(&got, BEHAVIOR), want.behaviors);
    assert_eq!(count(&got, GROUP_OWNER), want.group_owners);
    assert!(want.authenticators >= 6 && want.behaviors >= 5 && want.group_owners >= 3);
    assert_eq!(count(&got, GROUP_SCHEMA), want.group_schemas);
    assert_eq!(count(&got, APP_USER_SCHEMA), want.app_user_schemas);
    assert_eq!(count(&got, PROFILE_MAPPING), want.profile_mappings);
    assert_eq!(want.profile_mappings, 2 * want.apps);
    assert_eq!(count(&got, CUSTOM_ROLE), want.custom_roles);
    assert_eq!(count(&got, RESOURCE_SET), want.resource_sets);
    assert_eq!(
        count(&got, RESOURCE_SET_BINDING),
        want.resource_set_bindings
    );
    assert!(want.custom_roles >= 2 && want.resource_set_bindings >= 2);
    assert_eq!(count(&got, EVENT_HOOK), want.event_hooks);
    assert_eq!(count(&got, INLINE_HOOK), want.inline_hooks);
    assert_eq!(count(&got, LOG_STREAM), want.log_streams);
    assert!(want.event_hooks >= 2 && want.inline_hooks >= 2 && want.log_streams >= 2);
    assert_eq!(count(&got, BRAND), want.brands);
    assert_eq!(count(&got, BRAND_THEME), want.brand_themes);
    assert_eq!(count(&got, EMAIL_SETTINGS), want.email_template_settings);
    assert_eq!(count(&got, EMAIL_CUSTOMIZATION), want.email_customizations);
    assert!(want.brands >= 2 && want.email_customizations >= 3);
    assert!(
        want.authorization_servers >= 3 && want.auth_server_rules >= 3 && want.trusted_origins > 0
    );
    assert!(
        want.group_memberships > 1_000
            && want.app_user_assignments > 0
            && want.admin_role_assignments > 0
    );

    // Paging really happened: users come 200 a page, members 1,000 a page.
    assert!(
        okta.requests("/api/v1/users") >= 13,
        "{}",
        okta.requests("/api/v1/users")
    );
    let (big, size) = okta.with_org(|org| org.largest_group()).unwrap();
    assert!(
        size > 1_000,
        "the seed has a group bigger than one page ({size})"
    );
    assert!(okta.requests(&format!("/api/v1/groups/{big}/users")) >= 2);

    // Ids are unique per kind, and no secret or volatile field made it into a record.
    let mut seen = BTreeSet::new();
    for r in &records {
        assert!(
            seen.insert((r.kind.clone(), r.id.clone())),
            "duplicate {} {}",
            r.kind,
            r.id
        );
        let line = r.to_canonical_json();
        for volatile in [
            "\"lastLogin\"",
            "\"lastUpdated\"",
            "\"_links\"",
            "\"client_secret\"",
            "\"passwordChanged\"",
        ] {
            assert!(!line.contains(volatile), "{volatile} in {line}");
        }
    }
    let stats = p.stats();
    assert_eq!(stats.requests, okta.requests("*"));
    assert_eq!((stats.throttled, stats.retries), (0, 0));
}

#[tokio::test]
async fn every_kind_can_be_fetched_back_by_key() {
    let okta = OktaEmulator::builder()
        .users(300)
        .groups(12)
        .apps(4)
        .seed(5)
        .token("t")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let records = snapshot(&p).await.unwrap();
    let mut checked = BTreeSet::new();
    for r in &records {
        if !checked.insert(r.kind.clone()) {
            continue;
        }
        let fetched = p.fetch(&r.kind, &r.key).await.unwrap();
        assert_eq!(fetched.as_ref(), Some(r), "{} {}", r.kind, r.key);
    }
    assert_eq!(checked.len(), KINDS_COUNT);
    assert_eq!(p.fetch(USER, "nobody@example.com").await.unwrap(), None);
    assert_eq!(
        p.fetch(GROUP_MEMBERSHIP, "Staff|nobody@example.com")
            .await
            .unwrap(),
        None
    );
    let me = okta
        .with_org(|org| org.login_of(org.token_owner()))
        .unwrap();
    let identity = p.self_identity().await.unwrap().unwrap();
    assert_eq!(
        (identity.kind.as_str(), identity.key.as_str()),
        (USER, me.as_str())
    );
    // The emulator's token owner is a super admin.
    assert!(
        identity
            .grants
            .iter()
            .any(|g| g.kind == ADMIN_ROLE && g.key == format!("user:{me}|SUPER_ADMIN")),
        "{identity:?}"
    );
}

const KINDS_COUNT: usize = KINDS.len();

#[tokio::test]
async fn a_tight_rate_limit_is_waited_out_and_counted() {
    let seed = |b: OktaEmulator| b.users(450).groups(6).apps(2).seed(9).token("t");
    let free = seed(OktaEmulator::builder()).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let baseline = counts(
        &snapshot(&provider(&free, dir.path(), "t", 8))
            .await
            .unwrap(),
    );

    let tight = seed(OktaEmulator::builder())
        .rate_limit(6, Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let p = provider(&tight, dir.path(), "t", 8);
    let got = counts(&snapshot(&p).await.unwrap());
    assert_eq!(
        got, baseline,
        "a throttled read is as complete as a free one"
    );
    assert!(tight.requests("429") > 0, "the emulator answered 429");
    assert_eq!(p.stats().throttled, tight.requests("429"));
}

#[tokio::test]
async fn server_errors_are_retried() {
    let okta = OktaEmulator::builder()
        .users(250)
        .groups(5)
        .apps(2)
        .seed(3)
        .token("t")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let baseline = counts(&snapshot(&p).await.unwrap());
    let before = p.stats();
    okta.fail_next(3, 500);
    okta.fail_next(1, 503);
    let again = counts(&snapshot(&p).await.unwrap());
    assert_eq!(again, baseline);
    assert_eq!(p.stats().retries - before.retries, 4);
}

#[tokio::test]
async fn a_wrong_token_fails_clearly_without_showing_it() {
    let okta = OktaEmulator::builder()
        .users(10)
        .groups(3)
        .apps(1)
        .token("right")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "wrong-token-value", 2);
    let err = snapshot(&p).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err:?}");
    let text = format!("{err} / {err:?} / {p:?}");
    assert!(text.contains(okta.base_url()), "{text}");
    assert!(
        text.contains("E0000011: Invalid token provided"),
        "Okta's error read as code and summary: {text}"
    );
    assert!(!text.contains("wrong-token-value"), "{text}");
    assert!(p.healthcheck().await.unwrap_err().is_auth());
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t"), "x").unwrap();
    let config = iamsnap_okta::OktaConfig {
        org_url: "http://acme.okta.com".into(),
        token_env: None,
        token_file: Some("t".into()),
        concurrency: None,
    };
    let err = iamsnap_okta::OktaProvider::new(
        "prod",
        &config,
        dir.path(),
        &iamsnap_provider::ConnectOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}

#[tokio::test]
async fn every_policy_type_is_read_and_a_type_the_org_lacks_is_skipped() {
    let okta = OktaEmulator::builder()
        .users(10)
        .groups(4)
        .apps(2)
        .seed(5)
        .token("t")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let types = |records: &[iamsnap_provider::Record]| {
        records
            .iter()
            .filter(|r| r.kind == POLICY)
            .map(|r| r.attrs["type"].as_str().unwrap().to_string())
            .collect::<BTreeSet<_>>()
    };
    let all = types(&snapshot(&p).await.unwrap());
    for t in [
        "SESSION_VIOLATION_DETECTION",
        "CLIENT_UPDATE",
        "IDENTITY_CLAIM_SOURCING",
    ] {
        assert!(all.contains(t), "{t} policies are backed up: {all:?}");
    }
    // An org without a type's feature answers 400 for it: the rest is read all the same.
    okta.with_org(|o| o.disable_policy_type("CLIENT_UPDATE"));
    let lacking = types(&snapshot(&p).await.unwrap());
    assert!(!lacking.contains("CLIENT_UPDATE"));
    assert_eq!(lacking.len(), all.len() - 1);
}

#[tokio::test]
async fn policies_of_types_the_connector_does_not_know_are_saved_and_counted() {
    let okta = OktaEmulator::builder()
        .users(10)
        .groups(4)
        .apps(3)
        .seed(5)
        .token("t")
        .start()
        .await
        .unwrap();
    let (listed, unlisted, renamed) = okta.with_org(|o| {
        // A type the reference does not name, listed by the org; one no list answers for but
        // an app is bound to; and a documented type whose list answers with another name.
        let listed = o.add_policy_of_type("FUTURE_POLICY", "Future", true);
        let unlisted = o.add_policy_of_type("HIDDEN_POLICY", "Hidden", false);
        let app = o.apps_json()[0]["id"].as_str().unwrap().to_string();
        assert!(o.bind_app_to_policy(&app, &unlisted));
        let renamed = o.add_policy_of_type("DEVICE_SIGNAL_COLLECTION_V2", "Signals", false);
        o.alias_policy_type("DEVICE_SIGNAL_COLLECTION", "DEVICE_SIGNAL_COLLECTION_V2");
        (listed, unlisted, renamed)
    });
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let records = snapshot(&p).await.unwrap();
    let policy = |id: &str| {
        records
            .iter()
            .find(|r| r.kind == POLICY && r.id == id)
            .unwrap_or_else(|| panic!("policy {id} is backed up"))
    };
    // FUTURE_POLICY is not asked for by name: only an org that lists it under a known type,
    // or points at one of its policies, reveals it.
    assert!(records.iter().all(|r| r.id != listed));
    assert_eq!(policy(&unlisted).key, "HIDDEN_POLICY|Hidden");
    assert_eq!(policy(&renamed).key, "DEVICE_SIGNAL_COLLECTION_V2|Signals");
    assert_eq!(
        policy(&renamed).attrs["type"],
        "DEVICE_SIGNAL_COLLECTION_V2"
    );
    // Their rules come along, and each policy is recorded once.
    for id in [&unlisted, &renamed] {
        assert!(
            records
                .iter()
                .any(|r| r.kind == POLICY_RULE && r.target("policy").is_some_and(|t| t.id == *id)),
            "the rules of {id}"
        );
    }
    let mut ids: Vec<&str> = records
        .iter()
        .filter(|r| r.kind == POLICY)
        .map(|r| r.id.as_str())
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all);
    // Fetching by key asks the org for the type, known or not.
    assert_eq!(
        p.fetch(POLICY, "HIDDEN_POLICY|Hidden").await.unwrap(),
        None,
        "a type no list answers for cannot be read back by key"
    );
    let fetched = p
        .fetch(POLICY, "DEVICE_SIGNAL_COLLECTION_V2|Signals")
        .await
        .unwrap();
    assert_eq!(fetched.as_ref(), Some(policy(&renamed)));
}

#[tokio::test]
async fn an_org_without_identity_governance_has_no_group_owners_and_is_asked_once() {
    let okta = OktaEmulator::builder()
        .users(20)
        .groups(8)
        .apps(2)
        .seed(5)
        .token("t")
        .start()
        .await
        .unwrap();
    okta.with_org(|o| o.disable_governance());
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let records = snapshot(&p).await.unwrap();
    assert!(records.iter().all(|r| r.kind != GROUP_OWNER));
    assert!(records.iter().any(|r| r.kind == GROUP));
    assert_eq!(okta.requests("/api/v1/groups/{id}/owners"), 1);
}

#[tokio::test]
async fn an_org_whose_token_may_not_read_custom_roles_saves_none_of_them() {
    let okta = OktaEmulator::builder()
        .users(20)
        .groups(6)
        .apps(2)
        .seed(5)
        .token("t")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let all = counts(&snapshot(&p).await.unwrap());
    for kind in [CUSTOM_ROLE, RESOURCE_SET, RESOURCE_SET_BINDING] {
        assert!(count(&all, kind) > 0, "{kind}");
    }
    // 403 E0000006 on /api/v1/iam/roles and /api/v1/iam/resource-sets.
    okta.with_org(|o| o.disable_custom_roles());
    let without = counts(&snapshot(&p).await.unwrap());
    for kind in [CUSTOM_ROLE, RESOURCE_SET, RESOURCE_SET_BINDING] {
        assert_eq!(count(&without, kind), 0, "{kind}");
    }
    assert_eq!(count(&without, USER), count(&all, USER));
    assert_eq!(count(&without, ADMIN_ROLE), count(&all, ADMIN_ROLE));
}

#[tokio::test]
async fn an_org_without_log_streaming_saves_no_log_stream() {
    let okta = OktaEmulator::builder()
        .users(10)
        .groups(5)
        .apps(2)
        .seed(5)
        .token("t")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let all = counts(&snapshot(&p).await.unwrap());
    assert!(count(&all, LOG_STREAM) > 0);
    okta.with_org(|o| o.disable_log_streaming());
    let without = counts(&snapshot(&p).await.unwrap());
    assert_eq!(count(&without, LOG_STREAM), 0);
    assert_eq!(count(&without, EVENT_HOOK), count(&all, EVENT_HOOK));
}
