//! Google Cloud IAM backup of a large emulated organization against the default read quotas.
//!
//! Google counts each API's quota apart, per consumer project (the project of the credentials),
//! in windows of a minute: Resource Manager's reads at 600 a minute (its `getIamPolicy`,
//! `get` and `list` methods; `search` has 240), IAM's at 6,000. The emulator counts the same
//! two budgets in fixed windows of a minute. A backup reads the organization, lists folders
//! and projects under every parent and gets every policy from Resource Manager, then lists each
//! project's service accounts and custom roles and each account's own policy and keys from
//! IAM. The minimum is that many requests; the floor is the busier API's requests over its
//! quota, as if both were read side by side, and the fixed-window bound of that API's windows.

use std::time::Duration;

use iamsnap_testkit::gcp::GcpEmulator;

use crate::harness::{Row, Workdir, metric, rate_floors, row};

#[derive(Debug, Clone, clap::Args)]
pub struct GcpArgs {
    #[arg(long, default_value_t = 20)]
    pub folders: usize,
    #[arg(long, default_value_t = 1_000)]
    pub projects: usize,
    #[arg(long, default_value_t = 2_000)]
    pub service_accounts: usize,
    #[arg(long, default_value_t = 100)]
    pub custom_roles: usize,
    /// Resource Manager reads a minute (0: no limit): its default quota.
    #[arg(long, default_value_t = 600)]
    pub rate_limit: u64,
    /// IAM reads a minute (0: no limit): its default quota.
    #[arg(long, default_value_t = 6_000)]
    pub iam_rate_limit: u64,
    /// `concurrency` of the source.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// The page the connector asks for in every list.
const PAGE: usize = 100;
/// The quotas' window.
const WINDOW: u64 = 60;

fn pages(items: usize) -> u64 {
    items.div_ceil(PAGE).max(1) as u64
}

pub fn run(rt: &tokio::runtime::Runtime, a: &GcpArgs) -> anyhow::Result<Vec<Row>> {
    let mut builder = GcpEmulator::builder()
        .org("123456789012")
        .folders(a.folders)
        .projects(a.projects)
        .service_accounts(a.service_accounts)
        .custom_roles(a.custom_roles)
        .seed(1);
    if a.rate_limit > 0 {
        builder = builder.rate_limit(a.rate_limit, Duration::from_secs(WINDOW));
    }
    if a.iam_rate_limit > 0 {
        builder = builder.iam_rate_limit(a.iam_rate_limit, Duration::from_secs(WINDOW));
    }
    let gcp = rt.block_on(builder.start())?;
    // Resource Manager: the organization, then per parent (the organization and each folder)
    // the pages of its folders and of its projects, then every policy.
    let resources = gcp.resources();
    let children = |parent: &str, kind: &str| {
        resources
            .iter()
            .filter(|r| r.name.starts_with(kind) && r.parent.as_deref() == Some(parent))
            .count()
    };
    let listing: u64 = resources
        .iter()
        .filter(|r| !r.name.starts_with("projects/"))
        .map(|p| pages(children(&p.name, "folders/")) + pages(children(&p.name, "projects/")))
        .sum();
    let rm_minimum = 1 + listing + resources.len() as u64;
    // IAM: per project the pages of its service accounts and of its custom roles, the pages
    // of the organization's roles, and per account its policy and its keys.
    let accounts = gcp.accounts();
    let roles = gcp.roles();
    let per_project = |id: &str| {
        let prefix = format!("projects/{id}/roles/");
        let accounts = accounts.iter().filter(|x| x.project_id == id).count();
        let roles = roles.iter().filter(|r| r.name.starts_with(&prefix)).count();
        pages(accounts) + pages(roles)
    };
    let org_roles = roles
        .iter()
        .filter(|r| r.name.starts_with("organizations/"))
        .count();
    let iam_minimum = resources
        .iter()
        .filter_map(|r| r.project_id.as_deref())
        .map(per_project)
        .sum::<u64>()
        + pages(org_roles)
        + 2 * accounts.len() as u64;
    let records = {
        let members = |bindings: &[serde_json::Value]| -> usize {
            bindings
                .iter()
                .map(|b| b["members"].as_array().map_or(0, Vec::len))
                .sum()
        };
        resources
            .iter()
            .map(|r| members(&r.policy.bindings) + r.policy.audit_configs.len())
            .sum::<usize>()
            + accounts
                .iter()
                .map(|x| 1 + members(&x.policy.bindings) + x.keys.len())
                .sum::<usize>()
            + roles.len()
    };
    drop(resources);

    let mut work = Workdir::new()?;
    std::fs::write(work.path().join("gcp-key.json"), gcp.key_file().to_string())?;
    work.add_source(
        "gcp",
        &format!(
            "provider = \"gcp-iam\"\norganization = \"123456789012\"\ncredentials_file = \"gcp-key.json\"\ntoken_url = \"{url}/token\"\nresourcemanager_url = \"{url}\"\niam_url = \"{url}\"\nconcurrency = {}",
            a.concurrency,
            url = gcp.base_url(),
        ),
        &[],
    )?;
    let start_ms = crate::harness::epoch_ms();
    let run = work.iamsnap(&[
        "backup",
        "--source",
        "gcp",
        "--metrics-file",
        "metrics.prom",
    ])?;
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
    let made = gcp.count("*");
    let throttled = gcp.count("429");
    let wall = run.wall.as_secs_f64();
    let (rm_fluid, rm_bound) = rate_floors(rm_minimum, a.rate_limit, WINDOW, start_ms);
    let (iam_fluid, iam_bound) = rate_floors(iam_minimum, a.iam_rate_limit, WINDOW, start_ms);
    let floor = rm_fluid.max(iam_fluid);
    let limit = if a.rate_limit == 0 {
        "no quota".to_string()
    } else {
        format!(
            "{} Resource Manager and {} IAM reads a minute",
            a.rate_limit, a.iam_rate_limit
        )
    };
    Ok(vec![
        row(
            format!(
                "Google Cloud IAM backup, {} folders / {} projects / {} service accounts / {} custom roles ({records} records expected), {limit}, concurrency {}",
                a.folders, a.projects, a.service_accounts, a.custom_roles, a.concurrency
            ),
            format!(
                "{wall:.1} s for {:.0} records; floor {floor:.1} s (Resource Manager {rm_minimum} reads ÷ quota {rm_fluid:.1} s, IAM {iam_minimum} reads ÷ quota {iam_fluid:.1} s); fixed-window bounds {rm_bound:.1} s and {iam_bound:.1} s; exit {}",
                metric(&metrics, "iamsnap_backup_records"),
                run.status
            ),
            "",
        ),
        row(
            "Google Cloud IAM backup wall time / floor",
            format!("{:.2}", wall / floor.max(f64::EPSILON)),
            "≤ 1.05",
        ),
        row(
            "Google Cloud requests made / minimum",
            format!(
                "{made} / {} = {:.3} ({throttled} answered 429, {} token requests)",
                rm_minimum + iam_minimum,
                made as f64 / (rm_minimum + iam_minimum) as f64,
                gcp.count("token")
            ),
            "",
        ),
        row(
            "Google Cloud IAM backup peak RSS",
            format!("{:.0} MiB", run.peak_rss_mib),
            "",
        ),
    ])
}
