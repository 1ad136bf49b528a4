//! A restore plan, and a restore's outcome, as an HTML page: what the restore does per kind
//! (or did), what it cannot bring back grouped by reason with what the operator does next,
//! and every operation in the table, field by field (live value beside the snapshot's).

use std::collections::BTreeMap;
use std::io::{self, Write};

use iamsnap_provider::{Action, redact};
use maud::{Markup, html};
use serde::Serialize;

use crate::diff::FieldChange;
use crate::html::{Bar, Config, Lost, Page, Side, cannot_restore_section, header, summary_table};
use crate::report::{Kinds, thousands};
use crate::restore::{ApplyReport, CannotRestore, Mode, Plan, Skipped};

/// Keys listed per kind and reason in the cannot-restore report; `--format json` has them all.
const KEYS_SHOWN: usize = 1000;

/// What the header of a plan or an outcome names.
#[derive(Debug, Clone)]
pub struct PlanHeader {
    /// The snapshot restored from.
    pub snapshot: Side,
    /// The configured source written to.
    pub target: String,
    pub mode: Mode,
}

impl PlanHeader {
    fn facts(&self) -> Vec<(&'static str, String)> {
        let mode = match self.mode {
            Mode::Additive => "additive: nothing is deleted",
            Mode::Authoritative => "authoritative: objects the snapshot lacks are deleted",
        };
        vec![("target", self.target.clone()), ("mode", mode.to_string())]
    }
}

/// An operation in the table: the plan's JSON without the records it carries.
#[derive(Serialize)]
struct OpRow<'a> {
    seq: usize,
    /// The step (level) of the plan it runs in, from 1.
    step: usize,
    action: Action,
    kind: &'a str,
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_id: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    fields: &'a [FieldChange],
}

/// An object of an outcome: an operation that failed or was left out, or an object that
/// still differs.
#[derive(Serialize)]
struct OutcomeRow<'a> {
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<usize>,
    action: Action,
    kind: &'a str,
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    fields: &'a [FieldChange],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    cannot_restore: &'a [String],
}

fn bars(counts: [u64; 3], labels: [&'static str; 3]) -> Vec<Bar> {
    ["add", "chg", "rem"]
        .into_iter()
        .zip(counts)
        .zip(labels)
        .map(|((class, count), label)| Bar {
            count,
            class,
            label,
        })
        .collect()
}

/// Writes `plan` as one HTML page; see the module documentation.
pub fn write_plan(
    plan: &Plan,
    head: &PlanHeader,
    kinds: &Kinds,
    out: &mut dyn Write,
) -> io::Result<()> {
    let title = format!("iamsnap restore plan: {} → {}", plan.snapshot, plan.target);
    let mut facts = head.facts();
    facts.push(("operations", thousands(plan.operations.len() as u64)));
    let page_header = header(
        "iamsnap restore plan",
        &[("snapshot", &head.snapshot)],
        &facts,
    );
    let mut page = Page::start(out, &title, page_header)?;

    let outline = plan.outline()?;
    let mut per_kind: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for s in &outline {
        let at = match s.action {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
        };
        per_kind.entry(s.kind.clone()).or_default()[at] += s.count as u64;
    }
    let shown = kinds.sort(per_kind.keys());
    let rows: Vec<(String, Vec<Bar>, Vec<u64>)> = shown
        .iter()
        .map(|k| {
            (
                k.to_string(),
                bars(per_kind[*k], ["to create", "to update", "to delete"]),
                Vec::new(),
            )
        })
        .collect();
    let counts = plan.counts()?;
    page.section(html! {
        section #summary {
            h2 { "Summary" }
            @if plan.operations.is_empty() {
                p.total { "Nothing to do: the live state matches the snapshot"
                    @if !plan.skipped.is_empty() { ", but for the operations not restored (below)" } "." }
            } @else {
                p.total {
                    strong { (thousands(plan.operations.len() as u64)) " operations: " }
                    span.add { (thousands(counts.create as u64)) " create" } ", "
                    span.chg { (thousands(counts.update as u64)) " update" } ", "
                    span.rem { (thousands(counts.delete as u64)) " delete" }
                }
                (summary_table(&["create", "update", "delete"], &rows))
            }
        }
    })?;
    page.section(cannot_restore(&plan.cannot_restore)?)?;
    page.section(skipped(&plan.skipped))?;

    let mut levels: Vec<usize> = outline.iter().map(|s| s.level).collect();
    levels.dedup();
    page.rows(
        "Operations",
        Some("In plan order: each step's operations may run at the same time, steps run one after another. For an update, the live value is shown beside the snapshot's, which the restore writes."),
    )?;
    for op in plan.operations.iter()? {
        let op = op?;
        let step = levels.iter().position(|l| *l == op.level).unwrap_or(0) + 1;
        page.row(&OpRow {
            seq: op.seq,
            step,
            action: op.action,
            kind: &op.kind,
            key: &op.key,
            snapshot_id: op.snapshot_id.as_deref(),
            live_id: op.live_id.as_deref(),
            fields: &op.fields,
        })?;
    }
    page.finish(&Config {
        report: "plan",
        action_field: "action",
        actions: &["create", "update", "delete"],
        kinds: shown.iter().map(|k| k.to_string()).collect(),
        columns: &["seq", "step", "action", "kind", "key", "ids", "fields"],
        before: "live now",
        after: "snapshot (written by the restore)",
    })
}

/// Writes the outcome of `--apply` as one HTML page.
pub fn write_outcome(
    report: &ApplyReport,
    head: &PlanHeader,
    kinds: &Kinds,
    out: &mut dyn Write,
) -> io::Result<()> {
    let title = format!("iamsnap restore: {} → {}", head.snapshot.name, head.target);
    let mut facts = head.facts();
    facts.push(("journal", report.journal.clone()));
    let page_header = header(
        "iamsnap restore: outcome",
        &[("snapshot", &head.snapshot)],
        &facts,
    );
    let mut page = Page::start(out, &title, page_header)?;

    let unexplained = report.unexplained();
    let mut per_kind: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for f in &report.failures {
        per_kind.entry(&f.kind).or_default()[0] += 1;
    }
    for r in &report.residual {
        per_kind.entry(&r.kind).or_default()[1] += 1;
    }
    for s in &report.skipped_operations {
        per_kind.entry(&s.kind).or_default()[2] += 1;
    }
    let names: Vec<String> = per_kind.keys().map(|k| k.to_string()).collect();
    let shown = kinds.sort(names.iter());
    let rows: Vec<(String, Vec<Bar>, Vec<u64>)> = shown
        .iter()
        .map(|k| {
            let [failed, residual, skipped] = per_kind[k.as_str()];
            let bars = vec![
                Bar {
                    count: failed,
                    class: "rem",
                    label: "failed",
                },
                Bar {
                    count: residual,
                    class: "chg",
                    label: "still different",
                },
                Bar {
                    count: skipped,
                    class: "skip",
                    label: "not restored",
                },
            ];
            (k.to_string(), bars, Vec::new())
        })
        .collect();
    page.section(html! {
        section #summary {
            h2 { "Summary" }
            p.total {
                strong { (thousands(report.done as u64)) " done" } ", "
                span.rem { (thousands(report.failed as u64)) " failed" } ", "
                (thousands(report.skipped as u64)) " skipped, "
                span.chg { (thousands(report.residual.len() as u64)) " still different from the snapshot" }
                " (" (thousands((report.residual.len() - unexplained) as u64)) " of them because of what cannot be restored)"
            }
            @if report.is_complete() {
                p.verdict.ok { "Everything restorable matches the snapshot." }
            } @else {
                p.verdict.warn { "The restore is incomplete: fix the cause of each failure, then run the restore again with --resume." }
            }
            @if !rows.is_empty() {
                (summary_table(&["failed", "still different", "not restored"], &rows))
            }
        }
    })?;
    page.section(cannot_restore(&report.cannot_restore)?)?;

    page.rows(
        "Objects that need attention",
        Some("Failed operations, objects that still differ from the snapshot (live value beside the snapshot's), and operations left out."),
    )?;
    for f in &report.failures {
        page.row(&OutcomeRow {
            outcome: "failed",
            seq: Some(f.seq),
            action: f.action,
            kind: &f.kind,
            key: &f.key,
            note: Some(redact::scrub(&f.error).to_string()),
            fields: &[],
            cannot_restore: &[],
        })?;
    }
    for r in &report.residual {
        page.row(&OutcomeRow {
            outcome: match r.cannot_restore.is_empty() {
                true => "still different",
                false => "differs as expected",
            },
            seq: None,
            action: r.action,
            kind: &r.kind,
            key: &r.key,
            note: r.problem.as_deref().map(|p| redact::scrub(p).to_string()),
            fields: &r.fields,
            cannot_restore: &r.cannot_restore,
        })?;
    }
    for s in &report.skipped_operations {
        page.row(&OutcomeRow {
            outcome: "not restored",
            seq: None,
            action: s.action,
            kind: &s.kind,
            key: &s.key,
            note: Some(redact::scrub(&s.reason).to_string()),
            fields: &[],
            cannot_restore: &[],
        })?;
    }
    page.finish(&Config {
        report: "outcome",
        action_field: "outcome",
        actions: &[
            "failed",
            "still different",
            "differs as expected",
            "not restored",
        ],
        kinds: shown.iter().map(|k| k.to_string()).collect(),
        columns: &["action", "op", "kind", "key", "note"],
        before: "live now",
        after: "snapshot",
    })
}

/// The cannot-restore report grouped by reason, with the first [`KEYS_SHOWN`] keys of each
/// kind.
fn cannot_restore(items: &[CannotRestore]) -> io::Result<Markup> {
    let mut lost = Vec::with_capacity(items.len());
    for item in items {
        let keys = item
            .keys
            .iter()?
            .take(KEYS_SHOWN)
            .collect::<io::Result<Vec<_>>>()?;
        lost.push(Lost {
            kind: &item.kind,
            reason: &item.reason,
            count: item.count,
            keys,
        });
    }
    Ok(cannot_restore_section(
        &lost,
        "(--format json lists them all)",
    ))
}

/// The operations the plan leaves out, and why.
fn skipped(items: &[Skipped]) -> Markup {
    let shown = &items[..items.len().min(KEYS_SHOWN)];
    html! {
        @if !items.is_empty() {
            section #skipped {
                h2 { "Not restored (" (thousands(items.len() as u64)) ")" }
                ul.skipped {
                    @for s in shown {
                        li { code { (format!("{:?}", s.action).to_lowercase()) " " (s.kind) } " " strong { (s.key) } ": " (redact::scrub(&s.reason)) }
                    }
                }
                @if items.len() > shown.len() {
                    p.note { "… and " (thousands((items.len() - shown.len()) as u64)) " more (--format json lists them all)" }
                }
            }
        }
    }
}
