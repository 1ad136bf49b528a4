//! Okta restore throughput: a snapshot of an emulated org restored into an empty one under a
//! rate limit, against the floor of its busiest write endpoint.

use crate::harness::{Row, Workdir, epoch_ms, rate_floors, row};
use crate::okta::{OktaArgs, add_source, made_on, start};

/// Restore throughput: a snapshot of an org of `users` users (with groups and memberships) is
/// restored into an empty org under a rate limit.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    #[arg(long, default_value_t = 50)]
    pub groups: usize,
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Requests each endpoint of the target org accepts per window.
    #[arg(long, default_value_t = 5_000)]
    pub rate_limit: u64,
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// `concurrency` of the target source: requests in flight, and operations of one kind at
    /// once. Okta allows 75 simultaneous transactions per org by default (its concurrency
    /// limit); 64 stays under it. With 20 ms of latency, 16 in flight make at most 800 requests a
    /// second, so the 38,000 writes of the default org take 48 s at the least whatever the rate
    /// limit: the client, not the limit, would bind.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

pub fn restore(rt: &tokio::runtime::Runtime, a: &RestoreArgs) -> anyhow::Result<Vec<Row>> {
    let source_args = OktaArgs {
        users: a.users,
        groups: a.groups,
        apps: 0,
        latency_ms: 0,
        rate_limit: 0,
        window_secs: a.window_secs,
        concurrency: a.concurrency,
    };
    let source = start(rt, &source_args)?;
    let target = start(
        rt,
        &OktaArgs {
            users: 0,
            groups: 1,
            apps: 0,
            latency_ms: a.latency_ms,
            rate_limit: a.rate_limit,
            ..source_args.clone()
        },
    )?;
    let counts = source.with_org(|o| o.counts());
    let mut work = Workdir::new()?;
    add_source(&mut work, "okta", &source, a.concurrency)?;
    add_source(&mut work, "target", &target, a.concurrency)?;
    work.iamsnap(&["backup", "--source", "okta"])?;
    let before = target.requests("*");
    let start_ms = epoch_ms();
    let restore = [
        "restore",
        "okta@latest",
        "--target",
        "target",
        "--kinds",
        "user,group,group_membership",
    ];
    let run = work.iamsnap(&[&restore[..], &["--apply", "--yes"]].concat())?;
    let wall = run.wall.as_secs_f64();
    let made = target.requests("*") - before;
    // Planned again, the restored org matches the snapshot: every id has moved, and the refs
    // of every membership resolve through them.
    let again = work.iamsnap_to("again.txt", &restore)?;
    if again.status != 0 {
        let text = std::fs::read_to_string(work.path().join("again.txt"))?;
        eprintln!("restore planned again:");
        for line in text.lines().take(40) {
            eprintln!("  {line}");
        }
    }
    let writes = [
        ("/api/v1/users", counts.users as u64),
        ("/api/v1/groups", counts.groups.saturating_sub(1) as u64),
        (
            "/api/v1/groups/{id}/users/{user}",
            counts.group_memberships as u64,
        ),
    ];
    for (route, minimum) in writes {
        eprintln!(
            "okta restore bucket {route:<40} minimum {minimum:>6} received {:>6}",
            made_on(&target, route)
        );
    }
    let busiest = writes.iter().map(|(_, n)| *n).max().unwrap_or(0);
    // The floor as the issue defines it: the busiest endpoint's fewest writes divided by its
    // permitted rate. Fixed windows let a client beat it at their boundaries; the window bound
    // is the earliest its last write can be accepted given when the run started.
    let (floor, bound) = rate_floors(busiest, a.rate_limit, a.window_secs, start_ms);
    let minimum: u64 = writes.iter().map(|(_, n)| n).sum();
    Ok(vec![
        row(
            format!(
                "Okta restore of {} users, {} groups, {} memberships into an empty org, {} ms latency, {}/{}s per endpoint",
                counts.users,
                counts.groups.saturating_sub(1),
                counts.group_memberships,
                a.latency_ms,
                a.rate_limit,
                a.window_secs
            ),
            format!(
                "{wall:.1} s; floor {floor:.1} s (fewest writes ÷ rate); fixed-window bound {bound:.1} s; {made} requests for {minimum} writes ({} answered 429); peak RSS {:.0} MiB; exit {}",
                target.requests("429"),
                run.peak_rss_mib,
                run.status
            ),
            "",
        ),
        row(
            "Restore planned again after it: wall, peak RSS, exit (0: nothing to do)",
            format!(
                "{:.1} s, {:.0} MiB, exit {}",
                again.wall.as_secs_f64(),
                again.peak_rss_mib,
                again.status
            ),
            "exit 0",
        ),
        row(
            "Okta restore wall time / floor (fewest writes ÷ permitted rate)",
            format!("{:.2}", wall / floor),
            "≤ 1.15",
        ),
        row(
            "Okta restore wall time / fixed-window bound",
            format!("{:.2}", wall / bound),
            "",
        ),
    ])
}
