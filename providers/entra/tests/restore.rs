//! Restore against the emulated tenant, driving `apply` in dependency order the way the engine
//! does: soft-deleted objects come back from the recycle bin with their ids, objects gone for
//! good are re-created and every reference to them rewritten, conditional access policies
//! come back report-only, and a second pass does nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use iamsnap_entra::kinds::*;
use iamsnap_provider::{
    Action, ConnectOptions, Operation, Outcome, ProviderError, ReadProvider, Record, WriteProvider,
    same_state, to_live,
};
use iamsnap_testkit::entra::RunningEntra;

/// Removes a directory object; `purge` also empties it from the recycle bin.
fn delete(entra: &RunningEntra, collection: &'static str, id: &str, purge: bool) {
    entra.with_tenant(|t| {
        t.delete(collection, id).expect("object exists");
        if purge {
            t.deleted.remove(id);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_and_changed_objects_come_back_and_a_second_pass_does_nothing() {
    // The size the connector is expected to handle in one go.
    let entra = emulator()
        .users(2_000)
        .groups(300)
        .apps(50)
        .policies(20)
        .seed(5)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;

    // An enabled policy scoped to a security group: both deleted for good.
    let security = |id: &str| {
        before.iter().any(|r| {
            r.kind == GROUP && r.id == id && r.attrs["groupTypes"] == serde_json::json!([])
        })
    };
    let policy = find(&before, CONDITIONAL_ACCESS_POLICY, |p| {
        p.attrs["state"] == "enabled"
            && p.attrs["conditions"]["users"]["includeGroups"]
                .as_array()
                .is_some_and(|g| g.len() == 1 && security(g[0].as_str().unwrap()))
    })
    .clone();
    let gone_group = policy.attrs["conditions"]["users"]["includeGroups"][0]
        .as_str()
        .unwrap()
        .to_string();
    // The break-glass account every policy excludes: purged as well.
    let gone_user = policy.attrs["conditions"]["users"]["excludeUsers"][0]
        .as_str()
        .unwrap()
        .to_string();
    let has_manager = |u: &Record| {
        before
            .iter()
            .any(|m| m.kind == USER_MANAGER && m.target("user").is_some_and(|x| x.id == u.id))
    };
    let soft_user = find(&before, USER, |u| {
        u.id != gone_user && u.attrs["userType"] == "Member" && has_manager(u)
    })
    .clone();
    let changed_user = find(&before, USER, |u| u.id != gone_user && u.id != soft_user.id).clone();
    let m365 = find(&before, GROUP, |g| {
        g.attrs["groupTypes"] == serde_json::json!(["Unified"])
    })
    .clone();
    let apps: Vec<&Record> = before.iter().filter(|r| r.kind == APPLICATION).collect();
    let (soft_app, gone_app) = (apps[0].clone(), apps[1].clone());
    let sp_of = |app: &Record| {
        find(&before, SERVICE_PRINCIPAL, |s| {
            s.attrs["appId"] == app.attrs["appId"]
        })
        .clone()
    };
    let (soft_sp, gone_sp) = (sp_of(&soft_app), sp_of(&gone_app));
    let gone_group_members: BTreeSet<String> =
        entra.with_tenant(|t| t.members[&gone_group].clone());
    assert!(!gone_group_members.is_empty());

    delete(&entra, "users", &soft_user.id, false);
    delete(&entra, "users", &gone_user, true);
    delete(&entra, "groups", &m365.id, false);
    delete(&entra, "groups", &gone_group, false);
    // Deleting an application deletes its service principal as well.
    delete(&entra, "applications", &soft_app.id, false);
    delete(&entra, "applications", &gone_app.id, true);
    entra.with_tenant(|t| {
        assert!(t.deleted.contains_key(&soft_sp.id));
        t.deleted
            .remove(&gone_sp.id)
            .expect("the service principal went too");
    });
    entra.with_tenant(|t| {
        assert!(
            !t.deleted.contains_key(&gone_group),
            "security groups are not soft-deleted"
        );
        t.ca_policies.remove(&policy.id);
        t.objects
            .get_mut("users")
            .unwrap()
            .get_mut(&changed_user.id)
            .unwrap()["department"] = "Changed".into();
    });

    let mut ids = Ids::new();
    let first = restore_pass(&provider, &before, &mut ids).await;

    // From the recycle bin, with their original ids.
    for (kind, record) in [
        (USER, &soft_user),
        (GROUP, &m365),
        (APPLICATION, &soft_app),
        (SERVICE_PRINCIPAL, &soft_sp),
    ] {
        assert_eq!(
            outcome_of(&first, kind, &record.key),
            &Outcome::Applied {
                id: record.id.clone()
            },
            "{kind} {}",
            record.key
        );
    }
    // Gone for good: re-created under new ids, which references now use.
    let new_group = ids[&(GROUP.to_string(), gone_group.clone())].clone();
    let new_user = ids[&(USER.to_string(), gone_user.clone())].clone();
    assert_ne!(new_group, gone_group);
    assert_ne!(new_user, gone_user);
    assert_ne!(
        ids[&(APPLICATION.to_string(), gone_app.id.clone())],
        gone_app.id
    );
    let (live_members, restored_policy) = entra.with_tenant(|t| {
        let policy = t
            .ca_policies
            .values()
            .find(|p| p["displayName"] == policy.key.as_str())
            .cloned()
            .expect("policy re-created");
        (
            t.members.get(&new_group).cloned().unwrap_or_default(),
            policy,
        )
    });
    let expected_members: BTreeSet<String> = gone_group_members
        .iter()
        .map(|m| {
            if *m == gone_user {
                new_user.clone()
            } else {
                m.clone()
            }
        })
        .collect();
    assert_eq!(
        live_members, expected_members,
        "memberships of the re-created group"
    );
    assert_eq!(
        restored_policy["state"],
        "enabledForReportingButNotEnforced"
    );
    assert_eq!(
        restored_policy["conditions"]["users"]["includeGroups"],
        serde_json::json!([new_group])
    );
    assert_eq!(
        restored_policy["conditions"]["users"]["excludeUsers"],
        serde_json::json!([new_user])
    );
    assert!(matches!(
        outcome_of(&first, USER, &changed_user.key),
        Outcome::Applied { .. }
    ));

    // Everything is back as it was, except what Entra cannot give back.
    let after = snapshot(&provider).await;
    let live: BTreeMap<(&str, &str), &Record> = after
        .iter()
        .map(|r| ((r.kind.as_str(), r.key.as_str()), r))
        .collect();
    for record in &before {
        let expected = to_live(record, &ids);
        let got = live
            .get(&(record.kind.as_str(), record.key.as_str()))
            .unwrap_or_else(|| panic!("{} {} not restored", record.kind, record.key));
        // What a restore cannot reach is what Entra never lets a client set, and nothing else:
        // the re-created application's appId and credentials (its service principal's appId),
        // and the state of the re-created policy.
        let reachable = provider.reachable(expected.clone(), got);
        assert!(
            same_state(&reachable, got),
            "{} {}: {} vs {}",
            record.kind,
            record.key,
            reachable.attrs,
            got.attrs
        );
        let unreachable: Vec<&String> = expected
            .attrs
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| got.attrs.get(k.as_str()) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        let documented: &[&str] = if record.id == policy.id {
            &["state"]
        } else if record.id == gone_app.id {
            &[
                "appId",
                "identifierUris",
                "passwordCredentials",
                "keyCredentials",
            ]
        } else if record.id == gone_sp.id {
            &["appId"]
        } else {
            &[]
        };
        for field in unreachable {
            assert!(
                documented.contains(&field.as_str()),
                "{} {}: {field}",
                record.kind,
                record.key
            );
        }
    }
    assert_eq!(after.len(), before.len());
    let new_app = &live[&(APPLICATION, gone_app.key.as_str())];
    let new_app_id = new_app.attrs["appId"].as_str().unwrap();
    assert_eq!(
        new_app.attrs["identifierUris"],
        serde_json::json!([format!("api://{new_app_id}")])
    );

    // The same operations again: nothing left to do.
    for (op, _) in &first {
        let again = provider.apply(op, &ids).await.unwrap();
        assert!(
            matches!(again, Outcome::AlreadyDone { .. }),
            "{} {}: {again:?}",
            op.kind,
            op.key
        );
    }

    // What the report lists: the re-created user's password, the application's credentials.
    let gone_user_record = find(&before, USER, |u| u.id == gone_user);
    assert!(
        provider
            .cannot_restore(gone_user_record)
            .iter()
            .any(|l| l.contains("temporary password"))
    );
    let notes = provider.cannot_restore(&gone_app);
    let credentials = gone_app.attrs["passwordCredentials"]
        .as_array()
        .unwrap()
        .len()
        + gone_app.attrs["keyCredentials"].as_array().unwrap().len();
    assert_eq!(
        notes.iter().filter(|l| l.contains("keyId")).count(),
        credentials
    );
    assert!(
        provider
            .cannot_restore(&policy)
            .iter()
            .any(|l| l.contains("report-only"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_state_is_restored_when_asked_and_links_are_removed_idempotently() {
    let entra = emulator()
        .users(20)
        .groups(8)
        .apps(2)
        .policies(4)
        .seed(2)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;
    let policy = find(&before, CONDITIONAL_ACCESS_POLICY, |p| {
        p.attrs["state"] == "enabled"
    })
    .clone();
    entra.with_tenant(|t| t.ca_policies.remove(&policy.id));
    assert!(
        provider
            .cannot_restore(&policy)
            .iter()
            .any(|l| l.contains("report-only"))
    );
    let provider = common::connect_options(
        &entra,
        &dir,
        &ConnectOptions {
            restore_policy_state: true,
            ..ConnectOptions::default()
        },
    );
    assert!(
        !provider
            .cannot_restore(&policy)
            .iter()
            .any(|l| l.contains("report-only"))
    );
    let ids = Ids::new();
    let create = Operation {
        action: Action::Create,
        kind: policy.kind.clone(),
        key: policy.key.clone(),
        desired: Some(policy.clone()),
        current: None,
    };
    assert!(matches!(
        provider.apply(&create, &ids).await.unwrap(),
        Outcome::Applied { .. }
    ));
    let live = provider
        .fetch(&policy.kind, &policy.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live.attrs["state"], "enabled");

    // Authoritative mode removes a membership the snapshot lacks; twice is harmless.
    let member = find(&before, GROUP_MEMBER, |m| m.key.contains("|user:")).clone();
    let delete = Operation {
        action: Action::Delete,
        kind: member.kind.clone(),
        key: member.key.clone(),
        desired: None,
        current: Some(member.clone()),
    };
    assert!(matches!(
        provider.apply(&delete, &ids).await.unwrap(),
        Outcome::Applied { .. }
    ));
    assert_eq!(
        provider.fetch(&member.kind, &member.key).await.unwrap(),
        None
    );
    assert!(matches!(
        provider.apply(&delete, &ids).await.unwrap(),
        Outcome::AlreadyDone { .. }
    ));

    // A membership whose group is gone cannot be created: the error says what to restore first.
    let group = member.target("group").unwrap().id.clone();
    delete_group(&entra, &group);
    let create = Operation {
        action: Action::Create,
        desired: Some(member.clone()),
        current: None,
        ..delete
    };
    let err = provider.apply(&create, &ids).await.unwrap_err();
    assert!(matches!(err, ProviderError::Precondition { .. }), "{err:?}");
    assert!(err.to_string().contains("restore it first"), "{err}");
}

fn delete_group(entra: &RunningEntra, id: &str) {
    entra.with_tenant(|t| {
        t.delete("groups", id);
        t.deleted.remove(id);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_roles_and_pim_schedules_come_back_with_the_new_role_id() {
    let entra = emulator()
        .users(300)
        .groups(40)
        .apps(6)
        .seed(7)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;
    let used = |role: &Record| {
        before.iter().any(|r| {
            r.kind == ROLE_ELIGIBILITY && r.target("role").is_some_and(|t| t.id == role.id)
        })
    };
    let policy = find(&before, CONDITIONAL_ACCESS_POLICY, |p| {
        p.refs.iter().any(|r| r.kind == ROLE_DEFINITION)
            && p.refs.iter().all(|r| r.kind != AUTHENTICATION_STRENGTH)
    })
    .clone();
    let in_policy = |role: &Record| policy.refs.iter().any(|r| r.id == role.id);
    let custom = find(&before, ROLE_DEFINITION, |r| used(r) && in_policy(r)).clone();
    let demanding = find(&before, CONDITIONAL_ACCESS_POLICY, |p| {
        p.refs.iter().any(|r| r.kind == AUTHENTICATION_STRENGTH)
    })
    .clone();
    let strength = find(&before, AUTHENTICATION_STRENGTH, |s| {
        demanding.refs.iter().any(|r| r.id == s.id)
    })
    .clone();
    let changed = find(&before, ROLE_DEFINITION, |r| r.id != custom.id).clone();
    let built_in =
        find(&before, ROLE_ELIGIBILITY, |r| r.target("role").is_none()).attrs["roleDefinitionId"]
            .as_str()
            .unwrap()
            .to_string();
    let active = find(&before, ROLE_ASSIGNMENT_SCHEDULE, |_| true).clone();

    // The incident: the custom role deleted with its eligibilities, every eligibility of a
    // built-in role removed, a time-bound assignment removed, another custom role changed.
    entra.with_tenant(|t| {
        t.role_eligibilities.retain(|_, e| {
            e["roleDefinitionId"] != custom.id.as_str()
                && e["roleDefinitionId"] != built_in.as_str()
        });
        t.role_assignments
            .retain(|_, a| a["roleDefinitionId"] != custom.id.as_str());
        t.role_assignments
            .remove(&active.id)
            .expect("the schedule exists");
        t.role_definitions
            .remove(&custom.id)
            .expect("the role exists");
        t.role_definitions.get_mut(&changed.id).unwrap()["isEnabled"] =
            serde_json::json!(!changed.attrs["isEnabled"].as_bool().unwrap());
        // The policy loses the role, the other policy the strength, which is then deleted.
        let p = t.ca_policies.get_mut(&policy.id).unwrap();
        p["conditions"]["users"]["includeRoles"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r != custom.id.as_str());
        t.ca_policies.get_mut(&demanding.id).unwrap()["grantControls"] =
            serde_json::json!({"operator": "OR", "builtInControls": ["mfa"]});
        t.strengths
            .remove(&strength.id)
            .expect("the strength exists");
    });
    let mut ids = Ids::new();
    let done = restore_pass(&provider, &before, &mut ids).await;
    assert!(matches!(
        outcome_of(&done, ROLE_DEFINITION, &custom.key),
        Outcome::Applied { .. }
    ));
    assert!(matches!(
        outcome_of(&done, ROLE_DEFINITION, &changed.key),
        Outcome::Applied { .. }
    ));
    let after = snapshot(&provider).await;
    let recreated = find(&after, ROLE_DEFINITION, |r| r.key == custom.key);
    assert_ne!(
        recreated.id, custom.id,
        "a deleted custom role gets a new id"
    );
    assert_eq!(recreated.attrs, custom.attrs);
    for kind in [
        ROLE_ELIGIBILITY,
        ROLE_ASSIGNMENT_SCHEDULE,
        DIRECTORY_ROLE_ASSIGNMENT,
    ] {
        let keys = |records: &[Record]| -> BTreeSet<String> {
            records
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| r.key.clone())
                .collect()
        };
        assert_eq!(keys(&after), keys(&before), "{kind}");
    }
    let eligible = after
        .iter()
        .filter(|r| r.kind == ROLE_ELIGIBILITY && r.key.starts_with(&format!("{}|", custom.key)));
    for e in eligible {
        assert_eq!(
            e.attrs["roleDefinitionId"],
            recreated.id.as_str(),
            "{}",
            e.key
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
async fn owners_and_federated_credentials_of_applications_come_back() {
    let entra = emulator()
        .users(200)
        .groups(10)
        .apps(6)
        .seed(11)
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let provider = connect(&entra, SECRET, &dir);
    let before = snapshot(&provider).await;
    let app_owner = find(&before, APPLICATION_OWNER, |_| true).clone();
    let sp_owner = find(&before, SERVICE_PRINCIPAL_OWNER, |_| true).clone();
    // An owned application deleted for good: it is re-created with a new id, and its owner
    // must follow it there.
    let purged_owner = find(&before, APPLICATION_OWNER, |r| r.key != app_owner.key).clone();
    let purged = purged_owner.target("application").unwrap().id.clone();
    let end = |r: &Record, rel: &str| r.target(rel).unwrap().id.clone();
    // Of the application with federated credentials: one deleted, the other changed.
    let gone_fic = find(&before, FEDERATED_CREDENTIAL, |_| true).clone();
    let changed_fic = find(&before, FEDERATED_CREDENTIAL, |f| f.key != gone_fic.key).clone();
    entra.with_tenant(|t| {
        let fics = t.federated.get_mut(&end(&gone_fic, "application")).unwrap();
        assert!(fics.remove(&gone_fic.id).is_some());
        fics.get_mut(&changed_fic.id).unwrap()["subject"] =
            serde_json::json!("repo:evil/fork:ref:refs/heads/main");
    });
    entra.with_tenant(|t| {
        for r in [&app_owner, &sp_owner] {
            let parent = if r.kind == APPLICATION_OWNER {
                end(r, "application")
            } else {
                end(r, "servicePrincipal")
            };
            assert!(t.owners.get_mut(&parent).unwrap().remove(&end(r, "owner")));
        }
    });
    // Graph deletes an application's service principal with it: both purged.
    let app_id = &find(&before, APPLICATION, |a| a.id == purged).attrs["appId"];
    let purged_sp = find(&before, SERVICE_PRINCIPAL, |s| &s.attrs["appId"] == app_id)
        .id
        .clone();
    delete(&entra, "applications", &purged, true);
    entra.with_tenant(|t| t.deleted.remove(&purged_sp));
    let gone = snapshot(&provider).await;
    assert!(
        !gone
            .iter()
            .any(|r| r.key == app_owner.key || r.key == sp_owner.key)
    );

    let mut ids = Ids::new();
    let done = restore_pass(&provider, &before, &mut ids).await;
    for r in [
        &app_owner,
        &sp_owner,
        &purged_owner,
        &gone_fic,
        &changed_fic,
    ] {
        assert!(
            matches!(outcome_of(&done, &r.kind, &r.key), Outcome::Applied { .. }),
            "{} {}",
            r.kind,
            r.key
        );
    }
    let after = snapshot(&provider).await;
    let recreated = find(&after, APPLICATION, |a| {
        a.key == purged_owner.attrs["application"].as_str().unwrap()
    });
    assert_ne!(recreated.id, purged, "a purged application gets a new id");
    let owners_of_new = entra.with_tenant(|t| t.owners.get(&recreated.id).cloned());
    assert!(owners_of_new.is_some_and(|o| o.contains(&end(&purged_owner, "owner"))));
    for r in [&gone_fic, &changed_fic] {
        let back = find(&after, FEDERATED_CREDENTIAL, |f| f.key == r.key);
        assert_eq!(back.attrs, r.attrs, "{}", r.key);
    }
    for r in [&app_owner, &sp_owner, &purged_owner] {
        assert!(
            after.iter().any(|a| a.kind == r.kind && a.key == r.key),
            "{} {}",
            r.kind,
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
