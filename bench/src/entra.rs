//! Entra ID backup on the in-process emulated tenant against the rate-limit floor.
//!
//! Graph budgets the application as a whole (every request, each `$batch` item counted one by
//! one) and answers `429` with `Retry-After` beyond; it sends no budget headers. The floor is
//! the fewest requests the data allows divided by that rate, or the users' page chain times
//! the latency, whichever is longer.

use std::time::Duration;

use iamsnap_testkit::entra::EntraEmulator;
use serde_json::Value;

use crate::harness::{Row, Workdir, epoch_ms, metric, rate_floors, row};

#[derive(Debug, Clone, clap::Args)]
pub struct EntraArgs {
    #[arg(long, default_value_t = 200_000)]
    pub users: usize,
    #[arg(long, default_value_t = 10_000)]
    pub groups: usize,
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Graph requests the tenant accepts per window (0: no limit).
    ///
    /// The default stands for Graph's identity and access quota of a large tenant (over 500
    /// users): 8,000 ResourceUnits per 10 seconds per application and tenant. A backup's mix
    /// costs about 1.5 units a request: member lists 2 (`groups/{id}/members` costs 3, less 1
    /// for `$select`), owner lists 1, user pages 2 (`users` 2, less 1 for `$select`, plus 1
    /// for `$expand`); roughly 10,000 member and 10,000 owner lists for this tenant make
    /// 8,000 units about 5,300 requests. The emulator counts requests, so 5,000 per 10 s.
    #[arg(long, default_value_t = 5_000)]
    pub rate_limit: u64,
    #[arg(long, default_value_t = 10)]
    pub window_secs: u64,
    /// `concurrency` of the source (requests or batches in flight).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "bench-secret";
/// Graph's largest `$top` on directory collections; its default page where none is sent.
const MAX_TOP: usize = 999;
const DEFAULT_TOP: usize = 100;

fn pages(items: usize, per_page: usize) -> u64 {
    items.div_ceil(per_page).max(1) as u64
}

fn is_dynamic(object: &Value) -> bool {
    object["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "DynamicMembership"))
        || object["membershipType"] == "Dynamic"
}

pub fn backup_floor(rt: &tokio::runtime::Runtime, a: &EntraArgs) -> anyhow::Result<Vec<Row>> {
    let mut builder = EntraEmulator::builder()
        .client(CLIENT_ID, SECRET)
        .users(a.users)
        .groups(a.groups)
        .seed(1)
        .latency(Duration::from_millis(a.latency_ms));
    if a.rate_limit > 0 {
        builder = builder.rate_limit(a.rate_limit, Duration::from_secs(a.window_secs));
    }
    let tenant = rt.block_on(builder.start())?;
    let (minimum, chain) = tenant.with_tenant(|t| {
        let members = |id: &str| t.members.get(id).map_or(0, |m| m.len());
        let owners = |id: &str| t.owners.get(id).map_or(0, |m| m.len());
        let collection = |c: &str| t.objects.get(c).map_or(0, |o| o.len());
        let groups = t.objects.get("groups");
        let units = t.objects.get("administrativeUnits");
        let sps = t.objects.get("servicePrincipals");
        let mut min = 0;
        for c in [
            "users",
            "groups",
            "administrativeUnits",
            "applications",
            "servicePrincipals",
        ] {
            min += pages(collection(c), MAX_TOP);
        }
        for (id, g) in groups.into_iter().flatten() {
            if !is_dynamic(g) {
                min += pages(members(id), MAX_TOP);
            }
            min += pages(owners(id), MAX_TOP);
        }
        for (id, u) in units.into_iter().flatten() {
            if !is_dynamic(u) {
                min += pages(members(id), MAX_TOP);
            }
        }
        // Federated identity credentials of every application: one list each.
        for id in t
            .objects
            .get("applications")
            .into_iter()
            .flatten()
            .map(|(id, _)| id)
        {
            min += pages(t.federated.get(id).map_or(0, |f| f.len()), DEFAULT_TOP);
        }
        // Owners of every application and service principal: one list each.
        for c in ["applications", "servicePrincipals"] {
            for id in t.objects.get(c).into_iter().flatten().map(|(id, _)| id) {
                min += pages(owners(id), MAX_TOP);
            }
        }
        for id in sps.into_iter().flatten().map(|(id, _)| id) {
            let assigned = t
                .app_role_assignments
                .values()
                .filter(|v| v["resourceId"] == id.as_str())
                .count();
            min += pages(assigned, MAX_TOP);
        }
        // Small lists read at Graph's default page.
        for n in [
            t.ca_policies.len(),
            t.named_locations.len(),
            t.grants.len(),
            t.role_assignments.len(),
            t.role_definitions.len(),
            // PIM: eligibility schedules, and the schedules of every active assignment.
            t.role_eligibilities.len(),
            t.role_assignments.len(),
            t.strengths.len(),
            t.agreements.len(),
            // PIM settings: one policy assignment per role, its policy and rules expanded.
            t.role_definitions.len(),
        ] {
            min += pages(n, DEFAULT_TOP);
        }
        // Claims-mapping and token-lifetime policies: one list per family, with the service
        // principals each applies to expanded; Graph expands 20 at most, so a policy applied
        // to more has them listed apart.
        for family in [
            "#microsoft.graph.claimsMappingPolicy",
            "#microsoft.graph.tokenLifetimePolicy",
        ] {
            let policies: Vec<&String> = t
                .sts_policies
                .iter()
                .filter(|(_, p)| p["@odata.type"] == family)
                .map(|(id, _)| id)
                .collect();
            min += pages(policies.len(), DEFAULT_TOP);
            for id in policies {
                let applied = t.policy_targets.get(id).map_or(0, |s| s.len());
                if applied >= 20 {
                    min += pages(applied, DEFAULT_TOP);
                }
            }
        }
        // The authentication methods policy, the authorization policy and the cross-tenant
        // access policy's default settings: one object each; its partners: one list, one page.
        min += 4;
        (min, pages(collection("users"), MAX_TOP))
    });

    let mut work = Workdir::new()?;
    work.add_source(
        "entra",
        &format!(
            "provider = \"entra\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"BENCH_ENTRA_SECRET\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\nconcurrency = {}",
            tenant.tenant_id(),
            a.concurrency,
            url = tenant.base_url(),
        ),
        &[("BENCH_ENTRA_SECRET", SECRET)],
    )?;
    let start_ms = epoch_ms();
    let run = work.iamsnap(&[
        "backup",
        "--source",
        "entra",
        "--metrics-file",
        "metrics.prom",
    ])?;
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
    let made = tenant.requests("*");
    let throttled = tenant.requests("429");
    let batches = tenant.requests("$batch");
    let wall = run.wall.as_secs_f64();
    // What follows the last request (sorting the spool, writing, compressing, encrypting and
    // signing the archive) is outside the rate limit's reach.
    let last_request =
        (u128::from(tenant.last_request_ms()).saturating_sub(start_ms)) as f64 / 1000.0;
    let (fluid, rate_floor) = rate_floors(minimum, a.rate_limit, a.window_secs, start_ms);
    let latency_floor = chain as f64 * a.latency_ms as f64 / 1000.0;
    // The floor as the issue defines it: the fewest requests divided by the permitted rate (or
    // the page chain, if longer). Fixed windows let a client beat it at their boundaries; the
    // window bound is the earliest the last request can be accepted given when the run started.
    let floor = fluid.max(latency_floor);
    let bound = rate_floor.max(latency_floor);
    let limit = if a.rate_limit == 0 {
        "no rate limit".to_string()
    } else {
        format!("{}/{}s per tenant", a.rate_limit, a.window_secs)
    };
    Ok(vec![
        row(
            format!(
                "Entra backup, {} users / {} groups, {} ms latency, {limit}, concurrency {}",
                a.users, a.groups, a.latency_ms, a.concurrency
            ),
            format!(
                "{wall:.1} s for {:.0} records (last request at {last_request:.1} s); floor {floor:.1} s (requests ÷ rate {fluid:.1} s, page chain {latency_floor:.1} s); fixed-window bound {bound:.1} s; exit {}",
                metric(&metrics, "iamsnap_backup_records"),
                run.status
            ),
            "",
        ),
        row(
            "Entra backup wall time / floor (fewest requests ÷ permitted rate)",
            format!("{:.2}", wall / floor),
            "≤ 1.05",
        ),
        row(
            "Entra backup wall time / fixed-window bound",
            format!("{:.2}", wall / bound),
            "",
        ),
        row(
            "Entra Graph requests made / minimum",
            format!(
                "{made} / {minimum} = {:.3} ({throttled} answered 429; {batches} $batch envelopes)",
                made as f64 / minimum as f64
            ),
            "",
        ),
        row(
            "Entra backup peak RSS",
            format!("{:.0} MiB", run.peak_rss_mib),
            "< 300 MB",
        ),
    ])
}
