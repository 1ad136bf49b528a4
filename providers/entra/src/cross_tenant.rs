//! The cross-tenant access policy as records: its default settings (one record, updated in
//! place, never created or deleted) and each partner organisation's settings, keyed by the
//! partner's tenant id. Only what Graph lets a client write is kept: `isServiceDefault` and
//! `isInMultiTenantOrganization` follow from the rest.

use iamsnap_provider::{ProviderError, Record};
use serde_json::{Map, Value};

use crate::client::GraphClient;
use crate::kinds::*;
use crate::read::fetch::segment;

pub(crate) const DEFAULT_PATH: &str = "/policies/crossTenantAccessPolicy/default";
pub(crate) const PARTNERS_PATH: &str = "/policies/crossTenantAccessPolicy/partners";

/// The natural key (and id) of the default settings.
pub const DEFAULT_KEY: &str = "default";

/// The settings a partner configuration and the default share.
const SHARED: [&str; 7] = [
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "inboundTrust",
    "automaticUserConsentSettings",
    "tenantRestrictions",
];

/// What a client may write of a record of `kind`.
pub(crate) fn writable(kind: &str) -> Vec<&'static str> {
    let mut fields = SHARED.to_vec();
    if kind == CROSS_TENANT_DEFAULT {
        fields.push("invitationRedemptionIdentityProviderConfiguration");
    } else {
        fields.push("isServiceProvider");
    }
    fields
}

fn attrs(kind: &str, v: &Value) -> Value {
    let attrs: Map<String, Value> = writable(kind)
        .into_iter()
        .map(|f| (f.to_string(), v[f].clone()))
        .collect();
    Value::Object(attrs)
}

pub(crate) fn default(v: &Value) -> Record {
    Record::new(
        CROSS_TENANT_DEFAULT,
        DEFAULT_KEY,
        DEFAULT_KEY,
        attrs(CROSS_TENANT_DEFAULT, v),
        Vec::new(),
    )
}

pub(crate) fn partner(v: &Value) -> Record {
    let tenant = v["tenantId"].as_str().unwrap_or_default();
    Record::new(
        CROSS_TENANT_PARTNER,
        tenant,
        tenant,
        attrs(CROSS_TENANT_PARTNER, v),
        Vec::new(),
    )
}

/// Both kinds, as the snapshot reads them: two requests.
pub(crate) async fn records(client: &GraphClient) -> Result<Vec<Record>, ProviderError> {
    let url = client.url(DEFAULT_PATH);
    let (default_settings, partners) =
        futures::try_join!(client.get(&url), client.all(PARTNERS_PATH))?;
    let mut out = vec![default(&default_settings)];
    out.extend(partners.iter().map(partner));
    Ok(out)
}

pub(crate) async fn fetch(
    client: &GraphClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    if kind == CROSS_TENANT_DEFAULT {
        return Ok(Some(default(&client.get(&client.url(DEFAULT_PATH)).await?)));
    }
    let url = client.url(&format!("{PARTNERS_PATH}/{}", segment(key)));
    Ok(client.get_opt(&url).await?.map(|v| partner(&v)))
}
