//! The group profile schema (one request), each app's user schema (one request per app, read
//! with its assignments) and profile mappings: the list (paged, 200 a page), then each mapping
//! with its properties. Mapping sides are named through the apps' labels and the user types'
//! names, which this read lists itself (a few requests) rather than wait for the other lists.

use std::collections::HashMap;

use futures::TryStreamExt;
use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;

use super::{Snapshot, limits};
use crate::client::OktaClient;
use crate::records::profiles::{self as records, Side};
use crate::records::{AppHead, str_at};

pub(crate) const GROUP_SCHEMA: &str = "/api/v1/meta/schemas/group/default";
const MAPPINGS: &str = "/api/v1/mappings";

pub(crate) fn app_schema_path(app: &str) -> String {
    format!("/api/v1/meta/schemas/apps/{app}/default")
}

impl Snapshot<'_> {
    pub(super) async fn group_schema(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let schema = c.get(&c.url(GROUP_SCHEMA, &[])).await?;
        self.send(records::group_schema(schema)).await
    }

    /// The user schema of one app (none for an app that has no app user profile).
    pub(super) async fn app_user_schema(
        &self,
        c: &OktaClient,
        app: &AppHead,
    ) -> Result<(), ProviderError> {
        match c.get_opt(&c.url(&app_schema_path(&app.id), &[])).await? {
            Some(schema) => self.send(records::app_user_schema(app, schema)).await,
            None => Ok(()),
        }
    }

    pub(super) async fn profile_mappings(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let sides = Sides::read(c).await?;
        let sides = &sides;
        let url = c.url(MAPPINGS, &[("limit", limits::MAPPINGS)]);
        let listed = c.all(url).await?;
        futures::stream::iter(listed.into_iter().map(Ok))
            .try_for_each_concurrent(self.fan_out, |m| async move {
                if let Some(record) = mapping(c, sides, str_at(&m, "/id")).await? {
                    self.send(record).await?;
                }
                Ok(())
            })
            .await
    }
}

/// What names the sides of mappings: app labels and user type names, by id.
pub(crate) struct Sides {
    apps: HashMap<String, String>,
    types: HashMap<String, String>,
}

impl Sides {
    pub(crate) async fn read(c: &OktaClient) -> Result<Sides, ProviderError> {
        let apps = c
            .all(c.url("/api/v1/apps", &[("limit", limits::APPS)]))
            .await?
            .iter()
            .map(|a| {
                (
                    str_at(a, "/id").to_string(),
                    str_at(a, "/label").to_string(),
                )
            })
            .collect();
        let types = c.get(&c.url("/api/v1/meta/types/user", &[])).await?;
        let types = types
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (str_at(t, "/id").to_string(), str_at(t, "/name").to_string()))
            .collect();
        Ok(Sides { apps, types })
    }

    fn side(&self, v: &Value) -> Side {
        let id = str_at(v, "/id");
        if let Some(label) = self.apps.get(id) {
            return Side::app(id, label);
        }
        if let Some(name) = self.types.get(id) {
            return Side::user_type(id, name);
        }
        Side::other(v)
    }

    /// The id of the side named `name` (`app:LABEL` or `user:TYPE`).
    fn id_of(&self, name: &str) -> Option<String> {
        let (kind, what) = name.split_once(':')?;
        let table = match kind {
            "app" => &self.apps,
            "user" => &self.types,
            _ => return None,
        };
        table
            .iter()
            .find(|(_, n)| n.as_str() == what)
            .map(|(id, _)| id.clone())
    }
}

/// Mapping `id` with its properties, as a record.
async fn mapping(c: &OktaClient, sides: &Sides, id: &str) -> Result<Option<Record>, ProviderError> {
    let Some(v) = c.get_opt(&c.url(&format!("{MAPPINGS}/{id}"), &[])).await? else {
        return Ok(None);
    };
    let (source, target) = (sides.side(&v["source"]), sides.side(&v["target"]));
    records::profile_mapping(&v, &source, &target).map(Some)
}

/// The live mapping whose key is `key` (`SOURCE -> TARGET`): its id and record.
pub(crate) async fn profile_mapping(
    c: &OktaClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let Some((source, target)) = key.split_once(" -> ") else {
        return Ok(None);
    };
    let sides = Sides::read(c).await?;
    let (Some(source_id), Some(target_id)) = (sides.id_of(source), sides.id_of(target)) else {
        return Ok(None);
    };
    let url = c.url(
        MAPPINGS,
        &[
            ("sourceId", &source_id),
            ("targetId", &target_id),
            ("limit", limits::MAPPINGS),
        ],
    );
    for m in c.all(url).await? {
        if let Some(record) = mapping(c, &sides, str_at(&m, "/id")).await?
            && record.key == key
        {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

pub(crate) async fn group_schema(c: &OktaClient) -> Result<Record, ProviderError> {
    Ok(records::group_schema(
        c.get(&c.url(GROUP_SCHEMA, &[])).await?,
    ))
}

/// An app's user schema by key `LABEL|default`.
pub(crate) async fn app_user_schema(
    c: &OktaClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let Some((label, _)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some(app) = super::lookup::app(c, label).await? else {
        return Ok(None);
    };
    let head = AppHead {
        id: str_at(&app, "/id").to_string(),
        label: label.to_string(),
    };
    let schema = c.get_opt(&c.url(&app_schema_path(&head.id), &[])).await?;
    Ok(schema.map(|s| records::app_user_schema(&head, s)))
}
