//! Backup against the emulated tenant: completeness, paging, batches, throttling, tokens and
//! credential errors.

mod common;

use std::time::Duration;

use common::*;
use iamsnap_entra::kinds::*;
use iamsnap_provider::{ProviderError, ReadProvider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_every_kind_across_pages_and_batches() {
    let entra = emulator()
        .users(2_100)
        .groups(60)
        .apps(10)
        .policies(8)
        .seed(3)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let records = snapshot(&provider).await;
    let counts = counts(&records);

    let expected = entra.with_tenant(|t| {
        let dynamic: Vec<String> = t.objects["groups"]
            .iter()
            .filter(|(_, g)| g["groupTypes"].to_string().contains("DynamicMembership"))
            .map(|(id, _)| id.clone())
            .collect();
        let group_members: usize = t.objects["groups"]
            .keys()
            .filter(|id| !dynamic.contains(id))
            .map(|id| t.members.get(id).map_or(0, |m| m.len()))
            .sum();
        let unit_members: usize = t.objects["administrativeUnits"]
            .keys()
            .map(|id| t.members.get(id).map_or(0, |m| m.len()))
            .sum();
        let group_owners: usize = t.objects["groups"]
            .keys()
            .map(|id| t.owners.get(id).map_or(0, |m| m.len()))
            .sum();
        (
            t.objects["servicePrincipals"].len(),
            t.objects["administrativeUnits"].len(),
            group_members,
            group_owners,
            unit_members,
            t.app_role_assignments.len(),
            t.grants.len(),
            t.role_assignments
                .values()
                .filter(|a| a.get("scheduleInfo").is_none())
                .count(),
            t.named_locations.len(),
        )
    });
    let (custom_roles, eligibilities, scheduled) = entra.with_tenant(|t| {
        (
            t.role_definitions
                .values()
                .filter(|d| d["isBuiltIn"] == false)
                .count(),
            t.role_eligibilities.len(),
            t.role_assignments
                .values()
                .filter(|a| a.get("scheduleInfo").is_some())
                .count(),
        )
    });
    let (sps, units, members, owners, unit_members, assignments, grants, roles, locations) =
        expected;
    assert_eq!(counts[USER], 2_100);
    assert_eq!(counts[GROUP], 60);
    assert_eq!(counts[APPLICATION], 10);
    assert_eq!(counts[SERVICE_PRINCIPAL], sps);
    assert_eq!(counts[ADMINISTRATIVE_UNIT], units);
    assert_eq!(counts[GROUP_MEMBER], members);
    assert_eq!(counts[GROUP_OWNER], owners);
    assert_eq!(counts[ADMINISTRATIVE_UNIT_MEMBER], unit_members);
    assert_eq!(counts[APP_ROLE_ASSIGNMENT], assignments);
    assert_eq!(counts[OAUTH2_PERMISSION_GRANT], grants);
    assert_eq!(counts[DIRECTORY_ROLE_ASSIGNMENT], roles);
    // Custom roles only; most administrators eligible; time-bound active assignments are
    // schedules, not counted again as role assignments.
    assert_eq!(counts[ROLE_DEFINITION], custom_roles);
    assert!(custom_roles >= 2);
    assert_eq!(counts[ROLE_ELIGIBILITY], eligibilities);
    assert!(
        eligibilities > roles,
        "{eligibilities} eligible, {roles} active"
    );
    assert_eq!(counts[ROLE_ASSIGNMENT_SCHEDULE], scheduled);
    assert!(scheduled >= 1);
    assert!(records.iter().any(|r| r.kind == ROLE_ELIGIBILITY
        && r.refs.iter().any(|x| x.kind == ROLE_DEFINITION)
        && r.refs.iter().any(|x| x.kind == ADMINISTRATIVE_UNIT)));
    assert_eq!(counts[CONDITIONAL_ACCESS_POLICY], 8);
    assert_eq!(counts[NAMED_LOCATION], locations);
    assert_eq!(counts[AUTHENTICATION_METHODS_POLICY], 1);
    assert_eq!(counts[AUTHORIZATION_POLICY], 1);
    assert_eq!(counts[AUTHENTICATION_STRENGTH], 2, "custom strengths only");
    let (app_owners, sp_owners) = entra.with_tenant(|t| {
        let owners = |c: &str| -> usize {
            t.objects[c]
                .keys()
                .map(|id| t.owners.get(id).map_or(0, |m| m.len()))
                .sum()
        };
        (owners("applications"), owners("servicePrincipals"))
    });
    assert!(app_owners > 0 && sp_owners > 0, "{app_owners} {sp_owners}");
    assert_eq!(counts[APPLICATION_OWNER], app_owners);
    assert_eq!(counts[SERVICE_PRINCIPAL_OWNER], sp_owners);
    let federated = entra.with_tenant(|t| t.federated.values().map(|f| f.len()).sum::<usize>());
    assert!(federated >= 2);
    assert_eq!(counts[FEDERATED_CREDENTIAL], federated);
    let (token_policies, applied) = entra.with_tenant(|t| {
        let live = |sp: &String| t.objects["servicePrincipals"].contains_key(sp);
        (
            t.sts_policies.len(),
            t.policy_targets
                .values()
                .map(|s| s.iter().filter(|sp| live(sp)).count())
                .sum::<usize>(),
        )
    });
    assert!(token_policies >= 2 && applied >= 2);
    assert_eq!(
        counts[CLAIMS_MAPPING_POLICY] + counts[TOKEN_LIFETIME_POLICY],
        token_policies
    );
    assert_eq!(counts[SERVICE_PRINCIPAL_POLICY], applied);
    assert_eq!(counts[CROSS_TENANT_DEFAULT], 1);
    assert_eq!(
        counts[CROSS_TENANT_PARTNER],
        entra.with_tenant(|t| t.cross_tenant_partners.len())
    );
    assert!(counts[CROSS_TENANT_PARTNER] >= 2);
    assert_eq!(
        counts[TERMS_OF_USE],
        entra.with_tenant(|t| t.agreements.len())
    );
    assert!(
        records.iter().any(|r| r.kind == CONDITIONAL_ACCESS_POLICY
            && r.refs.iter().any(|x| x.kind == TERMS_OF_USE)),
        "a policy requiring terms of use names them by ref"
    );
    assert_eq!(
        counts[ROLE_SETTING],
        entra.with_tenant(|t| t.role_definitions.len()),
        "the PIM settings of every role, built in or custom"
    );

    // 2,100 users at $top=999 take three pages; members and owners went through $batch.
    assert!(entra.requests("GET /users") >= 3, "users read in pages");
    assert!(entra.requests("nextLink") >= 2);
    let batches = entra.requests("$batch");
    // 60 groups × 2 lists + units + service principals, at most 20 per batch.
    assert!(
        batches >= (60 * 2 + units as u64 + sps as u64).div_ceil(20),
        "{batches}"
    );

    // Managers are relationships; users keep the properties needed to re-create them.
    let with_manager = counts[USER_MANAGER];
    assert_eq!(with_manager, entra.with_tenant(|t| t.managers.len()));
    assert!(with_manager > 1_000, "{with_manager}");
    let user = records.iter().find(|r| r.kind == USER).unwrap();
    for field in [
        "accountEnabled",
        "usageLocation",
        "department",
        "mailNickname",
    ] {
        assert!(
            user.attrs.get(field).is_some(),
            "{field} missing: {}",
            user.attrs
        );
    }
    // Applications carry credential metadata, never secrets or their hints.
    let app_text: String = records
        .iter()
        .filter(|r| r.kind == APPLICATION)
        .map(|r| r.to_canonical_json())
        .collect();
    assert!(app_text.contains("passwordCredentials") && app_text.contains("keyId"));
    assert!(!app_text.contains("hint") && !app_text.contains("secretText"));
    // Conditional access policies point at the groups and locations they name.
    assert!(
        records
            .iter()
            .any(|r| r.kind == CONDITIONAL_ACCESS_POLICY && r.refs.iter().any(|x| x.kind == GROUP))
    );
    assert!(
        records.iter().any(|r| r.kind == CONDITIONAL_ACCESS_POLICY
            && r.refs.iter().any(|x| x.kind == NAMED_LOCATION))
    );
    // Memberships name both ends by key, including devices and nested groups.
    assert!(
        records
            .iter()
            .any(|r| r.kind == GROUP_MEMBER && r.key.contains("|device:"))
    );
    assert!(
        records
            .iter()
            .any(|r| r.kind == GROUP_MEMBER && r.key.contains("|group:"))
    );

    // The same tenant gives the same records, and fetch gives what the snapshot gave.
    let again = snapshot(&provider).await;
    assert_eq!(records, again);
    for kind in [
        USER,
        GROUP,
        GROUP_MEMBER,
        SERVICE_PRINCIPAL,
        APP_ROLE_ASSIGNMENT,
        OAUTH2_PERMISSION_GRANT,
        DIRECTORY_ROLE_ASSIGNMENT,
        CONDITIONAL_ACCESS_POLICY,
        NAMED_LOCATION,
        ADMINISTRATIVE_UNIT_MEMBER,
        AUTHENTICATION_METHODS_POLICY,
        APPLICATION,
        GROUP_OWNER,
        APPLICATION_OWNER,
        SERVICE_PRINCIPAL_OWNER,
        FEDERATED_CREDENTIAL,
        CLAIMS_MAPPING_POLICY,
        TOKEN_LIFETIME_POLICY,
        SERVICE_PRINCIPAL_POLICY,
        CROSS_TENANT_DEFAULT,
        CROSS_TENANT_PARTNER,
        TERMS_OF_USE,
        ROLE_SETTING,
        ROLE_DEFINITION,
        ROLE_ELIGIBILITY,
        ROLE_ASSIGNMENT_SCHEDULE,
        AUTHORIZATION_POLICY,
        AUTHENTICATION_STRENGTH,
    ] {
        let record = records.iter().find(|r| r.kind == kind).unwrap();
        let fetched = provider.fetch(kind, &record.key).await.unwrap();
        assert_eq!(fetched.as_ref(), Some(record), "{kind} {}", record.key);
    }
    assert_eq!(
        provider
            .fetch(USER, "nobody@contoso.onmicrosoft.com")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_requests_and_batch_items_wait_and_complete() {
    let reference = emulator()
        .users(300)
        .groups(40)
        .apps(6)
        .seed(9)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let expected = snapshot(&connect(&reference, SECRET, &dir)).await;

    let entra = emulator()
        .users(300)
        .groups(40)
        .apps(6)
        .seed(9)
        .rate_limit(30, Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let records = snapshot(&provider).await;
    assert_eq!(records, expected, "throttling lost or changed records");
    let stats = provider.stats();
    assert!(
        entra.requests("429:batch") > 0,
        "no batch item was throttled"
    );
    assert!(
        stats.throttled >= entra.requests("429"),
        "{stats:?} vs {}",
        entra.requests("429")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_with_retry_after_is_retried() {
    let entra = emulator()
        .users(20)
        .groups(4)
        .apps(2)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    entra.fail_next(2, 503);
    let records = snapshot(&provider).await;
    assert_eq!(counts(&records)[USER], 20);
    assert_eq!(entra.requests("fault:503"), 2);
    assert!(provider.stats().throttled >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire() {
    let entra = emulator()
        .users(10)
        .groups(3)
        .apps(1)
        .token_lifetime(Duration::from_secs(4))
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    snapshot(&provider).await;
    assert_eq!(
        entra.requests("token"),
        1,
        "one token serves a whole snapshot"
    );
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    snapshot(&provider).await;
    assert_eq!(
        entra.requests("token"),
        2,
        "refreshed a second before expiry"
    );
}

#[tokio::test]
async fn refused_credentials_and_missing_permissions_say_so_without_the_secret() {
    let entra = emulator()
        .client_with_permissions(
            "reader-app",
            "reader-secret-xyz",
            vec!["User.Read.All".into()],
        )
        .users(5)
        .groups(2)
        .apps(1)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let wrong = connect(&entra, "wrong-secret-abc", &dir);
    let err = try_snapshot(&wrong).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err:?}");
    let text = format!("{err} {err:?} {wrong:?}");
    assert!(
        text.contains("AADSTS7000215") && text.contains("client secret"),
        "{text}"
    );
    assert!(text.contains("/oauth2/v2.0/token"), "{text}");
    assert!(
        !text.contains("wrong-secret-abc") && !text.contains(SECRET),
        "{text}"
    );

    let reader = connect_with(&entra, "reader-app", "reader-secret-xyz", &dir, 2);
    let err = try_snapshot(&reader).await.unwrap_err();
    assert!(matches!(err, ProviderError::Forbidden { .. }), "{err:?}");
    let text = format!("{err} {err:?} {reader:?}");
    assert!(
        text.contains("Authorization_RequestDenied") && text.contains("/v1.0/"),
        "{text}"
    );
    assert!(text.contains("Grant the permissions"), "{text}");
    assert!(
        !text.contains("reader-secret-xyz") && !text.contains("Bearer"),
        "{text}"
    );
}
