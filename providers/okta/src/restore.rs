//! Writing records back to Okta.

use iamsnap_provider::{IdMap, Operation, Outcome, ProviderError, Record};

use crate::client::OktaClient;
use crate::kinds::{KINDS, USER};

pub(crate) struct Restore<'a> {
    pub client: &'a OktaClient,
    pub ids: &'a dyn IdMap,
    pub activate_users: bool,
}

impl Restore<'_> {
    pub(crate) async fn apply(&self, op: &Operation) -> Result<Outcome, ProviderError> {
        let _ = (self.client, self.ids, self.activate_users);
        Err(ProviderError::Unsupported {
            kind: op.kind.clone(),
            key: op.key.clone(),
            action: format!("{:?}", op.action).to_lowercase(),
            reason: "the okta connector does not write yet".into(),
        })
    }
}

/// What restoring `record` cannot give back.
pub(crate) fn cannot_restore(record: &Record) -> Vec<String> {
    let _ = USER;
    KINDS
        .iter()
        .find(|k| k.name == record.kind)
        .map(|k| k.cannot_restore.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}
