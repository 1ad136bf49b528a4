//! Memberships: one value of a group's `member`, `uniqueMember` or `memberUid`, added or
//! deleted on its own.

use std::collections::HashSet;

use iamsnap_provider::{IdMap, Operation, Outcome, Parent, ProviderError, Record};
use ldap3::Mod;

use crate::Source;
use crate::client::rc;
use crate::dn::dn_of_key;

/// The group's DN, the attribute and the value a membership record stands for.
fn parts(
    source: &Source,
    op: &Operation,
    record: &Record,
) -> Result<(String, String, String), ProviderError> {
    let bad = |m: &str| ProviderError::Precondition {
        kind: op.kind.clone(),
        key: op.key.clone(),
        message: m.to_string(),
    };
    let (group, member) = Parent::split(&record.key);
    let group = dn_of_key(group, &source.base).ok_or_else(|| bad("the group's key is not a DN"))?;
    let attribute = record
        .attrs
        .get("attribute")
        .and_then(|a| a.as_str())
        .unwrap_or("member")
        .to_string();
    let value = if attribute.eq_ignore_ascii_case("memberUid") {
        member.replace("\\7c", "|")
    } else {
        dn_of_key(member, &source.base)
            .ok_or_else(|| bad("the member's key is not a DN"))?
            .to_string()
    };
    Ok((group.to_string(), attribute, value))
}

/// The membership's live id: the live ids of its group and member.
fn live_id(record: &Record, ids: &dyn IdMap) -> String {
    let live = |rel: &str, fallback: &str| {
        record
            .target(rel)
            .map(|r| ids.live_id(&r.kind, &r.id).unwrap_or_else(|| r.id.clone()))
            .unwrap_or_else(|| fallback.to_string())
    };
    let (group_id, member_id) = record.id.rsplit_once('|').unwrap_or((&record.id, ""));
    format!("{}|{}", live("group", group_id), live("member", member_id))
}

/// Notes that the group `dn`, just added by this restore, holds itself until its first
/// membership comes back.
pub fn note_placeholder(source: &Source, dn: &str) {
    source
        .placeholders
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(dn.to_lowercase(), true);
}

/// What this restore knows of `group` holding itself: `Some(true)` when it added the group
/// that way and no membership took the value away yet (the caller now does), `Some(false)`
/// once one did, `None` for a group it did not add.
fn take_placeholder(source: &Source, group: &str) -> Option<bool> {
    let mut held = source
        .placeholders
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    held.get_mut(&group.to_lowercase())
        .map(|holds| std::mem::replace(holds, false))
}

pub async fn add(
    source: &Source,
    op: &Operation,
    ids: &dyn IdMap,
) -> Result<Outcome, ProviderError> {
    let record = op
        .desired
        .as_ref()
        .ok_or_else(|| ProviderError::Precondition {
            kind: op.kind.clone(),
            key: op.key.clone(),
            message: "the operation carries no record".into(),
        })?;
    let (group, attribute, value) = parts(source, op, record)?;
    let id = live_id(record, ids);
    let dn_valued = !attribute.eq_ignore_ascii_case("memberUid");
    let itself = value.eq_ignore_ascii_case(&group);
    // A group this restore added: the value comes in and, for the first, the group's own
    // goes, in one modify; no other write is needed.
    let known = if dn_valued && !itself {
        take_placeholder(source, &group)
    } else {
        None
    };
    if let Some(holds_itself) = known {
        let mut mods = vec![Mod::Add(attribute.clone(), HashSet::from([value.clone()]))];
        if holds_itself {
            mods.push(Mod::Delete(
                attribute.clone(),
                HashSet::from([group.clone()]),
            ));
        }
        let added = source
            .connection
            .writer(vec![])
            .await?
            .modify(&group, mods)
            .await
            .map_err(|e| source.connection.transport("write", e))?;
        match added.rc {
            rc::SUCCESS => return Ok(Outcome::Applied { id }),
            rc::ATTRIBUTE_OR_VALUE_EXISTS if !holds_itself => {
                return Ok(Outcome::AlreadyDone { id });
            }
            // Someone else changed the group meanwhile: the general way below copes.
            rc::ATTRIBUTE_OR_VALUE_EXISTS | rc::NO_SUCH_ATTRIBUTE => {}
            _ => {
                return Err(source
                    .connection
                    .failed("modify (add member)", &group, &added));
            }
        }
    }
    let mods = vec![Mod::Add(attribute.clone(), HashSet::from([value.clone()]))];
    let added = source
        .connection
        .writer(vec![])
        .await?
        .modify(&group, mods)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    let outcome = match added.rc {
        rc::SUCCESS => Outcome::Applied { id },
        rc::ATTRIBUTE_OR_VALUE_EXISTS => Outcome::AlreadyDone { id },
        _ => {
            return Err(source
                .connection
                .failed("modify (add member)", &group, &added));
        }
    };
    // The group held itself while it had no other member (see the group's add): no longer.
    // Active Directory groups may be empty and never get one.
    let placeholder = crate::read::flavor(source).await? != crate::flavor::Flavor::ActiveDirectory;
    if placeholder && dn_valued && !itself {
        let mods = vec![Mod::Delete(attribute, HashSet::from([group.clone()]))];
        let removed = source
            .connection
            .writer(vec![])
            .await?
            .modify(&group, mods)
            .await
            .map_err(|e| source.connection.transport("write", e))?;
        if removed.rc != rc::SUCCESS && removed.rc != rc::NO_SUCH_ATTRIBUTE {
            return Err(source
                .connection
                .failed("modify (placeholder member)", &group, &removed));
        }
    }
    Ok(outcome)
}

/// A membership found under another id or key: a value naming a member that was deleted (the
/// group's last `member`, which refint cannot take away), or the old DN of a member renamed
/// since (refint rewrote it). The snapshot's value is put back and the live one, when it
/// differs, taken away; by then refint has usually done both.
pub async fn replace(
    source: &Source,
    op: &Operation,
    ids: &dyn IdMap,
) -> Result<Outcome, ProviderError> {
    let added = add(source, op, ids).await?;
    let Some(current) = op.current.as_ref().filter(|c| c.key != op.key) else {
        return Ok(added);
    };
    let (group, attribute, value) = parts(source, op, current)?;
    let mods = vec![Mod::Delete(attribute, HashSet::from([value]))];
    let removed = source
        .connection
        .writer(vec![])
        .await?
        .modify(&group, mods)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match removed.rc {
        rc::SUCCESS => Ok(Outcome::Applied {
            id: live_id(op.desired.as_ref().unwrap_or(current), ids),
        }),
        rc::NO_SUCH_ATTRIBUTE | rc::NO_SUCH_OBJECT => Ok(added),
        _ => Err(source
            .connection
            .failed("modify (remove member)", &group, &removed)),
    }
}

pub async fn remove(source: &Source, op: &Operation) -> Result<Outcome, ProviderError> {
    let record = op
        .current
        .as_ref()
        .ok_or_else(|| ProviderError::Precondition {
            kind: op.kind.clone(),
            key: op.key.clone(),
            message: "the operation carries no live record".into(),
        })?;
    let (group, attribute, value) = parts(source, op, record)?;
    let id = record.id.clone();
    let mods = vec![Mod::Delete(
        attribute.clone(),
        HashSet::from([value.clone()]),
    )];
    let removed = source
        .connection
        .writer(vec![])
        .await?
        .modify(&group, mods)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match removed.rc {
        rc::SUCCESS => Ok(Outcome::Applied { id }),
        rc::NO_SUCH_ATTRIBUTE | rc::NO_SUCH_OBJECT => Ok(Outcome::AlreadyDone { id }),
        // The group's last member: the schema wants one, so the group holds itself instead.
        rc::OBJECT_CLASS_VIOLATION => {
            let mods = vec![
                Mod::Add(attribute.clone(), HashSet::from([group.clone()])),
                Mod::Delete(attribute, HashSet::from([value])),
            ];
            let swapped = source
                .connection
                .writer(vec![])
                .await?
                .modify(&group, mods)
                .await
                .map_err(|e| source.connection.transport("write", e))?;
            match swapped.rc {
                rc::SUCCESS => Ok(Outcome::Applied { id }),
                _ => Err(source
                    .connection
                    .failed("modify (remove member)", &group, &swapped)),
            }
        }
        _ => Err(source
            .connection
            .failed("modify (remove member)", &group, &removed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::GROUP;
    use iamsnap_provider::Ref;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn a_membership_s_live_id_follows_its_group_and_member() {
        let record = Record::new(
            crate::kinds::MEMBERSHIP,
            "g1|u1",
            "cn=eng|uid=ada",
            json!({"attribute": "member"}),
            vec![
                Ref::new("group", GROUP, "g1"),
                Ref::new("member", crate::kinds::USER, "u1"),
            ],
        );
        let ids = BTreeMap::from([((GROUP.to_string(), "g1".to_string()), "g9".to_string())]);
        assert_eq!(live_id(&record, &ids), "g9|u1");
    }
}
