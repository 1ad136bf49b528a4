//! OpenLDAP backup and restore on a real `slapd`: a directory of 100,000 entries is seeded with
//! `slapadd`, backed up, restored into a second, empty slapd (disaster recovery: every entry
//! added, every membership written), and restored in place after a department's subtree was
//! deleted. Each `iamsnap` command's wall time and peak memory are its own; slapd runs beside
//! it on the same cores.

use std::time::Instant;

use anyhow::{Context, bail};
use iamsnap_testkit::ldap::{BASE_DN, ROOT_DN, Seed, Slapd};
use serde_json::Value;

use crate::harness::{Row, Run, Workdir, metric, row};

const PASSWORD: &str = "bench-ldap-root-password-5e1c";

#[derive(Debug, Clone, clap::Args)]
pub struct LdapArgs {
    /// Users seeded. With the defaults the directory holds exactly 100,000 entries: the base,
    /// `ou=people`, `ou=groups`, the departments, the users, the groups and one role.
    #[arg(long, default_value_t = 97_976)]
    pub users: usize,
    #[arg(long, default_value_t = 2_000)]
    pub groups: usize,
    /// Organizational units of people (every fourth nested in the first).
    #[arg(long, default_value_t = 20)]
    pub ous: usize,
    /// Entries per page of the Simple Paged Results control (the connector's default).
    #[arg(long, default_value_t = 500)]
    pub page_size: u32,
    /// Restore operations in flight per kind (the connector's default).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

fn add_source(work: &mut Workdir, name: &str, slapd: &Slapd, a: &LdapArgs) -> anyhow::Result<()> {
    // Hashes are saved so that the restore re-creates every account as it was; without them
    // the plan names each re-created account for a new password (100,000 lines of report).
    work.add_source(
        name,
        &format!(
            "provider = \"ldap\"\nurl = \"{}\"\nbind_dn = \"{ROOT_DN}\"\nbind_password_env = \"BENCH_LDAP_PASSWORD\"\nbase_dn = \"{BASE_DN}\"\npage_size = {}\nconcurrency = {}\nread_password_hashes = true",
            slapd.url, a.page_size, a.concurrency
        ),
        &[("BENCH_LDAP_PASSWORD", PASSWORD)],
    )
}

/// The entries a seed makes (see [`Seed::write`]).
fn entries(seed: &Seed) -> usize {
    1 + 2 + seed.ous.max(1) + seed.users + seed.groups + usize::from(seed.users > 0)
}

/// `done`, `failed` and the exit status of a `restore --apply --format json` written to
/// `file`, or why the restore did not finish.
fn applied(work: &Workdir, file: &str, run: &Run) -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string(work.path().join(file))?;
    let report: Value = serde_json::from_str(&text)
        .with_context(|| format!("restore printed no report (exit {})", run.status))?;
    let count = |k: &str| report[k].as_u64().unwrap_or(0);
    for what in ["failures", "residual"] {
        if let Some(list) = report[what].as_array().filter(|l| !l.is_empty()) {
            eprintln!("ldap: {file}: {} {what}, first: {}", list.len(), list[0]);
        }
    }
    Ok((count("done"), count("failed")))
}

/// Waits until refint has done the work the department's deletes queued: it takes each
/// deleted user out of the groups in a thread of its own, one search of the whole directory
/// per delete, minutes after the deletes answered on 100,000 entries. The restore would wait
/// for it too (before its first write); waiting here keeps refint's time out of the
/// restore's row. An incident is older than that when it is restored.
fn settle(slapd: &Slapd) -> anyhow::Result<()> {
    slapd
        .wait_for_refint(std::time::Duration::from_secs(4 * 3600))
        .map_err(anyhow::Error::msg)
}

/// Operations a restore plan (`--format json`, written to `file`) holds.
fn planned(work: &Workdir, file: &str) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(work.path().join(file))?;
    let plan: Value = serde_json::from_str(&text).context("the plan is not JSON")?;
    let operations = plan["operations"].as_array().map_or(&[][..], Vec::as_slice);
    for op in operations.iter().take(20) {
        eprintln!("ldap: left in {file}: {op}");
    }
    Ok(operations.len())
}

pub fn run(a: &LdapArgs) -> anyhow::Result<Vec<Row>> {
    let seed = Seed {
        users: a.users,
        groups: a.groups,
        ous: a.ous,
        seed: 16,
    };
    let seeding = Instant::now();
    let slapd = Slapd::start(PASSWORD, &seed).map_err(anyhow::Error::msg)?;
    let seeded = seeding.elapsed().as_secs_f64();
    let empty = Slapd::start(PASSWORD, &Seed::EMPTY).map_err(anyhow::Error::msg)?;
    eprintln!(
        "ldap: {} entries loaded with slapadd and served in {seeded:.1} s",
        entries(&seed)
    );

    let mut work = Workdir::new()?;
    add_source(&mut work, "ldap", &slapd, a)?;
    add_source(&mut work, "empty", &empty, a)?;
    let backup = work.iamsnap(&[
        "backup",
        "--source",
        "ldap",
        "--metrics-file",
        "metrics.prom",
    ])?;
    if backup.status != 0 {
        bail!("the backup exited with {}", backup.status);
    }
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
    let records = metric(&metrics, "iamsnap_backup_records");
    let requests = metric(&metrics, "iamsnap_backup_requests");

    // Disaster recovery: everything into a directory holding its base entry alone.
    let into_empty = ["restore", "ldap@latest", "--target", "empty"];
    let json = ["--format", "json"];
    let apply = ["--apply", "--yes"];
    let dr = work.iamsnap_to("dr.json", &[&into_empty[..], &apply, &json].concat())?;
    let (dr_done, dr_failed) = applied(&work, "dr.json", &dr)?;
    let dr_again = work.iamsnap_to("dr-again.json", &[&into_empty[..], &json].concat())?;
    let dr_left = planned(&work, "dr-again.json")?;

    // An incident: one department's unit deleted with every user in it (refint takes them out
    // of their groups), then restored in place.
    let department = seed.ou_of(1);
    let deleting = Instant::now();
    slapd
        .delete_tree(&format!("{department},{BASE_DN}"))
        .map_err(anyhow::Error::msg)?;
    settle(&slapd)?;
    eprintln!(
        "ldap: {department} deleted in {:.1} s (refint done)",
        deleting.elapsed().as_secs_f64()
    );
    let in_place = ["restore", "ldap@latest"];
    let incident = work.iamsnap_to("incident.json", &[&in_place[..], &apply, &json].concat())?;
    let (incident_done, incident_failed) = applied(&work, "incident.json", &incident)?;
    let incident_again =
        work.iamsnap_to("incident-again.json", &[&in_place[..], &json].concat())?;
    let incident_left = planned(&work, "incident-again.json")?;

    let n = entries(&seed);
    Ok(vec![
        row(
            format!(
                "OpenLDAP: {n} entries ({} users, {} groups, {} OUs) loaded with slapadd and served",
                a.users, a.groups, a.ous
            ),
            format!("{seeded:.1} s"),
            "",
        ),
        row(
            format!(
                "OpenLDAP backup, {n} entries, page size {}: wall, peak RSS",
                a.page_size
            ),
            format!(
                "{:.1} s, {:.0} MiB; {records:.0} records, {requests:.0} requests (exit {})",
                backup.wall.as_secs_f64(),
                backup.peak_rss_mib,
                backup.status
            ),
            "",
        ),
        row(
            format!(
                "OpenLDAP restore of that backup into an empty slapd (`--target`, every entry added with its entryUUID, every membership written), concurrency {}: wall, peak RSS",
                a.concurrency
            ),
            format!(
                "{:.1} s, {:.0} MiB; {dr_done} operations done, {dr_failed} failed (exit {})",
                dr.wall.as_secs_f64(),
                dr.peak_rss_mib,
                dr.status
            ),
            "",
        ),
        row(
            "↳ the same restore planned again afterwards: wall, peak RSS, operations left",
            format!(
                "{:.1} s, {:.0} MiB, {dr_left} (exit {})",
                dr_again.wall.as_secs_f64(),
                dr_again.peak_rss_mib,
                dr_again.status
            ),
            "0 operations",
        ),
        row(
            format!(
                "OpenLDAP restore in place after `{department}` and its users were deleted: wall, peak RSS"
            ),
            format!(
                "{:.1} s, {:.0} MiB; {incident_done} operations done, {incident_failed} failed (exit {})",
                incident.wall.as_secs_f64(),
                incident.peak_rss_mib,
                incident.status
            ),
            "",
        ),
        row(
            "↳ planned again afterwards: wall, peak RSS, operations left",
            format!(
                "{:.1} s, {:.0} MiB, {incident_left} (exit {})",
                incident_again.wall.as_secs_f64(),
                incident_again.peak_rss_mib,
                incident_again.status
            ),
            "0 operations",
        ),
    ])
}
