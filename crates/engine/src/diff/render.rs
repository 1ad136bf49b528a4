//! Writing a [`Diff`] for people (text, Markdown) and for programs (JSON).
//!
//! Every format starts with the summary, then lists changes grouped by kind, in key order.
//! The JSON schema is documented in `docs/diff-json.md`.

use std::io::Write;

use serde_json::Value;

use crate::diff::{Change, Counts, Diff, DiffError, FieldChange, MatchedBy, Status, Summary};

/// Longest value shown in text and Markdown; JSON always carries values whole.
const VALUE_WIDTH: usize = 120;

struct Paint {
    colour: bool,
}

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn io(e: std::io::Error) -> DiffError {
    DiffError::Output(e)
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} added, {} removed, {} changed, {} unchanged",
        c.added, c.removed, c.changed, c.unchanged
    )
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

/// Human-readable text: summary first, then changes grouped by kind. `colour` adds ANSI
/// colours; pass it only when writing to a terminal.
pub fn text(diff: Diff, out: &mut dyn Write, colour: bool) -> Result<(), DiffError> {
    let paint = Paint { colour };
    let s = &diff.summary;
    write_text_summary(s, out).map_err(io)?;
    let mut kind: Option<String> = None;
    for change in diff.changes() {
        let change = change?;
        if kind.as_deref() != Some(change.kind.as_str()) {
            writeln!(out, "\n{}", paint.paint("1", &change.kind)).map_err(io)?;
            kind = Some(change.kind.clone());
        }
        let (mark, code) = match change.status {
            Status::Added => ("+", "32"),
            Status::Removed => ("-", "31"),
            Status::Changed => ("~", "33"),
        };
        let head = format!("{mark} {}", change.key);
        writeln!(out, "  {} ({})", paint.paint(code, &head), ids(&change)).map_err(io)?;
        for field in &change.fields {
            writeln!(
                out,
                "      {}: {} → {}",
                field.path,
                short_value(field.old.as_ref()),
                short_value(field.new.as_ref())
            )
            .map_err(io)?;
        }
    }
    Ok(())
}

fn write_text_summary(s: &Summary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "old: {} ({} records)", s.old, s.old_records)?;
    writeln!(out, "new: {} ({} records)", s.new, s.new_records)?;
    if s.is_same() {
        return writeln!(out, "no differences");
    }
    writeln!(
        out,
        "{} differences: {}",
        s.total.differences(),
        counts_line(&s.total)
    )?;
    let width = s.kinds.keys().map(|k| k.len()).max().unwrap_or(0);
    for (kind, c) in s.kinds.iter().filter(|(_, c)| c.differences() > 0) {
        writeln!(out, "  {kind:width$}  {}", counts_line(c))?;
    }
    Ok(())
}

/// `{"changes": [...], "summary": {...}}`, one change per line.
pub fn json(diff: Diff, out: &mut dyn Write) -> Result<(), DiffError> {
    let summary = serde_json::to_string(&diff.summary).map_err(|e| io(e.into()))?;
    out.write_all(b"{\"changes\": [").map_err(io)?;
    for (i, change) in diff.changes().enumerate() {
        let line = serde_json::to_string(&change?).map_err(|e| io(e.into()))?;
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(out, "{sep}{line}").map_err(io)?;
    }
    writeln!(out, "\n], \"summary\": {summary}}}").map_err(io)
}

/// Inline code that survives backticks in the text.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    if longest == 0 {
        return format!("`{text}`");
    }
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

fn md_field(field: &FieldChange) -> String {
    format!(
        "  - {}: {} → {}",
        code(&field.path),
        code(&short_value(field.old.as_ref())),
        code(&short_value(field.new.as_ref()))
    )
}

/// Markdown for tickets and pull requests: a summary table, then a section per kind.
pub fn markdown(diff: Diff, out: &mut dyn Write) -> Result<(), DiffError> {
    let s = &diff.summary;
    writeln!(out, "## iamsnap diff\n").map_err(io)?;
    writeln!(
        out,
        "{} ({} records) → {} ({} records)\n",
        code(&s.old),
        s.old_records,
        code(&s.new),
        s.new_records
    )
    .map_err(io)?;
    if s.is_same() {
        return writeln!(out, "No differences.").map_err(io);
    }
    writeln!(out, "| kind | added | removed | changed | unchanged |").map_err(io)?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: |").map_err(io)?;
    let row = |name: String, c: &Counts| {
        format!(
            "| {name} | {} | {} | {} | {} |",
            c.added, c.removed, c.changed, c.unchanged
        )
    };
    for (kind, c) in &s.kinds {
        writeln!(out, "{}", row(code(kind), c)).map_err(io)?;
    }
    writeln!(out, "{}", row("**total**".into(), &s.total)).map_err(io)?;
    let mut kind: Option<String> = None;
    for change in diff.changes() {
        let change = change?;
        if kind.as_deref() != Some(change.kind.as_str()) {
            writeln!(out, "\n### {}\n", code(&change.kind)).map_err(io)?;
            kind = Some(change.kind.clone());
        }
        let status = match change.status {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
        };
        writeln!(
            out,
            "- **{status}** {} ({})",
            code(&change.key),
            ids(&change)
        )
        .map_err(io)?;
        for field in &change.fields {
            writeln!(out, "{}", md_field(field)).map_err(io)?;
        }
    }
    Ok(())
}
