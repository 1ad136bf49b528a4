//! The conformance suite on the Google Cloud IAM connector, against an emulated organization.

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::gcp::{GcpEmulator, RunningGcp};

/// An emulated organization, reached with a service account key file.
struct GcpOrg;

#[async_trait]
impl Subject for GcpOrg {
    type System = RunningGcp;

    fn provider(&self) -> &'static str {
        "gcp-iam"
    }

    async fn seeded(&self) -> Result<RunningGcp, String> {
        start(GcpEmulator::builder()).await
    }

    /// The connector backs up policies, not the resource hierarchy: a new organization has
    /// its folders and projects, with nothing granted yet.
    async fn empty(&self) -> Result<RunningGcp, String> {
        start(GcpEmulator::builder().empty_policies()).await
    }

    fn url(&self, gcp: &RunningGcp) -> String {
        gcp.base_url().to_string()
    }

    fn source(&self, gcp: &RunningGcp, url: &str, dir: &Path) -> String {
        std::fs::write(dir.join("gcp-key.json"), gcp.key_file().to_string())
            .expect("the key file is written");
        format!(
            "provider = \"gcp-iam\"\norganization = \"555000111222\"\ncredentials_file = \"gcp-key.json\"\ntoken_url = \"{url}/token\"\nresourcemanager_url = \"{url}\"\niam_url = \"{url}\"\n"
        )
    }

    /// A line of the private key's PEM: no part of it may show.
    fn secret(&self) -> String {
        let key = iamsnap_testkit::gcp::GcpEmulator::test_private_key();
        key.lines().nth(5).unwrap_or_default().to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let config = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let source = config.source(name).map_err(|e| e.to_string())?;
        source
            .connect(name, &config.base_dir(), &ConnectOptions::default())
            .map_err(|e| e.to_string())
    }

    /// Deletes a service account, a custom role or a deny policy as IAM's `DELETE` does; takes
    /// a member out of its binding, or a service out of the audit configs, as a `setIamPolicy`
    /// would.
    async fn delete(&self, gcp: &RunningGcp, record: &Record) -> Result<(), String> {
        if record.kind == "gcp.service_account" {
            gcp.delete_account(&record.key);
            return Ok(());
        }
        if record.kind == "gcp.service_account_key" {
            // As `keys.delete` does; a key never comes back, and the restore says so.
            let id = record.attrs["keyId"].clone();
            let email = record.attrs["serviceAccount"].as_str().unwrap_or_default();
            gcp.edit_account(email, |a| a.keys.retain(|k| k.id != id));
            return Ok(());
        }
        if record.kind == "gcp.service_account_member" {
            // A `setIamPolicy` on the account without this member.
            let attrs = record.attrs.clone();
            let email = attrs["resource"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .unwrap_or_default()
                .to_string();
            gcp.edit_account(&email, |a| without_member(&mut a.policy.bindings, &attrs));
            return Ok(());
        }
        if record.kind == "gcp.custom_role" {
            // Deleted just now: IAM keeps it, undeletable, for 7 days.
            gcp.delete_role(&record.key, std::time::Duration::ZERO);
            return Ok(());
        }
        let resource = record.attrs["resource"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = gcp
            .resources()
            .into_iter()
            .find(|r| {
                r.name == resource
                    || r.project_id.as_deref().map(|p| format!("projects/{p}"))
                        == Some(resource.clone())
            })
            .ok_or_else(|| format!("no resource {resource}"))?
            .name;
        if record.kind == "gcp.deny_policy" {
            let id = record.attrs["policyId"].as_str().unwrap_or_default();
            gcp.delete_deny_policy(&name, id);
            return Ok(());
        }
        let attrs = record.attrs.clone();
        gcp.edit_policy(&name, move |p| match record_kind(&attrs) {
            Kind::Member => without_member(&mut p.bindings, &attrs),
            Kind::Audit => p.audit_configs.retain(|c| c["service"] != attrs["service"]),
        });
        Ok(())
    }

    fn throttle(&self) -> Fault {
        Fault::RetryAfter(1)
    }
}

/// Takes the member `attrs` names out of its binding (role and condition alike), and drops
/// the binding when it is left empty, as IAM does.
fn without_member(bindings: &mut Vec<serde_json::Value>, attrs: &serde_json::Value) {
    for b in bindings.iter_mut() {
        let condition = b.get("condition").cloned();
        if b["role"] == attrs["role"]
            && condition.as_ref() == attrs.get("condition")
            && let Some(m) = b["members"].as_array_mut()
        {
            m.retain(|x| *x != attrs["member"]);
        }
    }
    bindings.retain(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()));
}

enum Kind {
    Member,
    Audit,
}

fn record_kind(attrs: &serde_json::Value) -> Kind {
    if attrs.get("service").is_some() {
        Kind::Audit
    } else {
        Kind::Member
    }
}

async fn start(builder: GcpEmulator) -> Result<RunningGcp, String> {
    builder
        .org("555000111222")
        .folders(2)
        .projects(5)
        .service_accounts(8)
        .seed(3)
        .start()
        .await
        .map_err(|e| e.to_string())
}

#[test]
fn the_gcp_iam_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report = conformance::run(&GcpOrg, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
