//! One record by kind and key, as a snapshot would give it now: the entry read alone, with
//! its parent (and for a membership, its member) read for their ids.

use std::collections::HashMap;

use iamsnap_provider::{Parent, ProviderError, Record};

use crate::Source;
use crate::client::Entry;
use crate::dn::{Dn, dn_of_key};
use crate::kinds::{self, MEMBERSHIP};
use crate::read::{flavor, in_scope};
use crate::records::{self, Context};

pub async fn fetch(
    source: &Source,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let flavor = flavor(source).await?;
    let schema = crate::schema::of(source, flavor).await?;
    let entry_key = if kind == MEMBERSHIP {
        Parent::split(key).0
    } else {
        key
    };
    let Some(dn) = dn_of_key(entry_key, &source.base).filter(|d| in_scope(source, d)) else {
        return Ok(None);
    };
    let attrs = ["*", flavor.id_attribute()];
    let Some(entry) = source.connection.read(&dn.to_string(), &attrs).await? else {
        return Ok(None);
    };
    let mut directory = HashMap::new();
    let mut note = async |entry_dn: &Dn| -> Result<(), ProviderError> {
        if !in_scope(source, entry_dn) {
            return Ok(());
        }
        let id_attrs = [flavor.id_attribute(), "objectClass"];
        if let Some(e) = source
            .connection
            .read(&entry_dn.to_string(), &id_attrs)
            .await?
        {
            let kind = kinds::kind_of(&records::object_classes(&e));
            directory.insert(entry_dn.folded(), (records::id_of(&e, flavor), kind));
        }
        Ok(())
    };
    if let Some(parent) = dn.parent().filter(|p| p.is_under(&source.base)) {
        note(&parent).await?;
    }
    if kind != MEMBERSHIP {
        let referenced: Vec<Dn> = entry
            .attrs
            .iter()
            .filter(|(name, _)| records::REFERENCES.contains(&records::base_name(name).as_str()))
            .flat_map(|(_, values)| values)
            .filter_map(|v| std::str::from_utf8(v).ok().and_then(Dn::parse))
            .collect();
        for other in &referenced {
            note(other).await?;
        }
    }
    if kind == MEMBERSHIP {
        // A memberUid value names no entry: the group alone makes the record.
        let member = Parent::split(key).1;
        if member.contains('=') {
            match member_value(&entry, member, &source.base) {
                Some(member_dn) => note(&member_dn).await?,
                None => return Ok(None),
            }
        }
    }
    let ctx = Context {
        base: &source.base,
        flavor,
        read_password_hashes: source.config.read_password_hashes,
        directory: &directory,
        schema,
    };
    Ok(records::entry_records(&entry, &ctx)
        .into_iter()
        .find(|r| r.kind == kind && r.key == key))
}

/// The DN of the member that `member_key` names, when the group holds such a value.
fn member_value(group: &Entry, member_key: &str, base: &Dn) -> Option<Dn> {
    let wanted = dn_of_key(member_key, base)?;
    let holds = group
        .attrs
        .iter()
        .filter(|(k, _)| kinds::MEMBER_ATTRIBUTES.contains(&k.to_ascii_lowercase().as_str()))
        .flat_map(|(_, v)| v)
        .filter_map(|v| std::str::from_utf8(v).ok())
        .filter_map(Dn::parse)
        .any(|d| d.folded() == wanted.folded());
    holds.then_some(wanted)
}
