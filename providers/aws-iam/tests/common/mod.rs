//! Shared helpers of the aws-iam tests: a moto server with AWS-managed policies loaded, a
//! provider and a plain IAM client pointed at it, and record comparisons.

#![allow(dead_code)]

pub mod seed;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use iamsnap_aws_iam::{AwsIamConfig, AwsIamProvider, kinds};
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, Operation, Outcome, ReadProvider, Record, WriteProvider,
};
use iamsnap_testkit::moto::MotoServer;
use serde_json::Value;

/// moto's server with AWS-managed policies loaded, and clients of it.
pub struct Moto {
    /// Kept for its lifetime: dropping it stops the server.
    _server: MotoServer,
    pub endpoint: String,
}

impl Moto {
    /// Fails, never skips, when moto is missing; `IAMSNAP_MOTO_SERVER` names another program.
    pub fn start() -> Moto {
        let server = MotoServer::start_with_managed_policies();
        let endpoint = server.endpoint.clone();
        Moto {
            _server: server,
            endpoint,
        }
    }

    /// The connector under test, with its endpoint set in its configuration as a user would.
    pub fn provider(&self) -> AwsIamProvider {
        self.provider_with(AwsIamConfig::default())
    }

    /// The connector under test with `cfg`, its endpoint and concurrency set here.
    pub fn provider_with(&self, cfg: AwsIamConfig) -> AwsIamProvider {
        provider_at(&self.endpoint, cfg)
    }

    /// A plain IAM client for seeding and breaking the account.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        iam_at(&self.endpoint)
    }
}

fn sdk() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .build()
}

/// The connector under test against the moto server at `endpoint`, with `cfg`.
pub fn provider_at(endpoint: &str, cfg: AwsIamConfig) -> AwsIamProvider {
    let cfg = AwsIamConfig {
        endpoint: Some(endpoint.to_string()),
        concurrency: Some(4),
        ..cfg
    };
    AwsIamProvider::with_sdk_config("aws-test", &cfg, &ConnectOptions::default(), sdk()).unwrap()
}

/// A plain IAM client of the moto server at `endpoint`.
pub fn iam_at(endpoint: &str) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::config::Builder::from(&sdk())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// Deletes role `role` as IAM requires: its managed policies detached, its inline policies
/// deleted and its instance profiles left first.
pub async fn delete_role(client: &aws_sdk_iam::Client, role: &str) {
    let attached = client
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for p in attached.attached_policies() {
        client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(p.policy_arn().unwrap())
            .send()
            .await
            .unwrap();
    }
    let inline = client
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for name in inline.policy_names() {
        client
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .unwrap();
    }
    let profiles = client
        .list_instance_profiles_for_role()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for profile in profiles.instance_profiles() {
        client
            .remove_role_from_instance_profile()
            .instance_profile_name(profile.instance_profile_name())
            .role_name(role)
            .send()
            .await
            .unwrap();
    }
    client.delete_role().role_name(role).send().await.unwrap();
}

/// Every record of a snapshot.
pub async fn snapshot(provider: &AwsIamProvider) -> Vec<Record> {
    let (sink, mut rx) = tokio::sync::mpsc::channel(64);
    let collect = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out
    });
    provider.snapshot(sink).await.expect("snapshot");
    collect.await.unwrap()
}

pub fn counts(records: &[Record]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r.kind.clone()).or_default() += 1;
    }
    out
}

pub fn by_key(records: &[Record]) -> BTreeMap<(String, String), Record> {
    records
        .iter()
        .map(|r| ((r.kind.clone(), r.key.clone()), r.clone()))
        .collect()
}

/// A record with ids replaced by what survives re-creation: refs point at (kind, key) and
/// what a user cannot get back is cleared.
pub fn comparable(record: &Record, keys_by_id: &HashMap<(String, String), String>) -> Value {
    let mut attrs = record.attrs.clone();
    if record.kind == kinds::USER {
        attrs["console_password"] = Value::Bool(false);
        attrs["access_keys"] = Value::Array(vec![]);
        attrs["mfa_devices"] = Value::Array(vec![]);
    }
    let mut refs: Vec<String> = record
        .refs
        .iter()
        .map(|r| {
            let key = keys_by_id
                .get(&(r.kind.clone(), r.id.clone()))
                .cloned()
                .unwrap_or_else(|| format!("unknown id {}", r.id));
            format!("{} {} {}", r.rel, r.kind, key)
        })
        .collect();
    refs.sort();
    serde_json::json!({"kind": record.kind, "key": record.key, "attrs": attrs, "refs": refs})
}

pub fn keys_by_id(records: &[Record]) -> HashMap<(String, String), String> {
    records
        .iter()
        .map(|r| ((r.kind.clone(), r.id.clone()), r.key.clone()))
        .collect()
}

/// Applies `action` to every record, kinds in restore order (deletes in reverse), recording
/// re-created ids in `ids`. Returns the outcomes by (kind, key).
pub async fn apply_all(
    provider: &AwsIamProvider,
    records: &[Record],
    action: Action,
    ids: &mut BTreeMap<(String, String), String>,
) -> BTreeMap<(String, String), Outcome> {
    let mut order: Vec<&str> = provider.kinds().iter().map(|k| k.name).collect();
    if action == Action::Delete {
        order.reverse();
    }
    let mut outcomes = BTreeMap::new();
    for kind in order {
        // What the connector never re-creates or deletes (server certificates, MFA devices).
        if REPORTED.contains(&kind) {
            continue;
        }
        let mut of_kind: Vec<&Record> = records.iter().filter(|r| r.kind == kind).collect();
        of_kind.sort_by(|a, b| a.key.cmp(&b.key));
        for record in of_kind {
            let op = Operation {
                action,
                kind: record.kind.clone(),
                key: record.key.clone(),
                desired: (action != Action::Delete).then(|| record.clone()),
                current: (action == Action::Delete).then(|| record.clone()),
            };
            let outcome = provider
                .apply(&op, &*ids)
                .await
                .unwrap_or_else(|e| panic!("{action:?} {} {}: {e}", record.kind, record.key));
            if let Outcome::Applied { id } | Outcome::AlreadyDone { id } = &outcome
                && action != Action::Delete
                && id != &record.id
            {
                ids.insert((record.kind.clone(), record.id.clone()), id.clone());
            }
            outcomes.insert((record.kind.clone(), record.key.clone()), outcome);
        }
    }
    outcomes
}

/// Kinds a restore only reports: IAM never gives back a server certificate's private key
/// or an MFA device's seed.
pub const REPORTED: &[&str] = &[kinds::SERVER_CERTIFICATE, kinds::VIRTUAL_MFA_DEVICE];

/// Asserts two snapshots hold the same objects, ids and the [`REPORTED`] kinds aside.
pub fn assert_same_modulo_ids(before: &[Record], after: &[Record]) {
    let (kb, ka) = (keys_by_id(before), keys_by_id(after));
    let restorable = |r: &&Record| !REPORTED.contains(&r.kind.as_str());
    let before: Vec<&Record> = before.iter().filter(restorable).collect();
    let after: Vec<&Record> = after.iter().filter(restorable).collect();
    let b: BTreeMap<_, _> = before
        .iter()
        .map(|r| ((r.kind.clone(), r.key.clone()), comparable(r, &kb)))
        .collect();
    let a: BTreeMap<_, _> = after
        .iter()
        .map(|r| ((r.kind.clone(), r.key.clone()), comparable(r, &ka)))
        .collect();
    let missing: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    let extra: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing after restore: {missing:?}\nextra after restore: {extra:?}"
    );
    for (key, value) in &b {
        assert_eq!(value, &a[key], "{key:?} differs after restore");
    }
}

/// A map that resolves nothing: every object still has its snapshot id.
pub fn no_ids() -> impl IdMap {
    BTreeMap::<(String, String), String>::new()
}
