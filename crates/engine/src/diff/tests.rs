use super::*;
use iamsnap_provider::Ref;
use proptest::prelude::*;
use serde_json::{Value, json};

fn ok(records: Vec<Record>) -> impl Iterator<Item = Result<Record, std::io::Error>> {
    records.into_iter().map(Ok)
}

fn sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    records
}

fn options() -> DiffOptions {
    DiffOptions {
        old_label: "okta-prod@2026-11-27".into(),
        new_label: "live:okta-prod".into(),
        join: JoinOptions::default(),
    }
}

fn changes(old: Vec<Record>, new: Vec<Record>) -> (Summary, Vec<Change>) {
    let d = diff(ok(sorted(old)), ok(sorted(new)), &options()).unwrap();
    let summary = d.summary.clone();
    (summary, d.changes().map(Result::unwrap).collect())
}

fn user(id: &str, login: &str, first: &str) -> Record {
    Record::new(
        "okta.user",
        id,
        login,
        json!({"profile": {"login": login, "firstName": first}, "status": "ACTIVE"}),
        vec![],
    )
}

fn group(id: &str, name: &str, description: &str) -> Record {
    Record::new(
        "okta.group",
        id,
        name,
        json!({"profile": {"name": name, "description": description}}),
        vec![],
    )
}

fn membership(group_id: &str, group: &str, user_id: &str, login: &str) -> Record {
    Record::new(
        "okta.group_membership",
        format!("{group_id}:{user_id}"),
        format!("{group}/{login}"),
        json!({}),
        vec![
            Ref::new("group", "okta.group", group_id),
            Ref::new("user", "okta.user", user_id),
        ],
    )
}

/// Before: Engineering with Ada and Grace; after: Engineering re-created under a new id with
/// only Ada, Sales' description edited, Grace deleted and Linus added.
fn incident() -> (Vec<Record>, Vec<Record>) {
    let before = vec![
        group("00g1", "Engineering", "Builds things"),
        group("00g2", "Sales", "Sells things"),
        user("00u1", "ada@example.com", "Ada"),
        user("00u2", "grace@example.com", "Grace"),
        membership("00g1", "Engineering", "00u1", "ada@example.com"),
        membership("00g1", "Engineering", "00u2", "grace@example.com"),
    ];
    let after = vec![
        group("00g9", "Engineering", "Builds things"),
        group("00g2", "Sales", "Sells more/things ~ fast"),
        user("00u1", "ada@example.com", "Ada"),
        user("00u3", "linus@example.com", "Linus"),
        membership("00g9", "Engineering", "00u1", "ada@example.com"),
    ];
    (before, after)
}

#[test]
fn recreated_object_reads_as_changed_with_both_ids() {
    let (before, after) = incident();
    let (summary, changes) = changes(before, after);
    let eng = changes
        .iter()
        .find(|c| c.kind == "okta.group" && c.key == "Engineering")
        .unwrap();
    assert_eq!(eng.status, Status::Changed);
    assert_eq!(eng.matched_by, Some(MatchedBy::Key));
    assert_eq!(
        (eng.old_id.as_deref(), eng.new_id.as_deref()),
        (Some("00g1"), Some("00g9"))
    );
    assert!(eng.fields.is_empty());
    let ms = summary.kinds["okta.group_membership"];
    assert_eq!((ms.changed, ms.removed, ms.added), (1, 1, 0));
    assert_eq!(summary.total.differences(), 6);
    assert_eq!(summary.total.unchanged, 1);
}

#[test]
fn changes_come_sorted_by_kind_then_key() {
    let (before, after) = incident();
    let (_, changes) = changes(before, after);
    let order: Vec<(String, String)> = changes
        .iter()
        .map(|c| (c.kind.clone(), c.key.clone()))
        .collect();
    let mut expected = order.clone();
    expected.sort();
    assert_eq!(order, expected);
}

#[test]
fn text_report() {
    let (before, after) = incident();
    let d = diff(ok(sorted(before)), ok(sorted(after)), &options()).unwrap();
    let mut out = Vec::new();
    render::text(d, &mut out, false).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn markdown_report() {
    let (before, after) = incident();
    let d = diff(ok(sorted(before)), ok(sorted(after)), &options()).unwrap();
    let mut out = Vec::new();
    render::markdown(d, &mut out).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn json_report_parses_with_the_documented_shape() {
    let (before, after) = incident();
    let d = diff(ok(sorted(before)), ok(sorted(after)), &options()).unwrap();
    let mut out = Vec::new();
    render::json(d, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["summary"]["total"]["added"], 1);
    assert_eq!(v["summary"]["new"], "live:okta-prod");
    let sales = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "Sales")
        .unwrap();
    assert_eq!(
        sales,
        &json!({"kind": "okta.group", "key": "Sales", "status": "changed", "old_id": "00g2",
                "new_id": "00g2", "matched_by": "id", "fields": [{"path": "/attrs/profile/description",
                "old": "Sells things", "new": "Sells more/things ~ fast"}]})
    );
}

#[test]
fn spilled_diff_matches_in_memory_diff() {
    let (before, after) = incident();
    let tiny = DiffOptions {
        join: JoinOptions {
            spool_dir: None,
            spool_budget: 1,
        },
        ..options()
    };
    let d = diff(ok(sorted(before.clone())), ok(sorted(after.clone())), &tiny).unwrap();
    let spilled: Vec<Change> = d.changes().map(Result::unwrap).collect();
    assert_eq!(spilled, changes(before, after).1);
}

fn arb_record() -> impl Strategy<Value = Record> {
    (
        prop::sample::select(vec!["t.group", "t.user", "t.membership"]),
        "[a-f0-9]{1,3}",
        "[a-z]{1,3}",
        prop::collection::btree_map(
            "[a-z/~]{1,4}",
            prop_oneof![
                Just(Value::Null),
                any::<i64>().prop_map(Value::from),
                "[a-z]{0,3}".prop_map(Value::from)
            ],
            0..4,
        ),
    )
        .prop_map(|(kind, id, key, attrs)| {
            let attrs: serde_json::Map<String, Value> = attrs.into_iter().collect();
            Record::new(kind, id, key, Value::Object(attrs), vec![])
        })
}

fn arb_set() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec(arb_record(), 0..40).prop_map(|records| {
        let mut records = sorted(records);
        records.dedup_by(|a, b| a.kind == b.kind && a.id == b.id);
        records
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_set_never_differs_from_itself(a in arb_set()) {
        let (summary, changes) = changes(a.clone(), a.clone());
        prop_assert!(changes.is_empty());
        prop_assert!(summary.is_same());
        prop_assert_eq!(summary.total.unchanged, a.len() as u64);
    }

    #[test]
    fn every_record_is_accounted_for(a in arb_set(), b in arb_set()) {
        let (summary, changes) = changes(a.clone(), b.clone());
        let t = summary.total;
        prop_assert_eq!(t.removed + t.changed + t.unchanged, a.len() as u64);
        prop_assert_eq!(t.added + t.changed + t.unchanged, b.len() as u64);
        prop_assert_eq!(changes.len() as u64, t.differences());
    }
}
