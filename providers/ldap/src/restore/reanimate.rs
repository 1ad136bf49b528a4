//! Active Directory keeps a deleted object in `CN=Deleted Objects` until its tombstone
//! lifetime ends (180 days by default), with its `objectGUID` and `objectSid`. Bringing that
//! object back — one modify under the show-deleted control that removes `isDeleted` and sets
//! `distinguishedName` to where it lived — keeps both, so every ACL naming its SID works
//! again; a re-created object would get a new SID. Without the Recycle Bin the tombstone has
//! lost most attributes: the restore puts them back afterwards.

use std::collections::HashSet;

use iamsnap_provider::{Operation, ProviderError};
use ldap3::controls::RawControl;
use ldap3::{Mod, Scope};

use crate::Source;
use crate::client::rc;
use crate::flavor::Flavor;
use crate::read::flavor;
use crate::records;

/// LDAP_SERVER_SHOW_DELETED_OID: searches and modifies see deleted objects.
pub const SHOW_DELETED: &str = "1.2.840.113556.1.4.417";

fn show_deleted() -> RawControl {
    RawControl {
        ctype: SHOW_DELETED.to_string(),
        crit: true,
        val: None,
    }
}

/// The naming context deleted objects of `source` are kept under: the domain's.
async fn naming_context(source: &Source) -> Result<String, ProviderError> {
    let dse = source
        .connection
        .read("", &["defaultNamingContext"])
        .await?
        .unwrap_or_default();
    Ok(dse
        .text("defaultNamingContext")
        .into_iter()
        .next()
        .unwrap_or_else(|| source.config.base_dn.clone()))
}

/// Notes the ids of every deleted object still in `CN=Deleted Objects`, for the plan to tell
/// reanimated objects (same SID) from re-created ones (new SID).
pub async fn read_tombstones(source: &Source) -> Result<(), ProviderError> {
    if flavor(source).await? != Flavor::ActiveDirectory {
        return Ok(());
    }
    let base = naming_context(source).await?;
    let mut ids = HashSet::new();
    let mut pages = source
        .connection
        .search_with(
            &base,
            Scope::Subtree,
            "(isDeleted=TRUE)",
            &["objectGUID"],
            source.config.page_size(),
            vec![show_deleted()],
        )
        .await?;
    while let Some(page) = pages.next().await? {
        ids.extend(
            page.iter()
                .map(|e| records::id_of(e, Flavor::ActiveDirectory)),
        );
    }
    *source.tombstones.write().unwrap_or_else(|e| e.into_inner()) = Some(ids);
    Ok(())
}

/// Whether the object `id` can be reanimated: still a tombstone, or not known (no plan read
/// the tombstones; reanimation is tried first anyway).
pub fn in_deleted_objects(source: &Source, id: &str) -> bool {
    source
        .tombstones
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_none_or(|ids| ids.contains(id))
}

/// Brings the deleted object `id` back to `dn`. False when no tombstone has that id (gone
/// past its lifetime, or never deleted here).
pub async fn reanimate(
    source: &Source,
    op: &Operation,
    id: &str,
    dn: &str,
) -> Result<bool, ProviderError> {
    let Some(guid) = records::guid_filter_value(id) else {
        return Ok(false);
    };
    let base = naming_context(source).await?;
    let mut found = None;
    let mut pages = source
        .connection
        .search_with(
            &base,
            Scope::Subtree,
            &format!("(&(isDeleted=TRUE)(objectGUID={guid}))"),
            &["1.1"],
            source.config.page_size(),
            vec![show_deleted()],
        )
        .await?;
    while let Some(page) = pages.next().await? {
        found = found.or(page.into_iter().next().map(|e| e.dn));
    }
    let Some(tombstone) = found else {
        return Ok(false);
    };
    let mods = vec![
        Mod::Delete(b"isDeleted".to_vec(), HashSet::new()),
        Mod::Replace(
            b"distinguishedName".to_vec(),
            HashSet::from([dn.as_bytes().to_vec()]),
        ),
    ];
    let result = source
        .connection
        .writer(vec![show_deleted()])
        .await?
        .modify(&tombstone, mods)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match result.rc {
        rc::SUCCESS => Ok(true),
        rc::ENTRY_ALREADY_EXISTS => Err(ProviderError::Precondition {
            kind: op.kind.clone(),
            key: op.key.clone(),
            message: format!(
                "the deleted object cannot come back: another object holds {dn} now; rename or delete it and run the restore again"
            ),
        }),
        _ => Err(source
            .connection
            .failed("modify (reanimate)", &tombstone, &result)),
    }
}
