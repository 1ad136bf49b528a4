//! Writing a [`Diff`] for people (text, Markdown) and for programs (JSON).
//!
//! Text and Markdown start with the summary: what differs, how many objects came back under
//! new ids, a table per kind in dependency order. Then a section per kind, in the same order,
//! lists the objects (memberships and assignments under their parent, see
//! [`crate::report`]), a few per kind unless [`Detail::limit`] is `None`. Objects whose only
//! difference is their ids are listed only with [`Detail::show_ids`]. Sections are written
//! to encrypted temporary files as the (kind, key)-sorted changes stream by, then copied out
//! in dependency order, so that memory stays bounded with `--full`.
//!
//! JSON carries every fact; its schema is documented in `docs/diff-json.md`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::iter::Peekable;

use iamsnap_provider::KindInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diff::along::{Along, Finder, Found};
use crate::diff::who;
use crate::diff::{Change, Counts, Diff, DiffError, MatchedBy, Recreated, Status, Summary};
use crate::report::{self, Detail, Entry, Kinds, NAMES, Section, Style, thousands};
use crate::restore::spill::SpillWriter;
use crate::scratch::{ScratchDir, SealedFile};

/// Longest value shown in text and Markdown; JSON always carries values whole.
const VALUE_WIDTH: usize = 120;

fn io(e: io::Error) -> DiffError {
    DiffError::Output(e)
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A JSON value on one line, cut to [`VALUE_WIDTH`] characters; `(absent)` for a missing field.
pub fn short_value(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".to_string();
    };
    let text = value.to_string();
    if text.chars().count() <= VALUE_WIDTH {
        return text;
    }
    let cut: String = text.chars().take(VALUE_WIDTH).collect();
    format!("{cut}…")
}

fn ids(change: &Change) -> String {
    match (
        change.status,
        &change.old_id,
        &change.new_id,
        change.matched_by,
    ) {
        (Status::Changed, Some(old), Some(new), Some(MatchedBy::Key)) => {
            format!("re-created: id {old} → {new}")
        }
        (_, _, Some(id), _) | (_, Some(id), None, _) => format!("id {id}"),
        _ => String::new(),
    }
}

/// A change or a re-created object, as [`crate::report`] lists it.
fn entry_of_change(change: Change, style: Style, colour: bool) -> Entry {
    let (mark, code, verb) = match change.status {
        Status::Added => ("+", "32", "added"),
        Status::Removed => ("-", "31", "removed"),
        Status::Changed => ("~", "33", "changed"),
    };
    let mut details: Vec<String> = change
        .fields
        .iter()
        .map(|f| {
            let (old, new) = (short_value(f.old.as_ref()), short_value(f.new.as_ref()));
            match style {
                Style::Text => format!("{}: {old} → {new}", f.path),
                Style::Markdown => format!(
                    "{}: {} → {}",
                    style.code(&f.path),
                    style.code(&old),
                    style.code(&new)
                ),
            }
        })
        .collect();
    let quote = |t: &str| style.code(t);
    details.extend(change.events.iter().map(|e| who::event_line(e, &quote)));
    let head = match style {
        Style::Text => paint(colour, code, mark),
        Style::Markdown => format!("**{verb}**"),
    };
    Entry {
        tail: format!(" ({})", ids(&change)),
        key: change.key,
        head,
        verb,
        details,
    }
}

fn entry_of_recreated(item: Recreated, style: Style) -> Entry {
    let mut tail = if item.old_id == item.new_id {
        format!(" (id {})", item.old_id)
    } else {
        format!(" (id {} → {})", item.old_id, item.new_id)
    };
    if !item.moved_refs.is_empty() {
        let refs: Vec<String> = item
            .moved_refs
            .iter()
            .map(|r| format!("{} {} → {}", r.rel, r.old_id, r.new_id))
            .collect();
        tail.push_str(&format!(", refs {}", refs.join(", ")));
    }
    Entry {
        key: item.key,
        head: match style {
            Style::Text => "=".into(),
            Style::Markdown => "**re-created**".into(),
        },
        tail,
        verb: "re-created",
        details: Vec::new(),
    }
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} added, {} removed, {} changed",
        thousands(c.added),
        thousands(c.removed),
        thousands(c.changed)
    )
}

/// The sentence about objects found again under new ids, if any.
fn recreated_line(s: &Summary, detail: &Detail) -> Option<String> {
    (s.total.recreated > 0).then(|| {
        let hint = if detail.show_ids {
            "listed with their old and new ids"
        } else {
            "--show-ids lists them"
        };
        format!(
            "{} re-created under new ids: the same objects in the same state, only ids differ (not differences; {hint})",
            thousands(s.total.recreated)
        )
    })
}

/// The sentence about kinds left out because one side did not read them, if any.
pub fn not_compared_line(s: &Summary, code: &dyn Fn(&str) -> String) -> Option<String> {
    (!s.not_compared.is_empty()).then(|| {
        let kinds: Vec<String> = s.not_compared.iter().map(|k| code(k)).collect();
        format!(
            "not compared, as one side did not read them (exclude_kinds): {}",
            kinds.join(", ")
        )
    })
}

fn summary_rows(s: &Summary, kinds: &Kinds, style: Style) -> Vec<(String, Vec<u64>)> {
    let shown = s
        .kinds
        .iter()
        .filter(|(_, c)| c.differences() + c.recreated > 0)
        .map(|(k, _)| k);
    let mut rows: Vec<(String, Vec<u64>)> = kinds
        .sort(shown)
        .into_iter()
        .map(|k| {
            let c = &s.kinds[k];
            (
                style.code(k),
                vec![c.added, c.removed, c.changed, c.recreated, c.unchanged],
            )
        })
        .collect();
    if style == Style::Markdown {
        let t = &s.total;
        rows.push((
            "**total**".into(),
            vec![t.added, t.removed, t.changed, t.recreated, t.unchanged],
        ));
    }
    rows
}

const TABLE: [&str; 6] = [
    "kind",
    "added",
    "removed",
    "changed",
    "re-created",
    "unchanged",
];

fn write_summary(
    s: &Summary,
    out: &mut dyn Write,
    style: Style,
    detail: &Detail,
    kinds: &Kinds,
) -> io::Result<()> {
    let code = |t: &str| style.code(t);
    match style {
        Style::Text => {
            writeln!(out, "old: {} ({} records)", s.old, thousands(s.old_records))?;
            writeln!(out, "new: {} ({} records)", s.new, thousands(s.new_records))?;
        }
        Style::Markdown => {
            writeln!(out, "## iamsnap diff\n")?;
            writeln!(
                out,
                "{} ({} records) → {} ({} records)\n",
                code(&s.old),
                thousands(s.old_records),
                code(&s.new),
                thousands(s.new_records)
            )?;
        }
    }
    let recreated = recreated_line(s, detail);
    if s.is_same() {
        match style {
            Style::Text => writeln!(out, "no differences")?,
            Style::Markdown => writeln!(out, "No differences.")?,
        }
    } else {
        writeln!(
            out,
            "{} differences: {}",
            thousands(s.total.differences()),
            counts_line(&s.total)
        )?;
    }
    if let Some(line) = recreated {
        writeln!(out, "{line}")?;
    }
    if let Some(audit) = &s.audit {
        writeln!(out, "{}", who::summary_line(audit))?;
    }
    if let Some(line) = not_compared_line(s, &code) {
        writeln!(out, "{line}")?;
    }
    if s.is_identical() {
        return Ok(());
    }
    writeln!(out)?;
    report::table(out, style, &TABLE, &summary_rows(s, kinds, style))
}

/// A change or a re-created object, merged from the two sorted streams.
#[derive(Serialize, Deserialize)]
enum Item {
    Change(Change),
    Recreated(Recreated),
}

impl Item {
    fn kind(&self) -> &str {
        match self {
            Item::Change(c) => &c.kind,
            Item::Recreated(r) => &r.kind,
        }
    }

    fn key(&self) -> &str {
        match self {
            Item::Change(c) => &c.key,
            Item::Recreated(r) => &r.key,
        }
    }
}

/// Merges the changes and (when shown) the re-created objects by (kind, key).
fn merged(diff: Diff, show_ids: bool) -> (Summary, impl Iterator<Item = Result<Item, DiffError>>) {
    let parts = diff.into_parts();
    let mut changes: Peekable<_> = parts.changes.map(|c| c.map(Item::Change)).peekable();
    let recreated: Box<dyn Iterator<Item = Result<Recreated, DiffError>>> = match show_ids {
        true => parts.recreated,
        false => Box::new(std::iter::empty()),
    };
    let mut recreated: Peekable<_> = recreated.map(|r| r.map(Item::Recreated)).peekable();
    let items = std::iter::from_fn(move || {
        let take_change = match (changes.peek(), recreated.peek()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(Err(_)), _) => true,
            (_, Some(Err(_))) => false,
            (Some(Ok(a)), Some(Ok(b))) => (a.kind(), a.key()) <= (b.kind(), b.key()),
        };
        if take_change {
            changes.next()
        } else {
            recreated.next()
        }
    });
    (parts.summary, items)
}

/// Human-readable text: see the module documentation.
pub fn text(
    diff: Diff,
    out: &mut dyn Write,
    detail: &Detail,
    kinds: &Kinds,
) -> Result<(), DiffError> {
    human(diff, out, Style::Text, detail, kinds)
}

/// Markdown for tickets and pull requests: the same as [`text`], as a table and lists.
pub fn markdown(
    diff: Diff,
    out: &mut dyn Write,
    detail: &Detail,
    kinds: &Kinds,
) -> Result<(), DiffError> {
    let detail = Detail {
        colour: false,
        ..*detail
    };
    human(diff, out, Style::Markdown, &detail, kinds)
}

fn human(
    diff: Diff,
    out: &mut dyn Write,
    style: Style,
    detail: &Detail,
    kinds: &Kinds,
) -> Result<(), DiffError> {
    write_summary(&diff.summary, out, style, detail, kinds).map_err(io)?;
    let (summary, items) = merged(diff, detail.show_ids);
    // Relationship records go under a removed member only when both kinds of removal
    // happened; otherwise the stream is written as it comes.
    let removed = |grouped: bool| {
        summary
            .kinds
            .iter()
            .any(|(k, c)| c.removed > 0 && kinds.parent(k).is_some() == grouped)
    };
    let sections = if removed(true) && removed(false) {
        let mut finder = Finder::new(kinds)?;
        let mut kept = SpillWriter::<Item>::new(None)?;
        for item in items {
            let item = item?;
            if let Item::Change(change) = &item {
                finder.see(change)?;
            }
            kept.push(&item)?;
        }
        let found = finder.finish()?;
        let kept = kept.finish()?;
        let items = kept.iter()?.map(|i| i.map_err(DiffError::from));
        write_sections(items, Some(found), style, detail, kinds)?
    } else {
        write_sections(items, None, style, detail, kinds)?
    };
    for kind in kinds.sort(sections.keys()) {
        let c = &summary.kinds[kind];
        let mut counts = Vec::new();
        for (n, word) in [
            (c.added, "added"),
            (c.removed, "removed"),
            (c.changed, "changed"),
            (c.recreated, "re-created"),
        ] {
            if n > 0 {
                counts.push(format!("{} {word}", thousands(n)));
            }
        }
        let heading = match style {
            Style::Text => format!(
                "\n{} ({})",
                paint(detail.colour, "1", kind),
                counts.join(", ")
            ),
            Style::Markdown => format!("\n### {} ({})\n", style.code(kind), counts.join(", ")),
        };
        writeln!(out, "{heading}").map_err(io)?;
        let mut reader = sections[kind].open()?;
        io::copy(&mut reader, out).map_err(io)?;
    }
    Ok(())
}

/// Writes each kind's section to its own file (the stream is in kind-name order, the report
/// in dependency order); with `found`, relationship records removed along with their member
/// are listed under it instead of under their parent.
fn write_sections(
    items: impl Iterator<Item = Result<Item, DiffError>>,
    mut found: Option<Found>,
    style: Style,
    detail: &Detail,
    kinds: &Kinds,
) -> Result<BTreeMap<String, SealedFile>, DiffError> {
    let scratch = ScratchDir::new(None, "report")?;
    let mut sections: BTreeMap<String, SealedFile> = BTreeMap::new();
    let mut items = items.peekable();
    while let Some(first) = items.next() {
        let first = first?;
        let kind = first.kind().to_string();
        let mut file = scratch.create(&format!("section-{}", sections.len()))?;
        let mut section = Section::new(&mut file, style, kinds.parent(&kind), detail.limit);
        // Records shown under another kind's objects, per that kind.
        let mut elsewhere: BTreeMap<String, u64> = BTreeMap::new();
        let mut next = Some(first);
        while let Some(item) = next.take() {
            let entry = match (item, found.as_mut()) {
                (Item::Change(c), Some(found)) if c.status == Status::Removed => {
                    if kinds.parent(&c.kind).is_some() {
                        match found.taken(&c.kind, &c.key)? {
                            Some(owner) => {
                                *elsewhere.entry(owner).or_default() += 1;
                                None
                            }
                            None => Some(entry_of_change(c, style, detail.colour)),
                        }
                    } else {
                        let along = found.under(&c.kind, &c.key)?;
                        let mut entry = entry_of_change(c, style, detail.colour);
                        entry.details.extend(along_lines(&along, style, detail));
                        Some(entry)
                    }
                }
                (Item::Change(c), _) => Some(entry_of_change(c, style, detail.colour)),
                (Item::Recreated(r), _) => Some(entry_of_recreated(r, style)),
            };
            if let Some(entry) = entry {
                section.push(entry)?;
            }
            if items
                .peek()
                .is_some_and(|p| p.as_ref().map_or(true, |p| p.kind() == kind))
            {
                next = items.next().transpose()?;
            }
        }
        section.finish()?;
        for (owner, n) in elsewhere {
            let owner = style.code(&owner);
            writeln!(
                file,
                "{}{} removed together with their {owner}: listed under {owner}",
                style.item(),
                thousands(n),
            )
            .map_err(io)?;
        }
        sections.insert(kind, file.finish()?);
    }
    Ok(sections)
}

/// `removed with it: 4 group memberships (Ops, Sales, Eng, … 1 more)`, a line per kind; every
/// name with `--full`.
fn along_lines(along: &[Along], style: Style, detail: &Detail) -> Vec<String> {
    let mut lines = Vec::new();
    for group in along.chunk_by(|a, b| a.kind == b.kind) {
        let kind = &group[0].kind;
        let noun = match group.len() {
            1 => report::one(&KindInfo::plural(kind)),
            _ => KindInfo::plural(kind),
        };
        let shown = detail.limit.map_or(group.len(), |_| group.len().min(NAMES));
        let mut names: Vec<String> = group[..shown]
            .iter()
            .map(|a| style.code(&a.parent))
            .collect();
        if group.len() > shown {
            names.push(format!(
                "… {} more",
                thousands((group.len() - shown) as u64)
            ));
        }
        lines.push(format!(
            "removed with it: {} {noun} ({})",
            thousands(group.len() as u64),
            names.join(", ")
        ));
    }
    lines
}

/// `{"changes": [...], "recreated": [...], "summary": {...}}`, one item per line.
pub fn json(diff: Diff, out: &mut dyn Write) -> Result<(), DiffError> {
    let parts = diff.into_parts();
    let summary = serde_json::to_string(&parts.summary).map_err(|e| io(e.into()))?;
    out.write_all(b"{\"changes\": [").map_err(io)?;
    for (i, change) in parts.changes.enumerate() {
        let line = serde_json::to_string(&change?).map_err(|e| io(e.into()))?;
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(out, "{sep}{line}").map_err(io)?;
    }
    out.write_all(b"\n], \"recreated\": [").map_err(io)?;
    for (i, item) in parts.recreated.enumerate() {
        let line = serde_json::to_string(&item?).map_err(|e| io(e.into()))?;
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(out, "{sep}{line}").map_err(io)?;
    }
    writeln!(out, "\n], \"summary\": {summary}}}").map_err(io)
}
