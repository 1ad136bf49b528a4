//! The drill report as text for operators and JSON for programs. What a provider said (its
//! failures) was scrubbed of secrets when the report was made, and is scrubbed again here.

use std::io::{self, Write};

use iamsnap_provider::{Action, redact};

use crate::drill::DrillReport;
use crate::report::thousands;

/// Not-back records and failures listed in the text report; JSON lists every one.
const LISTED: usize = 50;

/// The report for an operator: the verdict first, then the measures, then what did not come
/// back and what cannot be restored, with what to do.
pub fn text(report: &DrillReport, out: &mut dyn Write) -> io::Result<()> {
    let verdict = if report.passed() {
        "PASSED: every restorable fact came back"
    } else {
        "FAILED: restorable facts did not come back"
    };
    writeln!(
        out,
        "Restore drill {} → {} ({}): {verdict}",
        report.snapshot, report.target, report.provider
    )?;
    let facts = &report.facts;
    writeln!(
        out,
        "  fidelity        {:.1} % of restorable facts ({} of {} back)",
        report.fidelity * 100.0,
        thousands(facts.back),
        thousands(facts.restorable)
    )?;
    writeln!(
        out,
        "  facts           {} in the snapshot, {} restorable, {} cannot be restored",
        thousands(facts.total),
        thousands(facts.restorable),
        thousands(facts.cannot_restore)
    )?;
    writeln!(
        out,
        "  restore time    {:.1} s (the whole drill {:.1} s)",
        report.restore_seconds, report.duration_seconds
    )?;
    writeln!(
        out,
        "  operations      {} done, {} failed",
        report.operations_done, report.operations_failed
    )?;
    let v = &report.verification;
    if v.read_back > 0 {
        writeln!(
            out,
            "  verification    {} objects read back, {} still differ ({} explained by what cannot be restored)",
            thousands(v.read_back as u64),
            thousands(v.still_different as u64),
            thousands(v.explained as u64)
        )?;
    }
    if !report.journal.is_empty() {
        writeln!(out, "  journal         {}", report.journal)?;
    }
    if !report.not_back.is_empty() {
        writeln!(out, "\nDid not come back ({}):", report.not_back.len())?;
        for item in report.not_back.iter().take(LISTED) {
            let what = match item.action {
                Action::Create => "missing".to_string(),
                _ if item.fields.is_empty() => "different".to_string(),
                _ => format!("different: {}", item.fields.join(", ")),
            };
            writeln!(out, "  {} {} ({what})", item.kind, item.key)?;
        }
        more(out, report.not_back.len())?;
    }
    if !report.failures.is_empty() {
        writeln!(out, "\nFailed operations ({}):", report.failures.len())?;
        for f in report.failures.iter().take(LISTED) {
            writeln!(out, "  {} {}: {}", f.kind, f.key, redact::scrub(&f.error))?;
        }
        more(out, report.failures.len())?;
    }
    if !report.cannot_restore.is_empty() {
        writeln!(out, "\nCannot be restored (not counted against the drill):")?;
        for entry in &report.cannot_restore {
            writeln!(out, "  {} ({}): {}", entry.kind, entry.count, entry.reason)?;
            if !entry.keys.is_empty() {
                let shown = entry.keys.join(", ");
                let rest = entry.count.saturating_sub(entry.keys.len());
                match rest {
                    0 => writeln!(out, "      {shown}")?,
                    n => writeln!(out, "      {shown} and {n} more")?,
                }
            }
        }
    }
    Ok(())
}

fn more(out: &mut dyn Write, count: usize) -> io::Result<()> {
    if count > LISTED {
        writeln!(
            out,
            "  … and {} more (--format json lists them all)",
            count - LISTED
        )?;
    }
    Ok(())
}

/// The report as one JSON object (the fields of [`DrillReport`]).
pub fn json(report: &DrillReport, out: &mut dyn Write) -> io::Result<()> {
    let mut value = serde_json::to_value(report).map_err(io::Error::other)?;
    if let Some(failures) = value.get_mut("failures").and_then(|f| f.as_array_mut()) {
        for failure in failures {
            if let Some(error) = failure.get_mut("error")
                && let Some(text) = error.as_str()
            {
                let scrubbed = redact::scrubbed(text);
                *error = scrubbed.into();
            }
        }
    }
    value["passed"] = report.passed().into();
    serde_json::to_writer_pretty(&mut *out, &value).map_err(io::Error::other)?;
    writeln!(out)
}
