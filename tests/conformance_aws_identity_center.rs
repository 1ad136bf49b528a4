//! The conformance suite on the IAM Identity Center connector, against moto's server with the
//! sso-admin and identitystore operations it lacks added (`MotoServer::start_identity_center`).

#[path = "../providers/aws-identity-center/tests/common/mod.rs"]
mod common;

use std::path::Path;

use async_trait::async_trait;
use iamsnap::registry::ConnectorConfig;
use iamsnap_aws_identity_center::AwsIdentityCenterProvider;
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::moto::MotoServer;

/// An organization's Identity Center instance emulated by moto.
struct IdentityCenter;

#[async_trait]
impl Subject for IdentityCenter {
    type System = MotoServer;

    fn provider(&self) -> &'static str {
        "aws-identity-center"
    }

    async fn seeded(&self) -> Result<MotoServer, String> {
        let moto = MotoServer::start_identity_center();
        common::seed(&moto.endpoint, common::SMALL).await;
        Ok(moto)
    }

    async fn empty(&self) -> Result<MotoServer, String> {
        Ok(MotoServer::start_identity_center())
    }

    fn url(&self, moto: &MotoServer) -> String {
        moto.endpoint.clone()
    }

    fn source(&self, _: &MotoServer, url: &str, _: &Path) -> String {
        format!(
            "provider = \"aws-identity-center\"\nendpoint = \"{url}\"\nregion = \"us-east-1\"\n"
        )
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", common::KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", common::SECRET),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    fn secret(&self) -> String {
        common::SECRET.to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let config = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let ConnectorConfig::AwsIdentityCenter(source) =
            &config.source(name).map_err(|e| e.to_string())?.connector
        else {
            return Err(format!(
                "source {name} is not an aws-identity-center source"
            ));
        };
        let provider = AwsIdentityCenterProvider::with_sdk_config(
            name,
            source,
            &ConnectOptions::default(),
            common::sdk_config(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Connector::read_write(provider))
    }

    async fn delete(&self, moto: &MotoServer, record: &Record) -> Result<(), String> {
        common::delete(&moto.endpoint, record).await
    }

    fn spare(&self, record: &Record, _: &[Record], _: Option<&Record>) -> Option<String> {
        (record.kind == "sso.instance")
            .then(|| "the instance is read only: no restore brings it back".to_string())
    }

    fn throttle(&self) -> Fault {
        Fault::AwsJsonThrottling
    }
}

#[test]
fn the_aws_identity_center_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report =
        conformance::run(&IdentityCenter, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
