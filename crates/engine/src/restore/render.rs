//! Printing plans and apply reports, as text for operators and JSON for programs. What a
//! provider said (failures, skips, what could not be read back) was scrubbed of secrets when
//! the report was made, and is scrubbed again as it is printed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use iamsnap_provider::{Action, KindInfo, redact};

use crate::diff::render::short_value;
use crate::report::{self, Detail, Entry, Kinds, Section, Style, thousands};
use crate::restore::spill::Spilled;
use crate::restore::{
    ApplyReport, CannotRestore, LeftAlone, Mode, Plan, PlannedOp, Segment, Skipped,
};

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

/// The plan for an operator: what it does per kind, what cannot be restored, then the
/// operations step by step, a few per kind and action unless `detail.limit` is `None`
/// (memberships and assignments under their parent, see [`crate::report`]), then what is
/// left out. The summary comes from the plan's outline, and a limited list reads only the
/// operations it shows, so that the plan of a whole organisation prints at once.
pub fn plan_text(
    plan: &Plan,
    out: &mut dyn Write,
    detail: &Detail,
    kinds: &Kinds,
) -> io::Result<()> {
    let mode = match plan.mode {
        crate::restore::Mode::Additive => "additive: nothing is deleted",
        crate::restore::Mode::Authoritative => {
            "authoritative: objects the snapshot lacks are deleted"
        }
    };
    writeln!(
        out,
        "Restore plan: {} → {} ({mode})",
        plan.snapshot, plan.target
    )?;
    let outline = plan.outline()?;
    if plan.operations.is_empty() && plan.skipped.is_empty() && plan.left_alone.is_empty() {
        writeln!(out, "Nothing to do: the live state matches the snapshot.")?;
    } else if plan.operations.is_empty() && plan.skipped.is_empty() {
        writeln!(
            out,
            "Nothing to do: the kinds compared match the snapshot; {} kinds are left alone (below).",
            plan.left_alone.len()
        )?;
    } else if plan.operations.is_empty() {
        writeln!(
            out,
            "Nothing to do: the rest matches the snapshot, and {} operations are not restored (below).",
            plan.skipped.len()
        )?;
    } else {
        let counts = plan.counts()?;
        writeln!(
            out,
            "{} operations: {} create, {} update, {} delete",
            thousands(plan.operations.len() as u64),
            thousands(counts.create as u64),
            thousands(counts.update as u64),
            thousands(counts.delete as u64)
        )?;
        summary_table(&outline, kinds, out)?;
    }
    cannot_restore_text(&plan.cannot_restore, out, detail.limit)?;
    steps_text(plan, &outline, out, detail, kinds)?;
    skipped_text(&plan.skipped, out, detail.limit)?;
    left_alone_text(&plan.left_alone, out)
}

/// The kinds one side did not read: nothing of them is planned, and why.
fn left_alone_text(left: &[LeftAlone], out: &mut dyn Write) -> io::Result<()> {
    if left.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nLeft alone, not read ({}):", left.len())?;
    for l in left {
        writeln!(out, "  {}: {}", l.kind, l.reason)?;
    }
    Ok(())
}

/// Operations per kind and action, kinds in dependency order.
fn summary_table(outline: &[Segment], kinds: &Kinds, out: &mut dyn Write) -> io::Result<()> {
    let mut per_kind: BTreeMap<&String, [u64; 3]> = BTreeMap::new();
    for s in outline {
        let at = match s.action {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
        };
        per_kind.entry(&s.kind).or_default()[at] += s.count as u64;
    }
    let rows: Vec<(String, Vec<u64>)> = kinds
        .sort(per_kind.keys().copied())
        .into_iter()
        .map(|k| (k.clone(), per_kind[k].to_vec()))
        .collect();
    writeln!(out)?;
    report::table(
        out,
        Style::Text,
        &["kind", "create", "update", "delete"],
        &rows,
    )
}

/// The operations, one step per level: `Step 2 of 3: users, group memberships`.
fn steps_text(
    plan: &Plan,
    outline: &[Segment],
    out: &mut dyn Write,
    detail: &Detail,
    kinds: &Kinds,
) -> io::Result<()> {
    let mut levels: Vec<usize> = outline.iter().map(|s| s.level).collect();
    levels.dedup();
    // Everything listed: one pass over the operations, whatever their number.
    let mut all = match detail.limit {
        None => Some(plan.operations.iter()?),
        Some(_) => None,
    };
    for (step, level) in levels.iter().enumerate() {
        let segments: Vec<&Segment> = outline.iter().filter(|s| s.level == *level).collect();
        let mut names: Vec<String> = Vec::new();
        for s in &segments {
            let name = KindInfo::plural(&s.kind);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let count: usize = segments.iter().map(|s| s.count).sum();
        let deletes = segments.iter().all(|s| s.action == Action::Delete);
        writeln!(
            out,
            "\nStep {} of {}: {}{} ({} {})",
            step + 1,
            levels.len(),
            if deletes { "delete " } else { "" },
            names.join(", "),
            thousands(count as u64),
            if count == 1 {
                "operation"
            } else {
                "operations"
            }
        )?;
        for segment in segments {
            let mut section = Section::new(
                &mut *out,
                Style::Text,
                kinds.parent(&segment.kind),
                detail.limit,
            );
            let mut items: Box<dyn Iterator<Item = io::Result<PlannedOp>> + '_> = match &mut all {
                Some(all) => Box::new(all.take(segment.count)),
                None => Box::new(
                    plan.operations
                        .iter_from(segment.offset)?
                        .take(segment.count),
                ),
            };
            let mut read = 0;
            while !section.satisfied() {
                let Some(op) = items.next() else { break };
                section.push(entry(op?))?;
                read += 1;
            }
            section.skip((segment.count - read) as u64);
            section.finish()?;
        }
    }
    Ok(())
}

/// One operation as [`crate::report`] lists it.
fn entry(op: PlannedOp) -> Entry {
    let ids = match (op.action, &op.snapshot_id, &op.live_id) {
        (Action::Update, Some(s), Some(l)) if s != l => {
            format!(" (snapshot id {s}, live id {l})")
        }
        (Action::Create, Some(s), _) => format!(" (snapshot id {s})"),
        (_, _, Some(l)) => format!(" (id {l})"),
        _ => String::new(),
    };
    Entry {
        head: format!("{:>5}. {} {}", op.seq + 1, verb(op.action), op.kind),
        key: op.key,
        tail: ids,
        verb: match op.action {
            Action::Create => "to create",
            Action::Update => "to update",
            Action::Delete => "to delete",
        },
        details: op
            .fields
            .iter()
            .map(|f| {
                // Under the operation's kind, as the plan has always printed them.
                format!(
                    "     {}: {} → {}",
                    f.path,
                    short_value(f.old.as_ref()),
                    short_value(f.new.as_ref())
                )
            })
            .collect(),
    }
}

fn skipped_text(skipped: &[Skipped], out: &mut dyn Write, limit: Option<usize>) -> io::Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nNot restored ({}):", thousands(skipped.len() as u64))?;
    let shown = limit.unwrap_or(usize::MAX);
    for s in skipped.iter().take(shown) {
        writeln!(
            out,
            "  - {} {} {}: {}",
            verb(s.action),
            s.kind,
            s.key,
            redact::scrub(&s.reason)
        )?;
    }
    if skipped.len() > shown {
        writeln!(
            out,
            "  … and {} more (use --full or --format json)",
            thousands((skipped.len() - shown) as u64)
        )?;
    }
    Ok(())
}

/// The "cannot restore" report: per kind and reason, how many objects and which (the first
/// `limit` of them when there is a limit).
pub fn cannot_restore_text(
    items: &[CannotRestore],
    out: &mut dyn Write,
    limit: Option<usize>,
) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nCannot be restored — needs action after the restore:"
    )?;
    let shown = limit.unwrap_or(usize::MAX);
    for item in items {
        writeln!(
            out,
            "  {} × {}: {}",
            thousands(item.count as u64),
            item.kind,
            item.reason
        )?;
        for key in item.keys.iter()?.take(shown) {
            let key = key?;
            writeln!(out, "      {key}")?;
        }
        if item.count > shown {
            writeln!(
                out,
                "      … and {} more (use --full or --format json)",
                thousands((item.count - shown) as u64)
            )?;
        }
    }
    Ok(())
}

/// `{"operations": [...], "cannot_restore": [...], "skipped": [...], ...}`.
pub fn plan_json(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    /// The plan as printed: written straight from the plan, without a copy of it.
    #[derive(serde::Serialize)]
    struct Printed<'p> {
        snapshot: &'p str,
        target: &'p str,
        mode: Mode,
        operations: &'p Spilled<PlannedOp>,
        skipped: &'p [Skipped],
        cannot_restore: &'p [CannotRestore],
        #[serde(skip_serializing_if = "<[LeftAlone]>::is_empty")]
        left_alone: &'p [LeftAlone],
    }
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(
        &mut out,
        &Printed {
            snapshot: &plan.snapshot,
            target: &plan.target,
            mode: plan.mode,
            operations: &plan.operations,
            skipped: &plan.skipped,
            cannot_restore: &plan.cannot_restore,
            left_alone: &plan.left_alone,
        },
    )?;
    writeln!(out)?;
    out.flush()
}

/// The outcome of `--apply` for an operator.
pub fn report_text(report: &ApplyReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "Applied: {} done, {} failed, {} skipped (journal {}).",
        report.done, report.failed, report.skipped, report.journal
    )?;
    if !report.failures.is_empty() {
        writeln!(
            out,
            "\nFailed ({}); fix the cause, then run again with --resume:",
            report.failed
        )?;
        for f in &report.failures {
            writeln!(
                out,
                "  {:>5}. {} {} {}: {}",
                f.seq + 1,
                verb(f.action),
                f.kind,
                f.key,
                redact::scrub(&f.error)
            )?;
        }
    }
    skipped_text(&report.skipped_operations, out, None)?;
    if !report.residual.is_empty() {
        writeln!(
            out,
            "\nStill different from the snapshot ({}, {} of them because of what cannot be restored):",
            report.residual.len(),
            report.residual.len() - report.unexplained()
        )?;
        for r in &report.residual {
            let problem = r
                .problem
                .as_deref()
                .map(|p| format!(": {}", redact::scrub(p)))
                .unwrap_or_default();
            writeln!(out, "  {} {}{problem}", r.kind, r.key)?;
            for reason in &r.cannot_restore {
                writeln!(out, "      (cannot restore: {reason})")?;
            }
            for f in &r.fields {
                writeln!(
                    out,
                    "      {}: {} → {}",
                    f.path,
                    short_value(f.old.as_ref()),
                    short_value(f.new.as_ref())
                )?;
            }
        }
    }
    cannot_restore_text(&report.cannot_restore, out, None)?;
    if report.is_complete() {
        writeln!(out, "\nEverything restorable matches the snapshot.")
    } else {
        writeln!(out, "\nThe restore is incomplete.")
    }
}

/// `{"done": N, "failed": N, "skipped": N, "residual": [...], "cannot_restore": [...], ...}`.
pub fn report_json(report: &ApplyReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
