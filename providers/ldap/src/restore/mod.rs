//! Restore: entries are added with every attribute the backup holds (their `entryUUID` kept
//! with the Relax Rules control where the server allows it), brought back with minimal
//! add/delete modifications, renamed or moved back with `modrdn` when the same entry has
//! another DN, and deleted leaf-first; memberships are single value adds and deletes.

mod entries;
mod members;

use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use serde_json::Value;

use crate::Source;
use crate::kinds::{MEMBERSHIP, USER};
use crate::records::PASSWORD_NOT_SAVED;

pub async fn apply(
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

pub fn cannot_restore(record: &Record) -> Vec<String> {
    let unsaved = record.attrs.get("password").and_then(Value::as_str) == Some(PASSWORD_NOT_SAVED);
    if unsaved {
        let what = if record.kind == USER {
            ""
        } else {
            " (an entry with a password)"
        };
        vec![format!("{PASSWORD_RESET}{what}")]
    } else {
        Vec::new()
    }
}

/// A password the backup does not hold cannot be put back: the live entry's state of it is
/// the closest a restore gets.
pub fn reachable(mut desired: Record, live: &Record) -> Record {
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
