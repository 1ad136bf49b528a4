//! Memory and time at scale: backup of N users (twice, with about 1% of the org changed in
//! between), diff of the two snapshots beside GNU diff on their exported JSONL, and restore
//! planning of the older snapshot against the live org and into an empty one. Run at two sizes to show memory stays
//! flat in the number of records.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::harness::{Row, Workdir, metric, row};
use crate::okta::{self, OktaArgs};

pub fn run(rt: &tokio::runtime::Runtime, users: usize, groups: usize) -> anyhow::Result<Vec<Row>> {
    let args = OktaArgs {
        users,
        groups,
        apps: 20,
        latency_ms: 0,
        rate_limit: 0,
        window_secs: 60,
        concurrency: 8,
    };
    let seeding = Instant::now();
    let org = okta::start(rt, &args)?;
    eprintln!(
        "scale {users}: org seeded in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let mut work = Workdir::new()?;
    okta::add_source(&mut work, "okta", &org, args.concurrency)?;

    let first = work.iamsnap(&["backup", "--source", "okta", "--metrics-file", "first.prom"])?;
    let records = metric(
        &std::fs::read_to_string(work.path().join("first.prom"))?,
        "iamsnap_backup_records",
    );
    // About 1% of users change a profile field; one in 200 leaves a group.
    org.with_org(|o| {
        let ids = o.user_ids_with_status("ACTIVE");
        for id in ids.iter().step_by(100) {
            o.set_profile_field(id, "title", serde_json::json!("Changed by the benchmark"));
        }
        if let Some((group, _)) = o.largest_group() {
            for id in ids.iter().step_by(200) {
                o.remove_member(&group, id);
            }
        }
    });
    work.iamsnap(&["backup", "--source", "okta"])?;

    let diff = work.iamsnap(&["diff", "okta@latest~1", "okta@latest"])?;
    let plan = work.iamsnap(&["restore", "okta@latest~1"])?;
    // Disaster recovery: the same snapshot planned into an empty org, every record re-created.
    let empty = okta::start(
        rt,
        &OktaArgs {
            users: 0,
            groups: 0,
            apps: 0,
            ..args.clone()
        },
    )?;
    okta::add_source(&mut work, "empty", &empty, args.concurrency)?;
    let recreate = work.iamsnap_to(
        "recreate.txt",
        &["restore", "okta@latest~1", "--target", "empty", "--full"],
    )?;
    let summary = work.iamsnap_to(
        "recreate-summary.txt",
        &["restore", "okta@latest~1", "--target", "empty"],
    )?;
    // Gigabytes at a million users: measured, not kept.
    let keep_json = users <= RENDERED_UP_TO;
    let recreate_json = work.iamsnap_to(
        if keep_json {
            "recreate.json"
        } else {
            "/dev/null"
        },
        &[
            "restore",
            "okta@latest~1",
            "--target",
            "empty",
            "--format",
            "json",
        ],
    )?;
    // The same plan as one page for people, written as the plan is read.
    let html = work.iamsnap(&[
        "restore",
        "okta@latest~1",
        "--target",
        "empty",
        "--format",
        "html",
        "--out",
        "recreate.html",
    ])?;
    let html_path = work.path().join("recreate.html");
    let html_mib = std::fs::metadata(&html_path)?.len() as f64 / (1024.0 * 1024.0);
    // To open it in a browser afterwards: IAMSNAP_BENCH_KEEP_HTML=FILE.
    if let Some(keep) = std::env::var_os("IAMSNAP_BENCH_KEEP_HTML") {
        std::fs::copy(&html_path, keep)?;
    }
    let creates = std::fs::read_to_string(work.path().join("recreate.txt"))?
        .lines()
        .filter(|l| l.contains(". create "))
        .count();

    let lines = std::fs::read_to_string(work.path().join("recreate-summary.txt"))?
        .lines()
        .count();
    let rendered = match keep_json {
        true => Some(render(&work.path().join("recreate.json"))?),
        false => None,
    };

    let names = work.snapshots("okta")?;
    let [old, new] = names.as_slice() else {
        bail!("expected two snapshots, found {names:?}");
    };
    let old = export(work.path(), old, "old")?;
    let new = export(work.path(), new, "new")?;
    let started = Instant::now();
    let status = Command::new("diff")
        .arg(&old)
        .arg(&new)
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run GNU diff")?;
    let gnu = started.elapsed().as_secs_f64();
    if status.code() != Some(1) {
        bail!("GNU diff exited with {status}");
    }
    let bytes = std::fs::metadata(&old)?.len() as f64 / 1e6;

    let label = format!("{users} users ({records:.0} records)");
    let mut rows = vec![
        row(
            format!("Backup of {label}, no rate limit: wall, peak RSS"),
            format!(
                "{:.1} s, {:.0} MiB",
                first.wall.as_secs_f64(),
                first.peak_rss_mib
            ),
            "flat, < 300 MB",
        ),
        row(
            format!("Diff of two snapshots of {label}: wall, peak RSS"),
            format!(
                "{:.1} s, {:.0} MiB (exit {})",
                diff.wall.as_secs_f64(),
                diff.peak_rss_mib,
                diff.status
            ),
            "flat, < 300 MB",
        ),
        row(
            format!("GNU diff of the same two exported JSONL files ({bytes:.0} MB each)"),
            format!("{gnu:.1} s"),
            "",
        ),
        row(
            format!("Restore plan of {label} against the live org: wall, peak RSS"),
            format!(
                "{:.1} s, {:.0} MiB (exit {})",
                plan.wall.as_secs_f64(),
                plan.peak_rss_mib,
                plan.status
            ),
            "flat, < 300 MB",
        ),
        row(
            format!(
                "Restore plan of {label} into an empty org ({creates} creates): wall, peak RSS, text --full / JSON"
            ),
            format!(
                "{:.1} s, {:.0} MiB / {:.1} s, {:.0} MiB (exit {})",
                recreate.wall.as_secs_f64(),
                recreate.peak_rss_mib,
                recreate_json.wall.as_secs_f64(),
                recreate_json.peak_rss_mib,
                recreate.status
            ),
            "flat, < 300 MB",
        ),
        row(
            "↳ the same plan as printed by default (summary, 20 per kind): wall, peak RSS, lines"
                .to_string(),
            format!(
                "{:.1} s, {:.0} MiB, {lines} lines",
                summary.wall.as_secs_f64(),
                summary.peak_rss_mib
            ),
            "",
        ),
    ];
    rows.push(row(
        "↳ the same plan as one HTML page (`--format html --out`): wall, peak RSS, file size"
            .to_string(),
        format!(
            "{:.1} s, {:.0} MiB, {html_mib:.1} MiB (exit {})",
            html.wall.as_secs_f64(),
            html.peak_rss_mib,
            html.status
        ),
        "flat, < 300 MB",
    ));
    if let Some((capped, full)) = rendered {
        rows.push(row(
            "↳ rendering alone (the plan read back from its JSON): default / --full".to_string(),
            format!("{capped:.3} s / {full:.2} s"),
            "< 1 s",
        ));
    }
    Ok(rows)
}

/// Plans up to this size are kept as JSON and rendered again in this process, to time the
/// rendering apart from the planning.
const RENDERED_UP_TO: usize = 200_000;

/// Seconds to print the plan in `json` as text: with the default limit, and in full.
fn render(json: &Path) -> anyhow::Result<(f64, f64)> {
    use iamsnap_engine::report::{Detail, Kinds};
    use iamsnap_engine::restore::{Plan, render};
    let reader = std::io::BufReader::new(std::fs::File::open(json)?);
    let mut plan: Plan = serde_json::from_reader(reader).context("reading the plan back")?;
    // What the planner notes as it writes the operations.
    plan.segments = plan.outline()?;
    let kinds = Kinds::new(iamsnap_okta::kinds::KINDS);
    let mut sink = std::io::sink();
    let started = Instant::now();
    render::plan_text(&plan, &mut sink, &Detail::default(), &kinds)?;
    let capped = started.elapsed().as_secs_f64();
    let full = Detail {
        limit: None,
        ..Detail::default()
    };
    let started = Instant::now();
    render::plan_text(&plan, &mut sink, &full, &kinds)?;
    Ok((capped, started.elapsed().as_secs_f64()))
}

/// Decrypts and unpacks an archive with age, zstd and tar, and joins its record files (in
/// kind order) into one JSONL file.
fn export(dir: &Path, name: &str, side: &str) -> anyhow::Result<std::path::PathBuf> {
    let out = dir.join(side);
    std::fs::create_dir_all(&out)?;
    let archive = dir.join("repo").join("snapshots").join("okta").join(name);
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i identity.txt '{}' | zstd -dq | tar -x -C '{}' && cat '{}'/records/*.jsonl > '{}.jsonl'",
            archive.display(),
            out.display(),
            out.display(),
            out.display()
        ))
        .current_dir(dir)
        .status()?;
    if !status.success() {
        bail!("cannot export {name} with age, zstd and tar");
    }
    Ok(dir.join(format!("{side}.jsonl")))
}
