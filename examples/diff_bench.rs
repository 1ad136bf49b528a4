//! Diff benchmark: two generated snapshots of `N` records each (default 1,000,000) with about
//! 1% of the records changed, removed, added or re-created, streamed through the diff engine
//! exactly as archives are. Prints wall time, changes found and peak RSS.
//!
//! ```text
//! cargo run --release --example diff_bench [-- N]
//! ```

use std::time::Instant;

use iamsnap_engine::diff::{DiffOptions, diff, render};
use iamsnap_provider::{Record, Ref};
use serde_json::json;

/// Kinds in sorted order with their share of the records.
const KINDS: [(&str, usize); 3] = [
    ("bench.group", 5),
    ("bench.membership", 70),
    ("bench.user", 25),
];

fn record(kind: &str, n: usize, id: String, generation: u8) -> Record {
    let attrs = json!({
        "profile": {
            "name": format!("{kind} {n}"),
            "email": format!("person{n}@example.com"),
            "department": format!("dept-{}", n % 40),
            "title": if generation == 0 { "Engineer" } else { "Senior Engineer" },
            "costCenter": format!("cc-{}", n % 300),
        },
        "status": "ACTIVE",
        "type": {"id": "oty1"},
    });
    let refs = if kind == "bench.membership" {
        vec![
            Ref::new("group", "bench.group", format!("g{:08}", n % 1000)),
            Ref::new("user", "bench.user", format!("u{:08}", n)),
        ]
    } else {
        Vec::new()
    };
    Record::new(kind, id, format!("{kind}-key-{n:08}"), attrs, refs)
}

/// The records of one side, generated in (kind, id) order. On the new side, of every 100
/// records one is changed, one in 400 removed, one in 400 re-created under a new id, and one
/// in 400 added.
fn side(total: usize, new: bool) -> impl Iterator<Item = Result<Record, std::io::Error>> {
    KINDS.iter().flat_map(move |&(kind, share)| {
        let count = total * share / 100;
        let main = (0..count).filter_map(move |n| {
            let id = format!("{}{:08}", &kind[6..7], n);
            if !new {
                return Some(record(kind, n, id, 0));
            }
            match n % 400 {
                7 => None,
                13 => None,
                _ if n % 100 == 3 => Some(record(kind, n, id, 1)),
                _ => Some(record(kind, n, id, 0)),
            }
        });
        // Re-created and added objects get ids after every existing one, keeping the order.
        let extra = (0..count)
            .filter(move |n| new && (n % 400 == 13 || n % 400 == 21))
            .map(move |n| {
                let id = format!("{}~{:08}", &kind[6..7], n);
                if n % 400 == 13 {
                    record(kind, n, id, 0)
                } else {
                    record(kind, n + count, id, 0)
                }
            });
        main.chain(extra).map(Ok)
    })
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    // The records are generated on the fly; time that alone, to tell it from the diff.
    let started = Instant::now();
    let generated = side(total, false).chain(side(total, true)).count();
    let generation = started.elapsed();
    let started = Instant::now();
    let options = DiffOptions {
        old_label: "generated-old".into(),
        new_label: "generated-new".into(),
        ..DiffOptions::default()
    };
    let result = diff(side(total, false), side(total, true), &options)?;
    let joined = started.elapsed();
    let summary = result.summary.clone();
    let mut sink = std::io::sink();
    render::json(result, &mut sink)?;
    let elapsed = started.elapsed();
    println!(
        "old {} records, new {} records: {} added, {} removed, {} changed, {} unchanged",
        summary.old_records,
        summary.new_records,
        summary.total.added,
        summary.total.removed,
        summary.total.changed,
        summary.total.unchanged
    );
    println!(
        "generating the {generated} records alone: {:.2}s",
        generation.as_secs_f64()
    );
    println!(
        "generation + join + field diff: {:.2}s; with JSON report: {:.2}s; peak RSS {} MiB",
        joined.as_secs_f64(),
        elapsed.as_secs_f64(),
        peak_rss_kib().map_or("?".into(), |k| (k / 1024).to_string())
    );
    Ok(())
}
