//! Brands, their theme, their email templates' settings and customizations.
//!
//! A brand is created by name (`POST /api/v1/brands`), then replaced with the snapshot's
//! settings, its default app rewritten to the live id and its email domain kept as it is live
//! (email domains are not backed up, and a replace without one would clear it). A theme and a
//! template's settings come with their brand: restoring one replaces the live one. A
//! customization is created for its language or replaced; Okta keeps exactly one default per
//! template, so making one default unmakes the others, and one that must stop being the
//! default stops when another becomes it. Images cannot be uploaded from the URL the API
//! gives: `cannot_restore` names each with the next step.

use iamsnap_http::status_of;
use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, created_id, done, precondition, without};
use crate::client::OktaClient;
use crate::kinds::*;
use crate::read::brands::{self as fetch, BRANDS};
use crate::records::brands::split_customization;
use crate::records::str_at;

/// Theme fields the API sets from uploads, never from a replace.
const IMAGES: &[(&str, &str, &str)] = &[
    ("logo", "logo", "logo"),
    ("favicon", "favicon", "favicon"),
    ("backgroundImage", "background image", "background-image"),
];

pub(super) const DEFAULT_BRAND: &str =
    "the default brand is Okta's: it is never created or deleted, only updated";

/// `desired` trimmed to what a restore can reach: which brand is the default is Okta's to say,
/// and a theme's images are uploaded, never written.
pub(super) fn reachable(mut desired: Record, live: &Record) -> Record {
    let fields: &[&str] = match desired.kind.as_str() {
        BRAND => &["isDefault"],
        BRAND_THEME => &["logo", "favicon", "backgroundImage"],
        _ => &[],
    };
    if let Some(map) = desired.attrs.as_object_mut() {
        for f in fields {
            match live.attrs.get(*f) {
                Some(v) => map.insert(f.to_string(), v.clone()),
                None => map.remove(*f),
            };
        }
    }
    desired
}

/// Whether a theme image URL is one of Okta's own defaults (nothing to upload again).
fn okta_default_image(url: &str) -> bool {
    url.contains("/assets/img/logos/okta") || url.ends_with("/favicon.ico")
}

/// What restoring a brand or theme cannot give back, with the next step.
pub(super) fn cannot_restore(record: &Record) -> Vec<String> {
    let a = &record.attrs;
    let name = &record.key;
    match record.kind.as_str() {
        BRAND => vec![format!(
            "brand {name}: its email domain, custom domains and sign-in and error page customizations are not backed up; a re-created brand sends email from Okta's domain: set them again in the Admin Console (Customizations → Brands → {name})"
        )],
        BRAND_THEME => IMAGES
            .iter()
            .filter_map(|(field, what, path)| {
                let url = a.get(*field).and_then(Value::as_str)?;
                (!okta_default_image(url)).then(|| format!(
                    "brand {name}: its theme's {what} cannot be uploaded from the API's answer, which gives only the URL of the hosted file ({url}): download it from there (or from your own copy) and upload it in the Admin Console (Customizations → Brands → {name} → Theme) or with POST /api/v1/brands/{{brandId}}/themes/{{themeId}}/{path} (multipart, field `file`)"
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Restore<'_> {
    /// The live id of the brand a record belongs to: mapped through its `brand` ref, or found
    /// by the name its key starts with.
    async fn brand_of(
        &self,
        op: &Operation,
        record: &Record,
        name: &str,
    ) -> Result<String, ProviderError> {
        if let Some(b) = record.target("brand")
            && let Some(id) = self.ids.live_id(BRAND, &b.id)
        {
            return Ok(id);
        }
        fetch::brand(self.c(), name)
            .await?
            .map(|b| str_at(&b, "/id").to_string())
            .ok_or_else(|| {
                precondition(
                    op,
                    &format!("brand {name} does not exist live; restore it first"),
                )
            })
    }

    /// Replaces brand `id` with `desired`'s settings.
    async fn replace_brand(
        &self,
        op: &Operation,
        desired: &Record,
        id: &str,
    ) -> Result<(), ProviderError> {
        let c = self.c();
        let url = c.url(&format!("{BRANDS}/{id}"), &[]);
        let live = c.get(&url).await?;
        let mut body = without(&desired.attrs, &["isDefault"]);
        if let Some(app) = body
            .pointer("/defaultApp/appInstanceId")
            .and_then(Value::as_str)
        {
            body["defaultApp"]["appInstanceId"] = json!(self.live(op, APP, app)?);
        }
        if let Some(domain) = live.get("emailDomainId").filter(|d| !d.is_null()) {
            body["emailDomainId"] = domain.clone();
        }
        c.send(Method::PUT, &url, Some(&body)).await.map(|_| ())
    }

    pub(super) async fn create_brand(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some(live) = fetch::brand(c, &op.key).await? {
            return Ok(done(&live));
        }
        let body = json!({"name": op.key});
        let live = c
            .send(Method::POST, &c.url(BRANDS, &[]), Some(&body))
            .await?;
        let id = created_id(op, live)?;
        self.replace_brand(op, desired, &id).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_brand(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let id = live_id?;
        self.replace_brand(op, desired, &id).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_brand(&self, id: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{BRANDS}/{id}"), id).await
    }

    /// Brings the theme of the record's brand to the snapshot's: it exists with its brand, so
    /// a create and an update both replace it.
    pub(super) async fn restore_theme(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let brand = self.brand_of(op, desired, &op.key).await?;
        let theme = fetch::themes(c, &brand)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| precondition(op, "the brand has no theme"))?;
        let id = str_at(&theme, "/id").to_string();
        let body = without(&desired.attrs, &["logo", "favicon", "backgroundImage"]);
        let url = c.url(&format!("{BRANDS}/{brand}/themes/{id}"), &[]);
        c.send(Method::PUT, &url, Some(&body)).await?;
        Ok(Outcome::Applied { id })
    }

    /// Replaces the settings of a brand's email template: they exist with the template.
    pub(super) async fn restore_email_settings(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let (name, template) = op
            .key
            .rsplit_once('|')
            .ok_or_else(|| precondition(op, "the key should read BRAND|TEMPLATE"))?;
        let brand = self.brand_of(op, desired, name).await?;
        let path = format!(
            "{BRANDS}/{brand}/templates/email/{}/settings",
            OktaClient::segment(template)
        );
        let body = json!({"recipients": desired.attrs["recipients"]});
        c.send(Method::PUT, &c.url(&path, &[]), Some(&body)).await?;
        Ok(Outcome::Applied {
            id: format!("{brand}:{template}"),
        })
    }

    /// The collection of customizations a record's key names, on its live brand.
    async fn customizations_path(
        &self,
        op: &Operation,
        record: &Record,
    ) -> Result<String, ProviderError> {
        let (name, template, _) = split_customization(&op.key)
            .ok_or_else(|| precondition(op, "the key should read BRAND|TEMPLATE|LANGUAGE"))?;
        let brand = self.brand_of(op, record, name).await?;
        Ok(format!(
            "{BRANDS}/{brand}/templates/email/{}/customizations",
            OktaClient::segment(template)
        ))
    }

    fn customization_body(desired: &Record) -> Value {
        without(&desired.attrs, &["template"])
    }

    pub(super) async fn create_customization(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some((_, live)) = fetch::customization(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            return self.update_customization(op, desired, Ok(id)).await;
        }
        let path = self.customizations_path(op, desired).await?;
        let body = Self::customization_body(desired);
        let live = c
            .send(Method::POST, &c.url(&path, &[]), Some(&body))
            .await?;
        Ok(Outcome::Applied {
            id: created_id(op, live)?,
        })
    }

    pub(super) async fn update_customization(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{}/{id}", self.customizations_path(op, desired).await?);
        let body = Self::customization_body(desired);
        match c.send(Method::PUT, &c.url(&path, &[]), Some(&body)).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            // The default customization stops being it only when another becomes it (an
            // operation of its own): the rest of it is written without `isDefault`.
            Err(e) if status_of(&e) == Some(409) && desired.attrs["isDefault"] == false => {
                let mut body = body;
                body["isDefault"] = json!(true);
                c.send(Method::PUT, &c.url(&path, &[]), Some(&body)).await?;
                Ok(Outcome::Applied { id })
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn delete_customization(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let record = op.current.clone().unwrap_or_else(|| Record {
            kind: op.kind.clone(),
            id: id.clone(),
            key: op.key.clone(),
            attrs: json!({}),
            refs: Vec::new(),
        });
        let path = self.customizations_path(op, &record).await?;
        let c = self.c();
        match c
            .send(Method::DELETE, &c.url(&format!("{path}/{id}"), &[]), None)
            .await
        {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            // The default one goes last, with the template's other customizations gone: it is
            // then deleted with all of them.
            Err(e) if status_of(&e) == Some(409) => {
                let others = c.all(c.url(&path, &[])).await?;
                if others.iter().all(|o| str_at(o, "/id") == id) {
                    c.send(Method::DELETE, &c.url(&path, &[]), None).await?;
                    Ok(Outcome::Applied { id })
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_images_are_named_with_their_url_unless_they_are_okta_defaults() {
        let theme = Record::new(
            BRAND_THEME,
            "thd1",
            "Acme Partners",
            json!({"logo": "https://acme.okta.com/bc/image/fileStoreRecord?id=fs1",
                   "favicon": "https://acme.okta.com/favicon.ico", "backgroundImage": null,
                   "primaryColorHex": "#1662dd"}),
            vec![],
        );
        let text = cannot_restore(&theme);
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(text[0].contains("logo") && text[0].contains("fileStoreRecord?id=fs1"));
        assert!(text[0].contains("Customizations → Brands → Acme Partners → Theme"));
        let live = Record::new(
            BRAND_THEME,
            "thd2",
            "Acme Partners",
            json!({"logo": "https://x/assets/img/logos/okta-logo.png", "favicon": "https://x/favicon.ico",
                   "backgroundImage": null, "primaryColorHex": "#000000"}),
            vec![],
        );
        let reached = reachable(theme, &live);
        assert_eq!(reached.attrs["logo"], live.attrs["logo"]);
        assert_eq!(reached.attrs["primaryColorHex"], "#1662dd");
    }
}
