//! The conformance suite on the AWS Organizations connector, against organizations emulated by
//! moto.
//!
//! The command line takes the credentials from the environment, as the AWS chain does; the
//! suite's own connectors are given the same credentials through an SDK configuration.

#[path = "../providers/aws-organizations/tests/common/mod.rs"]
mod common;

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use iamsnap::registry::ConnectorConfig;
use iamsnap_aws_organizations::AwsOrganizationsProvider;
use iamsnap_aws_organizations::kinds::{self, Target};
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::moto::MotoServer;

const KEY_ID: &str = "AKIACONFORMANCE0002";
const SECRET: &str = "aws-org-conformance-secret-DO-NOT-LEAK-7f7f";

/// The account moto makes the management account of every organization.
const MANAGEMENT_ACCOUNT: &str = "123456789012";

/// An AWS organization emulated by moto.
struct AwsOrganization;

#[async_trait]
impl Subject for AwsOrganization {
    type System = MotoServer;

    fn provider(&self) -> &'static str {
        "aws-organizations"
    }

    async fn seeded(&self) -> Result<MotoServer, String> {
        let moto = MotoServer::start();
        common::seed(&client(&moto.endpoint)).await;
        Ok(moto)
    }

    /// A new organization: its root, its management account and the AWS-managed policies.
    async fn empty(&self) -> Result<MotoServer, String> {
        let moto = MotoServer::start();
        client(&moto.endpoint)
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .map_err(|e| format!("CreateOrganization: {}", DisplayErrorContext(&e)))?;
        Ok(moto)
    }

    fn url(&self, moto: &MotoServer) -> String {
        moto.endpoint.clone()
    }

    fn source(&self, _: &MotoServer, url: &str, _: &Path) -> String {
        format!("provider = \"aws-organizations\"\nendpoint = \"{url}\"\nregion = \"us-east-1\"\n")
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    fn secret(&self) -> String {
        SECRET.to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let config = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let ConnectorConfig::AwsOrganizations(source) =
            &config.source(name).map_err(|e| e.to_string())?.connector
        else {
            return Err(format!("source {name} is not an aws-organizations source"));
        };
        let provider = AwsOrganizationsProvider::with_sdk_config(
            name,
            source,
            &ConnectOptions::default(),
            common::sdk(KEY_ID, SECRET),
        )
        .map_err(|e| e.to_string())?;
        Ok(Connector::read_write(provider))
    }

    async fn delete(&self, moto: &MotoServer, record: &Record) -> Result<(), String> {
        delete(&client(&moto.endpoint), record).await
    }

    /// The management account never leaves its organization.
    fn spare(&self, record: &Record, _: &[Record], _: Option<&Record>) -> Option<String> {
        (record.kind == kinds::ACCOUNT && record.key == MANAGEMENT_ACCOUNT)
            .then(|| "the management account cannot leave its organization".to_string())
    }

    fn throttle(&self) -> Fault {
        Fault::AwsJsonThrottling
    }
}

/// A plain Organizations client of the moto server at `endpoint`, with the suite's credentials.
fn client(endpoint: &str) -> Client {
    let conf = aws_sdk_organizations::config::Builder::from(&common::sdk(KEY_ID, SECRET))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

fn failed<E, R>(call: &str, e: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    format!("{call}: {}", DisplayErrorContext(&e))
}

async fn root_id(org: &Client) -> Result<String, String> {
    let roots = org
        .list_roots()
        .send()
        .await
        .map_err(|e| failed("ListRoots", e))?;
    Ok(roots.roots()[0].id().unwrap_or_default().to_string())
}

/// The live id of the OU at `path`.
async fn unit_id(org: &Client, path: &str) -> Result<String, String> {
    let mut id = root_id(org).await?;
    for name in path.split('/') {
        let units = org
            .list_organizational_units_for_parent()
            .parent_id(&id)
            .send()
            .await
            .map_err(|e| failed("ListOrganizationalUnitsForParent", e))?;
        id = units
            .organizational_units()
            .iter()
            .find(|u| u.name() == Some(name))
            .and_then(|u| u.id())
            .ok_or(format!("no OU {path}"))?
            .to_string();
    }
    Ok(id)
}

async fn target_id(org: &Client, target: &str) -> Result<String, String> {
    match Target::parse(target).ok_or(format!("bad target {target}"))? {
        Target::Root => root_id(org).await,
        Target::Unit(path) => unit_id(org, &path).await,
        Target::Account(id) => Ok(id),
    }
}

/// The id of the policy of key `TYPE/name`.
async fn policy_id(org: &Client, key: &str) -> Result<String, String> {
    let (policy_type, name) = kinds::split_policy_key(key).ok_or(format!("bad key {key}"))?;
    let policies = org
        .list_policies()
        .filter(policy_type.into())
        .send()
        .await
        .map_err(|e| failed("ListPolicies", e))?;
    policies
        .policies()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.id())
        .map(str::to_string)
        .ok_or(format!("no policy {key}"))
}

/// Deletes `record` as an administrator would through Organizations: an OU after moving its
/// accounts to the root and deleting its children, a policy after detaching it. An account,
/// which a restore never re-creates, is moved to the root and untagged instead.
async fn delete(org: &Client, record: &Record) -> Result<(), String> {
    let key = record.key.as_str();
    match record.kind.as_str() {
        kinds::UNIT => delete_unit(org, &unit_id(org, key).await?).await,
        kinds::POLICY => {
            let id = policy_id(org, key).await?;
            let targets = org
                .list_targets_for_policy()
                .policy_id(&id)
                .send()
                .await
                .map_err(|e| failed("ListTargetsForPolicy", e))?;
            for t in targets.targets() {
                org.detach_policy()
                    .policy_id(&id)
                    .target_id(t.target_id().unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| failed("DetachPolicy", e))?;
            }
            org.delete_policy()
                .policy_id(&id)
                .send()
                .await
                .map(drop)
                .map_err(|e| failed("DeletePolicy", e))
        }
        kinds::ATTACHMENT => {
            let (target, policy) = key.rsplit_once('|').ok_or(format!("bad key {key}"))?;
            org.detach_policy()
                .policy_id(policy_id(org, policy).await?)
                .target_id(target_id(org, target).await?)
                .send()
                .await
                .map(drop)
                .map_err(|e| failed("DetachPolicy", e))
        }
        kinds::DELEGATED_ADMIN => {
            let (account, service) = key.split_once('|').ok_or(format!("bad key {key}"))?;
            org.deregister_delegated_administrator()
                .account_id(account)
                .service_principal(service)
                .send()
                .await
                .map(drop)
                .map_err(|e| failed("DeregisterDelegatedAdministrator", e))
        }
        kinds::ACCOUNT => {
            let root = root_id(org).await?;
            let parents = org
                .list_parents()
                .child_id(key)
                .send()
                .await
                .map_err(|e| failed("ListParents", e))?;
            let parent = parents.parents()[0].id().unwrap_or_default().to_string();
            if parent != root {
                org.move_account()
                    .account_id(key)
                    .source_parent_id(parent)
                    .destination_parent_id(root)
                    .send()
                    .await
                    .map_err(|e| failed("MoveAccount", e))?;
            }
            let tags = kinds::tags_of(&record.attrs);
            if !tags.is_empty() {
                org.untag_resource()
                    .resource_id(key)
                    .set_tag_keys(Some(tags.into_iter().map(|(k, _)| k).collect()))
                    .send()
                    .await
                    .map_err(|e| failed("UntagResource", e))?;
            }
            Ok(())
        }
        other => Err(format!("{other} cannot be deleted")),
    }
}

async fn delete_unit(org: &Client, id: &str) -> Result<(), String> {
    let children = org
        .list_organizational_units_for_parent()
        .parent_id(id)
        .send()
        .await
        .map_err(|e| failed("ListOrganizationalUnitsForParent", e))?;
    for child in children.organizational_units() {
        Box::pin(delete_unit(org, child.id().unwrap_or_default())).await?;
    }
    let root = root_id(org).await?;
    let accounts = org
        .list_accounts_for_parent()
        .parent_id(id)
        .send()
        .await
        .map_err(|e| failed("ListAccountsForParent", e))?;
    for account in accounts.accounts() {
        org.move_account()
            .account_id(account.id().unwrap_or_default())
            .source_parent_id(id)
            .destination_parent_id(&root)
            .send()
            .await
            .map_err(|e| failed("MoveAccount", e))?;
    }
    org.delete_organizational_unit()
        .organizational_unit_id(id)
        .send()
        .await
        .map(drop)
        .map_err(|e| failed("DeleteOrganizationalUnit", e))
}

#[test]
fn the_aws_organizations_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report =
        conformance::run(&AwsOrganization, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
