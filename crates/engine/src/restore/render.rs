//! Printing plans and apply reports, as text for operators and JSON for programs. What a
//! provider said (failures, skips, what could not be read back) was scrubbed of secrets when
//! the report was made, and is scrubbed again as it is printed.

use std::io::{self, Write};

use iamsnap_provider::{Action, redact};

use crate::diff::render::short_value;
use crate::restore::spill::Spilled;
use crate::restore::{ApplyReport, CannotRestore, Mode, Plan, PlannedOp, Skipped};

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

/// The plan for an operator: counts, operations by level with the fields they change, what
/// is skipped and what cannot be restored.
pub fn plan_text(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
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
    if plan.operations.is_empty() && plan.skipped.is_empty() {
        writeln!(out, "Nothing to do: the live state matches the snapshot.")?;
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
            plan.operations.len(),
            counts.create,
            counts.update,
            counts.delete
        )?;
    }
    let mut level = None;
    for op in plan.operations.iter()? {
        let op = op?;
        if level != Some(op.level) {
            writeln!(out, "\nstep {}", op.level + 1)?;
            level = Some(op.level);
        }
        let ids = match (op.action, &op.snapshot_id, &op.live_id) {
            (Action::Update, Some(s), Some(l)) if s != l => {
                format!(" (snapshot id {s}, live id {l})")
            }
            (Action::Create, Some(s), _) => format!(" (snapshot id {s})"),
            (_, _, Some(l)) => format!(" (id {l})"),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {:>5}. {} {} {}{ids}",
            op.seq + 1,
            verb(op.action),
            op.kind,
            op.key
        )?;
        for f in &op.fields {
            writeln!(
                out,
                "           {}: {} → {}",
                f.path,
                short_value(f.old.as_ref()),
                short_value(f.new.as_ref())
            )?;
        }
    }
    skipped_text(&plan.skipped, out)?;
    cannot_restore_text(&plan.cannot_restore, out)
}

fn skipped_text(skipped: &[Skipped], out: &mut dyn Write) -> io::Result<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nNot restored ({}):", skipped.len())?;
    for s in skipped {
        writeln!(
            out,
            "  - {} {} {}: {}",
            verb(s.action),
            s.kind,
            s.key,
            redact::scrub(&s.reason)
        )?;
    }
    Ok(())
}

/// The "cannot restore" report: per kind and reason, how many objects and which.
pub fn cannot_restore_text(items: &[CannotRestore], out: &mut dyn Write) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nCannot be restored — needs action after the restore:"
    )?;
    for item in items {
        writeln!(out, "  {} × {}: {}", item.count, item.kind, item.reason)?;
        for key in item.keys.iter()? {
            let key = key?;
            writeln!(out, "      {key}")?;
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
    skipped_text(&report.skipped_operations, out)?;
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
    cannot_restore_text(&report.cannot_restore, out)?;
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
