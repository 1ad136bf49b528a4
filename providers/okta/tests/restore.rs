//! Writing to an emulated org: delete, re-create and update every kind, idempotently, with
//! references rewritten to the ids of re-created objects.

mod common;

use std::collections::BTreeMap;

use iamsnap_okta::OktaProvider;
use iamsnap_okta::kinds::*;
use iamsnap_provider::{
    Action, ConnectOptions, Operation, Outcome, ProviderError, ReadProvider, Record, WriteProvider,
};
use iamsnap_testkit::okta::{OktaEmulator, RunningOkta};
use serde_json::json;

use common::{provider, snapshot};

type Ids = BTreeMap<(String, String), String>;

struct Org {
    okta: RunningOkta,
    p: OktaProvider,
    records: Vec<Record>,
    ids: Ids,
    _dir: tempfile::TempDir,
}

async fn org() -> Org {
    let okta = OktaEmulator::builder()
        .users(400)
        .groups(40)
        .apps(8)
        .seed(11)
        .token("w")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "w", 4);
    let mut records = snapshot(&p).await.unwrap();
    // In archive order, so that `find` picks the same records on every run (the connector
    // reads lists concurrently).
    records.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    // Nothing re-created yet: every snapshot id is its own live id.
    let ids = records
        .iter()
        .map(|r| ((r.kind.clone(), r.id.clone()), r.id.clone()))
        .collect();
    Org {
        okta,
        p,
        records,
        ids,
        _dir: dir,
    }
}

impl Org {
    fn find(&self, kind: &str, pick: impl Fn(&Record) -> bool) -> Record {
        self.records
            .iter()
            .find(|r| r.kind == kind && pick(r))
            .unwrap_or_else(|| panic!("no {kind} record as wanted"))
            .clone()
    }

    async fn run(
        &self,
        action: Action,
        desired: Option<&Record>,
        current: Option<&Record>,
    ) -> Outcome {
        let record = desired.or(current).unwrap();
        let op = Operation {
            action,
            kind: record.kind.clone(),
            key: record.key.clone(),
            desired: desired.cloned(),
            current: current.cloned(),
        };
        self.p
            .apply(&op, &self.ids)
            .await
            .unwrap_or_else(|e| panic!("{action:?} {} {}: {e}", record.kind, record.key))
    }

    /// `attrs` with the ids of re-created objects replaced by their new ids.
    fn with_live_ids(&self, attrs: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match attrs {
            Value::String(s) => {
                let renamed = self
                    .ids
                    .iter()
                    .find(|((_, old), _)| old == s)
                    .map(|(_, new)| new.clone());
                Value::String(renamed.unwrap_or_else(|| s.clone()))
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.with_live_ids(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.with_live_ids(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    async fn live(&self, r: &Record) -> Option<Record> {
        self.p.fetch(&r.kind, &r.key).await.unwrap()
    }

    /// Deletes `r`, checks it is gone, re-creates it, checks it is back as it was, and that
    /// both operations are idempotent. Returns the new live id.
    async fn delete_and_recreate(&mut self, r: &Record) -> String {
        let current = self
            .live(r)
            .await
            .unwrap_or_else(|| panic!("{} {} exists before the delete", r.kind, r.key));
        assert!(matches!(
            self.run(Action::Delete, None, Some(&current)).await,
            Outcome::Applied { .. }
        ));
        assert_eq!(self.live(r).await, None, "{} {} deleted", r.kind, r.key);
        assert!(
            matches!(
                self.run(Action::Delete, None, Some(&current)).await,
                Outcome::AlreadyDone { .. }
            ),
            "deleting {} {} twice is a no-op",
            r.kind,
            r.key
        );
        let Outcome::Applied { id } = self.run(Action::Create, Some(r), None).await else {
            panic!("create {} {}", r.kind, r.key);
        };
        self.ids.insert((r.kind.clone(), r.id.clone()), id.clone());
        let back = self.live(r).await.expect("re-created");
        assert_eq!(back.id, id);
        assert_eq!(
            back.attrs,
            self.with_live_ids(&r.attrs),
            "{} {} comes back as it was",
            r.kind,
            r.key
        );
        let again = self.run(Action::Create, Some(r), None).await;
        if r.kind == GROUP_MEMBERSHIP {
            // Okta's add-member is idempotent: put again, nothing changes.
            assert_eq!(again, Outcome::Applied { id: id.clone() });
        } else {
            assert_eq!(
                again,
                Outcome::AlreadyDone { id: id.clone() },
                "creating twice finds the first"
            );
        }
        assert_eq!(self.live(r).await.map(|l| l.id), Some(id.clone()));
        id
    }
}

#[tokio::test]
async fn every_kind_round_trips_through_delete_and_create() {
    let mut o = org().await;
    let with_members: Vec<String> = o
        .records
        .iter()
        .filter(|r| r.kind == GROUP_MEMBERSHIP && !r.key.starts_with("Staff|"))
        .map(|r| r.target("group").unwrap().id.clone())
        .collect();
    let group = o.find(GROUP, |r| {
        r.attrs["type"] == "OKTA_GROUP" && r.key != "Staff" && with_members.contains(&r.id)
    });
    let new_group = o.delete_and_recreate(&group).await;
    assert_ne!(
        new_group, group.id,
        "Okta gives a re-created group a new id"
    );

    // Its memberships come back through the id map.
    let members: Vec<Record> = o
        .records
        .iter()
        .filter(|r| r.kind == GROUP_MEMBERSHIP && r.target("group").unwrap().id == group.id)
        .cloned()
        .collect();
    assert!(!members.is_empty());
    for m in &members {
        assert_eq!(
            o.live(m).await,
            None,
            "deleting the group removed its members"
        );
        let outcome = o.run(Action::Create, Some(m), None).await;
        assert!(matches!(outcome, Outcome::Applied { ref id } if id.starts_with(&new_group)));
        // Run again, the create changes nothing: Okta's add-member is idempotent.
        assert!(matches!(
            o.run(Action::Create, Some(m), None).await,
            Outcome::Applied { ref id } if id.starts_with(&new_group)
        ));
        assert!(o.live(m).await.is_some());
    }

    let member = o.find(GROUP_MEMBERSHIP, |r| r.key.starts_with("Staff|"));
    o.delete_and_recreate(&member).await;
    let rule = o.find(GROUP_RULE, |r| r.attrs["status"] == "ACTIVE");
    o.delete_and_recreate(&rule).await;
    let inactive_rule = o.find(GROUP_RULE, |r| r.attrs["status"] == "INACTIVE");
    o.delete_and_recreate(&inactive_rule).await;
    let assignment = o.find(APP_USER, |_| true);
    o.delete_and_recreate(&assignment).await;
    let app_group = o.find(APP_GROUP, |_| true);
    o.delete_and_recreate(&app_group).await;
    for name in ["bookmark", "template_swa", "oidc_client"] {
        let app = o.find(APP, |r| r.attrs["name"] == name);
        o.delete_and_recreate(&app).await;
    }
    let with_rules: Vec<String> = o
        .records
        .iter()
        .filter(|r| r.kind == POLICY_RULE && r.attrs["system"] == false)
        .map(|r| r.target("policy").unwrap().id.clone())
        .collect();
    let policy = o.find(POLICY, |r| {
        r.attrs["system"] == false && with_rules.contains(&r.id)
    });
    o.delete_and_recreate(&policy).await;
    // The re-created policy lost its rules with it (but the default rule Okta makes with a
    // policy of some types); they come back under its new id.
    let own_rules: Vec<Record> = o
        .records
        .iter()
        .filter(|r| r.kind == POLICY_RULE && r.target("policy").unwrap().id == policy.id)
        .cloned()
        .collect();
    assert!(!own_rules.is_empty());
    for r in own_rules.iter().filter(|r| r.attrs["system"] == false) {
        assert_eq!(o.live(r).await, None);
        assert!(matches!(
            o.run(Action::Create, Some(r), None).await,
            Outcome::Applied { .. }
        ));
        let back = o.live(r).await.unwrap();
        assert_eq!(back.attrs, o.with_live_ids(&r.attrs));
        assert_eq!(
            back.target("policy").unwrap().id,
            o.ids[&(POLICY.to_string(), policy.id.clone())]
        );
    }
    let rule = o.find(POLICY_RULE, |r| {
        r.attrs["system"] == false && r.target("policy").unwrap().id != policy.id
    });
    o.delete_and_recreate(&rule).await;
    for zone in ["VPN egress", "Embargoed countries"] {
        let z = o.find(NETWORK_ZONE, |r| r.key == zone);
        o.delete_and_recreate(&z).await;
    }
    let role = o.find(ADMIN_ROLE, |r| r.attrs["type"] == "USER_ADMIN");
    assert!(
        !role.attrs["targets"]["groups"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    o.delete_and_recreate(&role).await;
    let app_role = o.find(ADMIN_ROLE, |r| r.attrs["type"] == "APP_ADMIN");
    o.delete_and_recreate(&app_role).await;
    // Not a role of the group deleted first: its roles went with it.
    let group_role = o.find(ADMIN_ROLE, |r| {
        r.key.starts_with("group:") && !r.key.starts_with(&format!("group:{}|", group.key))
    });
    o.delete_and_recreate(&group_role).await;
    let deprovisioned = o.find(USER, |r| r.attrs["status"] == "DEPROVISIONED");
    o.delete_and_recreate(&deprovisioned).await;
    let provisioned = o.find(USER, |r| r.attrs["status"] == "PROVISIONED");
    o.delete_and_recreate(&provisioned).await;
    let staged = o.find(USER, |r| r.attrs["status"] == "STAGED");
    o.delete_and_recreate(&staged).await;
}

#[tokio::test]
async fn deleted_users_are_gone_for_good_and_come_back_without_credentials() {
    let o = org().await;
    let active = o.find(USER, |r| {
        r.attrs["status"] == "ACTIVE" && r.attrs["credentials"]["provider"]["type"] == "OKTA"
    });
    let current = o.live(&active).await.unwrap();
    assert!(matches!(
        o.run(Action::Delete, None, Some(&current)).await,
        Outcome::Applied { .. }
    ));
    assert!(
        o.okta.with_org(|org| org.user_json(&active.id)).is_none(),
        "the user is deleted, not only deactivated"
    );

    let Outcome::Applied { id } = o.run(Action::Create, Some(&active), None).await else {
        panic!()
    };
    assert_ne!(id, active.id);
    let back = o.live(&active).await.unwrap();
    assert_eq!(
        back.attrs["status"], "STAGED",
        "no credentials and no email: the user waits, staged"
    );
    assert_eq!(back.attrs["profile"], active.attrs["profile"]);

    // With --activate-users the person gets Okta's activation email and the user is PROVISIONED.
    let activating = common::provider_with(
        &o.okta,
        o._dir.path(),
        "w",
        4,
        &ConnectOptions {
            activate_users: true,
            ..ConnectOptions::default()
        },
    );
    let update = Operation {
        action: Action::Update,
        kind: active.kind.clone(),
        key: active.key.clone(),
        desired: Some(active.clone()),
        current: Some(back.clone()),
    };
    assert!(matches!(
        activating.apply(&update, &o.ids).await.unwrap(),
        Outcome::Applied { .. }
    ));
    assert_eq!(
        o.live(&active).await.unwrap().attrs["status"],
        "PROVISIONED"
    );

    // A suspended user can only be staged again; the restore report says why.
    let suspended = o.find(USER, |r| r.attrs["status"] == "SUSPENDED");
    let notes = o.p.cannot_restore(&suspended).join(" ");
    assert!(
        notes.contains("password") && notes.contains("SUSPENDED"),
        "{notes}"
    );
}

#[tokio::test]
async fn updates_change_live_objects_and_rewrite_references() {
    let mut o = org().await;
    // A user's profile, changed behind our back, is put back.
    let user = o.find(USER, |r| r.attrs["status"] == "ACTIVE");
    o.okta
        .with_org(|org| org.set_profile_field(&user.id, "department", json!("Nowhere")));
    let drifted = o.live(&user).await.unwrap();
    assert_ne!(drifted.attrs, user.attrs);
    o.run(Action::Update, Some(&user), Some(&drifted)).await;
    assert_eq!(o.live(&user).await.unwrap().attrs, user.attrs);

    // A group targeted by an active rule is re-created: the rule is rewritten to the new id.
    let rule = o.find(GROUP_RULE, |r| r.attrs["status"] == "ACTIVE");
    let target = rule.target("assigns").unwrap().id.clone();
    let group = o.find(GROUP, |r| r.id == target);
    let current = o.live(&group).await.unwrap();
    o.run(Action::Delete, None, Some(&current)).await;
    let Outcome::Applied { id: new_group } = o.run(Action::Create, Some(&group), None).await else {
        panic!()
    };
    o.ids
        .insert((GROUP.into(), group.id.clone()), new_group.clone());
    let live_rule = o.live(&rule).await.unwrap();
    o.run(Action::Update, Some(&rule), Some(&live_rule)).await;
    let live_rule = o.live(&rule).await.unwrap();
    assert_eq!(
        live_rule.attrs["actions"]["assignUserToGroups"]["groupIds"],
        json!([new_group])
    );
    assert_eq!(
        live_rule.attrs["status"], "ACTIVE",
        "updated while inactive, then activated again"
    );

    // A policy that includes a re-created group is rewritten too.
    let policy = o.find(POLICY, |r| {
        r.attrs["system"] == false && r.attrs["conditions"].is_object()
    });
    let included = policy.attrs["conditions"]["people"]["groups"]["include"][0]
        .as_str()
        .unwrap()
        .to_string();
    let g = o.find(GROUP, |r| r.id == included);
    if g.id != group.id {
        let current = o.live(&g).await.unwrap();
        o.run(Action::Delete, None, Some(&current)).await;
        let Outcome::Applied { id } = o.run(Action::Create, Some(&g), None).await else {
            panic!()
        };
        o.ids.insert((GROUP.into(), g.id.clone()), id);
    }
    let live_policy = o.live(&policy).await.unwrap();
    o.run(Action::Update, Some(&policy), Some(&live_policy))
        .await;
    let new_id = o.ids[&(GROUP.to_string(), included.clone())].clone();
    let live_policy = o.live(&policy).await.unwrap();
    assert_eq!(
        live_policy.attrs["conditions"]["people"]["groups"]["include"],
        json!([new_id])
    );

    // Without a mapping for a missing reference, the operation refuses rather than guess.
    let other_rule = o.find(POLICY_RULE, |r| r.refs.iter().any(|x| x.kind == USER));
    let excluded = other_rule
        .refs
        .iter()
        .find(|x| x.kind == USER)
        .unwrap()
        .id
        .clone();
    o.ids.remove(&(USER.to_string(), excluded));
    let op = Operation {
        action: Action::Update,
        kind: other_rule.kind.clone(),
        key: other_rule.key.clone(),
        desired: Some(other_rule.clone()),
        current: Some(other_rule.clone()),
    };
    let err = o.p.apply(&op, &o.ids).await.unwrap_err().to_string();
    assert!(err.contains("restore that object first"), "{err}");

    // The schema: a custom attribute removed, then restored.
    let schema = o.find(USER_SCHEMA, |_| true);
    let mut without_badge = schema.clone();
    without_badge.attrs["definitions"]["custom"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("badgeId");
    o.run(Action::Update, Some(&without_badge), None).await;
    let live = o.live(&schema).await.unwrap();
    assert!(
        live.attrs["definitions"]["custom"]["properties"]
            .get("badgeId")
            .is_none()
    );
    o.run(Action::Update, Some(&schema), None).await;
    assert_eq!(o.live(&schema).await.unwrap().attrs, schema.attrs);

    // A user type made from a record, updated, deleted.
    let mut vendor = Record::new(
        USER_TYPE,
        "oty-snapshot",
        "vendor",
        json!({"name": "vendor", "displayName": "Vendor", "description": "Outside staff", "default": false}),
        vec![],
    );
    let id = o.delete_free_create(&vendor).await;
    vendor.attrs["description"] = json!("External staff");
    o.run(Action::Update, Some(&vendor), None).await;
    let live = o.live(&vendor).await.unwrap();
    assert_eq!(live.attrs["description"], "External staff");
    assert_eq!(live.id, id);
    o.run(Action::Delete, None, Some(&live)).await;
    assert_eq!(o.live(&vendor).await, None);
}

impl Org {
    async fn delete_free_create(&self, r: &Record) -> String {
        let Outcome::Applied { id } = self.run(Action::Create, Some(r), None).await else {
            panic!()
        };
        id
    }
}

#[tokio::test]
async fn what_okta_cannot_do_is_refused_with_a_reason() {
    let o = org().await;
    let app_group = o.find(GROUP, |r| r.attrs["type"] == "APP_GROUP");
    let op = Operation {
        action: Action::Delete,
        kind: GROUP.into(),
        key: app_group.key.clone(),
        desired: None,
        current: Some(app_group.clone()),
    };
    let err = o.p.apply(&op, &o.ids).await.unwrap_err().to_string();
    assert!(err.contains("app"), "{err}");
    let app_member = o.find(GROUP_MEMBERSHIP, |r| {
        r.target("group").unwrap().id == app_group.id
    });
    let user = app_member.target("user").unwrap().id.clone();
    assert!(
        o.okta
            .with_org(|org| org.remove_member(&app_group.id, &user))
    );
    let op = Operation {
        action: Action::Create,
        kind: GROUP_MEMBERSHIP.into(),
        key: app_member.key.clone(),
        desired: Some(app_member.clone()),
        current: None,
    };
    let err = o.p.apply(&op, &o.ids).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("re-import"), "{err}");
    let default_policy = o.find(POLICY, |r| r.attrs["system"] == true);
    let op = Operation {
        action: Action::Delete,
        kind: POLICY.into(),
        key: default_policy.key.clone(),
        desired: None,
        current: Some(default_policy.clone()),
    };
    assert!(o.p.apply(&op, &o.ids).await.is_err());
    let saml = o.find(APP, |r| r.attrs["signOnMode"] == "SAML_2_0");
    let notes = o.p.cannot_restore(&saml).join(" ");
    assert!(notes.contains("certificate"), "{notes}");
    let oidc = o.find(APP, |r| r.attrs["signOnMode"] == "OPENID_CONNECT");
    assert!(
        o.p.cannot_restore(&oidc)
            .join(" ")
            .contains("client_secret")
    );
}

#[tokio::test]
async fn a_user_refused_for_an_undefined_attribute_names_it() {
    let o = org().await;
    let mut user = o.find(USER, |r| r.attrs["status"] == "STAGED");
    user.key = "new.person@example.com".into();
    user.attrs["profile"]["login"] = json!("new.person@example.com");
    user.attrs["profile"]["email"] = json!("new.person@example.com");
    user.attrs["profile"]["shoeSize"] = json!(44);
    let op = Operation {
        action: Action::Create,
        kind: USER.into(),
        key: user.key.clone(),
        desired: Some(user),
        current: None,
    };
    let err = o.p.apply(&op, &o.ids).await.unwrap_err();
    assert!(matches!(err, ProviderError::Precondition { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("shoeSize") && text.contains("okta.user_schema"),
        "{text}"
    );
}
