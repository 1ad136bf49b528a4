//! The whole read: the root DSE (which server this is), then two paged searches of the
//! subtree under `base_dn` — the first for every entry's id and object classes, so that parents
//! and members can be named by id whatever order entries come in, the second for every
//! attribute, each page's records sent as it arrives.

pub mod fetch;
pub mod me;

use std::collections::HashMap;

use iamsnap_provider::{ProviderError, RecordSink};
use ldap3::Scope;

use crate::Source;
use crate::dn::Dn;
use crate::flavor::Flavor;
use crate::records::{self, Context};

/// The root DSE's attributes that tell the server apart.
const ROOT_DSE: &[&str] = &[
    "objectClass",
    "vendorName",
    "supportedCapabilities",
    "supportedControl",
];

/// The server's flavor, as configured or as its root DSE says.
pub async fn flavor(source: &Source) -> Result<Flavor, ProviderError> {
    if let Some(flavor) = source.config.flavor {
        return Ok(flavor);
    }
    let detect = async || {
        let dse = source
            .connection
            .read("", ROOT_DSE)
            .await?
            .unwrap_or_default();
        Ok::<_, ProviderError>(Flavor::detect(
            &dse.text("objectClass"),
            &dse.text("vendorName"),
            &dse.text("supportedCapabilities"),
        ))
    };
    source.detected.get_or_try_init(detect).await.copied()
}

/// The reads a snapshot starts with: the bind, the root DSE and the base entry.
pub async fn healthcheck(source: &Source) -> Result<(), ProviderError> {
    flavor(source).await?;
    match source
        .connection
        .read(&source.config.base_dn, &["objectClass"])
        .await?
    {
        Some(_) => Ok(()),
        None => Err(ProviderError::Config(format!(
            "base_dn {:?} does not exist on {}",
            source.config.base_dn,
            source.connection.url()
        ))),
    }
}

/// Whether the entry `dn` is backed up: below an `include` subtree (or the base when there is
/// none) and below no `exclude` subtree. The base entry itself always is.
pub fn in_scope(source: &Source, dn: &Dn) -> bool {
    if *dn == source.base {
        return true;
    }
    let included = source.include.is_empty() || source.include.iter().any(|i| dn.is_under(i));
    included && !source.exclude.iter().any(|e| dn.is_under(e))
}

/// Where the searches of a backup start: the whole subtree of `base_dn`, or, with `include`,
/// the base entry alone and each included subtree (one inside another searched once), so
/// that the server sends only what is backed up. `exclude` stays a check on each entry: LDAP
/// has no filter for "not below".
pub fn search_bases(source: &Source) -> Vec<(String, Scope)> {
    let whole = source.include.is_empty()
        || source
            .include
            .iter()
            .any(|i| i.folded() == source.base.folded());
    if whole {
        return vec![(source.config.base_dn.clone(), Scope::Subtree)];
    }
    let mut includes: Vec<&Dn> = source.include.iter().collect();
    includes.sort_by_key(|d| d.depth());
    let mut kept: Vec<&Dn> = Vec::new();
    for include in includes {
        if !kept.iter().any(|k| include.is_under(k)) {
            kept.push(include);
        }
    }
    std::iter::once((source.config.base_dn.clone(), Scope::Base))
        .chain(kept.into_iter().map(|d| (d.to_string(), Scope::Subtree)))
        .collect()
}

/// The id and kind of every entry in scope, by folded DN.
pub async fn directory(
    source: &Source,
    flavor: Flavor,
) -> Result<HashMap<String, (String, &'static str)>, ProviderError> {
    let mut map = HashMap::new();
    let attrs = [flavor.id_attribute(), "objectClass"];
    let page_size = source.config.page_size();
    for (base, scope) in search_bases(source) {
        let mut pages = source
            .connection
            .search(&base, scope, "(objectClass=*)", &attrs, page_size)
            .await?;
        while let Some(page) = pages.next().await? {
            for entry in page {
                if let Some(dn) = Dn::parse(&entry.dn).filter(|d| in_scope(source, d)) {
                    let kind = crate::kinds::kind_of(&records::object_classes(&entry));
                    map.insert(dn.folded(), (records::id_of(&entry, flavor), kind));
                }
            }
        }
    }
    Ok(map)
}

/// Warns when the bind account cannot read `CN=Deleted Objects`: a restore with the same
/// rights would re-create deleted objects with new SIDs instead of reanimating them.
async fn warn_if_deleted_objects_unreadable(source: &Source) -> Result<(), ProviderError> {
    use crate::restore::reanimate;
    let container = reanimate::container(source).await?;
    if !reanimate::readable(source, &container).await? {
        tracing::warn!("{}", reanimate::unreadable_warning(source, &container));
    }
    Ok(())
}

/// Every record under `base_dn`, sent to `sink` page by page.
pub async fn snapshot(source: &Source, sink: RecordSink) -> Result<(), ProviderError> {
    let flavor = flavor(source).await?;
    if flavor == Flavor::ActiveDirectory {
        // Said at every backup, so that the right is granted long before an incident needs it.
        warn_if_deleted_objects_unreadable(source).await?;
    }
    let schema = crate::schema::of(source, flavor).await?;
    let directory = directory(source, flavor).await?;
    let ctx = Context {
        base: &source.base,
        flavor,
        read_password_hashes: source.config.read_password_hashes,
        directory: &directory,
        schema,
    };
    let attrs = ["*", flavor.id_attribute()];
    let page_size = source.config.page_size();
    for (base, scope) in search_bases(source) {
        let mut pages = source
            .connection
            .search(&base, scope, "(objectClass=*)", &attrs, page_size)
            .await?;
        while let Some(page) = pages.next().await? {
            for entry in page {
                if !Dn::parse(&entry.dn).is_some_and(|d| in_scope(source, &d)) {
                    continue;
                }
                for record in records::entry_records(&entry, &ctx) {
                    sink.send(record)
                        .await
                        .map_err(|_| ProviderError::Cancelled)?;
                }
            }
        }
    }
    Ok(())
}
