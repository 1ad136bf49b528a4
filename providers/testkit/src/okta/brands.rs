//! Brands (`/api/v1/brands`), their theme, their email templates' settings and
//! customizations, as the reference describes them.
//!
//! Every org has its default brand (`Okta Default`), which is never deleted (409). Brands are
//! listed with `limit` (20 by default, at most 200), `after` and `Link` headers; a name is
//! unique (409); a custom privacy policy URL needs `agreeToCustomPrivacyPolicy`; a default app
//! must be an app of the org. Each brand has one theme, whose images are uploads (the theme
//! gives their URLs) and whose colors are `#rrggbb`. Each brand has Okta's email templates:
//! their settings (`recipients`: `ALL_USERS`, `ADMINS_ONLY`, `NO_USERS`; anything else is 422),
//! listed with `expand=settings,customizationCount`; and their customizations, one per
//! language, exactly one the default: the first one is, making another the default unmakes
//! it, it cannot stop being it on its own (409), and it is deleted only last (409).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, json_body, limit, no_content, ok, page};
use super::model::{Org, ts};

type S = State<Arc<Shared>>;
type Q = Query<Params>;

const BRANDS: &str = "/api/v1/brands";

/// Okta's email templates (a subset of the reference's list).
pub(crate) const TEMPLATES: &[&str] = &[
    "AccountLockout",
    "ADForgotPassword",
    "ChangeEmailConfirmation",
    "EmailChallenge",
    "EmailFactorVerification",
    "ForgotPassword",
    "NewSignOnNotification",
    "PasswordChanged",
    "SelfServiceUnlock",
    "UserActivation",
];

const LANGUAGES: &[&str] = &[
    "cs", "da", "de", "el", "en", "es", "fi", "fr", "hu", "id", "it", "ja", "ko", "ms", "nb",
    "nl-NL", "pl", "pt-BR", "ro", "ru", "sv", "th", "tr", "uk", "vi", "zh-CN", "zh-TW",
];

const RECIPIENTS: &[&str] = &["ALL_USERS", "ADMINS_ONLY", "NO_USERS"];

/// The brands of an org.
#[derive(Debug, Clone, Default)]
pub(crate) struct Brands {
    brands: BTreeMap<String, Brand>,
}

#[derive(Debug, Clone)]
struct Brand {
    /// The brand as the API returns it, without `_links`.
    json: Value,
    theme: Value,
    templates: BTreeMap<String, Template>,
}

#[derive(Debug, Clone)]
struct Template {
    recipients: String,
    /// By id, as the API returns them without `_links`.
    customizations: BTreeMap<String, Value>,
}

impl Brands {
    pub(crate) fn counts(&self) -> (usize, usize, usize, usize) {
        let templates = self.brands.values().map(|b| b.templates.len()).sum();
        let customizations = self
            .brands
            .values()
            .flat_map(|b| b.templates.values())
            .map(|t| t.customizations.len())
            .sum();
        (
            self.brands.len(),
            self.brands.len(),
            templates,
            customizations,
        )
    }

    /// A deleted app is no brand's default app any more.
    pub(crate) fn forget_app(&mut self, id: &str) {
        for b in self.brands.values_mut() {
            if b.json.pointer("/defaultApp/appInstanceId") == Some(&json!(id)) {
                b.json["defaultApp"]["appInstanceId"] = Value::Null;
            }
        }
    }
}

fn new_brand(org: &mut Org, name: &str, default: bool, created: &str) -> String {
    let id = org.new_id("bnd");
    let theme_id = org.new_id("thd");
    let brand = Brand {
        json: json!({
            "id": id, "name": name, "isDefault": default, "agreeToCustomPrivacyPolicy": false,
            "customPrivacyPolicyUrl": null, "removePoweredByOkta": false, "locale": "en",
            "emailDomainId": format!("OeD{}", &id[3..]),
            "defaultApp": {"appInstanceId": null, "appLinkName": null, "classicApplicationUri": null},
        }),
        theme: json!({
            "id": theme_id,
            "logo": "/assets/img/logos/okta-logo.47066819ac7db5c13f4c431b2687cef6.png",
            "favicon": "/favicon.ico", "backgroundImage": null,
            "primaryColorHex": "#1662dd", "primaryColorContrastHex": "#000000",
            "secondaryColorHex": "#ebebed", "secondaryColorContrastHex": "#000000",
            "signInPageTouchPointVariant": "OKTA_DEFAULT",
            "endUserDashboardTouchPointVariant": "OKTA_DEFAULT",
            "errorPageTouchPointVariant": "OKTA_DEFAULT",
            "emailTemplateTouchPointVariant": "OKTA_DEFAULT",
            "loadingPageTouchPointVariant": "OKTA_DEFAULT",
        }),
        templates: TEMPLATES
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    Template {
                        recipients: "ALL_USERS".into(),
                        customizations: BTreeMap::new(),
                    },
                )
            })
            .collect(),
    };
    let _ = created;
    org.brands.brands.insert(id.clone(), brand);
    id
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let t = "/api/v1/brands/{brand}/templates/email/{template}";
    Router::new()
        .route(BRANDS, get(list_brands).post(create_brand))
        .route(
            "/api/v1/brands/{brand}",
            get(get_brand).put(replace_brand).delete(delete_brand),
        )
        .route("/api/v1/brands/{brand}/themes", get(list_themes))
        .route(
            "/api/v1/brands/{brand}/themes/{theme}",
            get(get_theme).put(replace_theme),
        )
        .route(
            "/api/v1/brands/{brand}/templates/email",
            get(list_templates),
        )
        .route(t, get(get_template))
        .route(
            &format!("{t}/settings"),
            get(get_settings).put(replace_settings),
        )
        .route(&format!("{t}/default-content"), get(default_content))
        .route(
            &format!("{t}/customizations"),
            get(list_customizations)
                .post(create_customization)
                .delete(delete_customizations),
        )
        .route(
            &format!("{t}/customizations/{{customization}}"),
            get(get_customization)
                .put(replace_customization)
                .delete(delete_customization),
        )
}

fn brand<'a>(org: &'a Org, id: &str) -> Result<&'a Brand, ApiError> {
    org.brands
        .brands
        .get(id)
        .ok_or_else(|| ApiError::not_found(id, "Brand"))
}

fn brand_mut<'a>(org: &'a mut Org, id: &str) -> Result<&'a mut Brand, ApiError> {
    org.brands
        .brands
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found(id, "Brand"))
}

fn template<'a>(org: &'a Org, b: &str, t: &str) -> Result<&'a Template, ApiError> {
    brand(org, b)?
        .templates
        .get(t)
        .ok_or_else(|| ApiError::not_found(t, "EmailTemplate"))
}

fn template_mut<'a>(org: &'a mut Org, b: &str, t: &str) -> Result<&'a mut Template, ApiError> {
    brand_mut(org, b)?
        .templates
        .get_mut(t)
        .ok_or_else(|| ApiError::not_found(t, "EmailTemplate"))
}

fn brand_json(base: &str, b: &Brand) -> Value {
    let id = b.json["id"].as_str().unwrap_or_default();
    let mut v = b.json.clone();
    v["_links"] = json!({
        "self": {"href": format!("{base}{BRANDS}/{id}")},
        "themes": {"href": format!("{base}{BRANDS}/{id}/themes")},
        "emailDomain": {"href": format!("{base}/api/v1/email-domains/{}", b.json["emailDomainId"].as_str().unwrap_or_default())},
    });
    v
}

/// A theme as the API returns it: its images as URLs on the org (kept as paths).
fn theme_json(base: &str, brand: &str, theme: &Value) -> Value {
    let mut v = theme.clone();
    for image in ["logo", "favicon", "backgroundImage"] {
        if let Some(path) = theme[image].as_str().filter(|p| p.starts_with('/')) {
            v[image] = json!(format!("{base}{path}"));
        }
    }
    let id = theme["id"].as_str().unwrap_or_default();
    v["_links"] = json!({"self": {"href": format!("{base}{BRANDS}/{brand}/themes/{id}")}});
    v
}

fn validation(field: &str, cause: impl Into<String>) -> ApiError {
    ApiError::validation(field, format!("{field}: {}", cause.into()))
}

fn conflict(summary: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "E0000182", summary)
}

async fn list_brands(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    let limit = limit(&p, 20, 200);
    let after = p.get("after");
    let mut rest = org
        .brands
        .brands
        .iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a.as_str()));
    let items: Vec<(&String, &Brand)> = rest.by_ref().take(limit).collect();
    let next = rest.next().and(items.last().map(|(id, _)| id.to_string()));
    let values = items
        .iter()
        .map(|(_, b)| brand_json(&org.base, b))
        .collect();
    Ok(page(&org.base, BRANDS, &p, limit, values, next))
}

async fn create_brand(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return Err(validation("name", "The field cannot be left blank"));
    };
    if name == "DRAPP_DOMAIN_BRAND" {
        return Err(validation("name", "The name is reserved"));
    }
    if org.brands.brands.values().any(|b| b.json["name"] == name) {
        return Err(conflict(format!("A brand named {name} already exists")));
    }
    let now = ts(org.write_time());
    let id = new_brand(&mut org, name, false, &now);
    let v = brand_json(&org.base, &org.brands.brands[&id]);
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn get_brand(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    ok(brand_json(&org.base, brand(&org, &id)?))
}

async fn replace_brand(State(s): S, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    brand(&org, &id)?;
    let Some(name) = body["name"].as_str().filter(|n| !n.trim().is_empty()) else {
        return Err(validation("name", "The field cannot be left blank"));
    };
    if org
        .brands
        .brands
        .iter()
        .any(|(other, b)| *other != id && b.json["name"] == name)
    {
        return Err(conflict(format!("A brand named {name} already exists")));
    }
    let url = body.get("customPrivacyPolicyUrl").filter(|u| !u.is_null());
    if url.is_some() && body["agreeToCustomPrivacyPolicy"] != true {
        return Err(validation(
            "agreeToCustomPrivacyPolicy",
            "A custom privacy policy URL needs agreeToCustomPrivacyPolicy",
        ));
    }
    if let Some(app) = body
        .pointer("/defaultApp/appInstanceId")
        .and_then(Value::as_str)
        && !org.apps.contains_key(app)
    {
        return Err(validation(
            "defaultApp.appInstanceId",
            format!("{app} is not an app of the org"),
        ));
    }
    let b = brand_mut(&mut org, &id)?;
    for field in [
        "name",
        "agreeToCustomPrivacyPolicy",
        "customPrivacyPolicyUrl",
        "removePoweredByOkta",
        "locale",
        "emailDomainId",
    ] {
        b.json[field] = body.get(field).cloned().unwrap_or(Value::Null);
    }
    if b.json["agreeToCustomPrivacyPolicy"].is_null() {
        b.json["agreeToCustomPrivacyPolicy"] = json!(false);
    }
    if b.json["removePoweredByOkta"].is_null() {
        b.json["removePoweredByOkta"] = json!(false);
    }
    b.json["defaultApp"] = body.get("defaultApp").cloned().unwrap_or_else(
        || json!({"appInstanceId": null, "appLinkName": null, "classicApplicationUri": null}),
    );
    let b = b.clone();
    ok(brand_json(&org.base, &b))
}

async fn delete_brand(State(s): S, Path(id): Path<String>) -> ApiResult {
    let mut org = s.write();
    if brand(&org, &id)?.json["isDefault"] == true {
        return Err(conflict("The default brand cannot be deleted"));
    }
    org.brands.brands.remove(&id);
    no_content()
}

async fn list_themes(State(s): S, Path(id): Path<String>) -> ApiResult {
    let org = s.read();
    let b = brand(&org, &id)?;
    ok(json!([theme_json(&org.base, &id, &b.theme)]))
}

async fn get_theme(State(s): S, Path((id, theme)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let b = brand(&org, &id)?;
    if b.theme["id"] != theme.as_str() {
        return Err(ApiError::not_found(&theme, "Theme"));
    }
    ok(theme_json(&org.base, &id, &b.theme))
}

async fn replace_theme(
    State(s): S,
    Path((id, theme)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let base = org.base.clone();
    let b = brand_mut(&mut org, &id)?;
    if b.theme["id"] != theme.as_str() {
        return Err(ApiError::not_found(&theme, "Theme"));
    }
    for field in [
        "primaryColorHex",
        "primaryColorContrastHex",
        "secondaryColorHex",
        "secondaryColorContrastHex",
    ] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            let hex = v.as_str().unwrap_or_default();
            let valid = hex.len() == 7
                && hex.starts_with('#')
                && hex[1..].bytes().all(|c| c.is_ascii_hexdigit());
            if !valid {
                return Err(validation(field, format!("'{hex}' is not a #rrggbb color")));
            }
        }
    }
    for (field, value) in body.as_object().into_iter().flatten() {
        // The images are uploads: a replace leaves them alone.
        if field.ends_with("Hex") || field.ends_with("TouchPointVariant") {
            b.theme[field] = value.clone();
        }
    }
    ok(theme_json(&base, &id, &b.theme))
}

fn template_json(base: &str, brand: &str, name: &str, t: &Template, expand: &[&str]) -> Value {
    let href = format!("{base}{BRANDS}/{brand}/templates/email/{name}");
    let mut v = json!({"name": name, "_links": {
        "self": {"href": href},
        "settings": {"href": format!("{href}/settings")},
        "defaultContent": {"href": format!("{href}/default-content")},
        "customizations": {"href": format!("{href}/customizations")},
        "test": {"href": format!("{href}/test")},
    }});
    if expand.contains(&"settings") {
        v["_embedded"]["settings"] = settings_json(base, brand, name, t);
    }
    if expand.contains(&"customizationCount") {
        v["_embedded"]["customizationCount"] = json!(t.customizations.len());
    }
    v
}

fn settings_json(base: &str, brand: &str, name: &str, t: &Template) -> Value {
    let href = format!("{base}{BRANDS}/{brand}/templates/email/{name}");
    json!({"recipients": t.recipients, "_links": {
        "self": {"href": format!("{href}/settings")}, "template": {"href": href}}})
}

fn expand(p: &Params) -> Vec<&str> {
    p.get("expand")
        .map(|e| e.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

async fn list_templates(State(s): S, Path(id): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let b = brand(&org, &id)?;
    let limit = limit(&p, 20, 200);
    let after = p.get("after");
    let mut rest = b
        .templates
        .iter()
        .filter(|(name, _)| after.is_none_or(|a| name.as_str() > a.as_str()));
    let items: Vec<(&String, &Template)> = rest.by_ref().take(limit).collect();
    let next = rest
        .next()
        .and(items.last().map(|(name, _)| name.to_string()));
    let expand = expand(&p);
    let values = items
        .iter()
        .map(|(name, t)| template_json(&org.base, &id, name, t, &expand))
        .collect();
    let path = format!("{BRANDS}/{id}/templates/email");
    Ok(page(&org.base, &path, &p, limit, values, next))
}

async fn get_template(
    State(s): S,
    Path((id, name)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let t = template(&org, &id, &name)?;
    ok(template_json(&org.base, &id, &name, t, &expand(&p)))
}

async fn get_settings(State(s): S, Path((id, name)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let t = template(&org, &id, &name)?;
    ok(settings_json(&org.base, &id, &name, t))
}

async fn replace_settings(
    State(s): S,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let base = org.base.clone();
    let t = template_mut(&mut org, &id, &name)?;
    let recipients = body["recipients"].as_str().unwrap_or_default();
    if !RECIPIENTS.contains(&recipients) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "E0000001",
            format!(
                "Api validation failed: recipients ('{recipients}' is not one of ALL_USERS, ADMINS_ONLY, NO_USERS)"
            ),
        ));
    }
    t.recipients = recipients.to_string();
    ok(settings_json(&base, &id, &name, t))
}

async fn default_content(State(s): S, Path((id, name)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    template(&org, &id, &name)?;
    ok(json!({"subject": format!("{name} from ${{org.name}}"),
              "body": format!("<html><body><p>Okta's {name} email.</p></body></html>")}))
}

fn customization_json(base: &str, brand: &str, name: &str, c: &Value) -> Value {
    let href = format!("{base}{BRANDS}/{brand}/templates/email/{name}");
    let id = c["id"].as_str().unwrap_or_default();
    let mut v = c.clone();
    v["_links"] = json!({
        "self": {"href": format!("{href}/customizations/{id}")},
        "template": {"href": href},
        "preview": {"href": format!("{href}/customizations/{id}/preview")},
        "test": {"href": format!("{href}/test")},
    });
    v
}

fn check_content(body: &Value) -> Result<String, ApiError> {
    let language = body["language"].as_str().unwrap_or_default();
    if !LANGUAGES.contains(&language) {
        return Err(validation(
            "language",
            format!("'{language}' is not a supported language"),
        ));
    }
    for field in ["subject", "body"] {
        if body[field].as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(validation(field, "The field cannot be left blank"));
        }
    }
    Ok(language.to_string())
}

async fn list_customizations(
    State(s): S,
    Path((id, name)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let t = template(&org, &id, &name)?;
    let limit = limit(&p, 20, 200);
    let after = p.get("after");
    let mut rest = t
        .customizations
        .iter()
        .filter(|(cid, _)| after.is_none_or(|a| cid.as_str() > a.as_str()));
    let items: Vec<(&String, &Value)> = rest.by_ref().take(limit).collect();
    let next = rest
        .next()
        .and(items.last().map(|(cid, _)| cid.to_string()));
    let values = items
        .iter()
        .map(|(_, c)| customization_json(&org.base, &id, &name, c))
        .collect();
    let path = format!("{BRANDS}/{id}/templates/email/{name}/customizations");
    Ok(page(&org.base, &path, &p, limit, values, next))
}

/// Makes `cid` the template's only default customization.
fn make_default(t: &mut Template, cid: &str) {
    for (other, c) in t.customizations.iter_mut() {
        c["isDefault"] = json!(other == cid);
    }
}

async fn create_customization(
    State(s): S,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    template(&org, &id, &name)?;
    let language = check_content(&body)?;
    let cid = org.new_id("oel");
    let now = ts(org.write_time());
    let base = org.base.clone();
    let t = template_mut(&mut org, &id, &name)?;
    if t.customizations
        .values()
        .any(|c| c["language"] == language.as_str())
    {
        return Err(conflict(format!(
            "The {name} template has a customization in {language} already"
        )));
    }
    let first = t.customizations.is_empty();
    t.customizations.insert(
        cid.clone(),
        json!({"id": cid, "language": language, "isDefault": first,
               "subject": body["subject"], "body": body["body"], "created": now, "lastUpdated": now}),
    );
    if first || body["isDefault"] == true {
        make_default(t, &cid);
    }
    let v = customization_json(&base, &id, &name, &t.customizations[&cid]);
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn delete_customizations(State(s): S, Path((id, name)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    template_mut(&mut org, &id, &name)?.customizations.clear();
    no_content()
}

async fn get_customization(
    State(s): S,
    Path((id, name, cid)): Path<(String, String, String)>,
) -> ApiResult {
    let org = s.read();
    let c = template(&org, &id, &name)?
        .customizations
        .get(&cid)
        .ok_or_else(|| ApiError::not_found(&cid, "EmailCustomization"))?;
    ok(customization_json(&org.base, &id, &name, c))
}

async fn replace_customization(
    State(s): S,
    Path((id, name, cid)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let language = check_content(&body)?;
    let now = ts(org.write_time());
    let base = org.base.clone();
    let t = template_mut(&mut org, &id, &name)?;
    let current = t
        .customizations
        .get(&cid)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&cid, "EmailCustomization"))?;
    if t.customizations
        .iter()
        .any(|(other, c)| *other != cid && c["language"] == language.as_str())
    {
        return Err(conflict(format!(
            "The {name} template has a customization in {language} already"
        )));
    }
    if current["isDefault"] == true && body["isDefault"] == false {
        return Err(conflict(
            "The default customization stops being the default only when another becomes it",
        ));
    }
    let c = t.customizations.get_mut(&cid).expect("found");
    c["language"] = json!(language);
    c["subject"] = body["subject"].clone();
    c["body"] = body["body"].clone();
    c["lastUpdated"] = json!(now);
    if body["isDefault"] == true {
        make_default(t, &cid);
    }
    ok(customization_json(
        &base,
        &id,
        &name,
        &t.customizations[&cid],
    ))
}

async fn delete_customization(
    State(s): S,
    Path((id, name, cid)): Path<(String, String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let t = template_mut(&mut org, &id, &name)?;
    let c = t
        .customizations
        .get(&cid)
        .ok_or_else(|| ApiError::not_found(&cid, "EmailCustomization"))?;
    if c["isDefault"] == true && t.customizations.len() > 1 {
        return Err(conflict(
            "The default customization is deleted only with the template's other customizations",
        ));
    }
    t.customizations.remove(&cid);
    no_content()
}

/// The default brand every org has; in an org in use, that brand without Okta's footer and a
/// second brand for partners with its own colors and logo, a default app, customized
/// activation (English and French) and password reset emails, and password change
/// notifications for admins only.
pub(crate) fn seed(org: &mut Org, in_use: bool, created: &str) {
    let default = new_brand(org, "Okta Default", true, created);
    if !in_use {
        return;
    }
    let d = org.brands.brands.get_mut(&default).expect("seeded");
    d.json["removePoweredByOkta"] = json!(true);
    d.theme["primaryColorHex"] = json!("#0b3d91");
    let partners = new_brand(org, "Acme Partners", false, created);
    let app = org.apps.keys().next().cloned();
    let cids: Vec<String> = (0..3).map(|_| org.new_id("oel")).collect();
    let p = org.brands.brands.get_mut(&partners).expect("seeded");
    p.json["locale"] = json!("fr");
    p.json["customPrivacyPolicyUrl"] = json!("https://partners.example.com/privacy");
    p.json["agreeToCustomPrivacyPolicy"] = json!(true);
    if let Some(app) = app {
        p.json["defaultApp"] =
            json!({"appInstanceId": app, "appLinkName": "login", "classicApplicationUri": null});
    }
    p.theme["primaryColorHex"] = json!("#8a1538");
    p.theme["secondaryColorHex"] = json!("#f4e9ec");
    p.theme["signInPageTouchPointVariant"] = json!("BACKGROUND_SECONDARY_COLOR");
    p.theme["logo"] = json!("/bc/image/fileStoreRecord?id=fs-acme-partners-logo");
    let customization = |cid: &str, language: &str, default: bool, subject: &str, body: &str| {
        json!({"id": cid, "language": language, "isDefault": default, "subject": subject,
               "body": body, "created": created, "lastUpdated": created})
    };
    let activation = p.templates.get_mut("UserActivation").expect("template");
    activation.customizations.insert(
        cids[0].clone(),
        customization(&cids[0], "en", true, "Welcome to Acme Partners, ${user.profile.firstName}",
            "<html><body><p>Hello ${user.profile.firstName}, <a href=\"${activationLink}\">activate your partner account</a>.</p></body></html>"),
    );
    activation.customizations.insert(
        cids[1].clone(),
        customization(&cids[1], "fr", false, "Bienvenue chez Acme Partners",
            "<html><body><p>Bonjour ${user.profile.firstName}, <a href=\"${activationLink}\">activez votre compte</a>.</p></body></html>"),
    );
    p.templates
        .get_mut("ForgotPassword")
        .expect("template")
        .customizations
        .insert(
            cids[2].clone(),
            customization(&cids[2], "en", true, "Reset your Acme Partners password",
                "<html><body><p><a href=\"${resetPasswordLink}\">Reset your password</a> within ${recoveryTokenExpiration}.</p></body></html>"),
        );
    p.templates
        .get_mut("PasswordChanged")
        .expect("template")
        .recipients = "ADMINS_ONLY".into();
}
