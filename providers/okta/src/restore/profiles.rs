//! The group profile schema, apps' user schemas and profile mappings: all exist with what
//! they belong to (the org, an app), so a restore only updates them. A schema's custom
//! properties are set to the snapshot's (`null` for those it lacks); a mapping's properties
//! likewise, with `POST /api/v1/mappings/{id}`. A mapping Okta has not made (its app is not
//! there) cannot be created through the API: the operation is refused with the next step.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Restore, precondition, unsupported, users::schema_body};
use crate::kinds::*;
use crate::read::profiles::{self as read, GROUP_SCHEMA, app_schema_path};

impl Restore<'_> {
    pub(super) async fn update_group_schema(
        &self,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let url = c.url(GROUP_SCHEMA, &[]);
        let live = c.get(&url).await?;
        c.send(
            Method::POST,
            &url,
            Some(&schema_body(&desired.attrs, &live)),
        )
        .await?;
        Ok(Outcome::Applied {
            id: "default".into(),
        })
    }

    pub(super) async fn update_app_user_schema(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let label = op.key.rsplit_once('|').map_or(op.key.as_str(), |(l, _)| l);
        let app = self.endpoint(op, desired, "app", APP, label).await?;
        let url = c.url(&app_schema_path(&app), &[]);
        let Some(live) = c.get_opt(&url).await? else {
            return Err(precondition(
                op,
                &format!("app {label} has no user schema live; restore the app first"),
            ));
        };
        c.send(
            Method::POST,
            &url,
            Some(&schema_body(&desired.attrs, &live)),
        )
        .await?;
        Ok(Outcome::Applied { id: app })
    }

    pub(super) async fn update_profile_mapping(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let Some(live) = read::profile_mapping(c, &op.key).await? else {
            return Err(unsupported(op, PROFILE_MAPPING_MISSING));
        };
        let body = json!({"properties": mapping_properties(&desired.attrs, &live.attrs)});
        let url = c.url(&format!("/api/v1/mappings/{}", live.id), &[]);
        c.send(Method::POST, &url, Some(&body)).await?;
        Ok(Outcome::Applied { id: live.id })
    }
}

/// The mapping update: the desired properties, and `null` for live ones the snapshot lacks.
fn mapping_properties(desired: &Value, live: &Value) -> Value {
    let want = desired["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut out: Map<String, Value> = want.clone();
    for name in live["properties"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.keys())
        .filter(|k| !want.contains_key(*k))
    {
        out.insert(name.clone(), Value::Null);
    }
    Value::Object(out)
}
