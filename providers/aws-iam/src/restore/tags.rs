//! Tags: written as IAM wants them, and converged with one tag call and one untag call.

use std::future::Future;

use aws_sdk_iam::types::Tag;
use serde_json::Value;

use crate::client::ApiError;
use crate::kinds::tags_of;

/// The tags for a create call; `None` when there are none (IAM rejects an empty list on
/// some calls).
pub(crate) fn tag_list(tags: &[(String, String)]) -> Option<Vec<Tag>> {
    if tags.is_empty() {
        return None;
    }
    Some(
        tags.iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect(),
    )
}

/// Brings `live` tags to the record's `tags`: changed and new tags in one call, removed keys in
/// another. True when something changed.
pub(crate) async fn converge_tags<A, AF, R, RF>(
    live: &[Tag],
    desired_attrs: &Value,
    add: A,
    remove: R,
) -> Result<bool, ApiError>
where
    A: FnOnce(Vec<Tag>) -> AF,
    AF: Future<Output = Result<(), ApiError>>,
    R: FnOnce(Vec<String>) -> RF,
    RF: Future<Output = Result<(), ApiError>>,
{
    let desired = tags_of(desired_attrs);
    let (to_add, to_remove) = tag_changes(live, &desired);
    let changed = !to_add.is_empty() || !to_remove.is_empty();
    if !to_remove.is_empty() {
        remove(to_remove).await?;
    }
    if let Some(tags) = tag_list(&to_add) {
        add(tags).await?;
    }
    Ok(changed)
}

/// The tags to set and the keys to remove to go from `live` to `desired`.
fn tag_changes(live: &[Tag], desired: &[(String, String)]) -> (Vec<(String, String)>, Vec<String>) {
    let to_add = desired
        .iter()
        .filter(|(k, v)| !live.iter().any(|t| t.key() == k && t.value() == v))
        .cloned()
        .collect();
    let to_remove = live
        .iter()
        .filter(|t| !desired.iter().any(|(k, _)| k == t.key()))
        .map(|t| t.key().to_string())
        .collect();
    (to_add, to_remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_tags_to_set_and_keys_to_remove() {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        let live = [tag("team", "infra"), tag("old", "x"), tag("same", "1")];
        let desired = [
            ("same".to_string(), "1".to_string()),
            ("team".to_string(), "sécurité".to_string()),
        ];
        let (add, remove) = tag_changes(&live, &desired);
        assert_eq!(add, [("team".to_string(), "sécurité".to_string())]);
        assert_eq!(remove, ["old"]);
        assert_eq!(tag_changes(&live[2..], &desired[..1]), (vec![], vec![]));
    }
}
