//! Brands (`/api/v1/brands?limit=200`), each brand's theme (`…/themes`), its email templates
//! with their settings and how many customizations each has
//! (`…/templates/email?limit=200&expand=settings,customizationCount`), and the
//! customizations of the templates that have some (`…/customizations?limit=200`). An org
//! whose token may not read brands answers 401 or 403: none are saved, which is logged.

use futures::TryStreamExt;
use iamsnap_http::status_of;
use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;

use super::Snapshot;
use crate::client::OktaClient;
use crate::records::brands::{self as records, BrandHead};
use crate::records::str_at;

pub(crate) const BRANDS: &str = "/api/v1/brands";
const PAGE: &str = "200";

pub(crate) async fn brands(c: &OktaClient) -> Result<Vec<Value>, ProviderError> {
    c.all(c.url(BRANDS, &[("limit", PAGE)])).await
}

impl Snapshot<'_> {
    pub(super) async fn brands(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let brands = match brands(c).await {
            Ok(brands) => brands,
            Err(e) if matches!(status_of(&e), Some(401 | 403)) => {
                tracing::warn!(
                    "the org answered {} to the list of brands (the token may not read them): none backed up",
                    status_of(&e).unwrap_or_default()
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        futures::stream::iter(brands.into_iter().map(Ok))
            .try_for_each_concurrent(self.fan_out, |brand| async move {
                for record in brand_records(c, brand).await? {
                    self.send(record).await?;
                }
                Ok(())
            })
            .await
    }
}

pub(crate) async fn themes(c: &OktaClient, brand: &str) -> Result<Vec<Value>, ProviderError> {
    c.all(c.url(&format!("{BRANDS}/{brand}/themes"), &[])).await
}

/// A brand's email templates with their settings and customization counts.
pub(crate) async fn templates(c: &OktaClient, brand: &str) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(
        &format!("{BRANDS}/{brand}/templates/email"),
        &[("limit", PAGE), ("expand", "settings,customizationCount")],
    );
    c.all(url).await
}

pub(crate) async fn customizations(
    c: &OktaClient,
    brand: &str,
    template: &str,
) -> Result<Vec<Value>, ProviderError> {
    let path = format!(
        "{BRANDS}/{brand}/templates/email/{}/customizations",
        OktaClient::segment(template)
    );
    c.all(c.url(&path, &[("limit", PAGE)])).await
}

/// A brand and all that belongs to it, as records.
async fn brand_records(c: &OktaClient, brand: Value) -> Result<Vec<Record>, ProviderError> {
    let head = BrandHead::of(&brand);
    let mut out = vec![records::brand(brand)?];
    if let Some(theme) = themes(c, &head.id).await?.into_iter().next() {
        out.push(records::theme(&head, theme)?);
    }
    for t in templates(c, &head.id).await? {
        let name = str_at(&t, "/name").to_string();
        if let Some(settings) = t.pointer("/_embedded/settings") {
            out.push(records::email_settings(&head, &name, settings));
        }
        // A template without the count (an org that ignores `expand`) is asked anyway.
        let count = t
            .pointer("/_embedded/customizationCount")
            .and_then(Value::as_u64);
        if count != Some(0) {
            for v in customizations(c, &head.id, &name).await? {
                out.push(records::email_customization(&head, &name, v)?);
            }
        }
    }
    Ok(out)
}

/// A brand by name.
pub(crate) async fn brand(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    Ok(brands(c)
        .await?
        .into_iter()
        .find(|b| str_at(b, "/name") == name))
}

/// The theme of brand `name`, with the brand's head.
pub(crate) async fn theme(
    c: &OktaClient,
    name: &str,
) -> Result<Option<(BrandHead, Value)>, ProviderError> {
    let Some(b) = brand(c, name).await? else {
        return Ok(None);
    };
    let head = BrandHead::of(&b);
    let found = themes(c, &head.id).await?.into_iter().next();
    Ok(found.map(|t| (head, t)))
}

/// The customization of key `BRAND|TEMPLATE|LANGUAGE`, with its brand's head.
pub(crate) async fn customization(
    c: &OktaClient,
    key: &str,
) -> Result<Option<(BrandHead, Value)>, ProviderError> {
    let Some((name, template, language)) = records::split_customization(key) else {
        return Ok(None);
    };
    let Some(b) = brand(c, name).await? else {
        return Ok(None);
    };
    let head = BrandHead::of(&b);
    let found = match customizations(c, &head.id, template).await {
        Ok(list) => list
            .into_iter()
            .find(|v| str_at(v, "/language") == language),
        // A template the org does not have.
        Err(e) if status_of(&e) == Some(404) => None,
        Err(e) => return Err(e),
    };
    Ok(found.map(|v| (head, v)))
}

/// One record of the brand kinds by key, read live.
pub(crate) async fn record(
    c: &OktaClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    use crate::kinds::*;
    match kind {
        BRAND => brand(c, key).await?.map(records::brand).transpose(),
        BRAND_THEME => theme(c, key)
            .await?
            .map(|(h, t)| records::theme(&h, t))
            .transpose(),
        EMAIL_CUSTOMIZATION => match customization(c, key).await? {
            Some((head, v)) => {
                let template = records::split_customization(key).map_or("", |(_, t, _)| t);
                records::email_customization(&head, template, v).map(Some)
            }
            None => Ok(None),
        },
        _ => {
            let Some((name, template)) = key.rsplit_once('|') else {
                return Ok(None);
            };
            let Some(b) = brand(c, name).await? else {
                return Ok(None);
            };
            let head = BrandHead::of(&b);
            let path = format!(
                "{BRANDS}/{}/templates/email/{}/settings",
                head.id,
                OktaClient::segment(template)
            );
            Ok(c.get_opt(&c.url(&path, &[]))
                .await?
                .map(|s| records::email_settings(&head, template, &s)))
        }
    }
}
