//! Okta backup on the in-process emulated org, against the rate-limit floor.
//!
//! The emulator budgets each endpoint apart, as Okta does (method and route: all
//! `GET /api/v1/groups/{id}/users` share one window). The floor of a run is therefore the
//! busiest bucket's fewest requests divided by its rate, or the longest chain of pages that
//! must be read one after another times the latency, whichever is longer.

use std::time::Duration;

use iamsnap_testkit::okta::{OktaEmulator, RunningOkta};

use crate::harness::{Row, Workdir, epoch_ms, metric, rate_floors, row};

/// Size, latency and rate limit of an emulated org.
#[derive(Debug, Clone, clap::Args)]
pub struct OktaArgs {
    #[arg(long, default_value_t = 200_000)]
    pub users: usize,
    #[arg(long, default_value_t = 10_000)]
    pub groups: usize,
    #[arg(long, default_value_t = 500)]
    pub apps: usize,
    /// Delay the emulator adds to every answer, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Requests each endpoint accepts per window (0: no limit).
    #[arg(long, default_value_t = 2_500)]
    pub rate_limit: u64,
    /// Length of the rate-limit window in seconds (Okta's is 60; shorter keeps a scaled run
    /// under a minute while still crossing several windows).
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// `concurrency` of the source.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

pub const TOKEN: &str = "bench-token";

pub fn start(rt: &tokio::runtime::Runtime, a: &OktaArgs) -> anyhow::Result<RunningOkta> {
    let mut builder = OktaEmulator::builder()
        .token(TOKEN)
        .users(a.users)
        .groups(a.groups)
        .apps(a.apps)
        .seed(1)
        .latency(Duration::from_millis(a.latency_ms));
    if a.rate_limit > 0 {
        builder = builder.rate_limit(a.rate_limit, Duration::from_secs(a.window_secs));
    }
    Ok(rt.block_on(builder.start())?)
}

pub fn add_source(
    work: &mut Workdir,
    name: &str,
    org: &RunningOkta,
    concurrency: usize,
) -> anyhow::Result<()> {
    work.add_source(
        name,
        &format!(
            "provider = \"okta\"\norg_url = \"{}\"\ntoken_env = \"BENCH_OKTA_TOKEN\"\nconcurrency = {concurrency}",
            org.base_url()
        ),
        &[("BENCH_OKTA_TOKEN", TOKEN)],
    )
}

/// One rate-limit bucket: its route, the fewest requests the API allows for the org's data,
/// and the requests the emulator received on it.
struct Bucket {
    route: &'static str,
    minimum: u64,
    made: u64,
}

fn pages(items: usize, per_page: usize) -> u64 {
    items.div_ceil(per_page).max(1) as u64
}

/// The fewest requests per bucket a full read needs, from the org's list sizes and each list's
/// largest page (the connector's `limit`s are the documented maxima).
fn minimum_requests(org: &RunningOkta) -> Vec<(&'static str, u64)> {
    org.with_org(|o| {
        let sizes = o.list_sizes();
        let counts = o.counts();
        let members: u64 = sizes
            .group_members
            .iter()
            .filter(|(kind, _)| kind != "BUILT_IN")
            .map(|(_, n)| pages(*n, 1000))
            .sum();
        let okta_groups = sizes
            .group_members
            .iter()
            .filter(|(kind, _)| kind == "OKTA_GROUP")
            .count() as u64;
        // Nor of group owners: each group but Everyone is asked (at most 1,000 owners a page,
        // which no group comes near).
        let owned_groups = sizes
            .group_members
            .iter()
            .filter(|(kind, _)| kind != "BUILT_IN")
            .count() as u64;
        let active = counts.users - sizes.deprovisioned_users;
        vec![
            (
                "/api/v1/users",
                pages(active, 200) + pages(sizes.deprovisioned_users, 200),
            ),
            ("/api/v1/groups", pages(counts.groups, 10_000)),
            ("/api/v1/groups/{id}/users", members),
            // Okta has no list of group role assignments: each group is asked.
            ("/api/v1/groups/{id}/roles", okta_groups),
            ("/api/v1/groups/{id}/owners", owned_groups),
            // Each app's user schema, and each profile mapping read for its properties.
            (
                "/api/v1/meta/schemas/apps/{id}/default",
                sizes.app_assignments.len() as u64,
            ),
            ("/api/v1/mappings/{id}", counts.profile_mappings as u64),
            ("/api/v1/apps", pages(counts.apps, 200)),
            (
                "/api/v1/apps/{id}/users",
                sizes
                    .app_assignments
                    .iter()
                    .map(|(u, _)| pages(*u, 500))
                    .sum(),
            ),
            (
                "/api/v1/apps/{id}/groups",
                sizes
                    .app_assignments
                    .iter()
                    .map(|(_, g)| pages(*g, 200))
                    .sum(),
            ),
        ]
    })
}

/// Requests the emulator received on a route. It counts each request under its concrete path
/// and under its route pattern, one key when the two are the same (`/api/v1/users`).
pub fn made_on(org: &RunningOkta, route: &str) -> u64 {
    let n = org.requests(route);
    if route.contains('{') { n } else { n / 2 }
}

pub fn backup_floor(rt: &tokio::runtime::Runtime, a: &OktaArgs) -> anyhow::Result<Vec<Row>> {
    let org = start(rt, a)?;
    let minimum = minimum_requests(&org);
    let chain = org.with_org(|o| {
        let c = o.counts();
        pages(c.users - o.list_sizes().deprovisioned_users, 200)
    });
    let mut work = Workdir::new()?;
    add_source(&mut work, "okta", &org, a.concurrency)?;
    let before = org.requests("*");
    let start_ms = epoch_ms();
    let run = work.iamsnap(&[
        "backup",
        "--source",
        "okta",
        "--metrics-file",
        "metrics.prom",
    ])?;
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;

    let buckets: Vec<Bucket> = minimum
        .iter()
        .map(|(route, min)| Bucket {
            route,
            minimum: *min,
            made: made_on(&org, route),
        })
        .collect();
    let listed_made: u64 = buckets.iter().map(|b| b.made).sum();
    let all_made = org.requests("*") - before;
    let throttled = org.requests("429");
    // Small lists (policies and their rules, zones, types, role assignees and targets,
    // authorization servers and their scopes, claims, policies and rules, trusted origins,
    // identity providers and their keys, authenticators, behavior detection rules, the users
    // who own groups, custom roles, resource sets and their bindings, hooks and log streams,
    // brands with their theme, email templates and customizations) are
    // taken as made: a few dozen requests beside tens of thousands.
    let others = all_made - listed_made;
    let minimum_total: u64 = buckets.iter().map(|b| b.minimum).sum::<u64>() + others;

    let busiest = buckets.iter().map(|b| b.minimum).max().unwrap_or(0);
    let (fluid, rate_floor) = rate_floors(busiest, a.rate_limit, a.window_secs, start_ms);
    // The first window is whatever is left of the one the run starts in: the floor counts it
    // as usable in full, which a client can only approach when it is long enough, so its
    // length is printed beside the floor.
    let window_ms = u128::from(a.window_secs) * 1000;
    let first_window = (start_ms.div_ceil(window_ms) * window_ms - start_ms) as f64 / 1000.0;
    let latency_floor = chain as f64 * a.latency_ms as f64 / 1000.0;
    // The floor as the issue defines it: the busiest bucket's fewest requests divided by its
    // permitted rate (or the page chain, if longer). Fixed windows let a client beat it at their
    // boundaries; the window bound is the earliest the last request can be accepted given when
    // the run started.
    let floor = fluid.max(latency_floor);
    let bound = rate_floor.max(latency_floor);
    let wall = run.wall.as_secs_f64();

    for b in &buckets {
        eprintln!(
            "okta bucket {:<28} minimum {:>6} made {:>6}",
            b.route, b.minimum, b.made
        );
    }
    let limit = if a.rate_limit == 0 {
        "no rate limit".to_string()
    } else {
        format!("{}/{}s per endpoint", a.rate_limit, a.window_secs)
    };
    Ok(vec![
        row(
            format!(
                "Okta backup, {} users / {} groups / {} apps, {} ms latency, {limit}, concurrency {}",
                a.users, a.groups, a.apps, a.latency_ms, a.concurrency
            ),
            format!(
                "{wall:.1} s for {:.0} records; floor {floor:.1} s (requests ÷ rate {fluid:.1} s, page chain {latency_floor:.1} s); fixed-window bound {bound:.1} s (the first window {first_window:.1} s long)",
                metric(&metrics, "iamsnap_backup_records")
            ),
            "",
        ),
        row(
            "Okta backup wall time / floor (fewest requests ÷ permitted rate)",
            format!("{:.2}", wall / floor),
            "≤ 1.10",
        ),
        row(
            "Okta backup wall time / fixed-window bound",
            format!("{:.2}", wall / bound),
            "",
        ),
        row(
            "Okta requests made / minimum",
            format!(
                "{all_made} / {minimum_total} = {:.3} ({throttled} answered 429)",
                all_made as f64 / minimum_total as f64
            ),
            "",
        ),
        row(
            "Okta backup peak RSS",
            format!("{:.0} MiB", run.peak_rss_mib),
            "< 300 MB",
        ),
    ])
}
