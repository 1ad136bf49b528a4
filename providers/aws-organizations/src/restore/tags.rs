//! Tags of the root, OUs, accounts and policies: one API for all of them.

use std::collections::BTreeMap;

use aws_sdk_organizations::types::Tag;
use serde_json::Value;

use super::Ctx;
use crate::client::{Api, ApiError};
use crate::kinds::tags_of;

/// `desired`'s tags as the API takes them; `None` when there are none.
pub(super) fn tag_list(attrs: &Value) -> Option<Vec<Tag>> {
    let tags: Vec<Tag> = tags_of(attrs)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    (!tags.is_empty()).then_some(tags)
}

/// Sets the tags of resource `id` to those of `attrs`; true when something changed.
pub(super) async fn converge(ctx: &Ctx<'_>, id: &str, attrs: &Value) -> Result<bool, ApiError> {
    let pages: Vec<_> = ctx
        .client
        .list_tags_for_resource()
        .resource_id(id)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .api("ListTagsForResource")?;
    let live: BTreeMap<String, String> = pages
        .iter()
        .flat_map(|p| p.tags())
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let desired: BTreeMap<String, String> = tags_of(attrs).into_iter().collect();
    let remove: Vec<String> = live
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    let add: Vec<Tag> = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    if !remove.is_empty() {
        ctx.client
            .untag_resource()
            .resource_id(id)
            .set_tag_keys(Some(remove.clone()))
            .send()
            .await
            .api("UntagResource")?;
    }
    if !add.is_empty() {
        ctx.client
            .tag_resource()
            .resource_id(id)
            .set_tags(Some(add.clone()))
            .send()
            .await
            .api("TagResource")?;
    }
    Ok(!remove.is_empty() || !add.is_empty())
}
