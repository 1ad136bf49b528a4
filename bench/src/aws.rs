//! AWS IAM backup of an account on moto, beside `aws iam get-account-authorization-details`
//! (awscli, all pages) for the same account.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use iamsnap_testkit::moto::MotoServer;

use crate::harness::{Row, Workdir, metric, row};

#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// IAM users, groups, roles and customer managed policies seeded, in all.
    #[arg(long, default_value_t = 3_000)]
    pub objects: usize,
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Backup and awscli runs, taken in turn; medians are reported, as this machine's speed
    /// drifts between runs.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Kinds the source leaves out (`exclude_kinds`), such as `aws.ssh_public_key`.
    #[arg(long, value_delimiter = ',')]
    pub exclude_kinds: Vec<String>,
}

/// Seeds the account with boto3: half users (each in a group, one managed policy attached),
/// a third roles (one managed policy attached), the rest groups and policies.
const SEED: &str = r#"
import sys, json, boto3
endpoint, total = sys.argv[1], int(sys.argv[2])
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
users, roles = total // 2, total // 3
groups = max(1, (total - users - roles) // 4)
policies = max(1, total - users - roles - groups)
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
arns = [iam.create_policy(PolicyName=f"policy-{i}", PolicyDocument=doc)["Policy"]["Arn"] for i in range(policies)]
for g in range(groups):
    iam.create_group(GroupName=f"group-{g}")
for u in range(users):
    iam.create_user(UserName=f"user-{u}", Tags=[{"Key": "team", "Value": f"t{u % 30}"}])
    iam.add_user_to_group(GroupName=f"group-{u % groups}", UserName=f"user-{u}")
    iam.attach_user_policy(UserName=f"user-{u}", PolicyArn=arns[u % policies])
for r in range(roles):
    iam.create_role(RoleName=f"role-{r}", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName=f"role-{r}", PolicyArn=arns[r % policies])
"#;

const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

pub fn run(a: &AwsArgs) -> anyhow::Result<Vec<Row>> {
    let moto = MotoServer::start();
    let seeding = Instant::now();
    let status = Command::new("python3")
        .args(["-c", SEED, &moto.endpoint, &a.objects.to_string()])
        .envs(CREDENTIALS)
        .status()
        .context("cannot run python3 to seed moto (boto3 comes with moto)")?;
    if !status.success() {
        bail!("seeding moto failed");
    }
    eprintln!(
        "aws: {} objects seeded in {:.1} s",
        a.objects,
        seeding.elapsed().as_secs_f64()
    );

    let mut work = Workdir::new()?;
    let excluded: Vec<String> = a.exclude_kinds.iter().map(|k| format!("{k:?}")).collect();
    work.add_source(
        "aws",
        &format!(
            "provider = \"aws-iam\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nconcurrency = {}\nexclude_kinds = [{}]",
            moto.endpoint,
            a.concurrency,
            excluded.join(", ")
        ),
        &CREDENTIALS,
    )?;
    let leaving_out = match a.exclude_kinds.is_empty() {
        true => String::new(),
        false => format!(", {} left out", a.exclude_kinds.join(", ")),
    };
    let mut walls = Vec::new();
    let mut awsclis = Vec::new();
    let mut ratios = Vec::new();
    let mut peak_rss_mib = 0.0f64;
    let mut status = 0;
    let mut metrics = String::new();
    for _ in 0..a.rounds.max(1) {
        let backup = work.iamsnap(&[
            "backup",
            "--source",
            "aws",
            "--metrics-file",
            "metrics.prom",
        ])?;
        metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
        let awscli = awscli(&moto.endpoint)?;
        let wall = backup.wall.as_secs_f64();
        walls.push(wall);
        awsclis.push(awscli);
        ratios.push(wall / awscli);
        peak_rss_mib = peak_rss_mib.max(backup.peak_rss_mib);
        status = status.max(backup.status);
    }
    let (wall, awscli, ratio) = (
        median(&mut walls),
        median(&mut awsclis),
        median(&mut ratios),
    );
    let rounds = walls.len();
    Ok(vec![
        row(
            format!(
                "AWS IAM backup of {} objects on moto{leaving_out} (median of {rounds})",
                a.objects
            ),
            format!(
                "{wall:.2} s, {:.0} records, {:.0} requests, {peak_rss_mib:.0} MiB peak RSS (exit {status})",
                metric(&metrics, "iamsnap_backup_records"),
                metric(&metrics, "iamsnap_backup_requests"),
            ),
            "",
        ),
        row(
            "aws iam get-account-authorization-details, same account, in turn",
            format!("{awscli:.2} s"),
            "",
        ),
        row(
            "iamsnap / awscli wall time, median of the pairs",
            format!("{ratio:.2}"),
            "≤ 1.5",
        ),
    ])
}

/// One `aws iam get-account-authorization-details` of every page, in seconds.
fn awscli(endpoint: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let cli = Command::new("aws")
        .args([
            "iam",
            "get-account-authorization-details",
            "--endpoint-url",
            endpoint,
            "--output",
            "json",
        ])
        .envs(CREDENTIALS)
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run awscli (`pip install awscli`)")?;
    let seconds = started.elapsed().as_secs_f64();
    if !cli.success() {
        bail!("aws iam get-account-authorization-details failed");
    }
    Ok(seconds)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
