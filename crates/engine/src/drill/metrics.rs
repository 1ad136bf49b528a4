//! Prometheus textfile output of `drill --metrics-file`: one drill's gauges, beside the backup
//! metrics (use another file, or the same folder of node_exporter's textfile collector).
//!
//! The file is replaced atomically; a failed drill keeps the last-success timestamp the
//! previous file recorded for its source and sandbox, so "no passed drill for 8 days" can alert.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::drill::DrillReport;

/// Writes the gauges of `report` to `path`.
pub fn write(path: &Path, report: &DrillReport) -> std::io::Result<()> {
    let previous = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| last_success(&text));
    let text = render(report, previous);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

const LAST_SUCCESS: &str = "iamsnap_drill_last_success_timestamp_seconds";

fn render(report: &DrillReport, previous: Option<i64>) -> String {
    let labels = format!(
        "source=\"{}\",target=\"{}\",provider=\"{}\"",
        escape(&report.source),
        escape(&report.target),
        escape(&report.provider)
    );
    let finished = report.started.timestamp() + report.duration_seconds.round() as i64;
    let last_success = if report.passed() {
        Some(finished)
    } else {
        previous
    };
    let facts = &report.facts;
    let mut rows: Vec<(&str, &str, String)> = vec![
        (
            "iamsnap_drill_success",
            "1 if every restorable fact of the last drill came back, 0 if not.",
            u8::from(report.passed()).to_string(),
        ),
        (
            "iamsnap_drill_fidelity_ratio",
            "Restorable facts back / restorable facts in the last drill.",
            format!("{:.6}", report.fidelity),
        ),
        (
            "iamsnap_drill_restore_duration_seconds",
            "Time from the first write to the end of verification in the last drill.",
            format!("{:.3}", report.restore_seconds),
        ),
        (
            "iamsnap_drill_duration_seconds",
            "Wall time of the last drill: plan, restore, verification, second plan.",
            format!("{:.3}", report.duration_seconds),
        ),
        (
            "iamsnap_drill_facts_restorable",
            "Restorable facts (records) in the drilled snapshot.",
            facts.restorable.to_string(),
        ),
        (
            "iamsnap_drill_facts_not_back",
            "Restorable facts that did not come back in the last drill.",
            facts.not_back.to_string(),
        ),
        (
            "iamsnap_drill_facts_cannot_restore",
            "Facts the provider cannot restore (not counted against the drill).",
            facts.cannot_restore.to_string(),
        ),
        (
            "iamsnap_drill_operations_failed",
            "Restore operations that failed in the last drill.",
            report.operations_failed.to_string(),
        ),
        (
            "iamsnap_drill_finished_timestamp_seconds",
            "Unix time the last drill finished.",
            finished.to_string(),
        ),
    ];
    if let Some(ts) = last_success {
        rows.push((
            LAST_SUCCESS,
            "Unix time of the last drill in which every restorable fact came back.",
            ts.to_string(),
        ));
    }
    let mut out = String::new();
    for (name, help, value) in rows {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
    out
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn last_success(text: &str) -> Option<i64> {
    text.lines()
        .find(|l| l.starts_with(LAST_SUCCESS))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::Facts;

    #[test]
    fn a_failed_drill_keeps_the_last_success_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drill.prom");
        let mut report = DrillReport {
            source: "okta-prod".into(),
            target: "sandbox".into(),
            provider: "okta".into(),
            started: chrono::DateTime::from_timestamp(1_000, 0).unwrap(),
            duration_seconds: 10.0,
            restore_seconds: 4.25,
            fidelity: 1.0,
            facts: Facts {
                total: 12,
                cannot_restore: 2,
                restorable: 10,
                back: 10,
                not_back: 0,
            },
            ..DrillReport::default()
        };
        write(&path, &report).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let labels = "{source=\"okta-prod\",target=\"sandbox\",provider=\"okta\"}";
        assert!(
            text.contains(&format!("iamsnap_drill_success{labels} 1")),
            "{text}"
        );
        assert!(text.contains(&format!(
            "iamsnap_drill_restore_duration_seconds{labels} 4.250"
        )));
        assert!(text.contains(&format!("{LAST_SUCCESS}{labels} 1010")));

        report.started = chrono::DateTime::from_timestamp(5_000, 0).unwrap();
        report.facts.back = 9;
        report.facts.not_back = 1;
        report.fidelity = 0.9;
        write(&path, &report).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("iamsnap_drill_success{labels} 0")),
            "{text}"
        );
        assert!(text.contains(&format!("iamsnap_drill_fidelity_ratio{labels} 0.900000")));
        assert!(
            text.contains(&format!("{LAST_SUCCESS}{labels} 1010")),
            "{text}"
        );
    }
}
