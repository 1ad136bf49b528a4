use std::collections::{BTreeMap, BTreeSet};

use iamsnap_provider::{Action, Outcome, Record, Ref, SelfIdentity};
use proptest::prelude::*;
use serde_json::json;

use super::journal::sealed::{self, test_keys};
use super::journal::{JournalStore, OpEnd, OpState};
use super::memory::{KINDS, MemoryProvider};
use super::spill::Spilled;
use super::*;
use crate::report::{Detail, Kinds};

mod skipped;

fn sorted(mut records: Vec<Record>) -> impl Iterator<Item = Result<Record, std::io::Error>> {
    records.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    records.into_iter().map(Ok)
}

fn user(id: &str, login: &str, name: &str) -> Record {
    Record::new("t.user", id, login, json!({"name": name}), vec![])
}

fn group(id: &str, name: &str) -> Record {
    Record::new("t.group", id, name, json!({"name": name}), vec![])
}

fn member(group_id: &str, group: &str, user_id: &str, login: &str) -> Record {
    Record::new(
        "t.membership",
        format!("{group_id}:{user_id}"),
        format!("{group}/{login}"),
        json!({}),
        vec![
            Ref::new("group", "t.group", group_id),
            Ref::new("user", "t.user", user_id),
        ],
    )
}

fn snapshot() -> Vec<Record> {
    vec![
        user("u1", "ada", "Ada"),
        user("u2", "grace", "Grace"),
        user("u3", "linus", "Linus"),
        group("g1", "Engineering"),
        group("g2", "Sales"),
        member("g1", "Engineering", "u1", "ada"),
        member("g1", "Engineering", "u2", "grace"),
        member("g2", "Sales", "u3", "linus"),
    ]
}

/// The incident: Engineering and Grace deleted (with their memberships), Ada renamed, a
/// stranger added to Sales.
fn damaged() -> Vec<Record> {
    vec![
        user("u1", "ada", "Ada L."),
        user("u3", "linus", "Linus"),
        user("u9", "mallory", "Mallory"),
        group("g2", "Sales"),
        member("g2", "Sales", "u3", "linus"),
        member("g2", "Sales", "u9", "mallory"),
    ]
}

fn plan_for(
    snapshot: &[Record],
    live: &MemoryProvider,
    options: &PlanOptions,
) -> Result<Plan, RestoreError> {
    let mut p = plan(sorted(snapshot.to_vec()), sorted(live.all()), live, options)?;
    p.snapshot = "mem/20261127T020000Z-00000000".into();
    p.target = "mem".into();
    Ok(p)
}

fn ops(plan: &Plan) -> Vec<String> {
    plan.operations
        .to_vec()
        .unwrap()
        .iter()
        .map(|o| format!("{}:{:?} {} {}", o.level, o.action, o.kind, o.key))
        .collect()
}

#[test]
fn creates_follow_dependencies_and_deletes_come_last_in_reverse() {
    let live = MemoryProvider::new(damaged());
    let options = PlanOptions {
        mode: Mode::Authoritative,
        max_deletes: 10,
        ..PlanOptions::default()
    };
    let plan = plan_for(&snapshot(), &live, &options).unwrap();
    assert_eq!(
        ops(&plan),
        [
            "0:Create t.user grace",
            "0:Update t.user ada",
            "0:Create t.group Engineering",
            "1:Create t.membership Engineering/ada",
            "1:Create t.membership Engineering/grace",
            "2:Delete t.membership Sales/mallory",
            "3:Delete t.user mallory",
        ]
    );
    assert_eq!(
        plan.operations.to_vec().unwrap()[1].fields[0].path,
        "/attrs/name"
    );
}

#[test]
fn additive_never_deletes() {
    let live = MemoryProvider::new(damaged());
    let plan = plan_for(&snapshot(), &live, &PlanOptions::default()).unwrap();
    assert_eq!(plan.counts().unwrap().delete, 0);
    assert_eq!(plan.operations.len(), 5);
}

#[test]
fn deletes_beyond_the_limit_are_refused_and_the_runner_is_never_deleted() {
    let mut live = MemoryProvider::new(damaged());
    let options = PlanOptions {
        mode: Mode::Authoritative,
        ..PlanOptions::default()
    };
    let err = plan_for(&snapshot(), &live, &options).unwrap_err();
    assert!(
        err.to_string()
            .contains("deletes 2 objects but --max-deletes is 0"),
        "{err}"
    );
    live.me = Some(SelfIdentity::new("t.user", "mallory"));
    let options = PlanOptions {
        max_deletes: 1,
        self_identity: live.me.clone(),
        ..options
    };
    let plan = plan_for(&snapshot(), &live, &options).unwrap();
    assert_eq!(plan.counts().unwrap().delete, 1);
    assert_eq!(plan.skipped.len(), 1);
    assert!(plan.skipped[0].reason.contains("runs as"));
}

/// A kind the snapshot did not read is unknown, not empty: an authoritative restore deletes
/// nothing of it (here the stranger's membership, whose kind the snapshot left out) and the
/// plan names it with why; the other kinds are planned as ever.
#[test]
fn kinds_the_snapshot_did_not_read_are_left_alone_even_by_an_authoritative_restore() {
    let live = MemoryProvider::new(damaged());
    let read: Vec<Record> = snapshot()
        .into_iter()
        .filter(|r| r.kind != "t.membership")
        .collect();
    let options = PlanOptions {
        mode: Mode::Authoritative,
        max_deletes: 10,
        left_alone: [("t.membership".to_string(), "not read".to_string())].into(),
        ..PlanOptions::default()
    };
    let plan = plan_for(&read, &live, &options).unwrap();
    let planned = ops(&plan);
    assert!(
        planned.iter().all(|op| !op.contains("t.membership")),
        "{planned:?}"
    );
    assert!(
        planned.contains(&"0:Create t.user grace".to_string()),
        "{planned:?}"
    );
    assert!(
        planned
            .iter()
            .any(|op| op.contains("Delete t.user mallory")),
        "{planned:?}"
    );
    assert_eq!(
        plan.left_alone,
        [LeftAlone {
            kind: "t.membership".into(),
            reason: "not read".into()
        }]
    );
    let mut text = Vec::new();
    render::plan_text(&plan, &mut text, &Detail::default(), &Kinds::new(KINDS)).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("Left alone, not read (1):\n  t.membership: not read"),
        "{text}"
    );
}

/// The identity the connector runs as keeps its state and its rights in every mode: an
/// additive restore does not switch it off as the snapshot has it, an authoritative one removes
/// none of what grants it its rights; the plan says why and what to do by hand, nothing of it
/// is applied, and a journalled plan that would do it is not resumed.
#[test]
fn the_runner_and_its_grants_are_never_weakened_in_any_mode() {
    let mut snap = snapshot();
    snap.push(Record::new(
        "t.user",
        "u9",
        "mallory",
        json!({"name": "Mallory", "status": "off"}),
        vec![],
    ));
    let live = MemoryProvider::new(damaged());
    let mut me = SelfIdentity::new("t.user", "mallory");
    me.grant(
        "t.membership",
        "Sales/mallory",
        "makes t.user mallory a member of Sales, which holds ADMIN",
    );
    for (mode, expected) in [
        (Mode::Additive, vec!["Update mallory"]),
        (
            Mode::Authoritative,
            vec!["Update mallory", "Delete Sales/mallory"],
        ),
    ] {
        let options = PlanOptions {
            mode,
            max_deletes: 10,
            self_identity: Some(me.clone()),
            ..PlanOptions::default()
        };
        let plan = plan_for(&snap, &live, &options).unwrap();
        assert!(
            ops(&plan).iter().all(|o| !o.contains("mallory")),
            "{:?}",
            ops(&plan)
        );
        let mut skipped: Vec<String> = plan
            .skipped
            .iter()
            .map(|s| format!("{:?} {}", s.action, s.key))
            .collect();
        skipped.sort_by(|a, b| b.cmp(a));
        assert_eq!(skipped, expected);
        assert!(
            plan.skipped
                .iter()
                .all(|s| s.reason.contains("the identity iamsnap runs as"))
        );
        let by_hand: Vec<String> = plan
            .cannot_restore
            .iter()
            .filter(|c| c.reason.contains("make it by hand"))
            .flat_map(|c| c.keys.to_vec().unwrap())
            .collect();
        assert_eq!(by_hand.len(), expected.len(), "{by_hand:?}");

        runtime().block_on(async {
            let live = MemoryProvider::new(damaged());
            let dir = tempfile::tempdir().unwrap();
            let store = LocalJournalStore::new(dir.path());
            let report = restore(&snap, &live, &store, &options).await.unwrap();
            assert!(report.is_complete(), "{report:?}");
            assert_eq!(
                live.find("t.user", "mallory").unwrap().attrs,
                json!({"name": "Mallory"})
            );
            assert!(live.find("t.membership", "Sales/mallory").is_some());
        });
    }

    // A plan journalled by a run that did not protect the runner is not resumed.
    let unprotected = PlanOptions {
        mode: Mode::Authoritative,
        max_deletes: 10,
        ..PlanOptions::default()
    };
    let journalled = plan_for(&snap, &live, &unprotected).unwrap();
    let protected = PlanOptions {
        self_identity: Some(me),
        ..unprotected
    };
    let err = resume::check(
        &journalled,
        sorted(snap.clone()),
        sorted(live.all()),
        &live,
        &protected,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("t.user mallory is the identity iamsnap runs as"),
        "{err}"
    );
}

#[test]
fn only_selects_the_object_its_relationships_and_what_they_need() {
    let live = MemoryProvider::new(damaged());
    let only = vec![Selector::parse("group:Engineering", KINDS).unwrap()];
    let options = PlanOptions {
        only,
        ..PlanOptions::default()
    };
    let plan = plan_for(&snapshot(), &live, &options).unwrap();
    assert_eq!(
        ops(&plan),
        [
            "0:Create t.user grace",
            "0:Create t.group Engineering",
            "1:Create t.membership Engineering/ada",
            "1:Create t.membership Engineering/grace",
        ]
    );
    let bad = Selector::parse("group:Nope", KINDS).unwrap();
    let err = plan_for(
        &snapshot(),
        &live,
        &PlanOptions {
            only: vec![bad],
            ..PlanOptions::default()
        },
    );
    assert!(matches!(
        err,
        Err(RestoreError::Refused(Refusal::NoMatch(_)))
    ));
    assert!(Selector::parse("widget:x", KINDS).is_err());
    assert!(Selector::parse("Engineering", KINDS).is_err());
}

#[test]
fn kinds_filter_and_capabilities() {
    let mut snap = snapshot();
    snap.push(Record::new("t.audit", "a1", "log", json!({}), vec![]));
    snap.push(Record::new("t.unknown", "x1", "x", json!({}), vec![]));
    let live = MemoryProvider::new(damaged());
    let options = PlanOptions {
        kinds: Some(["t.user".to_string(), "t.audit".into(), "t.unknown".into()].into()),
        ..PlanOptions::default()
    };
    let plan = plan_for(&snap, &live, &options).unwrap();
    assert_eq!(ops(&plan), ["0:Create t.user grace", "0:Update t.user ada"]);
    let reasons: Vec<&str> = plan.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "the connector cannot create t.audit; do it by hand",
            "the connector does not know kind t.unknown"
        ]
    );
}

/// After a restore that re-created everything, every live id differs from the snapshot's:
/// memberships join by key and their refs resolve through the moved ids, spilled to disk.
#[test]
fn refs_resolve_through_moved_ids_on_disk() {
    let mut snapshot = Vec::new();
    let mut live = Vec::new();
    for i in 0..200 {
        let login = format!("user{i:03}");
        snapshot.push(user(&format!("u{i}"), &login, "P"));
        live.push(user(&format!("new-u{i}"), &login, "P"));
        let group_of = |n: usize| format!("team{}", n % 7);
        snapshot.push(member(
            &format!("g{}", i % 7),
            &group_of(i),
            &format!("u{i}"),
            &login,
        ));
        // One membership points at another group live than in the snapshot.
        let live_group = if i == 42 { 1 } else { i % 7 };
        live.push(member(
            &format!("new-g{live_group}"),
            &group_of(i),
            &format!("new-u{i}"),
            &login,
        ));
    }
    for g in 0..7 {
        snapshot.push(group(&format!("g{g}"), &format!("team{g}")));
        live.push(group(&format!("new-g{g}"), &format!("team{g}")));
    }
    let live = MemoryProvider::new(live);
    let mut options = PlanOptions::default();
    options.join.spool_budget = 512;
    let plan = plan_for(&snapshot, &live, &options).unwrap();
    assert_eq!(plan.ids.len(), 407, "every object moved");
    // The one membership that differs is an update, which memberships cannot take.
    assert!(plan.operations.is_empty(), "{:?}", ops(&plan));
    let skipped: Vec<(Action, &str)> = plan
        .skipped
        .iter()
        .map(|s| (s.action, s.key.as_str()))
        .collect();
    assert_eq!(skipped, [(Action::Update, "team0/user042")]);
}

fn policy(id: &str, name: &str, groups: &[&str]) -> Record {
    Record::new(
        "t.policy",
        id,
        name,
        json!({"name": name}),
        groups
            .iter()
            .map(|g| Ref::new("include", "t.group", *g))
            .collect(),
    )
}

#[test]
fn an_unchanged_record_naming_a_recreated_object_is_updated_to_its_new_id() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let snapshot = vec![
            group("g1", "Engineering"),
            group("g2", "Sales"),
            policy("p1", "MFA", &["g1"]),
            policy("p2", "Sessions", &["g2"]),
        ];
        // Engineering was deleted; the policy still names it by its old id, as providers that
        // keep a deleted object's id where it was referenced do.
        let live = MemoryProvider::new(vec![
            group("g2", "Sales"),
            policy("p1", "MFA", &["g1"]),
            policy("p2", "Sessions", &["g2"]),
        ]);
        let plan = plan_for(&snapshot, &live, &PlanOptions::default()).unwrap();
        assert_eq!(
            ops(&plan),
            ["0:Create t.group Engineering", "1:Update t.policy MFA"]
        );
        let report = restore(&snapshot, &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        let engineering = live
            .all()
            .into_iter()
            .find(|r| r.key == "Engineering")
            .unwrap();
        let mfa = live.all().into_iter().find(|r| r.key == "MFA").unwrap();
        assert_eq!(mfa.refs, [Ref::new("include", "t.group", engineering.id)]);
        assert!(
            plan_for(&snapshot, &live, &PlanOptions::default())
                .unwrap()
                .operations
                .is_empty()
        );
    });
}

#[test]
fn what_the_connector_refuses_is_skipped_with_what_needs_it() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let mut live = MemoryProvider::new(damaged());
        live.refused = Some("Engineering");
        let plan = plan_for(&snapshot(), &live, &PlanOptions::default()).unwrap();
        assert_eq!(ops(&plan), ["0:Create t.user grace", "0:Update t.user ada"]);
        let skipped: Vec<String> = plan
            .skipped
            .iter()
            .map(|s| format!("{:?} {} {}: {}", s.action, s.kind, s.key, s.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                "Create t.group Engineering: it belongs to an app",
                "Create t.membership Engineering/ada: it needs t.group Engineering, which the restore does not create",
                "Create t.membership Engineering/grace: it needs t.group Engineering, which the restore does not create",
            ]
        );
        // The object and what needs it are what cannot be restored, each under its kind.
        let cannot: Vec<(String, String, Vec<String>)> = plan
            .cannot_restore
            .iter()
            .map(|c| (c.kind.clone(), c.reason.clone(), c.keys.to_vec().unwrap()))
            .collect();
        assert!(
            cannot.contains(&(
                "t.group".into(),
                "it belongs to an app".into(),
                vec!["Engineering".into()]
            )),
            "{cannot:?}"
        );
        assert!(
            cannot.contains(&(
                "t.membership".into(),
                super::order::DEPENDS.into(),
                vec!["Engineering/ada".into(), "Engineering/grace".into()]
            )),
            "{cannot:?}"
        );
        let report = restore(&snapshot(), &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert!(
            plan_for(&snapshot(), &live, &PlanOptions::default())
                .unwrap()
                .operations
                .is_empty()
        );
    });
}

#[test]
fn a_create_cut_short_is_finished_by_an_update_when_resumed() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let plan = plan_for(
            &snapshot(),
            &MemoryProvider::new(damaged()),
            &PlanOptions::default(),
        )
        .unwrap();
        let create = plan
            .operations
            .to_vec()
            .unwrap()
            .into_iter()
            .find(|op| op.action == Action::Create && op.key == "grace")
            .unwrap();
        // The killed run made Grace without her name, and never learnt that it had.
        let mut records = damaged();
        records.push(user("u7", "grace", ""));
        let live = MemoryProvider::new(records);
        let journal = Journal::create(&store, &plan, &test_keys()).await.unwrap();
        let resumed = BTreeMap::from([(
            create.seq,
            OpState {
                attempts: 1,
                end: None,
            },
        )]);
        let report = apply(&plan, &live, &journal, &resumed, &ApplyOptions::default())
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        let graces: Vec<Record> = live
            .all()
            .into_iter()
            .filter(|r| r.key == "grace")
            .collect();
        assert_eq!(graces.len(), 1, "no duplicate");
        assert_eq!(
            (graces[0].id.as_str(), &graces[0].attrs),
            ("u7", &json!({"name": "Grace"}))
        );
    });
}

/// The plan's JSON against the example in `docs/restore-json.md`: the same fields at the top,
/// and in operations, skipped operations and the cannot-restore report.
fn plan_json_is_documented(real: &serde_json::Value) {
    let doc = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/restore-json.md"
    ));
    let example = doc
        .split("```json\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    // The example shortens long texts with an ellipsis inside strings only.
    let example: serde_json::Value = serde_json::from_str(example).unwrap();
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    let union = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_array().unwrap().iter().flat_map(&keys).collect()
    };
    assert_eq!(keys(real), keys(&example));
    for list in ["operations", "skipped", "cannot_restore"] {
        assert_eq!(union(&real[list]), union(&example[list]), "{list}");
    }
}

#[test]
fn plan_text_report() {
    let mut live = MemoryProvider::new(damaged());
    let mut me = SelfIdentity::new("t.user", "mallory");
    me.grant(
        "t.membership",
        "Sales/mallory",
        "makes t.user mallory a member of Sales, which holds ADMIN",
    );
    live.me = Some(me);
    let options = PlanOptions {
        mode: Mode::Authoritative,
        max_deletes: 5,
        self_identity: live.me.clone(),
        ..PlanOptions::default()
    };
    let plan = plan_for(&snapshot(), &live, &options).unwrap();
    let mut out = Vec::new();
    let kinds = Kinds::new(KINDS);
    render::plan_text(&plan, &mut out, &Detail::default(), &kinds).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
    let mut out = Vec::new();
    render::plan_json(&plan, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    plan_json_is_documented(&v);
    assert_eq!(v["operations"].as_array().unwrap().len(), 5);
    assert_eq!(v["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(v["cannot_restore"][2]["keys"], json!(["grace"]));
}

#[test]
fn a_resumed_plan_must_agree_with_the_snapshot_and_live_state() {
    let live = MemoryProvider::new(damaged());
    let options = PlanOptions {
        mode: Mode::Authoritative,
        max_deletes: 10,
        ..PlanOptions::default()
    };
    let genuine = plan_for(&snapshot(), &live, &options).unwrap();
    let check = |plan: &Plan, options: &PlanOptions| {
        resume::check(plan, sorted(snapshot()), sorted(live.all()), &live, options)
    };
    check(&genuine, &options).unwrap();
    // Ada renamed live, then resumed before the update ran: still genuine.
    let renamed = MemoryProvider::new(
        damaged()
            .into_iter()
            .map(|r| {
                if r.id == "u1" {
                    user("u1", "ada.l", "Ada L.")
                } else {
                    r
                }
            })
            .collect(),
    );
    let plan = plan_for(&snapshot(), &renamed, &options).unwrap();
    resume::check(
        &plan,
        sorted(snapshot()),
        sorted(renamed.all()),
        &renamed,
        &options,
    )
    .unwrap();

    let mut forged = genuine.clone();
    let mut operations = forged.operations.to_vec().unwrap();
    let grace = operations.iter_mut().find(|o| o.key == "grace").unwrap();
    grace.desired.as_mut().unwrap().attrs = json!({"name": "Grace", "admin": true});
    forged.operations = Spilled::collect(operations).unwrap();
    let err = check(&forged, &options).unwrap_err();
    assert!(
        err.to_string()
            .contains("t.user grace differs from the snapshot"),
        "{err}"
    );

    let mut forged = genuine.clone();
    let mut ids = forged.ids.to_vec().unwrap();
    ids.push(("t.user".into(), "u3".into(), "u9".into()));
    ids.retain(|(k, s, l)| !(k == "t.user" && s == "u3" && l == "u3"));
    forged.ids = Spilled::collect(ids).unwrap();
    assert!(
        check(&forged, &options)
            .unwrap_err()
            .to_string()
            .contains("onto live object")
    );

    let additive = PlanOptions::default();
    assert!(
        check(&genuine, &additive)
            .unwrap_err()
            .to_string()
            .contains("--mode authoritative")
    );
    let runner = PlanOptions {
        self_identity: Some(SelfIdentity::new("t.user", "mallory")),
        ..options
    };
    assert!(
        check(&genuine, &runner)
            .unwrap_err()
            .to_string()
            .contains("runs as")
    );
}

/// Every record as (kind, key, attrs, refs as (kind, key) of their targets): equal when two
/// states are the same modulo ids.
fn by_keys(records: &[Record]) -> BTreeSet<String> {
    let keys: BTreeMap<(String, String), String> = records
        .iter()
        .map(|r| ((r.kind.clone(), r.id.clone()), r.key.clone()))
        .collect();
    records
        .iter()
        .map(|r| {
            let refs: Vec<String> = r
                .refs
                .iter()
                .map(|x| {
                    format!(
                        "{}={}:{}",
                        x.rel,
                        x.kind,
                        keys.get(&(x.kind.clone(), x.id.clone()))
                            .cloned()
                            .unwrap_or_default()
                    )
                })
                .collect();
            format!("{}|{}|{}|{}", r.kind, r.key, r.attrs, refs.join(","))
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn restore(
    snapshot: &[Record],
    live: &MemoryProvider,
    store: &dyn JournalStore,
    options: &PlanOptions,
) -> Result<ApplyReport, RestoreError> {
    restore_with(snapshot, live, store, options, &ApplyOptions::default()).await
}

async fn restore_with(
    snapshot: &[Record],
    live: &MemoryProvider,
    store: &dyn JournalStore,
    options: &PlanOptions,
    apply_options: &ApplyOptions,
) -> Result<ApplyReport, RestoreError> {
    let plan = plan_for(snapshot, live, options)?;
    let journal = Journal::create(store, &plan, &test_keys()).await?;
    apply(&plan, live, &journal, &BTreeMap::new(), apply_options).await
}

#[test]
fn applied_plan_restores_the_snapshot_and_a_second_plan_is_empty() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let live = MemoryProvider::new(damaged());
        let options = PlanOptions {
            mode: Mode::Authoritative,
            max_deletes: 10,
            ..PlanOptions::default()
        };
        let report = restore(&snapshot(), &live, &store, &options).await.unwrap();
        assert_eq!(
            (report.done, report.failed, report.residual.len()),
            (7, 0, 0)
        );
        assert!(report.is_complete());
        assert_eq!(by_keys(&live.all()), by_keys(&snapshot()));
        assert!(
            plan_for(&snapshot(), &live, &options)
                .unwrap()
                .operations
                .is_empty()
        );
        let journal = store.list("journals/mem/").await.unwrap();
        assert_eq!(
            journal
                .iter()
                .filter(|p| p.ends_with("finished.sealed"))
                .count(),
            1
        );
        let segments: Vec<String> = store
            .list("journals/mem/")
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.contains("/ops/"))
            .collect();
        let mut events = Vec::new();
        for path in &segments {
            let bytes = store.get(path).await.unwrap().unwrap();
            let contents = sealed::open(path, &bytes, &test_keys()).unwrap();
            for line in String::from_utf8(contents).unwrap().lines() {
                events.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
            }
        }
        let started = events.iter().filter(|e| e.get("started").is_some()).count();
        let ended = events.iter().filter(|e| e.get("end").is_some()).count();
        assert_eq!((started, ended), (7, 7));
    });
}

#[test]
fn failures_are_reported_and_resume_finishes_the_job() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let mut live = MemoryProvider::new(damaged());
        live.fail_after = Some(2);
        let options = PlanOptions {
            mode: Mode::Authoritative,
            max_deletes: 10,
            ..PlanOptions::default()
        };
        let report = restore(&snapshot(), &live, &store, &options).await.unwrap();
        assert_eq!((report.done, report.failed), (2, 5));
        assert!(report.failures[0].error.contains("injected failure"));
        assert!(!report.is_complete());
        live.fail_after = None;
        let (journal, plan) = Journal::latest_unfinished(
            &store,
            "mem",
            "mem/20261127T020000Z-00000000",
            &test_keys(),
        )
        .await
        .unwrap()
        .expect("an unfinished journal");
        let states = journal.states().await.unwrap();
        let report = apply(&plan, &live, &journal, &states, &ApplyOptions::default())
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(by_keys(&live.all()), by_keys(&snapshot()));
        assert!(
            Journal::latest_unfinished(&store, "mem", &plan.snapshot, &test_keys())
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[test]
fn a_finished_restore_supersedes_an_older_unfinished_one() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let mut live = MemoryProvider::new(damaged());
        live.fail_after = Some(1);
        let first = restore(&snapshot(), &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert!(!first.is_complete());
        let name = "mem/20261127T020000Z-00000000";
        let (unfinished, _) = Journal::latest_unfinished(&store, "mem", name, &test_keys())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unfinished.dir, first.journal);
        live.fail_after = None;
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = restore(&snapshot(), &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert!(second.is_complete());
        assert!(second.journal > first.journal);
        assert!(
            Journal::latest_unfinished(&store, "mem", name, &test_keys())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            Journal::latest_unfinished(&store, "mem", "mem/other", &test_keys())
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[test]
fn residuals_on_recreated_objects_are_explained_by_what_cannot_be_restored() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let mut live = MemoryProvider::new(damaged());
        live.lose_on_create = Some("name");
        let report = restore(&snapshot(), &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert_eq!(report.failed, 0);
        let residual: Vec<(&str, &str, bool)> = report
            .residual
            .iter()
            .map(|r| (r.kind.as_str(), r.key.as_str(), r.cannot_restore.is_empty()))
            .collect();
        // The user lost its name, which t.user declares it cannot restore; the group did too,
        // which nothing explains.
        assert_eq!(
            residual,
            [("t.user", "grace", false), ("t.group", "Engineering", true)]
        );
        assert_eq!(report.residual[0].fields[0].path, "/attrs/name");
        assert_eq!(report.unexplained(), 1);
        assert!(!report.is_complete());
        let mut out = Vec::new();
        render::report_text(&report, &mut out).unwrap();
        insta::assert_snapshot!(
            String::from_utf8(out)
                .unwrap()
                .replace(&report.journal, "JOURNAL")
        );

        // Verifying through one read of the whole live state finds the same.
        let mut live = MemoryProvider::new(damaged());
        live.lose_on_create = Some("name");
        let read_all = ApplyOptions {
            read_all_above: 0,
            ..ApplyOptions::default()
        };
        let bulk = restore_with(
            &snapshot(),
            &live,
            &store,
            &PlanOptions::default(),
            &read_all,
        )
        .await
        .unwrap();
        assert_eq!(bulk.residual, report.residual);
    });
}

#[test]
fn verification_reads_again_what_the_provider_has_not_caught_up_with() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let mut live = MemoryProvider::new(damaged());
        live.stale_reads = 2;
        let report = restore(&snapshot(), &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert_eq!(report.failed, 0);
        assert_eq!(report.residual, [], "created objects show on a later read");

        // An object still missing when the settle time is spent is reported.
        let mut live = MemoryProvider::new(damaged());
        live.stale_reads = usize::MAX;
        let quick = ApplyOptions {
            settle: std::time::Duration::from_millis(250),
            ..ApplyOptions::default()
        };
        let started = std::time::Instant::now();
        let report = restore_with(&snapshot(), &live, &store, &PlanOptions::default(), &quick)
            .await
            .unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(
            !report.residual.is_empty()
                && report
                    .residual
                    .iter()
                    .all(|r| r.problem.as_deref() == Some("missing")),
            "{:?}",
            report.residual
        );
    });
}

/// A journal store that stops writing after `limit` objects, like a process killed mid-run:
/// operations it lets start but not end have taken effect at the provider.
/// A journal store that fails every write after the first `limit`, and takes `delay` for each.
struct Faulty<'a> {
    inner: &'a LocalJournalStore,
    limit: usize,
    delay: std::time::Duration,
    writes: std::sync::atomic::AtomicUsize,
}

impl<'a> Faulty<'a> {
    fn killed_after(inner: &'a LocalJournalStore, limit: usize) -> Self {
        Faulty {
            inner,
            limit,
            delay: std::time::Duration::ZERO,
            writes: 0.into(),
        }
    }

    fn slow(inner: &'a LocalJournalStore) -> Self {
        Faulty {
            delay: std::time::Duration::from_millis(20),
            ..Faulty::killed_after(inner, usize::MAX)
        }
    }
}

#[async_trait::async_trait]
impl JournalStore for Faulty<'_> {
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError> {
        tokio::time::sleep(self.delay).await;
        if self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            >= self.limit
        {
            return Err(JournalError::Storage {
                path: path.into(),
                message: "killed".into(),
            });
        }
        self.inner.put_new(path, bytes).await
    }
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError> {
        self.inner.get(path).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError> {
        self.inner.list(prefix).await
    }
}

async fn crash_then_resume(snapshot: Vec<Record>, live: Vec<Record>, limit: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalJournalStore::new(dir.path());
    let live = MemoryProvider::new(live);
    let options = PlanOptions {
        mode: Mode::Authoritative,
        max_deletes: u64::MAX,
        ..PlanOptions::default()
    };
    let killed = Faulty::killed_after(&store, limit);
    let first = restore(&snapshot, &live, &killed, &options).await;
    if first.is_ok() {
        // The kill came after the last write: nothing to resume.
        assert_eq!(by_keys(&live.all()), by_keys(&snapshot));
        return;
    }
    let plan_name = "mem/20261127T020000Z-00000000";
    let Some((journal, plan)) = Journal::latest_unfinished(&store, "mem", plan_name, &test_keys())
        .await
        .unwrap()
    else {
        // Killed before the plan was written: nothing ran.
        return;
    };
    let states: BTreeMap<usize, OpState> = journal.states().await.unwrap();
    let report = apply(&plan, &live, &journal, &states, &ApplyOptions::default())
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    let all = live.all();
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|r| (r.kind.clone(), r.key.clone()))
        .collect();
    let unique: BTreeSet<&(String, String)> = keys.iter().collect();
    assert_eq!(keys.len(), unique.len(), "a create was repeated");
    assert_eq!(by_keys(&all), by_keys(&snapshot));
}

#[test]
fn kill_at_every_point_then_resume_never_duplicates() {
    for limit in 0..16 {
        runtime().block_on(crash_then_resume(snapshot(), damaged(), limit));
    }
}

/// A random organisation: users, groups and memberships between them.
fn arb_org() -> impl Strategy<Value = Vec<Record>> {
    (
        1usize..6,
        1usize..4,
        prop::collection::vec((0usize..6, 0usize..4), 0..10),
        0u8..3,
    )
        .prop_map(|(users, groups, links, flavour)| {
            let mut out = Vec::new();
            for u in 0..users {
                out.push(user(
                    &format!("u{u}"),
                    &format!("user{u}"),
                    &format!("N{}", u as u8 + flavour),
                ));
            }
            for g in 0..groups {
                out.push(group(&format!("g{g}"), &format!("group{g}")));
            }
            let links: BTreeSet<(usize, usize)> = links
                .into_iter()
                .map(|(u, g)| (u % users, g % groups))
                .collect();
            for (u, g) in links {
                out.push(member(
                    &format!("g{g}"),
                    &format!("group{g}"),
                    &format!("u{u}"),
                    &format!("user{u}"),
                ));
            }
            out
        })
}

/// The live side: the snapshot's records, some dropped, some re-created under new ids.
fn arb_live(snapshot: Vec<Record>) -> impl Strategy<Value = (Vec<Record>, Vec<Record>)> {
    let n = snapshot.len();
    (prop::collection::vec(0u8..4, n), arb_org()).prop_map(move |(fate, other)| {
        let mut live = Vec::new();
        for (r, f) in snapshot.iter().zip(&fate) {
            match f {
                0 => {}
                1 if r.kind != "t.membership" => {
                    let mut again = r.clone();
                    again.id = format!("re-{}", r.id);
                    live.push(again);
                }
                _ => live.push(r.clone()),
            }
        }
        // Memberships whose ends vanished go with them, as in a real provider.
        let ids: BTreeSet<(String, String)> = live
            .iter()
            .map(|r| (r.kind.clone(), r.id.clone()))
            .collect();
        live.retain(|r| {
            r.refs
                .iter()
                .all(|x| ids.contains(&(x.kind.clone(), x.id.clone())))
        });
        for mut r in other.into_iter().filter(|r| r.kind == "t.user") {
            r.id = format!("x-{}", r.id);
            r.key = format!("x-{}", r.key);
            live.push(r);
        }
        (snapshot.clone(), live)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn applying_a_plan_reaches_the_snapshot_and_replanning_is_empty(
        (snap, live) in arb_org().prop_flat_map(arb_live)
    ) {
        let provider = MemoryProvider::new(live);
        let options = PlanOptions { mode: Mode::Authoritative, max_deletes: u64::MAX, ..PlanOptions::default() };
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let report = runtime().block_on(restore(&snap, &provider, &store, &options)).unwrap();
        prop_assert!(report.is_complete(), "{:?}", report);
        prop_assert_eq!(by_keys(&provider.all()), by_keys(&snap));
        let again = plan_for(&snap, &provider, &options).unwrap();
        prop_assert!(again.operations.is_empty(), "{:?}", ops(&again));
    }

    #[test]
    fn a_crash_anywhere_then_resume_reaches_the_snapshot(
        (snap, live) in arb_org().prop_flat_map(arb_live),
        limit in 0usize..30,
    ) {
        runtime().block_on(crash_then_resume(snap, live, limit));
    }
}

/// A journal store that takes a while to store each object, like a remote repository.
#[test]
fn journal_events_are_committed_in_groups_and_read_back_whole() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalJournalStore::new(dir.path());
        let slow = Faulty::slow(&local);
        let plan = Plan {
            snapshot: "mem/20261127T020000Z-00000000".into(),
            target: "mem".into(),
            ..Plan::default()
        };
        let journal = Journal::create(&slow, &plan, &test_keys()).await.unwrap();
        let done = OpEnd::Done {
            outcome: Outcome::Applied { id: "x".into() },
        };
        futures::future::join_all((0..100).map(|seq| {
            let journal = &journal;
            let done = &done;
            async move {
                journal.started(seq, 1).await.unwrap();
                if seq % 2 == 0 {
                    journal.ended(seq, 1, done).await.unwrap();
                }
            }
        }))
        .await;
        let segments: Vec<String> = local.list(&format!("{}/ops/", journal.dir)).await.unwrap();
        assert!(
            segments.len() < 20,
            "150 events took {} segments",
            segments.len()
        );

        let (resumed, _) = Journal::latest_unfinished(&local, "mem", &plan.snapshot, &test_keys())
            .await
            .unwrap()
            .expect("unfinished");
        let states = resumed.states().await.unwrap();
        assert_eq!(states.len(), 100);
        assert_eq!(states.values().filter(|s| s.end.is_some()).count(), 50);
        // New events of the resumed run go to new segments, after the existing ones.
        resumed.started(1, 2).await.unwrap();
        assert!(
            local
                .get(&format!("{}/ops/{:08}.sealed", journal.dir, segments.len()))
                .await
                .unwrap()
                .is_some()
        );
    });
}

#[test]
fn a_journal_that_failed_to_store_refuses_every_later_event() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalJournalStore::new(dir.path());
        let killed = Faulty::killed_after(&local, 2);
        let plan = Plan {
            target: "mem".into(),
            ..Plan::default()
        };
        let journal = Journal::create(&killed, &plan, &test_keys()).await.unwrap();
        journal.started(0, 1).await.unwrap();
        assert!(journal.started(1, 1).await.is_err());
        assert!(journal.started(2, 1).await.is_err(), "stays broken");
    });
}

/// What a provider said reaches the printed report scrubbed of credentials.
#[test]
fn reports_never_show_credentials_a_provider_echoed() {
    let secret = iamsnap_provider::Secret::new("tok-0f9e-echoed-in-a-report");
    let echoed = format!(
        "okta.user ada: HTTP 502: <pre>authorization: SSWS {}</pre>",
        secret.expose()
    );
    let report = ApplyReport {
        failed: 1,
        failures: vec![Failure {
            seq: 0,
            action: Action::Update,
            kind: "t.user".into(),
            key: "ada".into(),
            error: echoed.clone(),
        }],
        skipped_operations: vec![Skipped {
            action: Action::Delete,
            kind: "t.user".into(),
            key: "ada".into(),
            reason: echoed.clone(),
        }],
        residual: vec![Residual {
            action: Action::Update,
            kind: "t.user".into(),
            key: "ada".into(),
            problem: Some(echoed),
            fields: Vec::new(),
            cannot_restore: Vec::new(),
        }],
        ..ApplyReport::default()
    };
    let mut out = Vec::new();
    render::report_text(&report, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(secret.expose()), "{text}");
    assert_eq!(
        text.matches("authorization: [redacted]").count(),
        3,
        "{text}"
    );
}

/// A failure whose message echoes a credential is journalled and reported without it.
#[test]
fn failures_are_journalled_and_reported_without_credentials() {
    runtime().block_on(async {
        let mut live = MemoryProvider::new(damaged());
        live.fail_after = Some(0);
        live.failure =
            "<pre>GET /x\r\nauthorization: Bearer eyJhbGci.eyJzdWIi.c2lnbmF0dXJl</pre>".into();
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let report = restore(&snapshot(), &live, &store, &PlanOptions::default())
            .await
            .unwrap();
        assert!(report.failed > 0);
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("eyJzdWIi"), "{json}");
        assert!(json.contains("authorization: [redacted]"), "{json}");
        let mut files = vec![dir.path().to_path_buf()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else {
                let bytes = std::fs::read(&path).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains("eyJzdWIi"), "{}: {text}", path.display());
            }
        }
    });
}

/// An incident for the printed plan: a team of 25 deleted with its group, one of its members
/// deleted too, a stranger added to Sales. Memberships have keys `GROUP|LOGIN`.
mod printed {
    use super::*;
    use iamsnap_provider::{KindInfo, Parent};

    fn member(group_id: &str, group: &str, user_id: &str, login: &str) -> Record {
        Record::new(
            "t.membership",
            format!("{group_id}:{user_id}"),
            format!("{group}|{login}"),
            json!({}),
            vec![
                Ref::new("group", "t.group", group_id),
                Ref::new("user", "t.user", user_id),
            ],
        )
    }

    fn org() -> Vec<Record> {
        let mut records = vec![group("g1", "Operations Team 107"), group("g2", "Sales")];
        for i in 0..25 {
            let (id, login) = (format!("u{i:02}"), format!("ada.berners{i:02}"));
            records.push(user(&id, &login, "Ada"));
            records.push(member("g1", "Operations Team 107", &id, &login));
        }
        records.push(member("g2", "Sales", "u03", "ada.berners03"));
        records
    }

    fn incident() -> Vec<Record> {
        let mut live: Vec<Record> = org()
            .into_iter()
            .filter(|r| !r.key.starts_with("Operations Team 107") && r.id != "u03")
            .filter(|r| r.kind != "t.membership" || !r.id.ends_with("u03"))
            .collect();
        live.push(user("u99", "mallory", "Mallory"));
        live.push(member("g2", "Sales", "u99", "mallory"));
        live
    }

    fn kinds() -> Kinds {
        let mut kinds: Vec<KindInfo> = KINDS.to_vec();
        kinds[0].parent = Some(Parent {
            noun: "group",
            members: "members",
        });
        Kinds::new(&kinds)
    }

    fn text(plan: &Plan, limit: Option<usize>) -> String {
        let mut out = Vec::new();
        let detail = Detail {
            limit,
            ..Detail::default()
        };
        render::plan_text(plan, &mut out, &detail, &kinds()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plan_of_an_incident() {
        let live = MemoryProvider::new(incident());
        let options = PlanOptions {
            mode: Mode::Authoritative,
            max_deletes: 5,
            ..PlanOptions::default()
        };
        let plan = plan_for(&org(), &live, &options).unwrap();
        insta::assert_snapshot!(text(&plan, Some(3)));
        let full = text(&plan, None);
        assert_eq!(
            full.lines().filter(|l| l.contains("ada.berners")).count(),
            28,
            "every membership, the user and what it cannot get back, listed: {full}"
        );
        assert!(!full.contains("more (use --full"), "{full}");
    }

    #[test]
    fn steps_are_numbered_one_after_another() {
        let live = MemoryProvider::new(incident());
        let options = PlanOptions {
            kinds: Some(BTreeSet::from(["t.membership".to_string()])),
            ..PlanOptions::default()
        };
        let plan = plan_for(&org(), &live, &options).unwrap();
        let printed = text(&plan, Some(20));
        assert!(
            printed.contains("\nStep 1 of 1: memberships (26 operations)\n"),
            "{printed}"
        );
        assert!(
            printed.contains(
                "  group Operations Team 107: 25 members to create (ada.berners00, ada.berners01, ada.berners02, … 22 more)\n"
            ),
            "{printed}"
        );
    }
}
