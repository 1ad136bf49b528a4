//! Active Directory keeps a deleted object in `CN=Deleted Objects` until its tombstone
//! lifetime ends (180 days by default), with its `objectGUID` and `objectSid`. Bringing that
//! object back — one modify under the show-deleted control that removes `isDeleted` and sets
//! `distinguishedName` to where it lived — keeps both, so every ACL naming its SID works
//! again; a re-created object would get a new SID. Without the Recycle Bin the tombstone has
//! lost most attributes: the restore puts them back afterwards.

use std::collections::HashSet;

use iamsnap_provider::{Operation, ProviderError, Record};
use ldap3::controls::RawControl;
use ldap3::{Mod, Scope};

use crate::Source;
use crate::client::rc;
use crate::dn::Dn;
use crate::flavor::Flavor;
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

/// What a restore plan knows of `CN=Deleted Objects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tombstones {
    /// The ids of the deleted objects in it.
    Readable(HashSet<String>),
    /// The bind account may not read it: no deleted object can be found to reanimate.
    Unreadable,
}

/// What the operator is told when the bind account cannot read `CN=Deleted Objects`.
pub fn unreadable_warning(source: &Source, container: &str) -> String {
    format!(
        "{} cannot read {container}: a restore cannot find deleted objects there to reanimate, so it re-creates them with new SIDs (every ACL, file share and group elsewhere naming the old SID stops working); grant the bind account List Contents and Read Property on the container, and the restore account the Reanimate Tombstones right (docs/ldap.md, Rights of the bind account)",
        source.connection.bind_dn()
    )
}

/// The deleted objects container of the domain `source` is in.
pub async fn container(source: &Source) -> Result<String, ProviderError> {
    Ok(format!(
        "CN=Deleted Objects,{}",
        naming_context(source).await?
    ))
}

/// Whether the bind account can read the deleted objects `container`. A domain controller
/// hides deleted objects from an account without read access to it: Windows answers
/// noSuchObject or insufficientAccessRights, Samba shows the container without its
/// attributes; its own `isDeleted`, under the show-deleted control, tells them apart.
pub async fn readable(source: &Source, container: &str) -> Result<bool, ProviderError> {
    let pages = source
        .connection
        .search_with(
            container,
            Scope::Base,
            "(objectClass=*)",
            &["isDeleted"],
            source.config.page_size(),
            vec![show_deleted()],
        )
        .await;
    let mut pages = match pages {
        Err(ProviderError::Forbidden { .. }) => return Ok(false),
        other => other?,
    };
    let mut seen = false;
    loop {
        match pages.next().await {
            Ok(Some(page)) => seen |= page.iter().any(|e| !e.text("isDeleted").is_empty()),
            Ok(None) => return Ok(seen),
            Err(ProviderError::Forbidden { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// Notes the ids of every deleted object still in `CN=Deleted Objects`, for the plan to tell
/// reanimated objects (same SID) from re-created ones (new SID); when the bind account cannot
/// read the container, says so loudly and notes that nothing can be reanimated.
pub async fn read_tombstones(source: &Source) -> Result<(), ProviderError> {
    let container = container(source).await?;
    if !readable(source, &container).await? {
        tracing::warn!("{}", unreadable_warning(source, &container));
        *source.tombstones.write().unwrap_or_else(|e| e.into_inner()) =
            Some(Tombstones::Unreadable);
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
    *source.tombstones.write().unwrap_or_else(|e| e.into_inner()) = Some(Tombstones::Readable(ids));
    Ok(())
}

/// Whether the object `id` can be reanimated: still a tombstone, or not known (no plan read
/// the tombstones; reanimation is tried first anyway).
pub fn in_deleted_objects(source: &Source, id: &str) -> bool {
    match &*source.tombstones.read().unwrap_or_else(|e| e.into_inner()) {
        None => true,
        Some(Tombstones::Readable(ids)) => ids.contains(id),
        Some(Tombstones::Unreadable) => false,
    }
}

/// Whether the last plan found `CN=Deleted Objects` unreadable.
pub fn deleted_objects_unreadable(source: &Source) -> bool {
    matches!(
        *source.tombstones.read().unwrap_or_else(|e| e.into_inner()),
        Some(Tombstones::Unreadable)
    )
}

/// Brings the deleted object of `record` back to `dn`, with the attributes it must have
/// (which the tombstone lost). False when no tombstone has its id (gone past its lifetime, or
/// never deleted here).
pub async fn reanimate(
    source: &Source,
    op: &Operation,
    record: &Record,
    dn: &Dn,
) -> Result<bool, ProviderError> {
    let Some(guid) = records::guid_filter_value(&record.id) else {
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
    let dn = dn.with_upper_types();
    let bring_back = || {
        vec![
            Mod::Delete(b"isDeleted".to_vec(), HashSet::new()),
            Mod::Replace(
                b"distinguishedName".to_vec(),
                HashSet::from([dn.as_bytes().to_vec()]),
            ),
        ]
    };
    // Without the Recycle Bin the tombstone kept few attributes, maybe not those its class
    // requires (a password policy's settings, a shared folder's path): they come back in the
    // same modify. The naming attribute follows the new DN, the classes never changed, and
    // Samba looks an account up by its new DN, not there yet, when `userAccountControl`
    // changes in that modify: it is put back right after, with whatever else is left.
    let naming = record_naming_attribute(&dn);
    let values = records::values_of(&record.attrs).map_err(|e| ProviderError::Precondition {
        kind: op.kind.clone(),
        key: op.key.clone(),
        message: e,
    })?;
    let mut mods = bring_back();
    for (name, values) in values {
        let lower = name.to_ascii_lowercase();
        if Flavor::ActiveDirectory.writes(&lower)
            && !["objectclass", "useraccountcontrol", naming.as_str()].contains(&lower.as_str())
        {
            mods.push(Mod::Replace(
                name.into_bytes(),
                values.into_iter().collect(),
            ));
        }
    }
    let mut result = modify(source, &tombstone, mods).await?;
    if !matches!(
        result.rc,
        rc::SUCCESS | rc::ENTRY_ALREADY_EXISTS | rc::INSUFFICIENT_ACCESS
    ) {
        // An attribute the server would not take along (a reference to an entry not back
        // yet): the object alone comes back, its attributes follow.
        tracing::debug!(dn = %dn, "reanimating with attributes: {}; trying without", result.text);
        result = modify(source, &tombstone, bring_back()).await?;
    }
    match result.rc {
        rc::SUCCESS => Ok(true),
        rc::ENTRY_ALREADY_EXISTS => Err(ProviderError::Precondition {
            kind: op.kind.clone(),
            key: op.key.clone(),
            message: format!(
                "the deleted object cannot come back: another object holds {dn} now; rename or delete it and run the restore again"
            ),
        }),
        rc::INSUFFICIENT_ACCESS => Err(ProviderError::Forbidden {
            url: format!("{} {tombstone}", source.connection.url()),
            status: result.rc as u16,
            message: format!(
                "{}; reanimating a deleted object needs the Reanimate Tombstones extended right on the domain (see docs/ldap.md)",
                result.text
            ),
        }),
        _ => Err(source
            .connection
            .failed("modify (reanimate)", &tombstone, &result)),
    }
}

/// The attribute naming an entry (`cn` of `CN=Ada,OU=People`), in lower case.
fn record_naming_attribute(dn: &str) -> String {
    dn.split_once('=')
        .map(|(ty, _)| ty.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

async fn modify(
    source: &Source,
    tombstone: &str,
    mods: Vec<Mod<Vec<u8>>>,
) -> Result<ldap3::LdapResult, ProviderError> {
    source
        .connection
        .writer(vec![show_deleted()])
        .await?
        .modify(tombstone, mods)
        .await
        .map_err(|e| source.connection.transport("write", e))
}
