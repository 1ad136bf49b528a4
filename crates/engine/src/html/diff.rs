//! A diff as an HTML page: the two sides, the counts per kind with a bar each, and every
//! change (and, with `show_ids`, every object re-created under new ids) in the table, each
//! as `--format json` writes it (see `docs/diff-json.md`), so that what that schema gains
//! (such as the audit events that touched a change) reaches the page as well.

use std::io::Write;

use maud::html;
use serde::Serialize;

use crate::diff::render::not_compared_line;
use crate::diff::who;
use crate::diff::{Diff, DiffError, Recreated};
use crate::html::{Bar, Config, Page, Side, header, summary_table};
use crate::report::{Kinds, thousands};

/// What the header of a diff names.
#[derive(Debug, Clone)]
pub struct DiffHeader {
    pub old: Side,
    pub new: Side,
}

/// A re-created object in the table: its JSON with the status the table filters on.
#[derive(Serialize)]
struct RecreatedRow<'a> {
    status: &'static str,
    #[serde(flatten)]
    item: &'a Recreated,
}

/// Writes `diff` as one HTML page; see the module documentation.
pub fn write(
    diff: Diff,
    head: &DiffHeader,
    show_ids: bool,
    kinds: &Kinds,
    out: &mut dyn Write,
) -> Result<(), DiffError> {
    let io = DiffError::Output;
    let parts = diff.into_parts();
    let s = &parts.summary;
    let title = format!("iamsnap diff: {} → {}", s.old, s.new);
    let page_header = header(
        "iamsnap diff",
        &[("old", &head.old), ("new", &head.new)],
        &[
            (
                "records",
                format!(
                    "{} old, {} new",
                    thousands(s.old_records),
                    thousands(s.new_records)
                ),
            ),
            ("provider kinds compared", thousands(s.kinds.len() as u64)),
        ],
    );
    let mut page = Page::start(out, &title, page_header).map_err(io)?;

    let shown: Vec<&String> = kinds.sort(
        s.kinds
            .iter()
            .filter(|(_, c)| c.differences() + c.recreated > 0)
            .map(|(k, _)| k),
    );
    let rows: Vec<(String, Vec<Bar>, Vec<u64>)> = shown
        .iter()
        .map(|k| {
            let c = &s.kinds[*k];
            (
                k.to_string(),
                vec![
                    Bar {
                        count: c.added,
                        class: "add",
                        label: "added",
                    },
                    Bar {
                        count: c.removed,
                        class: "rem",
                        label: "removed",
                    },
                    Bar {
                        count: c.changed,
                        class: "chg",
                        label: "changed",
                    },
                ],
                vec![c.recreated, c.unchanged],
            )
        })
        .collect();
    let t = &s.total;
    page.section(html! {
        section #summary {
            h2 { "Summary" }
            @if s.is_same() {
                p.total { "No differences." }
            } @else {
                p.total {
                    strong { (thousands(t.differences())) " differences: " }
                    span.add { (thousands(t.added)) " added" } ", "
                    span.rem { (thousands(t.removed)) " removed" } ", "
                    span.chg { (thousands(t.changed)) " changed" }
                }
            }
            @if t.recreated > 0 {
                p.note {
                    (thousands(t.recreated))
                    " re-created under new ids: the same objects in the same state, only ids differ (not differences; "
                    @if show_ids { "listed in the table" } @else { "--show-ids lists them" }
                    ")."
                }
            }
            @if let Some(audit) = &s.audit {
                p.note { (who::summary_line(audit)) }
            }
            @if let Some(line) = not_compared_line(s, &|k| k.to_string()) {
                p.note { (line) }
            }
            @if !rows.is_empty() {
                (summary_table(&["added", "removed", "changed", "re-created", "unchanged"], &rows))
            }
        }
    })
    .map_err(io)?;

    page.rows("Objects", None).map_err(io)?;
    for change in parts.changes {
        page.row(&change?).map_err(io)?;
    }
    if show_ids {
        for item in parts.recreated {
            page.row(&RecreatedRow {
                status: "re-created",
                item: &item?,
            })
            .map_err(io)?;
        }
    }
    page.finish(&Config {
        report: "diff",
        action_field: "status",
        actions: &["added", "removed", "changed", "re-created"],
        kinds: shown.iter().map(|k| k.to_string()).collect(),
        columns: &["action", "kind", "key", "ids", "fields"],
        before: "old",
        after: "new",
    })
    .map_err(io)
}
