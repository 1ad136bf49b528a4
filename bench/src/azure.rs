//! Azure RBAC backup on the in-process emulated tenant against ARM's read limits.
//!
//! ARM throttles reads with a token bucket per security principal and subscription (since
//! 2024: 250 requests, refilled at 25 a second; tenant-level reads alike) and answers `429`
//! with `Retry-After` beyond. The emulator counts fixed windows for the whole tenant, so its
//! default, 250 reads per 10 s, is the refill rate without the per-subscription buckets: a
//! stricter limit than ARM's. The minimum is one request per page of every list a backup
//! needs, at the emulator's page of 100 (ARM chooses its page size; these lists take no
//! `$top`); the floor is that minimum over the permitted rate, or the page chain times the
//! latency when longer (subscriptions are read one after another, their five lists at once).

use std::time::Duration;

use iamsnap_testkit::azure::AzureEmulator;

use crate::harness::{Row, Workdir, metric, rate_floors, row};

#[derive(Debug, Clone, clap::Args)]
pub struct AzureArgs {
    #[arg(long, default_value_t = 10)]
    pub subscriptions: usize,
    #[arg(long, default_value_t = 200)]
    pub resource_groups: usize,
    #[arg(long, default_value_t = 20_000)]
    pub assignments: usize,
    #[arg(long, default_value_t = 20)]
    pub custom_roles: usize,
    #[arg(long, default_value_t = 50)]
    pub locks: usize,
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// ARM reads the tenant accepts per window (0: no limit): ARM's refill rate, 25 a second.
    #[arg(long, default_value_t = 250)]
    pub rate_limit: u64,
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// `concurrency` of the source.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

const CLIENT_ID: &str = "22222222-3333-4444-5555-666666666666";
const SECRET: &str = "bench-secret";
/// The emulator's page, the one the minimum counts.
const PAGE: usize = 100;
/// ARM's read bucket per principal and subscription, and its refill a second.
const BUCKET: u64 = 250;
const REFILL: u64 = 25;

fn pages(items: usize) -> u64 {
    items.div_ceil(PAGE).max(1) as u64
}

/// Whether `outer` is `inner` or one of its ancestors, as ARM compares scopes.
fn contains(outer: &str, inner: &str) -> bool {
    let (o, i) = (
        outer.trim_end_matches('/').to_lowercase(),
        inner.to_lowercase(),
    );
    o.is_empty() || i == o || i.starts_with(&format!("{o}/"))
}

pub fn backup_floor(rt: &tokio::runtime::Runtime, a: &AzureArgs) -> anyhow::Result<Vec<Row>> {
    let mut builder = AzureEmulator::builder()
        .client(CLIENT_ID, SECRET)
        .subscriptions(a.subscriptions)
        .resource_groups(a.resource_groups)
        .assignments(a.assignments)
        .custom_roles(a.custom_roles)
        .locks(a.locks)
        .page_size(PAGE)
        .seed(1)
        .latency(Duration::from_millis(a.latency_ms));
    if a.rate_limit > 0 {
        builder = builder.rate_limit(a.rate_limit, Duration::from_secs(a.window_secs));
    }
    let tenant = rt.block_on(builder.start())?;
    // Per subscription: the pages of its five lists (role definitions, locks, deny
    // assignments, eligibility schedules, role assignments).
    let per_subscription: Vec<[u64; 5]> = tenant.with_state(|arm| {
        arm.subscriptions
            .iter()
            .map(|s| {
                let sub = format!("/subscriptions/{}", s.id);
                let near = |scope: &str| contains(scope, &sub) || contains(&sub, scope);
                [
                    pages(
                        arm.role_definitions
                            .values()
                            .filter(|d| d.assignable_scopes.iter().any(|x| near(x)))
                            .count(),
                    ),
                    pages(arm.locks.values().filter(|l| near(&l.scope)).count()),
                    pages(
                        arm.deny_assignments
                            .values()
                            .filter(|d| near(&d.scope))
                            .count(),
                    ),
                    pages(
                        arm.eligibilities
                            .values()
                            .filter(|e| near(&e.scope))
                            .count(),
                    ),
                    pages(
                        arm.role_assignments
                            .values()
                            .filter(|r| near(&r.scope))
                            .count(),
                    ),
                ]
            })
            .collect()
    });
    let listing = pages(a.subscriptions);
    let minimum = listing + per_subscription.iter().flatten().sum::<u64>();
    let chain = listing
        + per_subscription
            .iter()
            .map(|lists| lists.iter().copied().max().unwrap_or(1))
            .sum::<u64>();
    // ARM's own floor: each subscription's bucket holds 250 reads and refills at 25 a second.
    let arm_floor = per_subscription
        .iter()
        .map(|lists| lists.iter().sum::<u64>().saturating_sub(BUCKET) as f64 / REFILL as f64)
        .fold(0.0, f64::max);
    let records = tenant.with_state(|arm| {
        arm.role_assignments.len()
            + arm.eligibilities.len()
            + arm.locks.len()
            + arm.deny_assignments.len()
            + arm.role_definitions.values().filter(|d| d.custom).count()
    });

    let mut work = Workdir::new()?;
    work.add_source(
        "azure",
        &format!(
            "provider = \"azure-rbac\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"BENCH_AZURE_SECRET\"\nlogin_url = \"{url}\"\nmanagement_url = \"{url}\"\nconcurrency = {}",
            tenant.tenant_id(),
            a.concurrency,
            url = tenant.base_url(),
        ),
        &[("BENCH_AZURE_SECRET", SECRET)],
    )?;
    let start_ms = crate::harness::epoch_ms();
    let run = work.iamsnap(&[
        "backup",
        "--source",
        "azure",
        "--metrics-file",
        "metrics.prom",
    ])?;
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
    let made = tenant.requests("*");
    let throttled = tenant.requests("429");
    let wall = run.wall.as_secs_f64();
    let (fluid, bound) = rate_floors(minimum, a.rate_limit, a.window_secs, start_ms);
    let latency_floor = chain as f64 * a.latency_ms as f64 / 1000.0;
    let floor = fluid.max(latency_floor);
    let limit = if a.rate_limit == 0 {
        "no rate limit".to_string()
    } else {
        format!("{}/{}s per tenant", a.rate_limit, a.window_secs)
    };
    Ok(vec![
        row(
            format!(
                "Azure RBAC backup, {} subscriptions / {} resource groups / {} assignments ({records} records expected), {} ms latency, {limit}, concurrency {}",
                a.subscriptions, a.resource_groups, a.assignments, a.latency_ms, a.concurrency
            ),
            format!(
                "{wall:.1} s for {:.0} records; floor {floor:.1} s (requests ÷ rate {fluid:.1} s, page chain {latency_floor:.1} s); fixed-window bound {:.1} s; ARM's own floor (250-read bucket, 25/s per subscription) {arm_floor:.1} s; exit {}",
                metric(&metrics, "iamsnap_backup_records"),
                bound.max(latency_floor),
                run.status
            ),
            "",
        ),
        row(
            "Azure RBAC backup wall time / floor",
            format!("{:.2}", wall / floor.max(f64::EPSILON)),
            "≤ 1.05",
        ),
        row(
            "Azure RBAC ARM requests made / minimum",
            format!(
                "{made} / {minimum} = {:.3} ({throttled} answered 429)",
                made as f64 / minimum as f64
            ),
            "",
        ),
        row(
            "Azure RBAC backup peak RSS",
            format!("{:.0} MiB", run.peak_rss_mib),
            "",
        ),
    ])
}
