use super::*;
use crate::report::{Detail, Kinds, Style};
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
        keep_ids: false,
        not_compared: Vec::new(),
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

fn recreated(old: Vec<Record>, new: Vec<Record>) -> Vec<Recreated> {
    let d = diff(ok(sorted(old)), ok(sorted(new)), &options()).unwrap();
    d.into_parts().recreated.map(Result::unwrap).collect()
}

#[test]
fn recreated_object_is_counted_apart_with_both_ids() {
    let (before, after) = incident();
    let (summary, changes) = changes(before.clone(), after.clone());
    assert!(
        !changes.iter().any(|c| c.key == "Engineering"),
        "{changes:?}"
    );
    let items = recreated(before, after);
    let eng = items.iter().find(|r| r.key == "Engineering").unwrap();
    assert_eq!((eng.old_id.as_str(), eng.new_id.as_str()), ("00g1", "00g9"));
    assert!(eng.moved_refs.is_empty());
    // Ada's membership names the re-created group by its new id: the same membership.
    let ada = items
        .iter()
        .find(|r| r.kind == "okta.group_membership")
        .unwrap();
    assert_eq!(ada.key, "Engineering/ada@example.com");
    assert_eq!(
        ada.moved_refs,
        [MovedRef {
            rel: "group".into(),
            kind: "okta.group".into(),
            old_id: "00g1".into(),
            new_id: "00g9".into()
        }]
    );
    let ms = summary.kinds["okta.group_membership"];
    assert_eq!(
        (ms.changed, ms.removed, ms.added, ms.recreated),
        (0, 1, 0, 1)
    );
    assert_eq!(summary.total.differences(), 4);
    assert_eq!(summary.total.recreated, 2);
    assert_eq!(summary.total.unchanged, 1);
}

#[test]
fn a_reference_to_another_object_is_a_change_even_when_ids_moved() {
    let before = vec![
        group("00g1", "Engineering", "Builds things"),
        group("00g2", "Sales", "Sells things"),
        membership("00g1", "Engineering", "00u1", "ada@example.com"),
    ];
    // Engineering re-created as 00g9; the membership's key stayed but it now names Sales.
    let after = vec![
        group("00g9", "Engineering", "Builds things"),
        group("00g2", "Sales", "Sells things"),
        membership("00g2", "Engineering", "00u1", "ada@example.com"),
    ];
    let (summary, found) = changes(before.clone(), after.clone());
    let m = found
        .iter()
        .find(|c| c.kind == "okta.group_membership")
        .unwrap();
    assert_eq!(m.status, Status::Changed);
    assert_eq!(m.fields.len(), 1);
    assert_eq!(m.fields[0].path, "/refs/group");
    assert_eq!(
        m.fields[0].old,
        Some(json!([{"kind": "okta.group", "id": "00g1"}]))
    );
    assert_eq!(summary.total.recreated, 1, "only the group");
    // A live record still naming the old id of a re-created object differs in key space.
    let stale = vec![
        group("00g9", "Engineering", "Builds things"),
        group("00g2", "Sales", "Sells things"),
        Record::new(
            "okta.group_membership",
            "00g1:00u1-x",
            "Engineering/ada@example.com",
            json!({}),
            vec![
                Ref::new("group", "okta.group", "00g1"),
                Ref::new("user", "okta.user", "00u1"),
            ],
        ),
    ];
    let (_, found) = changes(before, stale);
    let m = found
        .iter()
        .find(|c| c.kind == "okta.group_membership")
        .unwrap();
    assert_eq!(
        m.fields[0].new,
        Some(json!([{"kind": "okta.group", "id": "00g1"}]))
    );
}

#[test]
fn recreated_objects_are_found_when_everything_spills() {
    let (before, after) = incident();
    let tiny = DiffOptions {
        join: JoinOptions {
            spool_dir: None,
            spool_budget: 1,
        },
        ..options()
    };
    let d = diff(ok(sorted(before.clone())), ok(sorted(after.clone())), &tiny).unwrap();
    let spilled: Vec<Recreated> = d.into_parts().recreated.map(Result::unwrap).collect();
    assert_eq!(spilled, recreated(before, after));
    assert_eq!(spilled.len(), 2);
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
    render::text(d, &mut out, &Detail::default(), &Kinds::default()).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn kinds_not_compared_are_named_in_every_format() {
    let (before, after) = incident();
    let unread = || DiffOptions {
        not_compared: vec!["okta.factor".into(), "okta.user_role".into()],
        ..options()
    };
    let line = "not compared, as one side did not read them (exclude_kinds): ";
    let d = diff(
        ok(sorted(before.clone())),
        ok(sorted(after.clone())),
        &unread(),
    )
    .unwrap();
    let mut out = Vec::new();
    render::text(d, &mut out, &Detail::default(), &Kinds::default()).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(&format!("{line}okta.factor, okta.user_role\n")),
        "{text}"
    );
    let d = diff(
        ok(sorted(before.clone())),
        ok(sorted(after.clone())),
        &unread(),
    )
    .unwrap();
    let mut out = Vec::new();
    render::markdown(d, &mut out, &Detail::default(), &Kinds::default()).unwrap();
    let markdown = String::from_utf8(out).unwrap();
    assert!(
        markdown.contains(&format!("{line}`okta.factor`, `okta.user_role`")),
        "{markdown}"
    );
    let d = diff(
        ok(sorted(before.clone())),
        ok(sorted(after.clone())),
        &unread(),
    )
    .unwrap();
    let mut out = Vec::new();
    render::json(d, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["summary"]["not_compared"],
        json!(["okta.factor", "okta.user_role"])
    );
    // Without such kinds the field is absent and the line is not written.
    let d = diff(ok(sorted(before)), ok(sorted(after)), &options()).unwrap();
    let mut out = Vec::new();
    render::json(d, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(v["summary"].get("not_compared").is_none(), "{v}");
}

#[test]
fn markdown_report() {
    let (before, after) = incident();
    let d = diff(ok(sorted(before)), ok(sorted(after)), &options()).unwrap();
    let mut out = Vec::new();
    render::markdown(d, &mut out, &Detail::default(), &Kinds::default()).unwrap();
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
        prop_assert_eq!(t.removed + t.changed + t.recreated + t.unchanged, a.len() as u64);
        prop_assert_eq!(t.added + t.changed + t.recreated + t.unchanged, b.len() as u64);
        prop_assert_eq!(changes.len() as u64, t.differences());
    }
}

/// The quickstart's story in small: a group of 25 deleted and restored (new ids for the group
/// and its memberships), one of its members deleted and restored without credentials (STAGED),
/// a stranger added to Sales. Memberships have keys `GROUP|LOGIN`, as Okta's do.
mod printed {
    use super::*;
    use iamsnap_provider::{Capabilities, KindInfo, Parent};

    fn member(group_id: &str, group: &str, user_id: &str, login: &str) -> Record {
        Record::new(
            "okta.group_membership",
            format!("{group_id}:{user_id}"),
            format!("{group}|{login}"),
            json!({}),
            vec![
                Ref::new("group", "okta.group", group_id),
                Ref::new("user", "okta.user", user_id),
            ],
        )
    }

    fn org(ops_id: &str, staged: Option<&str>) -> Vec<Record> {
        let mut records = vec![
            group(ops_id, "Operations Team 107", "Runs things"),
            group("00g2", "Sales", "Sells things"),
        ];
        for i in 0..25 {
            let login = format!("ada.berners{i:02}");
            let id = match staged {
                Some(new) if i == 3 => new.to_string(),
                _ => format!("00u{i:02}"),
            };
            let mut u = user(&id, &login, "Ada");
            if staged.is_some() && i == 3 {
                u.attrs["status"] = json!("STAGED");
            }
            records.push(member(ops_id, "Operations Team 107", &id, &login));
            records.push(u);
        }
        records
    }

    fn kinds() -> Kinds {
        const fn kind(
            name: &'static str,
            depends_on: &'static [&'static str],
            parent: Option<Parent>,
        ) -> KindInfo {
            KindInfo {
                name,
                description: "",
                depends_on,
                capabilities: Capabilities::ALL,
                cannot_restore: &[],
                parent,
            }
        }
        Kinds::new(&[
            kind("okta.user", &[], None),
            kind("okta.group", &[], None),
            kind(
                "okta.group_membership",
                &["okta.user", "okta.group"],
                Some(Parent {
                    noun: "group",
                    members: "members",
                }),
            ),
        ])
    }

    /// Grace leaves with her two memberships; Linus stays but leaves Sales.
    fn before() -> Vec<Record> {
        let mut before = org("00g1", None);
        before.push(user("00u50", "grace.hopper", "Grace"));
        before.push(member(
            "00g1",
            "Operations Team 107",
            "00u50",
            "grace.hopper",
        ));
        before.push(member("00g2", "Sales", "00u50", "grace.hopper"));
        before.push(user("00u51", "linus", "Linus"));
        before.push(member("00g2", "Sales", "00u51", "linus"));
        before
    }

    fn after() -> Vec<Record> {
        let mut after = org("00g9", Some("00u93"));
        after.push(user("00u99", "mallory", "Mallory"));
        after.push(member("00g2", "Sales", "00u99", "mallory"));
        after.push(user("00u51", "linus", "Linus"));
        after
    }

    fn render(style: Style, detail: Detail) -> String {
        let d = diff(ok(sorted(before())), ok(sorted(after())), &options()).unwrap();
        let mut out = Vec::new();
        match style {
            Style::Text => render::text(d, &mut out, &detail, &kinds()).unwrap(),
            Style::Markdown => render::markdown(d, &mut out, &detail, &kinds()).unwrap(),
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn incident_text() {
        insta::assert_snapshot!(render(Style::Text, Detail::default()));
    }

    #[test]
    fn incident_text_with_ids() {
        let detail = Detail {
            show_ids: true,
            limit: Some(2),
            ..Detail::default()
        };
        insta::assert_snapshot!(render(Style::Text, detail));
    }

    #[test]
    fn incident_markdown() {
        insta::assert_snapshot!(render(Style::Markdown, Detail::default()));
    }

    #[test]
    fn incident_counts() {
        let d = diff(ok(sorted(before())), ok(sorted(after())), &options()).unwrap();
        let t = d.summary.total;
        // The STAGED user, Mallory and her membership, Grace and her two memberships and
        // Linus's membership differ; the group, its 25 memberships (one naming the re-created
        // user) are the same objects under new ids.
        assert_eq!((t.changed, t.added, t.removed), (1, 2, 4));
        assert_eq!(t.recreated, 26);
        assert!(!d.summary.is_same());
        let only_ids = diff(
            ok(sorted(org("00g1", None))),
            ok(sorted(org("00g9", None))),
            &options(),
        )
        .unwrap();
        assert!(only_ids.summary.is_same() && !only_ids.summary.is_identical());
    }
}

/// Field names documented in `docs/diff-json.md`: per section (`changes`, `fields[]`,
/// `recreated`, `summary`), the names in backticks in the first column of its table.
fn documented_fields() -> BTreeMap<String, std::collections::BTreeSet<String>> {
    let doc = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/diff-json.md"
    ));
    let mut out: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in doc.lines() {
        if let Some(heading) = line.strip_prefix("## ").or(line.strip_prefix("### ")) {
            section = heading.trim_matches('`').to_string();
        } else if let Some(row) = line.strip_prefix("| `") {
            let first = row.split(" |").next().unwrap_or_default();
            for name in first.split(", ") {
                out.entry(section.clone())
                    .or_default()
                    .insert(name.trim_matches('`').to_string());
            }
        }
    }
    out
}

fn keys(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn json_output_has_exactly_the_documented_fields() {
    let doc = documented_fields();
    let (before, after) = incident();
    // One side did not read a kind: the summary says so.
    let unread = DiffOptions {
        not_compared: vec!["okta.factor".into()],
        ..options()
    };
    let d = diff(ok(sorted(before)), ok(sorted(after)), &unread).unwrap();
    let mut out = Vec::new();
    render::json(d, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        keys(&v),
        ["changes", "recreated", "summary"].map(String::from).into()
    );
    let union = |items: &Value| {
        let mut all = std::collections::BTreeSet::new();
        for item in items.as_array().unwrap() {
            all.extend(keys(item));
        }
        all
    };
    // `--who` adds `events` to changes and `audit` to the summary; this diff was made without.
    let without_who = |section: &str, field: &str| {
        let mut names = doc[section].clone();
        assert!(names.remove(field), "{section}: {field} is documented");
        names
    };
    assert_eq!(
        union(&v["changes"]),
        without_who("changes", "events"),
        "changes"
    );
    let fields: Vec<Value> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["fields"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(union(&Value::Array(fields)), doc["fields[]"], "fields[]");
    assert_eq!(union(&v["recreated"]), doc["recreated"], "recreated");
    let summary_fields: std::collections::BTreeSet<String> = keys(&v["summary"]);
    assert_eq!(summary_fields, without_who("summary", "audit"), "summary");
    // Counts and moved references are documented in sentences: `{"added": N, …}`.
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/diff-json.md"
    ));
    for name in keys(&v["summary"]["total"]) {
        assert!(text.contains(&format!("\"{name}\": N")), "counts: {name}");
    }
    let moved = &v["recreated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r.get("moved_refs").is_some())
        .expect("a membership naming the re-created group")["moved_refs"][0];
    assert_eq!(
        keys(moved),
        ["kind", "new_id", "old_id", "rel"].map(String::from).into()
    );
    assert!(text.contains("`{\"rel\", \"kind\", \"old_id\", \"new_id\"}`"));
    // The example in the document is valid JSON of the same shape.
    let example = text
        .split("```json\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let example: Value = serde_json::from_str(example).unwrap();
    assert_eq!(keys(&example), keys(&v));
    assert_eq!(
        keys(&example["summary"]["total"]),
        keys(&v["summary"]["total"])
    );
}
