//! Restore: entries are added with every attribute the backup holds (their `entryUUID` kept
//! with the Relax Rules control where the server allows it), brought back with minimal
//! add/delete modifications, renamed or moved back with `modrdn` when the same entry has
//! another DN, and deleted leaf-first; memberships are single value adds and deletes.

mod entries;
mod members;
pub mod reanimate;
mod refint;

use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use serde_json::Value;

use crate::Source;
use crate::flavor::Flavor;
use crate::kinds::{COMPUTER, GROUP, MEMBERSHIP, USER};
use crate::records::PASSWORD_NOT_SAVED;

/// One operation, run again from its start (reading the live entry again) when its connection
/// drops or the server answers busy or unavailable: each step takes a value or entry already
/// there, or already gone, as done, so an attempt whose answer was lost is not made twice.
pub async fn apply(
    source: &Source,
    op: &Operation,
    ids: &dyn IdMap,
) -> Result<Outcome, ProviderError> {
    if crate::read::flavor(source).await? == Flavor::OpenLdap {
        let limit = source.config.refint_wait();
        if !limit.is_zero() {
            let probe = refint::Probe::new(&source.base.to_string());
            source
                .refint_settled
                .get_or_try_init(|| {
                    source
                        .connection
                        .retrying("waiting for refint", || probe.settle(source, limit))
                })
                .await?;
        }
    }
    source
        .connection
        .retrying("the restore operation", || apply_once(source, op, ids))
        .await
}

async fn apply_once(
    source: &Source,
    op: &Operation,
    ids: &dyn IdMap,
) -> Result<Outcome, ProviderError> {
    match (op.kind.as_str(), op.action) {
        (MEMBERSHIP, Action::Create) => members::add(source, op, ids).await,
        (MEMBERSHIP, Action::Delete) => members::remove(source, op).await,
        (MEMBERSHIP, Action::Update) => members::replace(source, op, ids).await,
        (_, Action::Create) => entries::create(source, op).await,
        (_, Action::Update) => entries::update(source, op).await,
        (_, Action::Delete) => entries::delete(source, op).await,
    }
}

/// What the password of an account restored from a backup without its hash needs.
const PASSWORD_RESET: &str = "userPassword: the backup holds no password hash (read_password_hashes was off): set a new password (ldappasswd) and hand it to the user";

/// What an Active Directory object re-created rather than reanimated loses.
pub const NEW_SID: &str = "objectSid: no longer in CN=Deleted Objects (past its tombstone lifetime), so it is re-created with a new SID: grant its permissions again wherever the old SID was named (file shares, ACLs, other domains' groups, applications)";

/// What an Active Directory object loses when the bind account cannot look for it in
/// `CN=Deleted Objects`.
pub const NEW_SID_UNREADABLE: &str = "objectSid: the bind account cannot read CN=Deleted Objects, so the deleted object cannot be found and reanimated with its SID: it is re-created with a new one; grant the bind account read access to CN=Deleted Objects and the Reanimate Tombstones right (docs/ldap.md, Rights of the bind account) and plan the restore again, or else grant the new SID its permissions again wherever the old one was named (file shares, ACLs, other domains' groups, applications)";

/// What an entry re-created on a server that does not keep ids loses.
pub const NEW_ENTRY_UUID: &str = "entryUUID: a generic LDAP server does not let a client set it, so the entry is re-created with a new entryUUID: references by DN (group members, manager, seeAlso) are unaffected; update what follows the entry by its entryUUID (sync consumers, applications that store it); on OpenLDAP set flavor = \"openldap\" and restore with a bind account that has manage access, which keeps it (Relax Rules control)";

/// What a plan needs to know of the live server that the records do not tell: on Active
/// Directory, which deleted objects can be reanimated; elsewhere, whether re-created entries
/// keep their `entryUUID`. OpenLDAP keeps them with the Relax Rules control, which it does not
/// list in its root DSE: whether the bind account may use it (`manage` access) shows only
/// when an add is made, and a refusal then is logged for each entry.
pub async fn before_plan(source: &Source) -> Result<(), ProviderError> {
    let flavor = crate::read::flavor(source).await?;
    if flavor == Flavor::ActiveDirectory {
        return reanimate::read_tombstones(source).await;
    }
    let kept = flavor.keeps_ids();
    if !kept {
        tracing::warn!(
            flavor = flavor.name(),
            "{}: entries the restore re-creates get a new entryUUID (the plan names each)",
            source.connection.url()
        );
    }
    *source.ids_kept.write().unwrap_or_else(|e| e.into_inner()) = Some(kept);
    Ok(())
}

/// Whether the last plan found that re-created entries keep their `entryUUID`.
fn ids_kept(source: &Source) -> bool {
    source
        .ids_kept
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .unwrap_or(true)
}

/// What a re-created Active Directory account needs before anyone can sign in with it.
pub const AD_PASSWORD_RESET: &str = "password: a re-created Active Directory account comes back disabled and must change its password at next logon (pwdLastSet = 0): set a password (Set-ADAccountPassword, or samba-tool user setpassword), then enable it";

pub fn cannot_restore(source: &Source, record: &Record) -> Vec<String> {
    let mut lost = Vec::new();
    let unsaved = record.attrs.get("password").and_then(Value::as_str) == Some(PASSWORD_NOT_SAVED);
    if unsaved {
        let what = if record.kind == USER {
            ""
        } else {
            " (an entry with a password)"
        };
        lost.push(format!("{PASSWORD_RESET}{what}"));
    }
    if sid(record).is_some() && !reanimate::in_deleted_objects(source, &record.id) {
        lost.push(if reanimate::deleted_objects_unreadable(source) {
            NEW_SID_UNREADABLE.to_string()
        } else {
            NEW_SID.to_string()
        });
        if record.kind == USER || record.kind == COMPUTER {
            lost.push(AD_PASSWORD_RESET.to_string());
        }
    }
    if sid(record).is_none() && entries::is_uuid(&record.id) && !ids_kept(source) {
        lost.push(NEW_ENTRY_UUID.to_string());
    }
    lost
}

/// The base64 `objectSid` of an Active Directory record.
fn sid(record: &Record) -> Option<&Value> {
    record.attrs.get("binary")?.get("objectSid")
}

/// A password the backup does not hold cannot be put back: the live entry's state of it is
/// the closest a restore gets.
///
/// On Active Directory, an object with another SID than the backup's was re-created (its
/// tombstone was gone): the SID is the domain's to give, and a re-created account stays
/// disabled until the operator sets its password.
pub fn reachable(mut desired: Record, live: &Record) -> Record {
    if let (Some(want), Some(have)) = (sid(&desired), sid(live))
        && want != have
    {
        let have = have.clone();
        let disabled = control(live).is_some_and(|c| c & entries::ACCOUNT_DISABLED != 0);
        let wanted = control(&desired);
        desired.attrs["binary"]["objectSid"] = have;
        if desired.kind != GROUP
            && disabled
            && let Some(c) = wanted
        {
            desired.attrs["attributes"]["userAccountControl"] =
                serde_json::json!([(c | entries::ACCOUNT_DISABLED).to_string()]);
        }
    }
    if let Value::Object(attrs) = &mut desired.attrs
        && attrs.get("password").and_then(Value::as_str) == Some(PASSWORD_NOT_SAVED)
    {
        match live.attrs.get("password") {
            Some(v) => attrs.insert("password".into(), v.clone()),
            None => attrs.remove("password"),
        };
    }
    desired
}

/// The `userAccountControl` of an Active Directory account.
fn control(record: &Record) -> Option<i64> {
    record.attrs["attributes"]
        .get("userAccountControl")?
        .get(0)?
        .as_str()?
        .parse()
        .ok()
}
