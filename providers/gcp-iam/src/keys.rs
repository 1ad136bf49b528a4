//! User-managed service account keys. Google keeps only a key's public half and hands the
//! private half out once, when the key is created: a key that is gone cannot come back, and a
//! key created since the backup is left to the operator, who knows which workloads use it.
//! What a restore can do is set a key that still exists back to enabled or disabled.

use iamsnap_http::found;
use iamsnap_provider::{Action, Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::json;

use crate::client::Client;

/// Why a restore leaves out `action` on the key `record`.
pub(crate) fn refuses(action: Action, record: &Record) -> Option<String> {
    let account = record.attrs["serviceAccount"].as_str().unwrap_or_default();
    match action {
        Action::Create => Some(format!(
            "a key's private half exists only where it was downloaded, and a deleted key cannot come back: create a new key (`gcloud iam service-accounts keys create KEY.json --iam-account {account}`), give it to the workloads that used this one, and delete it where they kept the old one"
        )),
        Action::Delete => Some(format!(
            "a key created since the backup may be in use: list its uses (`gcloud iam service-accounts keys list --iam-account {account}`, Policy Analyzer's key usage) and delete it by hand (`gcloud iam service-accounts keys delete {} --iam-account {account}`) if it is not yours",
            record.attrs["keyId"].as_str().unwrap_or_default()
        )),
        Action::Update => None,
    }
}

/// Enables or disables the key as the snapshot has it.
pub(crate) async fn apply(
    client: &Client,
    op: &Operation,
    record: &Record,
) -> Result<Outcome, ProviderError> {
    if op.action != Action::Update {
        return Ok(Outcome::Skipped {
            reason: refuses(op.action, record).unwrap_or_default(),
        });
    }
    let name = record.key.as_str();
    let Some(live) = found(client.send(Method::GET, &client.iam_url(name), None).await)? else {
        return Ok(Outcome::Skipped {
            reason: refuses(Action::Create, record).unwrap_or_default(),
        });
    };
    let disabled = record.attrs["disabled"] == true;
    if live["disabled"].as_bool().unwrap_or(false) == disabled {
        return Ok(Outcome::AlreadyDone {
            id: name.to_string(),
        });
    }
    let verb = if disabled { "disable" } else { "enable" };
    let url = client.iam_url(&format!("{name}:{verb}"));
    client.send(Method::POST, &url, Some(&json!({}))).await?;
    Ok(Outcome::Applied {
        id: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_never_created_and_the_reason_names_the_next_step() {
        let key = Record::new(
            crate::kinds::SERVICE_ACCOUNT_KEY,
            "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/abc",
            "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/abc",
            json!({"serviceAccount": "sa@p.iam.gserviceaccount.com", "keyId": "abc"}),
            vec![],
        );
        let create = refuses(Action::Create, &key).unwrap();
        assert!(create.contains("keys create KEY.json --iam-account sa@p.iam.gserviceaccount.com"));
        assert!(
            refuses(Action::Delete, &key)
                .unwrap()
                .contains("keys delete abc")
        );
        assert_eq!(refuses(Action::Update, &key), None);
    }
}
