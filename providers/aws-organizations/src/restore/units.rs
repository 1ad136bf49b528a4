//! Organizational units: created under their parent (found by path, so a parent re-created by
//! the same restore is found under its new id), tags converged, deleted children first.

use iamsnap_provider::Record;

use super::lookup::{children, root_id, unit_id};
use super::{Ctx, Done, str_attr, tags};
use crate::client::{Api, ApiError};

/// Creates the OU at `desired`'s path, or converges the one there.
pub(super) async fn converge(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let path = desired.key.as_str();
    if let Some(id) = unit_id(ctx, path).await? {
        let changed = tags::converge(ctx, &id, &desired.attrs).await?;
        return Ok(Done::changed_if(changed, id));
    }
    let name = str_attr(desired, "name");
    let parent_id = match path
        .strip_suffix(name)
        .and_then(|p| p.strip_suffix('/'))
        .filter(|p| !p.is_empty())
    {
        None => root_id(ctx).await?,
        Some(parent) => unit_id(ctx, parent).await?.ok_or_else(|| ApiError {
            code: Some("ParentNotFoundException".into()),
            ..ApiError::local(
                "CreateOrganizationalUnit",
                &format!("the parent organizational unit {parent} does not exist"),
            )
        })?,
    };
    let created = ctx
        .client
        .create_organizational_unit()
        .parent_id(&parent_id)
        .name(name)
        .set_tags(tags::tag_list(&desired.attrs))
        .send()
        .await
        .api("CreateOrganizationalUnit");
    match created {
        Ok(out) => {
            let id = out
                .organizational_unit()
                .and_then(|u| u.id())
                .ok_or_else(|| ApiError::local("CreateOrganizationalUnit", "the answer has no id"))?
                .to_string();
            ctx.live.remember_unit(path, &id).await;
            Ok(Done::Changed(id))
        }
        // Made concurrently since the lookup: converge it instead.
        Err(e) if e.is("DuplicateOrganizationalUnitException") => {
            ctx.live.forget_unit(path).await;
            let id = unit_id(ctx, path).await?.ok_or(e)?;
            let changed = tags::converge(ctx, &id, &desired.attrs).await?;
            Ok(Done::changed_if(changed, id))
        }
        Err(e) => Err(e),
    }
}

/// Deletes the OU at `path` with its child OUs, deepest first (their policies go with them).
/// Organizations refuses to delete an OU that holds accounts: an account the
/// snapshot places elsewhere has been moved by then, one that joined since is named in the
/// error. False when the OU was gone already.
pub(super) async fn delete(ctx: &Ctx<'_>, path: &str) -> Result<bool, ApiError> {
    let Some(id) = unit_id(ctx, path).await? else {
        return Ok(false);
    };
    delete_tree(ctx, &id).await?;
    ctx.live.forget_unit(path).await;
    Ok(true)
}

async fn delete_tree(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    for (_, child) in children(ctx, id).await? {
        Box::pin(delete_tree(ctx, &child)).await?;
    }
    match ctx
        .client
        .delete_organizational_unit()
        .organizational_unit_id(id)
        .send()
        .await
        .api("DeleteOrganizationalUnit")
    {
        Err(e) if !e.is_not_found() => Err(e),
        _ => Ok(()),
    }
}
