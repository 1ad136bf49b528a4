//! Discovery (the organization, its folders and projects through Resource Manager v3 lists,
//! or the configured projects) and the policies read as records.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt, stream};
use iamsnap_provider::{ProviderError, Record, RecordSink};
use reqwest::Method;

use crate::client::Client;
use crate::records;

/// What to read.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub organization: Option<String>,
    pub projects: Vec<String>,
    pub folders: bool,
    /// Kinds the source leaves out (`exclude_kinds`), whose requests are skipped.
    pub excluded: BTreeSet<String>,
}

/// Every resource whose policy is backed up: `organizations/ID`, `folders/ID`,
/// `projects/PROJECT_ID`.
pub(crate) async fn resources(
    client: &Client,
    scope: &Scope,
) -> Result<Vec<String>, ProviderError> {
    let mut out = Vec::new();
    if let Some(org) = &scope.organization {
        let org = format!("organizations/{org}");
        client.send(Method::GET, &client.url(&org), None).await?;
        out.push(org.clone());
        // Folders nest: walked level by level; projects sit under the organization or any folder.
        let mut parents = vec![org];
        let mut next = 0;
        while next < parents.len() {
            let parent = parents[next].clone();
            next += 1;
            if scope.folders || parent.starts_with("organizations/") {
                for f in client
                    .all(&format!("folders?parent={parent}"), "folders")
                    .await?
                {
                    if let Some(name) = f["name"].as_str() {
                        parents.push(name.to_string());
                    }
                }
            }
            for p in client
                .all(&format!("projects?parent={parent}"), "projects")
                .await?
            {
                if let Some(id) = p["projectId"].as_str() {
                    out.push(format!("projects/{id}"));
                }
            }
        }
        if scope.folders {
            out.extend(parents.into_iter().filter(|p| p.starts_with("folders/")));
        }
    }
    for p in &scope.projects {
        let project = client
            .send(Method::GET, &client.url(&format!("projects/{p}")), None)
            .await?;
        let id = project["projectId"].as_str().unwrap_or(p);
        out.push(format!("projects/{id}"));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Reads every policy, service account, custom role and deny policy, `fan_out` requests at once, and
/// sends their records; returns the names of the custom roles read (deleted ones included).
pub(crate) async fn snapshot(
    client: &Client,
    scope: &Scope,
    sink: RecordSink,
    fan_out: usize,
) -> Result<BTreeSet<String>, ProviderError> {
    let names = resources(client, scope).await?;
    // Google counts Resource Manager's and IAM's quotas apart: their reads go side by side, so
    // that neither waits on the other's quota.
    let (sink, names) = (&sink, &names);
    let resource_manager = async {
        let mut policies = stream::iter(names.iter().cloned().map(|name| async move {
            let policy = client.get_policy(&name).await?;
            Ok::<_, ProviderError>(records::of_policy(&name, &policy))
        }))
        .buffer_unordered(fan_out.max(1));
        while let Some(records) = policies.try_next().await? {
            for record in records {
                sink.send(record)
                    .await
                    .map_err(|_| ProviderError::Cancelled)?;
            }
        }
        Ok::<_, ProviderError>(())
    };
    let iam = async {
        let lists: Vec<url::Url> = names
            .iter()
            .filter_map(|n| n.strip_prefix("projects/"))
            .map(|p| client.iam_url(&format!("projects/{p}/serviceAccounts")))
            .collect();
        let mut accounts =
            stream::iter(lists.into_iter().map(|url| client.all_of(url, "accounts")))
                .buffer_unordered(fan_out.max(1));
        let mut account_names = Vec::new();
        while let Some(page) = accounts.try_next().await? {
            for account in &page {
                let record = records::service_account(account);
                account_names.push(format!(
                    "projects/{}/serviceAccounts/{}",
                    record.attrs["projectId"].as_str().unwrap_or_default(),
                    record.key
                ));
                sink.send(record)
                    .await
                    .map_err(|_| ProviderError::Cancelled)?;
            }
        }
        drop(accounts);
        crate::accounts::read_own(client, account_names, &scope.excluded, sink, fan_out).await?;
        // Custom roles live in the organization and in projects; deleted ones are listed too, to
        // know which ids are still taken, but not backed up: they grant nothing.
        let parents = names
            .iter()
            .filter(|n| n.starts_with("organizations/") || n.starts_with("projects/"));
        let lists: Vec<url::Url> = parents
            .map(|p| client.iam_url(&format!("{p}/roles?view=FULL&showDeleted=true")))
            .collect();
        let mut roles = stream::iter(lists.into_iter().map(|url| client.all_of(url, "roles")))
            .buffer_unordered(fan_out.max(1));
        let mut seen = BTreeSet::new();
        while let Some(page) = roles.try_next().await? {
            for role in &page {
                seen.insert(role["name"].as_str().unwrap_or_default().to_string());
                let Some(record) = records::live_role(role) else {
                    continue;
                };
                sink.send(record)
                    .await
                    .map_err(|_| ProviderError::Cancelled)?;
            }
        }
        drop(roles);
        // Deny policies (IAM v2, on IAM's quota) attach to the organization, folders and
        // projects alike.
        let mut denies = stream::iter(
            names
                .iter()
                .cloned()
                .map(|n| async move { crate::deny::read(client, &n).await }),
        )
        .buffer_unordered(fan_out.max(1));
        while let Some(records) = denies.try_next().await? {
            for record in records {
                sink.send(record)
                    .await
                    .map_err(|_| ProviderError::Cancelled)?;
            }
        }
        Ok(seen)
    };
    let ((), seen) = futures::try_join!(resource_manager, iam)?;
    Ok(seen)
}

/// One record read again.
pub(crate) async fn fetch(
    client: &Client,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    if kind == crate::kinds::CUSTOM_ROLE {
        let url = client.iam_url(key);
        return Ok(
            iamsnap_http::found(client.send(Method::GET, &url, None).await)?
                .and_then(|r| records::live_role(&r)),
        );
    }
    if kind == crate::kinds::SERVICE_ACCOUNT_KEY {
        let url = client.iam_url(key);
        return Ok(
            iamsnap_http::found(client.send(Method::GET, &url, None).await)?
                .map(|k| records::service_account_key(&k)),
        );
    }
    if kind == crate::kinds::DENY_POLICY {
        return crate::deny::fetch(client, key).await;
    }
    if kind == crate::kinds::SERVICE_ACCOUNT {
        let url = client.iam_url(&format!("projects/-/serviceAccounts/{key}"));
        return Ok(
            iamsnap_http::found(client.send(Method::GET, &url, None).await)?
                .map(|a| records::service_account(&a)),
        );
    }
    let resource = records::resource_of(key);
    let policy = match client.get_policy(resource).await {
        Ok(p) => p,
        Err(e) if matches!(iamsnap_http::status_of(&e), Some(403 | 404)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(records::of_policy(resource, &policy)
        .into_iter()
        .find(|r| r.kind == kind && r.key == key))
}
