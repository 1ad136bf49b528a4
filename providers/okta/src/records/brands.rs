//! Brands, their theme, their email templates' settings and customizations, as records.
//!
//! A brand is keyed by its name; its theme (one per brand) by the brand's name; an email
//! template's settings by `BRAND|TEMPLATE`; a customization by `BRAND|TEMPLATE|LANGUAGE`.
//! A brand's default app is a ref; its email domain's id is not kept (email domains are not
//! backed up). A theme keeps the URLs of its images, which a restore cannot upload again.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use super::{cleaned, required, str_at};
use crate::kinds::*;

/// A brand's id and name, for the records of what belongs to it.
#[derive(Debug, Clone)]
pub(crate) struct BrandHead {
    pub id: String,
    pub name: String,
}

impl BrandHead {
    pub(crate) fn of(v: &Value) -> BrandHead {
        BrandHead {
            id: str_at(v, "/id").to_string(),
            name: str_at(v, "/name").to_string(),
        }
    }

    fn as_ref(&self) -> Ref {
        Ref::new("brand", BRAND, &self.id)
    }
}

pub(crate) fn brand(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", BRAND)?.to_string();
    let name = required(&v, "/name", BRAND)?.to_string();
    let mut refs = Vec::new();
    if let Some(app) = v
        .pointer("/defaultApp/appInstanceId")
        .and_then(Value::as_str)
    {
        refs.push(Ref::new("default_app", APP, app));
    }
    let attrs = cleaned(v, &["emailDomainId"]);
    Ok(Record::new(BRAND, id, name, attrs, refs))
}

pub(crate) fn theme(brand: &BrandHead, v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", BRAND_THEME)?.to_string();
    Ok(Record::new(
        BRAND_THEME,
        id,
        &brand.name,
        cleaned(v, &[]),
        vec![brand.as_ref()],
    ))
}

/// The settings of email template `template` (`_embedded.settings` of the template list).
pub(crate) fn email_settings(brand: &BrandHead, template: &str, settings: &Value) -> Record {
    Record::new(
        EMAIL_SETTINGS,
        format!("{}:{template}", brand.id),
        format!("{}|{template}", brand.name),
        json!({"template": template, "recipients": settings["recipients"]}),
        vec![brand.as_ref()],
    )
}

pub(crate) fn customization_key(brand: &str, template: &str, language: &str) -> String {
    format!("{brand}|{template}|{language}")
}

pub(crate) fn email_customization(
    brand: &BrandHead,
    template: &str,
    v: Value,
) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", EMAIL_CUSTOMIZATION)?.to_string();
    let language = required(&v, "/language", EMAIL_CUSTOMIZATION)?.to_string();
    let mut attrs = cleaned(v, &[]);
    attrs["template"] = json!(template);
    Ok(Record::new(
        EMAIL_CUSTOMIZATION,
        id,
        customization_key(&brand.name, template, &language),
        attrs,
        vec![brand.as_ref()],
    ))
}

/// `(brand, template, language)` of a customization key; `(brand, template)` of a settings key.
pub(crate) fn split_customization(key: &str) -> Option<(&str, &str, &str)> {
    let (rest, language) = key.rsplit_once('|')?;
    let (brand, template) = rest.rsplit_once('|')?;
    Some((brand, template, language))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> BrandHead {
        BrandHead {
            id: "bnd1".into(),
            name: "Acme Partners".into(),
        }
    }

    #[test]
    fn a_brand_names_its_default_app_by_ref_and_drops_its_email_domain() {
        let v = json!({"id": "bnd1", "name": "Acme Partners", "isDefault": false, "locale": "en",
            "removePoweredByOkta": true, "emailDomainId": "OeD1", "customPrivacyPolicyUrl": null,
            "defaultApp": {"appInstanceId": "0oa1", "appLinkName": "login", "classicApplicationUri": null},
            "_links": {}});
        let r = brand(v).unwrap();
        assert_eq!(r.key, "Acme Partners");
        assert!(r.attrs.get("emailDomainId").is_none());
        assert_eq!(r.target("default_app").unwrap().id, "0oa1");
    }

    #[test]
    fn themes_settings_and_customizations_are_keyed_by_their_brand() {
        let t = theme(
            &acme(),
            json!({"id": "thd1", "primaryColorHex": "#1662dd",
            "logo": "https://acme.okta.com/bc/image/1", "_links": {}}),
        )
        .unwrap();
        assert_eq!(
            (t.key.as_str(), t.target("brand").unwrap().id.as_str()),
            ("Acme Partners", "bnd1")
        );
        assert_eq!(t.attrs["logo"], "https://acme.okta.com/bc/image/1");
        let s = email_settings(
            &acme(),
            "UserActivation",
            &json!({"recipients": "ADMINS_ONLY", "_links": {}}),
        );
        assert_eq!(s.key, "Acme Partners|UserActivation");
        assert_eq!(
            s.attrs,
            json!({"template": "UserActivation", "recipients": "ADMINS_ONLY"})
        );
        let c = email_customization(&acme(), "UserActivation", json!({"id": "oel1", "language": "fr",
            "isDefault": false, "subject": "Bienvenue", "body": "<p>…</p>", "created": "x", "_links": {}}))
        .unwrap();
        assert_eq!(c.key, "Acme Partners|UserActivation|fr");
        assert_eq!(
            split_customization(&c.key),
            Some(("Acme Partners", "UserActivation", "fr"))
        );
        assert_eq!(c.attrs["template"], "UserActivation");
    }
}
