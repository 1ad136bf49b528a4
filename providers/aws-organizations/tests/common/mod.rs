//! Shared helpers of the aws-organizations tests: an Organizations client of a moto server and
//! the seeded organization.

#![allow(dead_code)]

use std::collections::BTreeMap;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider,
};
use aws_sdk_organizations::types::{PolicyType, Tag};
use serde_json::{Value, json};

/// The SDK configuration of moto's test credentials.
pub fn sdk(key_id: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key_id, secret, None, None, "tests",
        )))
        .build()
}

/// A plain Organizations client of the moto server at `endpoint`, for seeding and breaking.
pub fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_organizations::config::Builder::from(&sdk("testing", "testing"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

/// The OU tree of the seed, parents first: three levels.
pub const UNITS: &[&str] = &[
    "Security",
    "Workloads",
    "Workloads/Prod",
    "Workloads/Prod/Payments",
    "Workloads/Dev",
    "Sandbox",
];

/// Member accounts of the seed: (name, OU path or "" for the root).
pub const ACCOUNTS: &[(&str, &str)] = &[
    ("audit", "Security"),
    ("payments-prod", "Workloads/Prod/Payments"),
    ("web-prod", "Workloads/Prod"),
    ("web-dev", "Workloads/Dev"),
    ("playground", ""),
];

/// The service control and resource control policies of the seed: (type, name, where
/// attached: OU path, `root`, or `account:NAME`).
pub const POLICIES: &[(&str, &str, &[&str])] = &[
    ("SERVICE_CONTROL_POLICY", "DenyLeaveOrganization", &["root"]),
    (
        "SERVICE_CONTROL_POLICY",
        "DenyRootUser",
        &["Workloads", "Sandbox"],
    ),
    ("SERVICE_CONTROL_POLICY", "RegionFence", &["Workloads/Prod"]),
    (
        "SERVICE_CONTROL_POLICY",
        "ProtectSecurityTooling",
        &["Security", "Workloads/Prod/Payments"],
    ),
    (
        "SERVICE_CONTROL_POLICY",
        "DenyIamUsers",
        &["account:payments-prod"],
    ),
    (
        "SERVICE_CONTROL_POLICY",
        "SandboxLimits",
        &["Sandbox", "account:playground"],
    ),
    ("RESOURCE_CONTROL_POLICY", "EnforceTls", &["root"]),
    (
        "RESOURCE_CONTROL_POLICY",
        "DataPerimeter",
        &["Workloads/Prod"],
    ),
    (
        "RESOURCE_CONTROL_POLICY",
        "NoPublicBuckets",
        &["Workloads/Prod/Payments", "Workloads/Dev"],
    ),
    (
        "RESOURCE_CONTROL_POLICY",
        "KmsOwnAccount",
        &["account:web-prod"],
    ),
    ("TAG_POLICY", "CostCenter", &["Workloads"]),
    ("AISERVICES_OPT_OUT_POLICY", "OptOutOfAiTraining", &["root"]),
];

/// The service principal the `audit` account is delegated administrator of.
pub const DELEGATED_SERVICE: &str = "guardduty.amazonaws.com";

/// What the seed made: ids by name.
#[derive(Debug, Default)]
pub struct Seeded {
    pub root: String,
    pub units: Vec<(String, String)>,
    pub accounts: Vec<(String, String)>,
    pub policies: Vec<(String, String)>,
}

impl Seeded {
    pub fn unit(&self, path: &str) -> &str {
        &self.units.iter().find(|(p, _)| p == path).unwrap().1
    }
    pub fn account(&self, name: &str) -> &str {
        &self.accounts.iter().find(|(n, _)| n == name).unwrap().1
    }
    pub fn policy(&self, name: &str) -> &str {
        &self.policies.iter().find(|(n, _)| n == name).unwrap().1
    }
    fn target(&self, at: &str) -> String {
        if at == "root" {
            self.root.clone()
        } else if let Some(name) = at.strip_prefix("account:") {
            self.account(name).to_string()
        } else {
            self.unit(at).to_string()
        }
    }
}

/// A policy document of `policy_type` that mentions `name`, so every policy differs.
pub fn content(policy_type: &str, name: &str) -> String {
    match policy_type {
        "SERVICE_CONTROL_POLICY" => json!({"Version": "2012-10-17", "Statement": [{"Sid": name, "Effect": "Deny", "Action": ["organizations:LeaveOrganization"], "Resource": "*"}]}),
        "RESOURCE_CONTROL_POLICY" => json!({"Version": "2012-10-17", "Statement": [{"Sid": name, "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}]}),
        "TAG_POLICY" => json!({"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}}),
        _ => json!({"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}),
    }
    .to_string()
}

/// Seeds an organization: policy types enabled, the OU tree, accounts in it, the policies
/// attached, a delegated administrator. moto makes the organization with the caller's account
/// as management account, `FullAWSAccess` and `RCPFullAWSAccess` attached to the root.
pub async fn seed(org: &Client) -> Seeded {
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let roots = org.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_string();
    // moto implements no backup policies.
    for t in [
        PolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy,
        PolicyType::TagPolicy,
        PolicyType::AiservicesOptOutPolicy,
    ] {
        org.enable_policy_type()
            .root_id(&root)
            .policy_type(t)
            .send()
            .await
            .unwrap();
    }
    let mut seeded = Seeded {
        root: root.clone(),
        ..Seeded::default()
    };
    for path in UNITS {
        let (parent, name) = match path.rsplit_once('/') {
            Some((parent, name)) => (seeded.unit(parent).to_string(), name),
            None => (root.clone(), *path),
        };
        let out = org
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .tags(
                Tag::builder()
                    .key("owner")
                    .value(format!("team-{name}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let id = out.organizational_unit().unwrap().id().unwrap().to_string();
        seeded.units.push((path.to_string(), id));
    }
    for (name, at) in ACCOUNTS {
        let out = org
            .create_account()
            .account_name(*name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let id = out
            .create_account_status()
            .unwrap()
            .account_id()
            .unwrap()
            .to_string();
        if !at.is_empty() {
            org.move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(seeded.unit(at))
                .send()
                .await
                .unwrap();
        }
        org.tag_resource()
            .resource_id(&id)
            .tags(Tag::builder().key("tier").value(*name).build().unwrap())
            .send()
            .await
            .unwrap();
        seeded.accounts.push((name.to_string(), id));
    }
    for (policy_type, name, targets) in POLICIES {
        let out = org
            .create_policy()
            .name(*name)
            .description(format!("{name} guardrail"))
            .r#type(PolicyType::from(*policy_type))
            .content(content(policy_type, name))
            .tags(
                Tag::builder()
                    .key("guardrail")
                    .value(*name)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let id = out
            .policy()
            .unwrap()
            .policy_summary()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        for at in *targets {
            org.attach_policy()
                .policy_id(&id)
                .target_id(seeded.target(at))
                .send()
                .await
                .unwrap();
        }
        seeded.policies.push((name.to_string(), id));
    }
    org.register_delegated_administrator()
        .account_id(seeded.account("audit"))
        .service_principal(DELEGATED_SERVICE)
        .send()
        .await
        .unwrap();
    seeded
}

/// Every live fact the restore must bring back, by name: OU paths with tags, each account's
/// OU, each customer policy's content, description and tags, every attachment, delegations.
pub async fn facts(org: &aws_sdk_organizations::Client) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    names.insert(root.clone(), "root".into());
    let mut level = vec![(root.clone(), String::new())];
    while let Some((parent, path)) = level.pop() {
        let accounts = org
            .list_accounts_for_parent()
            .parent_id(&parent)
            .send()
            .await
            .unwrap();
        for a in accounts.accounts() {
            let tags = org
                .list_tags_for_resource()
                .resource_id(a.id().unwrap())
                .send()
                .await
                .unwrap();
            let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
            out.insert(
                format!("account {}", a.name().unwrap()),
                json!({"ou": path, "tags": tags}),
            );
            names.insert(
                a.id().unwrap().to_string(),
                format!("account:{}", a.name().unwrap()),
            );
        }
        let units = org
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .send()
            .await
            .unwrap();
        for u in units.organizational_units() {
            let child = if path.is_empty() {
                u.name().unwrap().to_string()
            } else {
                format!("{path}/{}", u.name().unwrap())
            };
            let tags = org
                .list_tags_for_resource()
                .resource_id(u.id().unwrap())
                .send()
                .await
                .unwrap();
            let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
            out.insert(format!("ou {child}"), json!({ "tags": tags }));
            names.insert(u.id().unwrap().to_string(), child.clone());
            level.push((u.id().unwrap().to_string(), child));
        }
    }
    for t in [
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
        "TAG_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
    ] {
        let policies = org.list_policies().filter(t.into()).send().await.unwrap();
        for p in policies.policies() {
            let id = p.id().unwrap();
            let described = org.describe_policy().policy_id(id).send().await.unwrap();
            let content: Value =
                serde_json::from_str(described.policy().unwrap().content().unwrap()).unwrap();
            let targets = org
                .list_targets_for_policy()
                .policy_id(id)
                .send()
                .await
                .unwrap();
            let mut at: Vec<String> = targets
                .targets()
                .iter()
                .filter_map(|t| names.get(t.target_id().unwrap()).cloned())
                .collect();
            at.sort();
            let tags = org
                .list_tags_for_resource()
                .resource_id(id)
                .send()
                .await
                .unwrap();
            let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
            out.insert(
                format!("policy {t}/{}", p.name().unwrap()),
                json!({"content": content, "description": p.description(), "attached": at, "tags": tags}),
            );
        }
    }
    let admins = org.list_delegated_administrators().send().await.unwrap();
    for a in admins.delegated_administrators() {
        let services = org
            .list_delegated_services_for_account()
            .account_id(a.id().unwrap())
            .send()
            .await
            .unwrap();
        for s in services.delegated_services() {
            out.insert(
                format!(
                    "delegated {} {}",
                    a.name().unwrap(),
                    s.service_principal().unwrap()
                ),
                json!(true),
            );
        }
    }
    out
}
