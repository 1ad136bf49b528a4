//! A restore drill as an HTML page, for the auditor who asks for a tested restore: the verdict
//! first, then the snapshot and the sandbox, the restore time, the fidelity per kind with a bar
//! each, what verification found, what cannot be restored grouped by reason with the next
//! step, and in the table every restorable record that did not come back (the sandbox's value
//! beside the snapshot's) and every operation that failed.

use std::io::{self, Write};

use iamsnap_provider::{Action, redact};
use maud::html;
use serde::Serialize;

use crate::diff::FieldChange;
use crate::drill::{DrillReport, KEYS_SHOWN};
use crate::html::{
    Bar, Config, Lost, Page, Side, Signature, cannot_restore_section, header, summary_table,
};
use crate::report::thousands;

/// A row of the table: a record that did not come back, or an operation that failed.
#[derive(Serialize)]
struct DrillRow<'a> {
    /// `missing`, `different` or `failed`.
    outcome: &'static str,
    action: Action,
    kind: &'a str,
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    fields: &'a [FieldChange],
}

/// Writes `report` as one HTML page; see the module documentation.
pub fn write(report: &DrillReport, out: &mut dyn Write) -> io::Result<()> {
    let title = format!(
        "iamsnap restore drill: {} → {}",
        report.snapshot, report.target
    );
    let snapshot = Side {
        name: report.snapshot.clone(),
        source: report.source.clone(),
        provider: report.provider.clone(),
        time: report.snapshot_time.unwrap_or(report.started),
        signature: match report.signature_checked {
            true => Signature::Verified,
            false => Signature::NotChecked,
        },
    };
    // The sandbox is what the drill wrote to and read back from, live.
    let sandbox = Side {
        name: format!("live:{}", report.target),
        source: report.target.clone(),
        provider: report.provider.clone(),
        time: report.started,
        signature: Signature::Live,
    };
    let mut facts = vec![
        (
            "restore time",
            format!(
                "{:.1} s from the first write to the end of verification (the whole drill {:.1} s)",
                report.restore_seconds, report.duration_seconds
            ),
        ),
        (
            "operations",
            format!(
                "{} done, {} failed",
                thousands(report.operations_done as u64),
                thousands(report.operations_failed as u64)
            ),
        ),
    ];
    if !report.journal.is_empty() {
        facts.push(("journal", report.journal.clone()));
    }
    let page_header = header(
        "iamsnap restore drill",
        &[("snapshot", &snapshot), ("sandbox", &sandbox)],
        &facts,
    );
    let mut page = Page::start(out, &title, page_header)?;

    let f = &report.facts;
    let rows: Vec<(String, Vec<Bar>, Vec<u64>)> = report
        .kinds
        .iter()
        .map(|k| {
            let bars = vec![
                Bar {
                    count: k.facts.back,
                    class: "add",
                    label: "back",
                },
                Bar {
                    count: k.facts.not_back,
                    class: "rem",
                    label: "not back",
                },
                Bar {
                    count: k.facts.cannot_restore,
                    class: "skip",
                    label: "cannot be restored",
                },
            ];
            (k.kind.clone(), bars, vec![k.facts.total])
        })
        .collect();
    let v = &report.verification;
    page.section(html! {
        section #verdict {
            @if report.passed() {
                p.banner.ok { "PASSED: every restorable fact came back" }
            } @else {
                p.banner.fail { "FAILED: restorable facts did not come back" }
                @if let Some(error) = &report.error {
                    p.warn { "The drill stopped: " (redact::scrub(error)) }
                }
            }
        }
        section #summary {
            h2 { "Fidelity" }
            p.total {
                strong { (format!("{:.1} %", report.fidelity * 100.0)) " of restorable facts" }
                " (" (thousands(f.back)) " of " (thousands(f.restorable)) " back)"
            }
            p.note {
                (thousands(f.total)) " facts (objects and relationships) in the snapshot: "
                span.add { (thousands(f.back)) " back" } ", "
                span.rem { (thousands(f.not_back)) " not back" } ", "
                (thousands(f.cannot_restore)) " cannot be restored (by the provider's own rules; they count neither for nor against the drill)."
            }
            @if !rows.is_empty() {
                (summary_table(&["back", "not back", "cannot restore", "total"], &rows))
            }
            h2 { "Verification" }
            @if report.operations_done + report.operations_failed == 0 {
                p { "Nothing was written: the sandbox already held the snapshot's restorable state." }
            } @else {
                p {
                    (thousands(v.read_back as u64)) " objects written and read back: "
                    @if v.still_different == 0 {
                        span.add { "each matches the snapshot." }
                    } @else {
                        span.chg { (thousands(v.still_different as u64)) " still differ from the snapshot" }
                        " (" (thousands(v.explained as u64)) " of them because of what cannot be restored)."
                    }
                }
            }
            p.note {
                "Then the snapshot was compared with the sandbox again: what a second restore would still write did not come back, and is listed in the table below."
            }
        }
    })?;
    let lost: Vec<Lost<'_>> = report
        .cannot_restore
        .iter()
        .map(|c| Lost {
            kind: &c.kind,
            reason: &c.reason,
            count: c.count,
            keys: c.keys.clone(),
        })
        .collect();
    let more = format!("(a drill keeps the first {KEYS_SHOWN} keys of each)");
    page.section(cannot_restore_section(&lost, &more))?;

    page.rows(
        "Did not come back",
        Some("Restorable records of the snapshot that the sandbox lacks (missing) or holds with other values (different: the sandbox's value beside the snapshot's), and operations of the restore that failed."),
    )?;
    for item in &report.not_back {
        page.row(&DrillRow {
            outcome: match item.action {
                Action::Create => "missing",
                _ => "different",
            },
            action: item.action,
            kind: &item.kind,
            key: &item.key,
            note: None,
            fields: &item.changes,
        })?;
    }
    for failure in &report.failures {
        page.row(&DrillRow {
            outcome: "failed",
            action: failure.action,
            kind: &failure.kind,
            key: &failure.key,
            note: Some(redact::scrub(&failure.error).to_string()),
            fields: &[],
        })?;
    }
    page.finish(&Config {
        report: "drill",
        action_field: "outcome",
        actions: &["missing", "different", "failed"],
        kinds: report.kinds.iter().map(|k| k.kind.clone()).collect(),
        columns: &["action", "kind", "key", "fields", "note"],
        before: "sandbox now",
        after: "snapshot",
    })
}
