//! AWS Organizations backup of a large organization on moto: wall time and requests beside
//! the count the connector's reads come to (docs/aws-organizations.md).

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use iamsnap_testkit::moto::MotoServer;

use crate::harness::{Row, Workdir, metric, row};

#[derive(Debug, Clone, clap::Args)]
pub struct OrganizationsArgs {
    /// OUs, in a tree three levels deep.
    #[arg(long, default_value_t = 120)]
    pub units: usize,
    /// Member accounts, spread over the OUs.
    #[arg(long, default_value_t = 400)]
    pub accounts: usize,
    /// Customer policies (SCPs, RCPs, tag policies in turn), each attached to two targets.
    #[arg(long, default_value_t = 150)]
    pub policies: usize,
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Seeds the organization with boto3: OU `u` under OU `(u - 1) / 5` (the first ones under the
/// root), account `a` in OU `a % U` with a tag, policy `p` of type `p % 3` attached to OU
/// `p % U` and account `p % A`, every OU tagged.
const SEED: &str = r#"
import sys, json, boto3
endpoint, units, accounts, policies = sys.argv[1], *map(int, sys.argv[2:5])
org = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1")
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
types = ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY"]
for t in types:
    org.enable_policy_type(RootId=root, PolicyType=t)
ous = []
for u in range(units):
    parent = root if u < 5 else ous[(u - 5) // 5]
    ous.append(org.create_organizational_unit(ParentId=parent, Name=f"ou-{u}",
        Tags=[{"Key": "owner", "Value": f"team-{u % 20}"}])["OrganizationalUnit"]["Id"])
ids = []
for a in range(accounts):
    made = org.create_account(AccountName=f"account-{a}", Email=f"a{a}@example.com")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=made, SourceParentId=root, DestinationParentId=ous[a % units])
    org.tag_resource(ResourceId=made, Tags=[{"Key": "tier", "Value": f"t{a % 3}"}])
    ids.append(made)
scp = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}
tag = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}}
for p in range(policies):
    t = types[p % 3]
    content = tag if t == "TAG_POLICY" else scp
    made = org.create_policy(Name=f"policy-{p}", Description=f"guardrail {p}", Type=t,
        Content=json.dumps(content), Tags=[{"Key": "guardrail", "Value": str(p)}])["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=made, TargetId=ous[p % units])
    org.attach_policy(PolicyId=made, TargetId=ids[p % accounts])
"#;

const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

pub fn run(a: &OrganizationsArgs) -> anyhow::Result<Vec<Row>> {
    let moto = MotoServer::start();
    let seeding = Instant::now();
    let status = Command::new("python3")
        .args([
            "-c",
            SEED,
            &moto.endpoint,
            &a.units.to_string(),
            &a.accounts.to_string(),
            &a.policies.to_string(),
        ])
        .envs(CREDENTIALS)
        .status()
        .context("cannot run python3 to seed moto (boto3 comes with moto)")?;
    if !status.success() {
        bail!("seeding moto failed");
    }
    eprintln!(
        "organizations: {} OUs, {} accounts, {} policies seeded in {:.1} s",
        a.units,
        a.accounts,
        a.policies,
        seeding.elapsed().as_secs_f64()
    );
    let mut work = Workdir::new()?;
    work.add_source(
        "org",
        &format!(
            "provider = \"aws-organizations\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nconcurrency = {}",
            moto.endpoint, a.concurrency
        ),
        &CREDENTIALS,
    )?;
    let backup = work.iamsnap(&[
        "backup",
        "--source",
        "org",
        "--metrics-file",
        "metrics.prom",
    ])?;
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
    Ok(vec![row(
        format!(
            "AWS Organizations backup, {} OUs / {} accounts / {} customer policies on moto, concurrency {}",
            a.units, a.accounts, a.policies, a.concurrency
        ),
        format!(
            "{:.2} s, {:.0} records, {:.0} requests, {:.0} MiB peak RSS (exit {})",
            backup.wall.as_secs_f64(),
            metric(&metrics, "iamsnap_backup_records"),
            metric(&metrics, "iamsnap_backup_requests"),
            backup.peak_rss_mib,
            backup.status
        ),
        "",
    )])
}
