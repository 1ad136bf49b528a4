//! Entries (containers, users, groups, any other entry): add, rename or move back and modify,
//! delete leaf-first.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use ldap3::Mod;
use ldap3::Scope;
use ldap3::controls::{MakeCritical, RawControl, RelaxRules};

use crate::Source;
use crate::client::rc;
use crate::dn::{Dn, dn_of_key};
use crate::flavor::Flavor;
use crate::kinds::{COMPUTER, GROUP, USER};
use crate::read::flavor;
use crate::records::{self, Context, values_of};
use crate::restore::{members, reanimate};

fn precondition(op: &Operation, message: impl Into<String>) -> ProviderError {
    ProviderError::Precondition {
        kind: op.kind.clone(),
        key: op.key.clone(),
        message: message.into(),
    }
}

fn desired(op: &Operation) -> Result<&Record, ProviderError> {
    op.desired
        .as_ref()
        .ok_or_else(|| precondition(op, "the operation carries no record"))
}

fn dn(source: &Source, op: &Operation, key: &str) -> Result<Dn, ProviderError> {
    dn_of_key(key, &source.base).ok_or_else(|| precondition(op, format!("{key:?} is not a DN")))
}

/// The values of a record by lower-case attribute name (name as written kept aside).
type Values = BTreeMap<String, (String, BTreeSet<Vec<u8>>)>;

fn values(op: &Operation, record: &Record) -> Result<Values, ProviderError> {
    let list = values_of(&record.attrs).map_err(|e| precondition(op, e))?;
    Ok(list
        .into_iter()
        .map(|(name, v)| (name.to_ascii_lowercase(), (name, v.into_iter().collect())))
        .collect())
}

/// An entry's attributes as an add sends them.
type Attributes = Vec<(Vec<u8>, HashSet<Vec<u8>>)>;

/// An entry id the server can be asked to keep: the text form of a UUID.
pub fn is_uuid(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// `userAccountControl` bit of a disabled account (ADS_UF_ACCOUNTDISABLE).
pub const ACCOUNT_DISABLED: i64 = 0x2;

pub async fn create(source: &Source, op: &Operation) -> Result<Outcome, ProviderError> {
    let flavor = flavor(source).await?;
    let record = desired(op)?;
    if flavor == Flavor::ActiveDirectory {
        let dn = dn(source, op, &op.key)?;
        return create_in_active_directory(source, op, record, &dn).await;
    }
    let dn = dn(source, op, &op.key)?.to_string();
    // The entry as added: its attributes, and whether a group holds itself.
    let entry = || -> Result<(Attributes, bool), ProviderError> {
        let mut attrs: Attributes = values(op, record)?
            .into_values()
            .map(|(name, v)| (name.into_bytes(), v.into_iter().collect()))
            .collect();
        let holds_itself = record.kind == GROUP && placeholder_member(&mut attrs, &dn);
        Ok((attrs, holds_itself))
    };
    let keep_id = flavor.keeps_ids() && is_uuid(&record.id);
    if keep_id {
        let (mut attrs, holds_itself) = entry()?;
        attrs.push((
            flavor.id_attribute().as_bytes().to_vec(),
            HashSet::from([record.id.as_bytes().to_vec()]),
        ));
        let relax: RawControl = RelaxRules.critical().into();
        let added = source
            .connection
            .writer(vec![relax])
            .await?
            .add(&dn, attrs)
            .await
            .map_err(|e| source.connection.transport("write", e))?;
        match added.rc {
            rc::SUCCESS => {
                if holds_itself {
                    members::note_placeholder(source, &dn);
                }
                return Ok(Outcome::Applied {
                    id: record.id.clone(),
                });
            }
            rc::ENTRY_ALREADY_EXISTS => return existing(source, op, &dn, flavor).await,
            // The server refuses to set the id: the entry is added with a new one.
            rc::UNAVAILABLE_CRITICAL_EXTENSION
            | rc::INSUFFICIENT_ACCESS
            | rc::CONSTRAINT_VIOLATION
            | 53 => tracing::warn!(
                dn = %dn,
                "the server would not keep the entry's {} ({}): it is re-created with a new one; give the bind account manage access to keep ids (docs/ldap.md, Rights of the bind account)",
                flavor.id_attribute(),
                added.text
            ),
            _ => return Err(source.connection.failed("add", &dn, &added)),
        }
    }
    let (attrs, holds_itself) = entry()?;
    let added = source
        .connection
        .writer(vec![])
        .await?
        .add(&dn, attrs)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match added.rc {
        rc::SUCCESS if holds_itself => members::note_placeholder(source, &dn),
        rc::SUCCESS => {}
        rc::ENTRY_ALREADY_EXISTS => return existing(source, op, &dn, flavor).await,
        _ => return Err(source.connection.failed("add", &dn, &added)),
    }
    let id = live_id(source, op, &dn, flavor).await?;
    Ok(Outcome::Applied { id })
}

/// A group of names or of unique names must have a member: until its first membership is
/// restored, a re-created one holds itself, which the membership's add then removes. Whether
/// it does.
fn placeholder_member(attrs: &mut Attributes, dn: &str) -> bool {
    let mut added = false;
    let classes: Vec<String> = attrs
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"objectClass"))
        .flat_map(|(_, v)| v.iter())
        .map(|v| String::from_utf8_lossy(v).to_ascii_lowercase())
        .collect();
    for (class, attribute) in [
        ("groupofnames", "member"),
        ("groupofuniquenames", "uniqueMember"),
    ] {
        let has = attrs
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(attribute.as_bytes()));
        if classes.iter().any(|c| c == class) && !has {
            attrs.push((
                attribute.as_bytes().to_vec(),
                HashSet::from([dn.as_bytes().to_vec()]),
            ));
            added = true;
        }
    }
    added
}

async fn live_id(
    source: &Source,
    op: &Operation,
    dn: &str,
    flavor: Flavor,
) -> Result<String, ProviderError> {
    match source.connection.read(dn, &[flavor.id_attribute()]).await? {
        Some(entry) => Ok(records::id_of(&entry, flavor)),
        None => Err(precondition(op, format!("{dn} is not there after its add"))),
    }
}

/// An add that found the entry there already (a re-run after a crash).
async fn existing(
    source: &Source,
    op: &Operation,
    dn: &str,
    flavor: Flavor,
) -> Result<Outcome, ProviderError> {
    Ok(Outcome::AlreadyDone {
        id: live_id(source, op, dn, flavor).await?,
    })
}

/// An Active Directory object comes back from `CN=Deleted Objects` when it is still there
/// (same GUID and SID) with its attributes put back; only otherwise is it added anew, an
/// account disabled and due for a new password (the backup holds none).
async fn create_in_active_directory(
    source: &Source,
    op: &Operation,
    record: &Record,
    parsed: &Dn,
) -> Result<Outcome, ProviderError> {
    let flavor = Flavor::ActiveDirectory;
    let dn = &parsed.with_upper_types();
    if reanimate::reanimate(source, op, record, parsed).await? {
        let (id, _) = converge(source, op, record, dn, flavor).await?;
        return Ok(Outcome::Applied { id });
    }
    // A re-run after a crash: the object is back already, maybe not its attributes.
    if source.connection.read(dn, &["1.1"]).await?.is_some() {
        let (id, changed) = converge(source, op, record, dn, flavor).await?;
        return Ok(if changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        });
    }
    let account = record.kind == USER || record.kind == COMPUTER;
    let mut attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = Vec::new();
    for (lower, (name, values)) in values(op, record)? {
        if !flavor.writes(&lower) {
            continue;
        }
        let values = if account && lower == "useraccountcontrol" {
            let control = values
                .iter()
                .find_map(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
                .unwrap_or(512);
            HashSet::from([(control | ACCOUNT_DISABLED).to_string().into_bytes()])
        } else {
            values.into_iter().collect()
        };
        attrs.push((name.into_bytes(), values));
    }
    if account {
        // Must change the password at next logon, once the operator has set one.
        attrs.push((b"pwdLastSet".to_vec(), HashSet::from([b"0".to_vec()])));
    }
    let added = source
        .connection
        .writer(vec![])
        .await?
        .add(dn, attrs)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match added.rc {
        rc::SUCCESS => Ok(Outcome::Applied {
            id: live_id(source, op, dn, flavor).await?,
        }),
        rc::ENTRY_ALREADY_EXISTS => existing(source, op, dn, flavor).await,
        _ => Err(source.connection.failed("add", dn, &added)),
    }
}

pub async fn update(source: &Source, op: &Operation) -> Result<Outcome, ProviderError> {
    let flavor = flavor(source).await?;
    let record = desired(op)?;
    let target = dn(source, op, &op.key)?;
    let mut renamed = false;
    if let Some(current) = &op.current
        && current.key != op.key
    {
        let from = dn(source, op, &current.key)?;
        if from.folded() != target.folded() {
            renamed = move_back(source, op, &from, &target).await?;
        }
    }
    let (id, changed) = converge(source, op, record, &target.to_string(), flavor).await?;
    Ok(if renamed || changed {
        Outcome::Applied { id }
    } else {
        Outcome::AlreadyDone { id }
    })
}

/// Modifies the live entry `dn` to hold the attributes of `record`: its live id, and whether
/// anything had to change.
async fn converge(
    source: &Source,
    op: &Operation,
    record: &Record,
    dn: &str,
    flavor: Flavor,
) -> Result<(String, bool), ProviderError> {
    let schema = crate::schema::of(source, flavor).await?;
    let attrs = ["*", flavor.id_attribute()];
    let live = source
        .connection
        .read(dn, &attrs)
        .await?
        .ok_or_else(|| precondition(op, format!("{dn} does not exist")))?;
    let ctx = Context {
        base: &source.base,
        flavor,
        read_password_hashes: source.config.read_password_hashes,
        directory: &std::collections::HashMap::new(),
        schema,
    };
    let live_record = Record::new(
        &record.kind,
        records::id_of(&live, flavor),
        &op.key,
        records::attributes(&live, &ctx, record.kind == GROUP),
        vec![],
    );
    let mods = modifications(&values(op, record)?, &values(op, &live_record)?, flavor);
    let id = live_record.id.clone();
    if mods.is_empty() {
        return Ok((id, false));
    }
    let modified = source
        .connection
        .writer(vec![])
        .await?
        .modify(dn, mods)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match modified.rc {
        rc::SUCCESS => Ok((id, true)),
        _ => Err(source.connection.failed("modify", dn, &modified)),
    }
}

/// `modrdn` of the live entry `from` back to `to`: a new RDN and, when it moved, its old
/// parent. False when `from` is gone already (a re-run after the move).
async fn move_back(
    source: &Source,
    op: &Operation,
    from: &Dn,
    to: &Dn,
) -> Result<bool, ProviderError> {
    let ad = flavor(source).await? == Flavor::ActiveDirectory;
    let render = |d: &Dn| {
        if ad {
            d.with_upper_types()
        } else {
            d.to_string()
        }
    };
    let rdn = to
        .rdn()
        .and_then(Dn::parse)
        .ok_or_else(|| precondition(op, "cannot rename to the root"))?;
    let rdn = render(&rdn);
    let parent = to.parent().map(|p| render(&p));
    let moved = from.parent().map(|p| p.folded()) != to.parent().map(|p| p.folded());
    let new_sup = if moved { parent.as_deref() } else { None };
    let from_dn = from.to_string();
    let result = source
        .connection
        .writer(vec![])
        .await?
        .modifydn(&from_dn, &rdn, true, new_sup)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match result.rc {
        rc::SUCCESS => Ok(true),
        rc::NO_SUCH_OBJECT => Ok(false),
        _ => Err(source.connection.failed("modrdn", &from_dn, &result)),
    }
}

/// The fewest modifications that turn `live` into `desired`: whole attributes added or
/// deleted, values added and deleted one by one where both sides have some. On Active
/// Directory, whose single-valued attributes take no second value even for a moment, an
/// attribute whose values differ is replaced whole; what it never lets a client write (the
/// SID, the classes of an entry) is left alone.
fn modifications(desired: &Values, live: &Values, flavor: Flavor) -> Vec<Mod<Vec<u8>>> {
    let mut mods = Vec::new();
    let names: BTreeSet<&String> = desired.keys().chain(live.keys()).collect();
    let ad = flavor == Flavor::ActiveDirectory;
    for lower in names {
        if ad && (!flavor.writes(lower) || lower == "objectclass") {
            continue;
        }
        match (desired.get(lower), live.get(lower)) {
            (Some((name, want)), Some((_, have))) if ad && want != have => {
                mods.push(Mod::Replace(
                    name.clone().into_bytes(),
                    want.iter().cloned().collect(),
                ));
            }
            (Some((name, want)), None) => {
                mods.push(Mod::Add(
                    name.clone().into_bytes(),
                    want.iter().cloned().collect(),
                ));
            }
            (None, Some((name, _))) => {
                mods.push(Mod::Delete(name.clone().into_bytes(), HashSet::new()))
            }
            (Some((name, want)), Some((_, have))) if want != have => {
                let gone: HashSet<Vec<u8>> = have.difference(want).cloned().collect();
                let new: HashSet<Vec<u8>> = want.difference(have).cloned().collect();
                // Additions first: an attribute the schema requires is never empty in between.
                if !new.is_empty() {
                    mods.push(Mod::Add(name.clone().into_bytes(), new));
                }
                if !gone.is_empty() {
                    mods.push(Mod::Delete(name.clone().into_bytes(), gone));
                }
            }
            _ => {}
        }
    }
    mods
}

pub async fn delete(source: &Source, op: &Operation) -> Result<Outcome, ProviderError> {
    let current = op
        .current
        .as_ref()
        .ok_or_else(|| precondition(op, "the operation carries no live record"))?;
    let dn = dn(source, op, &current.key)?;
    if dn.folded() == source.base.folded() {
        return Ok(Outcome::Skipped {
            reason: "the base entry is never deleted".into(),
        });
    }
    let id = current.id.clone();
    match delete_one(source, &dn.to_string()).await? {
        rc::SUCCESS => Ok(Outcome::Applied { id }),
        rc::NO_SUCH_OBJECT => Ok(Outcome::AlreadyDone { id }),
        _ => {
            // Entries below it that the backup lacks too: deleted leaf-first before it.
            delete_below(source, &dn).await?;
            match delete_one(source, &dn.to_string()).await? {
                rc::SUCCESS => Ok(Outcome::Applied { id }),
                rc::NO_SUCH_OBJECT => Ok(Outcome::AlreadyDone { id }),
                _ => Err(precondition(
                    op,
                    "entries were added below it while its subtree was deleted; run the restore again",
                )),
            }
        }
    }
}

/// Deletes `dn`: success, noSuchObject or notAllowedOnNonLeaf; any other code is an error.
async fn delete_one(source: &Source, dn: &str) -> Result<u32, ProviderError> {
    let result = source
        .connection
        .writer(vec![])
        .await?
        .delete(dn)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match result.rc {
        rc::SUCCESS | rc::NO_SUCH_OBJECT | rc::NOT_ALLOWED_ON_NON_LEAF => Ok(result.rc),
        _ => Err(source.connection.failed("delete", dn, &result)),
    }
}

async fn delete_below(source: &Source, dn: &Dn) -> Result<(), ProviderError> {
    let mut below: Vec<Dn> = Vec::new();
    let mut pages = source
        .connection
        .search(
            &dn.to_string(),
            Scope::OneLevel,
            "(objectClass=*)",
            &["1.1"],
            source.config.page_size(),
        )
        .await?;
    while let Some(page) = pages.next().await? {
        below.extend(page.iter().filter_map(|e| Dn::parse(&e.dn)));
    }
    for child in below {
        if delete_one(source, &child.to_string()).await? == rc::NOT_ALLOWED_ON_NON_LEAF {
            Box::pin(delete_below(source, &child)).await?;
            delete_one(source, &child.to_string()).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, &[&str])]) -> Values {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    n.to_ascii_lowercase(),
                    (
                        n.to_string(),
                        v.iter().map(|s| s.as_bytes().to_vec()).collect(),
                    ),
                )
            })
            .collect()
    }

    #[test]
    fn modifications_are_minimal() {
        let desired = vals(&[
            ("cn", &["Ada"]),
            ("mail", &["a@x", "b@x"]),
            ("title", &["Eng"]),
        ]);
        let live = vals(&[
            ("cn", &["Ada"]),
            ("mail", &["b@x", "c@x"]),
            ("description", &["x"]),
        ]);
        let mods = modifications(&desired, &live, Flavor::OpenLdap);
        let text: Vec<String> = mods
            .iter()
            .map(|m| match m {
                Mod::Add(n, v) => format!("add {} {}", String::from_utf8_lossy(n), v.len()),
                Mod::Delete(n, v) => format!("delete {} {}", String::from_utf8_lossy(n), v.len()),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(
            text,
            [
                "delete description 0",
                "add mail 1",
                "delete mail 1",
                "add title 1"
            ]
        );
        assert!(modifications(&desired, &desired, Flavor::OpenLdap).is_empty());
        let ad = modifications(
            &vals(&[
                ("cn", &["Ada"]),
                ("objectSid", &["S-2"]),
                ("mail", &["a@x"]),
            ]),
            &vals(&[
                ("cn", &["Ada"]),
                ("objectSid", &["S-1"]),
                ("mail", &["b@x"]),
            ]),
            Flavor::ActiveDirectory,
        );
        assert!(
            matches!(&ad[..], [Mod::Replace(n, v)] if n == b"mail" && v.len() == 1),
            "the SID is never written, a changed value is replaced"
        );
    }

    #[test]
    fn a_group_of_names_gets_itself_as_member_until_its_memberships_come_back() {
        let dn = "cn=eng,ou=groups,dc=example,dc=org";
        let mut attrs = vec![(
            b"objectClass".to_vec(),
            HashSet::from([b"groupOfNames".to_vec()]),
        )];
        assert!(placeholder_member(&mut attrs, dn));
        assert_eq!(
            attrs[1],
            (b"member".to_vec(), HashSet::from([dn.as_bytes().to_vec()]))
        );
        let mut posix = vec![(
            b"objectClass".to_vec(),
            HashSet::from([b"posixGroup".to_vec()]),
        )];
        assert!(!placeholder_member(&mut posix, dn));
        assert_eq!(posix.len(), 1);
        assert!(is_uuid("eaeef6c8-8586-1041-82cc-f3bc4d04065b"));
        assert!(!is_uuid("uid=ada"));
    }
}
