//! Terms of use agreements as records: their settings, keyed by display name. The PDF an
//! agreement shows is not part of it as Graph reads it, so an agreement deleted cannot be
//! created again from a snapshot (see [`crate::kinds::TERMS_FILE`]); one that still exists is
//! brought back to the snapshot's settings.

use iamsnap_provider::{ProviderError, Record};
use serde_json::{Map, Value};

use crate::client::GraphClient;
use crate::kinds::TERMS_OF_USE;
use crate::records::{id_of, str_of};

pub(crate) const PATH: &str = "/identityGovernance/termsOfUse/agreements";

/// What Graph lets a client change of an agreement.
pub(crate) const WRITABLE: [&str; 5] = [
    "displayName",
    "isViewingBeforeAcceptanceRequired",
    "isPerDeviceAcceptanceRequired",
    "userReacceptRequiredFrequency",
    "termsExpiration",
];

pub(crate) fn agreement(v: &Value) -> Record {
    let attrs: Map<String, Value> = WRITABLE
        .iter()
        .map(|f| (f.to_string(), v[*f].clone()))
        .collect();
    Record::new(
        TERMS_OF_USE,
        id_of(v),
        str_of(v, "displayName"),
        Value::Object(attrs),
        Vec::new(),
    )
}

/// Every agreement of the tenant, as Graph lists it.
pub(crate) async fn all(client: &GraphClient) -> Result<Vec<Value>, ProviderError> {
    client.all(PATH).await
}

/// The live agreement named `name`.
pub(crate) async fn live(client: &GraphClient, name: &str) -> Result<Option<Value>, ProviderError> {
    Ok(all(client)
        .await?
        .into_iter()
        .find(|v| v["displayName"] == name))
}
