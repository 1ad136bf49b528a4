//! Reports as one self-contained HTML file, for the people who read them away from a terminal
//! (a security lead, an auditor, a change board): a diff ([`diff`]), a restore plan and a
//! restore's outcome ([`plan`]), a restore drill ([`drill`]).
//!
//! A page holds everything it needs: its style sheet and script are inline, and its
//! Content-Security-Policy allows no request at all and no script but its own (by hash), so it
//! works from a mail attachment or a bucket link and a value in it can never run as code. The
//! header (which snapshots, when, from where, whether their signatures were checked), the
//! summary per kind and the cannot-restore report are HTML written with `maud`, which escapes
//! every value. The objects are written as data: one JSON document per object, the same one
//! `--format json` prints, inside a `<script type="application/json">` block whose `<`, `>`
//! and `&` are written as JSON escapes, so that no value (`</script>` in a display name) can
//! end the block. The page's script lists them in a table that draws only the rows in view,
//! so a report of 100,000 changes scrolls, filters and sorts at once; the filters are kept in
//! the address's fragment (`#q=grace&kind=okta.user&action=removed`), so a filtered view can
//! be linked to.
//!
//! Everything is written as it is read, piece by piece: a page of any size takes the memory
//! of one object.

use std::io::{self, Write};

use base64::Engine;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::report::thousands;

pub mod diff;
pub mod drill;
pub mod plan;

#[cfg(test)]
mod tests;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// Whether a side's records can be trusted to be what the backup host wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// The archive's minisign signature was checked with `repository.verify_key`.
    Verified,
    /// Opened with `--insecure-skip-signature`: nothing proves who wrote it.
    NotChecked,
    /// Read from the provider itself, not from an archive.
    Live,
}

impl Signature {
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Signature::Verified => ("ok", "signature verified (repository.verify_key)"),
            Signature::NotChecked => (
                "warn",
                "signature NOT checked (--insecure-skip-signature): anyone who can write to the repository could have made it",
            ),
            Signature::Live => ("live", "read live from the provider"),
        }
    }
}

/// One side of a report: a stored snapshot, or the live state of a source.
#[derive(Debug, Clone)]
pub struct Side {
    /// As the other outputs name it: the snapshot's name or `live:SOURCE`.
    pub name: String,
    /// The configured source.
    pub source: String,
    /// The provider type (`okta`).
    pub provider: String,
    /// When the snapshot was taken, or the live state read.
    pub time: DateTime<Utc>,
    pub signature: Signature,
}

/// A JSON value in a page's data block: `<`, `>` and `&` are written as `\u003c`, `\u003e`
/// and `\u0026` (they occur only inside strings, where the escapes mean the same), so that
/// no value can close the block or open a comment.
struct ScriptSafe<'w>(&'w mut dyn Write);

impl Write for ScriptSafe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (at, byte) in buf.iter().enumerate() {
            let escape: &[u8] = match byte {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                _ => continue,
            };
            self.0.write_all(&buf[start..at])?;
            self.0.write_all(escape)?;
            start = at + 1;
        }
        self.0.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Writes `value` as JSON that is safe inside a `<script>` data block.
fn data(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(ScriptSafe(out), value).map_err(io::Error::other)
}

/// What the page's script needs to know besides the objects.
#[derive(Serialize)]
struct Config<'a> {
    /// `diff`, `plan` or `outcome`.
    report: &'a str,
    /// The field of an object that says what happens to it (`status`, `action`, `outcome`).
    action_field: &'a str,
    /// Its values, in the order the filter offers them.
    actions: &'a [&'a str],
    /// The kinds present, in dependency order.
    kinds: Vec<String>,
    /// The table's columns (see `report.js`).
    columns: &'a [&'a str],
    /// What the two sides of a field change are called (`old`/`new`, `live now`/`after`).
    before: &'a str,
    after: &'a str,
}

/// A page being written: [`Page::start`], then sections, then the objects between
/// [`Page::rows`] and [`Page::finish`].
struct Page<'w> {
    out: &'w mut dyn Write,
    rows: usize,
}

impl<'w> Page<'w> {
    /// The document up to the end of its header.
    fn start(out: &'w mut dyn Write, title: &str, header: Markup) -> io::Result<Page<'w>> {
        let digest = Sha256::digest(SCRIPT.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest);
        // No request of any kind leaves the page, and only its own script runs.
        let policy = format!(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'"
        );
        let head = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta http-equiv="Content-Security-Policy" content=(policy);
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="generator" content=(concat!("iamsnap ", env!("CARGO_PKG_VERSION")));
                    title { (title) }
                    style { (PreEscaped(STYLE)) }
                }
            }
        };
        // maud closes every element it opens: the body is written by hand around the parts.
        let head = head.into_string();
        let head = head.strip_suffix("</html>").unwrap_or(&head);
        out.write_all(head.as_bytes())?;
        out.write_all(b"<body>")?;
        out.write_all(header.into_string().as_bytes())?;
        out.write_all(b"<main>")?;
        Ok(Page { out, rows: 0 })
    }

    fn section(&mut self, markup: Markup) -> io::Result<()> {
        self.out.write_all(markup.into_string().as_bytes())
    }

    /// The table's frame, then the opening of the objects' data block.
    fn rows(&mut self, title: &str, note: Option<&str>) -> io::Result<()> {
        let frame = html! {
            section #objects {
                h2 { (title) }
                @if let Some(note) = note { p.note { (note) } }
                noscript {
                    p.warn { "The list of objects is drawn by the page's script: open the file in a browser with scripts allowed. The summary above is complete without it; --format json lists every object." }
                }
                div.controls {
                    input #q type="search" placeholder="Search kind, key, id, field, value, actor" aria-label="Search";
                    select #kind aria-label="Kind" { option value="" { "every kind" } }
                    select #action aria-label="Action" { option value="" { "every action" } }
                    span #count aria-live="polite" {}
                }
                div.split {
                    div #table role="table" {
                        div #thead role="row" {}
                        div #viewport {
                            div #spacer { div #tbody {} }
                        }
                    }
                    aside #detail { p.empty { "Select an object to see what differs, field by field." } }
                }
            }
        };
        self.section(frame)?;
        self.out
            .write_all(b"</main><script type=\"application/json\" id=\"rows\">[")
    }

    /// One object of the table, as JSON.
    fn row(&mut self, value: &impl Serialize) -> io::Result<()> {
        if self.rows > 0 {
            self.out.write_all(b",\n")?;
        }
        self.rows += 1;
        data(self.out, value)
    }

    /// The end of the data, the script and the document.
    fn finish(self, config: &Config) -> io::Result<()> {
        self.out
            .write_all(b"]</script>\n<script type=\"application/json\" id=\"config\">")?;
        data(self.out, config)?;
        self.out.write_all(b"</script>\n<script>")?;
        self.out.write_all(SCRIPT.as_bytes())?;
        self.out.write_all(b"</script></body></html>\n")?;
        self.out.flush()
    }
}

/// The page's header: its title, the sides it compares, a few facts.
fn header(title: &str, sides: &[(&str, &Side)], facts: &[(&str, String)]) -> Markup {
    let now = Utc::now();
    html! {
        header {
            h1 { (title) }
            div.sides {
                @for (role, side) in sides {
                    @let (class, signature) = side.signature.describe();
                    div.side {
                        div.role { (role) }
                        div.name { (side.name) }
                        dl {
                            dt { "source" } dd { (side.source) " (" (side.provider) ")" }
                            dt { @if side.signature == Signature::Live { "read at" } @else { "taken at" } }
                            dd { (stamp(side.time)) }
                            dt { "integrity" } dd { span class={ "sig " (class) } { (signature) } }
                        }
                    }
                }
            }
            dl.facts {
                @for (name, value) in facts { dt { (name) } dd { (value) } }
                dt { "report written" } dd { (stamp(now)) " by iamsnap " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
}

fn stamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// One bar of a summary chart: a count and the class that colours it.
struct Bar {
    count: u64,
    class: &'static str,
    label: &'static str,
}

/// The summary table: a row per kind with its counts and a stacked bar scaled to the
/// largest row.
fn summary_table(heads: &[&str], rows: &[(String, Vec<Bar>, Vec<u64>)]) -> Markup {
    let widest = rows
        .iter()
        .map(|(_, bars, _)| bars.iter().map(|b| b.count).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        table.summary {
            thead { tr {
                th { "kind" }
                @for head in heads { th.num { (head) } }
                th.chart { "" }
            } }
            tbody {
                @for (kind, bars, extra) in rows {
                    tr {
                        td { a.kind href="#" data-kind=(kind) { (kind) } }
                        @for bar in bars { td.num { (thousands(bar.count)) } }
                        @for n in extra { td.num.muted { (thousands(*n)) } }
                        td.chart {
                            div.bar role="img" aria-label=(bar_label(bars)) {
                                @for bar in bars {
                                    @if bar.count > 0 {
                                        span class=(bar.class) title=(format!("{} {}", thousands(bar.count), bar.label))
                                            style=(format!("width:{:.2}%", bar.count as f64 * 100.0 / widest as f64)) {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn bar_label(bars: &[Bar]) -> String {
    bars.iter()
        .map(|b| format!("{} {}", thousands(b.count), b.label))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one kind loses for one reason: how many objects, and the keys shown of them.
struct Lost<'a> {
    kind: &'a str,
    reason: &'a str,
    count: usize,
    keys: Vec<String>,
}

/// The cannot-restore report grouped by reason: what is lost (the reason up to its first
/// `: `), what to do about it (the rest), and the objects per kind. `more` follows the count
/// of keys not shown.
fn cannot_restore_section(items: &[Lost<'_>], more: &str) -> Markup {
    let mut reasons: Vec<(&str, Vec<&Lost<'_>>)> = Vec::new();
    for item in items {
        match reasons.iter_mut().find(|(r, _)| *r == item.reason) {
            Some((_, group)) => group.push(item),
            None => reasons.push((item.reason, vec![item])),
        }
    }
    html! {
        @if !reasons.is_empty() {
            section #cannot {
                h2 { "Cannot be restored: needs action after the restore" }
                @for (reason, group) in &reasons {
                    @let total: usize = group.iter().map(|i| i.count).sum();
                    @let (what, next) = reason.split_once(": ").unwrap_or((reason, ""));
                    article.reason {
                        h3 { (what) span.count { (thousands(total as u64)) " objects" } }
                        @if !next.is_empty() { p.step { (next) } }
                        @for item in group {
                            details {
                                summary { code { (item.kind) } " (" (thousands(item.count as u64)) ")" }
                                ul.keys { @for key in &item.keys { li { (key) } } }
                                @if item.count > item.keys.len() {
                                    p.note { "… and " (thousands((item.count - item.keys.len()) as u64)) " more " (more) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
