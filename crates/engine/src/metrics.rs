//! Prometheus textfile output of `backup --metrics-file`, for node_exporter's textfile
//! collector or any scraper that reads files.
//!
//! The file is replaced atomically. A source that failed keeps the last-success timestamp the
//! previous file recorded for it, so an alert on "no success for 26 hours" keeps working.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use iamsnap_provider::RequestStats;

/// The outcome of one source in one backup run.
#[derive(Debug, Clone, Default)]
pub struct SourceRun {
    pub source: String,
    pub provider: String,
    pub success: bool,
    /// Unix seconds at which the run finished.
    pub finished: i64,
    pub duration_seconds: f64,
    pub records: BTreeMap<String, u64>,
    pub bytes: u64,
    pub requests: RequestStats,
}

/// Writes the metrics of `runs` to `path`, keeping earlier last-success timestamps for sources
/// that failed this time.
pub fn write(path: &Path, runs: &[SourceRun]) -> std::io::Result<()> {
    let previous = std::fs::read_to_string(path)
        .map(|text| last_successes(&text))
        .unwrap_or_default();
    let text = render(runs, &previous);
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

fn render(runs: &[SourceRun], previous: &BTreeMap<String, i64>) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let labels = |r: &SourceRun| {
        format!(
            "source=\"{}\",provider=\"{}\"",
            escape(&r.source),
            escape(&r.provider)
        )
    };
    family(
        "iamsnap_backup_success",
        "gauge",
        "1 if the last backup of the source succeeded, 0 if it failed.",
        runs.iter()
            .map(|r| (labels(r), u8::from(r.success).to_string()))
            .collect(),
    );
    family(
        "iamsnap_backup_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful backup of the source.",
        runs.iter()
            .filter_map(|r| {
                let ts = if r.success {
                    Some(r.finished)
                } else {
                    previous.get(&r.source).copied()
                };
                ts.map(|t| (labels(r), t.to_string()))
            })
            .collect(),
    );
    family(
        "iamsnap_backup_duration_seconds",
        "gauge",
        "Wall time of the last backup of the source.",
        runs.iter()
            .map(|r| (labels(r), format!("{:.3}", r.duration_seconds)))
            .collect(),
    );
    family(
        "iamsnap_backup_records",
        "gauge",
        "Records per kind in the last successful snapshot.",
        runs.iter()
            .filter(|r| r.success)
            .flat_map(|r| {
                r.records.iter().map(move |(kind, n)| {
                    (
                        format!("{},kind=\"{}\"", labels(r), escape(kind)),
                        n.to_string(),
                    )
                })
            })
            .collect(),
    );
    family(
        "iamsnap_backup_bytes",
        "gauge",
        "Size of the last snapshot archive in bytes.",
        runs.iter()
            .filter(|r| r.success)
            .map(|r| (labels(r), r.bytes.to_string()))
            .collect(),
    );
    family(
        "iamsnap_backup_requests",
        "gauge",
        "Provider API requests made by the last backup.",
        runs.iter()
            .map(|r| (labels(r), r.requests.requests.to_string()))
            .collect(),
    );
    family(
        "iamsnap_backup_throttled",
        "gauge",
        "Responses of the last backup that were rate limited (HTTP 429 or equivalent).",
        runs.iter()
            .map(|r| (labels(r), r.requests.throttled.to_string()))
            .collect(),
    );
    family(
        "iamsnap_backup_retries",
        "gauge",
        "Requests of the last backup that were retried.",
        runs.iter()
            .map(|r| (labels(r), r.requests.retries.to_string()))
            .collect(),
    );
    out
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Reads `source -> last success` back from a file this module wrote.
fn last_successes(text: &str) -> BTreeMap<String, i64> {
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) =
            line.strip_prefix("iamsnap_backup_last_success_timestamp_seconds{source=\"")
        else {
            continue;
        };
        let Some((source, tail)) = rest.split_once('"') else {
            continue;
        };
        if let Some(value) = tail.rsplit(' ').next().and_then(|v| v.parse().ok()) {
            found.insert(source.replace("\\\"", "\"").replace("\\\\", "\\"), value);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(source: &str, success: bool, finished: i64) -> SourceRun {
        SourceRun {
            source: source.into(),
            provider: "okta".into(),
            success,
            finished,
            duration_seconds: 1.5,
            records: BTreeMap::from([("okta.user".to_string(), 42)]),
            bytes: 1000,
            requests: RequestStats {
                requests: 10,
                throttled: 2,
                retries: 3,
            },
        }
    }

    #[test]
    fn failed_source_keeps_its_previous_success_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("iamsnap.prom");
        write(&path, &[run("a", true, 1000), run("b", true, 1000)]).unwrap();
        write(&path, &[run("a", true, 2000), run("b", false, 2000)]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(
            "iamsnap_backup_last_success_timestamp_seconds{source=\"a\",provider=\"okta\"} 2000"
        ));
        assert!(text.contains(
            "iamsnap_backup_last_success_timestamp_seconds{source=\"b\",provider=\"okta\"} 1000"
        ));
        assert!(text.contains("iamsnap_backup_success{source=\"b\",provider=\"okta\"} 0"));
        assert!(text.contains(
            "iamsnap_backup_records{source=\"a\",provider=\"okta\",kind=\"okta.user\"} 42"
        ));
        assert!(text.contains("iamsnap_backup_throttled{source=\"a\",provider=\"okta\"} 2"));
    }
}
