//! Backup: the instance, then three independent families at once — the Identity Store's users
//! and groups, and the permission sets — then what joins them: group memberships (one listing
//! per group) and account assignments (one listing per permission set and account it is
//! provisioned to). Records go to the sink as each page or object is read; what is held is the
//! id → name maps of users, groups and permission sets that the joins need for their keys.

mod fetch;
pub(crate) mod sets;
mod store;

pub(crate) use fetch::FetchCache;

use std::collections::HashMap;

use aws_sdk_ssoadmin::types::InstanceMetadata;
use iamsnap_provider::{ProviderError, Record, RecordSink};

use crate::client::{Api, ApiError, Clients};
use crate::records;

/// The instance a source reads, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub arn: String,
    pub store_id: String,
    pub meta: InstanceMetadata,
}

/// Every page of a listing: `pages!(client.list_users().identity_store_id(id), "identitystore:ListUsers", users)`.
/// The SDK's paginator stops on a repeated token, so a listing always ends.
macro_rules! pages {
    ($request:expr, $op:literal, $items:ident) => {
        async {
            let mut stream = $request.into_paginator().send();
            let mut all = Vec::new();
            while let Some(page) = stream.next().await {
                let page = $crate::client::Api::api(page, $op)?;
                all.extend(page.$items().iter().cloned());
            }
            Ok::<_, $crate::client::ApiError>(all)
        }
        .await
    };
}
pub(crate) use pages;

/// The instance named by `wanted`, else the only one `ListInstances` returns.
pub(crate) async fn instance(
    clients: &Clients,
    wanted: Option<&str>,
    source: &str,
) -> Result<Instance, ProviderError> {
    let all = pages!(clients.sso.list_instances(), "sso:ListInstances", instances)
        .map_err(|e: ApiError| e.context(&format!("source {source}")))?;
    let arn_of = |m: &InstanceMetadata| m.instance_arn().unwrap_or_default().to_string();
    let chosen = match wanted {
        Some(arn) => all.iter().find(|m| m.instance_arn() == Some(arn)).ok_or_else(|| {
            ProviderError::Config(format!(
                "sources.{source}: instance_arn {arn} is not among the instances ListInstances returns ({}); check the region and the account the credentials belong to",
                names(&all)
            ))
        })?,
        None => match all.as_slice() {
            [only] => only,
            [] => {
                return Err(ProviderError::Config(format!(
                    "sources.{source}: ListInstances returns no Identity Center instance; check `region` (the instance's region) and that the credentials belong to the management or delegated administrator account"
                )));
            }
            several => {
                return Err(ProviderError::Config(format!(
                    "sources.{source}: ListInstances returns {} instances ({}); set instance_arn to the one to back up",
                    several.len(),
                    names(several)
                )));
            }
        },
    };
    Ok(Instance {
        arn: arn_of(chosen),
        store_id: chosen.identity_store_id().unwrap_or_default().to_string(),
        meta: chosen.clone(),
    })
}

fn names(all: &[InstanceMetadata]) -> String {
    if all.is_empty() {
        return "none".into();
    }
    all.iter()
        .map(|m| match m.name() {
            Some(name) => format!("{} \"{name}\"", m.instance_arn().unwrap_or_default()),
            None => m.instance_arn().unwrap_or_default().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first reads a snapshot makes after the instance: one page of users and of permission
/// sets.
pub(crate) async fn healthcheck(
    clients: &Clients,
    instance: &Instance,
) -> Result<(), ProviderError> {
    let subject = format!("healthcheck of instance {}", instance.arn);
    clients
        .store
        .list_users()
        .identity_store_id(&instance.store_id)
        .max_results(1)
        .send()
        .await
        .api("identitystore:ListUsers")
        .map_err(|e| e.context(&subject))?;
    clients
        .sso
        .list_permission_sets()
        .instance_arn(&instance.arn)
        .max_results(1)
        .send()
        .await
        .api("sso:ListPermissionSets")
        .map_err(|e| e.context(&subject))?;
    Ok(())
}

pub(crate) struct Read<'a> {
    pub clients: &'a Clients,
    pub instance: &'a Instance,
    pub concurrency: usize,
    pub sink: RecordSink,
}

impl Read<'_> {
    pub async fn send(&self, record: Record) -> Result<(), ProviderError> {
        self.sink
            .send(record)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    fn subject(&self) -> String {
        format!("instance {}", self.instance.arn)
    }
}

/// Reads the whole instance and sends its records to `sink`.
pub(crate) async fn snapshot(
    clients: &Clients,
    instance: &Instance,
    concurrency: usize,
    sink: RecordSink,
) -> Result<(), ProviderError> {
    let read = Read {
        clients,
        instance,
        concurrency,
        sink,
    };
    read.send(records::instance(&instance.meta)).await?;
    let (users, groups, sets) = tokio::try_join!(read.users(), read.groups(), read.sets())?;
    let principals = Principals { users, groups };
    tokio::try_join!(
        read.memberships(&principals),
        read.assignments(&sets, &principals)
    )?;
    Ok(())
}

/// Names of users and groups by id, for the keys of memberships and assignments.
#[derive(Debug, Default)]
pub(crate) struct Principals {
    pub users: HashMap<String, String>,
    pub groups: HashMap<String, String>,
}
