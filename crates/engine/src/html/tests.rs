use std::io::{self, Write};

use chrono::{TimeZone, Utc};
use iamsnap_provider::Record;
use serde_json::{Value, json};

use super::diff::{DiffHeader, write};
use super::plan::{PlanHeader, write_plan};
use super::{Side, Signature};
use crate::diff::{DiffOptions, FieldChange, diff};
use crate::report::Kinds;
use crate::restore::memory::{KINDS, MemoryProvider};
use crate::restore::{Mode, PlanOptions, plan};

fn sorted(mut records: Vec<Record>) -> impl Iterator<Item = Result<Record, io::Error>> {
    records.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
    records.into_iter().map(Ok)
}

fn user(id: &str, login: &str, name: &str) -> Record {
    Record::new("t.user", id, login, json!({"name": name}), vec![])
}

const EVIL: &str = "<script>alert(1)</script>";
const BREAKOUT: &str = "</script><script>alert(2)</script><!--";

fn side(name: &str, signature: Signature) -> Side {
    Side {
        name: name.into(),
        source: "mem".into(),
        provider: "memory".into(),
        time: Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap(),
        signature,
    }
}

/// A diff in which attacker-controlled values (a display name, a login) hold markup.
fn hostile_diff_page() -> String {
    let old = vec![user("u1", "ada", "Ada"), user("u2", "grace", "Grace")];
    let new = vec![
        user("u1", "ada", EVIL),
        user("u3", BREAKOUT, "Mallory"),
        user("u4", "linus", "Linus"),
    ];
    let result = diff(sorted(old), sorted(new), &DiffOptions::default()).unwrap();
    let head = DiffHeader {
        old: side("mem/20261127T020000Z-1a2b3c4d", Signature::Verified),
        new: side("live:<b>mem</b>", Signature::Live),
    };
    let mut out = Vec::new();
    write(result, &head, false, &Kinds::new(KINDS), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The text of the `<script>` element with this id.
fn block<'p>(page: &'p str, id: &str) -> &'p str {
    let open = format!("<script type=\"application/json\" id=\"{id}\">");
    let start = page.find(&open).expect("the data block") + open.len();
    let len = page[start..].find("</script>").expect("its end");
    &page[start..start + len]
}

#[test]
fn actors_and_kinds_not_compared_stay_text() {
    use crate::diff::who::{AuditSummary, Who};
    use iamsnap_provider::{Actor, ActorKind, AuditEvent, Target};
    let old = vec![user("u1", "ada", "Ada"), user("u2", "grace", "Grace")];
    let new = vec![user("u1", "ada", "Ada Lovelace")];
    let options = DiffOptions {
        keep_ids: true,
        not_compared: vec!["t.<i>role</i>".into()],
        ..DiffOptions::default()
    };
    let result = diff(sorted(old), sorted(new), &options).unwrap();
    let time = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
    // Anyone who can edit a profile names the actor of the events they cause.
    let deletion = AuditEvent {
        time,
        actor: Actor {
            kind: ActorKind::User,
            id: "u9".into(),
            name: EVIL.into(),
        },
        operation: "user.lifecycle.delete.initiated".into(),
        targets: vec![Target {
            id: "u2".into(),
            kind: "User".into(),
            name: BREAKOUT.into(),
        }],
        client_ip: Some("203.0.113.7".into()),
        outcome: "success".into(),
        destructive: None,
    };
    let audit = AuditSummary {
        source: "mem".into(),
        since: time,
        until: time,
        events: 1,
        note: Some("<b>kept 90 days</b>".into()),
    };
    let result = result.annotate(Who::new(vec![deletion]), audit);
    let head = DiffHeader {
        old: side("mem/20261127T020000Z-1a2b3c4d", Signature::Verified),
        new: side("live:mem", Signature::Live),
    };
    let mut out = Vec::new();
    write(result, &head, false, &Kinds::new(KINDS), &mut out).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert_eq!(page.matches("<script").count(), 3, "{page}");
    assert!(!page.contains("<!--") && !page.contains("<i>") && !page.contains("<b>"));
    assert!(
        page.contains(
            "not compared, as one side did not read them (exclude_kinds): t.&lt;i&gt;role&lt;/i&gt;"
        ),
        "{page}"
    );
    assert!(
        page.contains("who: 1 audit events of mem from ") && page.contains("&lt;b&gt;kept"),
        "{page}"
    );
    let rows: Value = serde_json::from_str(block(&page, "rows")).unwrap();
    let removed = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "removed")
        .unwrap();
    assert_eq!(removed["events"][0]["actor"]["name"], EVIL);
    assert_eq!(removed["events"][0]["targets"][0]["name"], BREAKOUT);
}

#[test]
fn markup_in_values_stays_text() {
    let page = hostile_diff_page();
    // Two data blocks and the page's own script: nothing a value held became an element.
    assert_eq!(page.matches("<script").count(), 3, "{page}");
    assert!(!page.contains("<!--"), "{page}");
    assert!(!page.contains("alert(1)</script>"), "{page}");
    // In the header, maud escaped the side's name.
    assert!(page.contains("live:&lt;b&gt;mem&lt;/b&gt;"), "{page}");
    // The data still carries the values exactly.
    let rows: Value = serde_json::from_str(block(&page, "rows")).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let changed = rows.iter().find(|r| r["status"] == "changed").unwrap();
    assert_eq!(changed["fields"][0]["path"], "/attrs/name");
    assert_eq!(changed["fields"][0]["new"], EVIL);
    assert!(rows.iter().any(|r| r["key"] == BREAKOUT));
    assert!(block(&page, "rows").contains("\\u003c/script\\u003e"));
}

#[test]
fn the_policy_allows_only_the_pages_own_script_and_no_request() {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let page = hostile_diff_page();
    let start = page.rfind("<script>").unwrap() + "<script>".len();
    let script = &page[start..start + page[start..].find("</script>").unwrap()];
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script));
    assert!(
        page.contains(&format!("script-src 'sha256-{hash}'")),
        "{page}"
    );
    assert!(page.contains("default-src 'none'"));
    for fetch in ["http://", "https://", "src=\"//"] {
        assert!(!page.contains(fetch), "the page names {fetch}");
    }
}

#[test]
fn the_summary_counts_and_charts_each_kind() {
    let page = hostile_diff_page();
    assert!(page.contains("4 differences: "), "{page}");
    assert!(page.contains("signature verified"), "{page}");
    assert!(page.contains("2026-11-27 02:00:00 UTC"), "{page}");
    // Bars scale to the widest row: 2 added, 1 removed, 1 changed of t.user.
    for span in [
        r#"<span class="add" title="2 added" style="width:50.00%">"#,
        r#"<span class="rem" title="1 removed" style="width:25.00%">"#,
        r#"<span class="chg" title="1 changed" style="width:25.00%">"#,
    ] {
        assert!(page.contains(span), "{span} in {page}");
    }
    let config: Value = serde_json::from_str(block(&page, "config")).unwrap();
    assert_eq!(config["kinds"], json!(["t.user"]));
    assert_eq!(config["action_field"], "status");
}

/// A writer that refuses any single write larger than a row could be: the page must not be
/// built whole in memory and written at once.
struct Streamed {
    largest: usize,
    total: usize,
}

impl Write for Streamed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.largest = self.largest.max(buf.len());
        self.total += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_large_diff_is_written_piece_by_piece() {
    let old: Vec<Record> = (0..20_000)
        .map(|i| user(&format!("u{i:05}"), &format!("user{i:05}"), "Old name"))
        .collect();
    let new: Vec<Record> = (0..20_000)
        .map(|i| user(&format!("u{i:05}"), &format!("user{i:05}"), "New name"))
        .collect();
    let result = diff(sorted(old), sorted(new), &DiffOptions::default()).unwrap();
    let head = DiffHeader {
        old: side("a", Signature::NotChecked),
        new: side("b", Signature::Verified),
    };
    let mut out = Streamed {
        largest: 0,
        total: 0,
    };
    write(result, &head, false, &Kinds::new(KINDS), &mut out).unwrap();
    assert!(out.total > 20_000 * 100, "{} bytes", out.total);
    // The style sheet and the script are the largest pieces.
    assert!(out.largest < 32 * 1024, "a write of {} bytes", out.largest);
}

#[test]
fn a_plan_groups_what_cannot_be_restored_by_reason() {
    let snapshot = vec![
        user("u1", "ada", "Ada"),
        user("u2", "grace", EVIL),
        user("u3", "linus", "Linus"),
    ];
    let live = MemoryProvider::new(vec![user("u1", "ada", "Ada L.")]);
    let mut p = plan(
        sorted(snapshot),
        sorted(live.all()),
        &live,
        &PlanOptions::default(),
    )
    .unwrap();
    p.snapshot = "mem/20261127T020000Z-00000000".into();
    p.target = "mem".into();
    let head = PlanHeader {
        snapshot: side(&p.snapshot, Signature::Verified),
        target: "mem".into(),
        mode: Mode::Additive,
    };
    let mut out = Vec::new();
    write_plan(&p, &head, &Kinds::new(KINDS), &mut out).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert_eq!(page.matches("<script").count(), 3, "{page}");
    assert!(page.contains("3 operations: "), "{page}");
    // The reason's head says what is lost, the rest what to do.
    assert!(
        page.contains("<h3>password<span class=\"count\">2 objects"),
        "{page}"
    );
    assert!(
        page.contains("<p class=\"step\">restored users have none; send them a password reset</p>"),
        "{page}"
    );
    assert!(page.contains("<li>grace</li>"), "{page}");
    let rows: Value = serde_json::from_str(block(&page, "rows")).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let update = rows.iter().find(|r| r["action"] == "update").unwrap();
    assert_eq!(update["key"], "ada");
    assert_eq!(update["fields"][0]["old"], "Ada L.");
    assert_eq!(update["fields"][0]["new"], "Ada");
    assert!(rows.iter().all(|r| r.get("desired").is_none()));
    assert_eq!(rows[0]["step"], 1);
}

/// A drill in which a user's display name and a provider's error hold markup, and a secret
/// the provider echoed.
fn hostile_drill() -> crate::drill::DrillReport {
    use crate::drill::{CannotRestoreEntry, DrillReport, Facts, KindFacts, NotBack, Verification};
    use iamsnap_provider::Action;
    let facts = |total, cannot_restore, not_back| Facts {
        total,
        cannot_restore,
        restorable: total - cannot_restore,
        back: total - cannot_restore - not_back,
        not_back,
    };
    DrillReport {
        snapshot: "mem/20261127T020000Z-1a2b3c4d".into(),
        source: "mem".into(),
        target: "<b>sandbox</b>".into(),
        provider: "memory".into(),
        snapshot_time: Some(Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap()),
        signature_checked: true,
        started: Utc.with_ymd_and_hms(2026, 11, 29, 5, 0, 0).unwrap(),
        restore_seconds: 12.34,
        duration_seconds: 20.5,
        facts: facts(10, 2, 2),
        kinds: vec![
            KindFacts {
                kind: "t.user".into(),
                facts: facts(6, 2, 1),
            },
            KindFacts {
                kind: "t.group".into(),
                facts: facts(4, 0, 1),
            },
        ],
        fidelity: 6.0 / 8.0,
        operations_done: 7,
        operations_failed: 1,
        verification: Verification {
            read_back: 7,
            still_different: 3,
            explained: 2,
        },
        cannot_restore: vec![CannotRestoreEntry {
            kind: "t.user".into(),
            reason: "password: restored users have none; send them a password reset".into(),
            count: 2,
            keys: vec!["ada".into(), EVIL.into()],
        }],
        not_back: vec![
            NotBack {
                action: Action::Update,
                kind: "t.user".into(),
                key: "grace".into(),
                fields: vec!["/attrs/name".into()],
                changes: vec![FieldChange {
                    path: "/attrs/name".into(),
                    old: Some(json!("Grace")),
                    new: Some(json!(BREAKOUT)),
                }],
            },
            NotBack {
                action: Action::Create,
                kind: "t.group".into(),
                key: "Engineering".into(),
                fields: vec![],
                changes: vec![],
            },
        ],
        failures: vec![crate::restore::Failure {
            seq: 3,
            action: Action::Create,
            kind: "t.group".into(),
            key: "Engineering".into(),
            error: format!(
                "503 {EVIL} Authorization: SSWS 00abcdefghijklmnopqrstuvwxyz0123456789ABCD"
            ),
        }],
        journal: "journals/sandbox/20261129T050000000Z-00000000".into(),
        error: None,
    }
}

#[test]
fn a_drill_page_shows_the_verdict_fidelity_per_kind_and_what_did_not_come_back() {
    let report = hostile_drill();
    let mut out = Vec::new();
    super::drill::write(&report, &mut out).unwrap();
    let page = String::from_utf8(out).unwrap();
    // Two data blocks and the page's own script: no value became an element.
    assert_eq!(page.matches("<script").count(), 3, "{page}");
    assert!(!page.contains("alert(1)</script>"), "{page}");
    assert!(page.contains("live:&lt;b&gt;sandbox&lt;/b&gt;"), "{page}");
    assert!(
        !page.contains("SSWS 00abcdef"),
        "the echoed token is scrubbed: {page}"
    );

    assert!(
        page.contains("<p class=\"banner fail\">FAILED: restorable facts did not come back</p>"),
        "{page}"
    );
    assert!(page.contains("75.0 %"), "{page}");
    assert!(page.contains(" (6 of 8 back)"), "{page}");
    assert!(page.contains("12.3 s from the first write"), "{page}");
    assert!(page.contains("signature verified"), "{page}");
    assert!(
        page.contains("2026-11-27 02:00:00 UTC"),
        "the snapshot's time: {page}"
    );
    assert!(page.contains("7 objects written and read back: "), "{page}");
    assert!(page.contains("3 still differ from the snapshot"), "{page}");
    // Per kind, bars scaled to the widest row (t.user: 3 back, 1 not back, 2 cannot).
    for span in [
        r#"<span class="add" title="3 back" style="width:50.00%">"#,
        r#"<span class="skip" title="2 cannot be restored" style="width:33.33%">"#,
    ] {
        assert!(page.contains(span), "{span} in {page}");
    }
    assert!(
        page.contains("<h3>password<span class=\"count\">2 objects"),
        "{page}"
    );
    assert!(
        page.contains("<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>"),
        "{page}"
    );

    let rows: Value = serde_json::from_str(block(&page, "rows")).unwrap();
    let rows = rows.as_array().unwrap();
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["different", "missing", "failed"]);
    assert_eq!(rows[0]["fields"][0]["old"], "Grace");
    assert_eq!(rows[0]["fields"][0]["new"], BREAKOUT);
    assert!(!rows[2]["note"].as_str().unwrap().contains("SSWS 00abcdef"));
    let config: Value = serde_json::from_str(block(&page, "config")).unwrap();
    assert_eq!(config["kinds"], json!(["t.user", "t.group"]));
    assert_eq!(config["report"], "drill");

    // A drill where everything came back says so first.
    let passed = crate::drill::DrillReport {
        not_back: vec![],
        failures: vec![],
        operations_failed: 0,
        facts: crate::drill::Facts {
            total: 10,
            cannot_restore: 2,
            restorable: 8,
            back: 8,
            not_back: 0,
        },
        ..report
    };
    let mut out = Vec::new();
    super::drill::write(&passed, &mut out).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert!(
        page.contains("<p class=\"banner ok\">PASSED: every restorable fact came back</p>"),
        "{page}"
    );
    assert_eq!(block(&page, "rows"), "[]");
}
