//! IAM Identity Center backup of a large instance on moto (with the operations it lacks added,
//! `MotoServer::start_identity_center`), its request count beside the fewest requests the
//! sso-admin and identitystore APIs allow for the same instance.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use iamsnap_testkit::moto::MotoServer;

use crate::harness::{Row, Workdir, metric, row};

#[derive(Debug, Clone, clap::Args)]
pub struct IdentityCenterArgs {
    #[arg(long, default_value_t = 5_000)]
    pub users: usize,
    #[arg(long, default_value_t = 500)]
    pub groups: usize,
    #[arg(long, default_value_t = 100)]
    pub permission_sets: usize,
    #[arg(long, default_value_t = 2_000)]
    pub assignments: usize,
    /// Accounts the assignments are spread over.
    #[arg(long, default_value_t = 4)]
    pub accounts: usize,
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// Seeds the instance with boto3: every user in two groups; every permission set with an AWS
/// managed policy, a customer managed reference and an inline policy; assignment `a` gives
/// permission set `a % P` on account `(a / P) % A` to user `a % U`.
const SEED: &str = r#"
import sys, json, boto3
endpoint, users, groups, sets, assignments, accounts = sys.argv[1], *map(int, sys.argv[2:7])
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
sso, ids = boto3.client("sso-admin", **kw), boto3.client("identitystore", **kw)
instance = sso.list_instances()["Instances"][0]
arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
user_ids = [ids.create_user(IdentityStoreId=store, UserName=f"user{u:05}", DisplayName=f"User {u}",
    Name={"GivenName": "User", "FamilyName": str(u)},
    Emails=[{"Value": f"user{u}@example.com", "Type": "work", "Primary": True}])["UserId"] for u in range(users)]
group_ids = [ids.create_group(IdentityStoreId=store, DisplayName=f"team-{g:04}")["GroupId"] for g in range(groups)]
for u, user in enumerate(user_ids):
    for g in {u % groups, (u + 1) % groups}:
        ids.create_group_membership(IdentityStoreId=store, GroupId=group_ids[g], MemberId={"UserId": user})
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
set_arns = []
for s in range(sets):
    ps = sso.create_permission_set(InstanceArn=arn, Name=f"Set{s:03}", SessionDuration="PT4H")["PermissionSet"]["PermissionSetArn"]
    sso.attach_managed_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    sso.attach_customer_managed_policy_reference_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, CustomerManagedPolicyReference={"Name": f"app-{s}", "Path": "/"})
    sso.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, InlinePolicy=doc)
    set_arns.append(ps)
for a in range(assignments):
    sso.create_account_assignment(InstanceArn=arn, TargetId=f"{100000000000 + (a // sets) % accounts}",
        TargetType="AWS_ACCOUNT", PermissionSetArn=set_arns[a % sets], PrincipalType="USER", PrincipalId=user_ids[a % users])
"#;

const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
];

/// The fewest requests a complete read of the seeded instance takes, each listing at its
/// largest page (100): the instance; users, groups and permission sets listed; seven reads per
/// permission set (description, tags, managed, customer managed, inline, boundary, accounts);
/// each group's members; each permission set's assignments on each of its accounts.
fn floor(a: &IdentityCenterArgs) -> usize {
    let pages = |n: usize| n.div_ceil(100).max(1);
    let members_per_group = (2 * a.users).div_ceil(a.groups.max(1));
    let pairs = a.permission_sets
        * a.accounts
            .min(a.assignments.div_ceil(a.permission_sets.max(1)));
    let per_pair = a.assignments.div_ceil(pairs.max(1));
    1 + pages(a.users)
        + pages(a.groups)
        + pages(a.permission_sets)
        + 7 * a.permission_sets
        + a.groups * pages(members_per_group)
        + pairs * pages(per_pair)
}

pub fn run(a: &IdentityCenterArgs) -> anyhow::Result<Vec<Row>> {
    let moto = MotoServer::start_identity_center();
    let seeding = Instant::now();
    let counts = [
        a.users,
        a.groups,
        a.permission_sets,
        a.assignments,
        a.accounts,
    ]
    .map(|n| n.to_string());
    let status = Command::new("python3")
        .args(["-c", SEED, &moto.endpoint])
        .args(&counts)
        .envs(CREDENTIALS)
        .status()
        .context("cannot run python3 to seed moto (boto3 comes with moto)")?;
    if !status.success() {
        bail!("seeding moto failed");
    }
    eprintln!(
        "identity-center: seeded in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let mut work = Workdir::new()?;
    work.add_source(
        "sso",
        &format!(
            "provider = \"aws-identity-center\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\nconcurrency = {}",
            moto.endpoint, a.concurrency
        ),
        &CREDENTIALS,
    )?;
    let backup = work.iamsnap(&[
        "backup",
        "--source",
        "sso",
        "--metrics-file",
        "metrics.prom",
    ])?;
    let metrics = std::fs::read_to_string(work.path().join("metrics.prom"))?;
    let requests = metric(&metrics, "iamsnap_backup_requests");
    let floor = floor(a);
    Ok(vec![
        row(
            format!(
                "Identity Center backup, {} users / {} groups / {} permission sets / {} assignments on moto",
                a.users, a.groups, a.permission_sets, a.assignments
            ),
            format!(
                "{:.1} s, {:.0} records, {requests:.0} requests, {:.0} MiB peak RSS (exit {})",
                backup.wall.as_secs_f64(),
                metric(&metrics, "iamsnap_backup_records"),
                backup.peak_rss_mib,
                backup.status
            ),
            "",
        ),
        row(
            "↳ requests / fewest the APIs allow",
            format!("{:.2} ({requests:.0} / {floor})", requests / floor as f64),
            "",
        ),
    ])
}
