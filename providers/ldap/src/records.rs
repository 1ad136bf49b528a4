//! Directory entries → records, pure and unit-tested.
//!
//! An entry's record holds its attributes as `attributes` (text values, sorted) and `binary`
//! (base64 values, sorted); what the server maintains itself (`entryUUID`, timestamps,
//! `memberOf`) is left out, and so is `userPassword` unless `read_password_hashes` is on, in
//! which case `password` says a hash existed but was not saved. A group's member values are
//! records of their own (`ldap.membership`), so that one membership restores on its own.
//!
//! On Active Directory the id is the `objectGUID` as text, attributes the schema marks
//! system-only are left out (see [`crate::schema`]), `objectSid` is kept (binary), and the
//! domain object keeps only its password, lockout and group policy settings.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use iamsnap_provider::{Record, Ref};
use serde_json::{Map, Value, json};

use crate::client::Entry;
use crate::dn::{Dn, key_of};
use crate::flavor::Flavor;
use crate::kinds::{self, DOMAIN, GROUP, MEMBER_ATTRIBUTES, MEMBERSHIP};
use crate::schema::Schema;

/// Attributes whose values are binary whatever bytes they hold (their syntax is binary or
/// octet string in every schema that defines them).
const BINARY: &[&str] = &[
    "jpegphoto",
    "photo",
    "audio",
    "usercertificate",
    "cacertificate",
    "certificaterevocationlist",
    "authorityrevocationlist",
    "crosscertificatepair",
    "usersmimecertificate",
    "userpkcs12",
    "objectguid",
    "objectsid",
];

/// The settings of an Active Directory domain a record keeps: its password and lockout
/// policy, how many computers a user may join, and its group policy links. The domain
/// object's other attributes are the domain controller's own bookkeeping.
const DOMAIN_SETTINGS: &[&str] = &[
    "minpwdlength",
    "minpwdage",
    "maxpwdage",
    "pwdhistorylength",
    "pwdproperties",
    "lockoutthreshold",
    "lockoutduration",
    "lockoutobservationwindow",
    "forcelogoff",
    "ms-ds-machineaccountquota",
    "gplink",
    "gpoptions",
    "description",
];

/// Attributes naming other entries that must exist before the entry holding them is added
/// (Active Directory refuses a DN that names nothing): each value becomes a ref, named after
/// the attribute, so that a restore adds the named entry first.
pub const REFERENCES: &[&str] = &["manager", "managedby", "msds-psoappliesto"];

/// What `password` says of an entry whose hash was left out of the backup.
pub const PASSWORD_NOT_SAVED: &str = "not saved";

/// Where entries are: the id and kind of every entry of the directory by folded DN.
pub trait Directory: Sync {
    fn lookup(&self, folded_dn: &str) -> Option<(String, &'static str)>;
}

impl Directory for HashMap<String, (String, &'static str)> {
    fn lookup(&self, folded_dn: &str) -> Option<(String, &'static str)> {
        self.get(folded_dn).cloned()
    }
}

/// How entries become records.
pub struct Context<'a> {
    pub base: &'a Dn,
    pub flavor: Flavor,
    pub read_password_hashes: bool,
    pub directory: &'a dyn Directory,
    pub schema: &'a Schema,
}

/// The attribute's name without options, in lower case: `cn;lang-fr` → `cn`.
pub fn base_name(attribute: &str) -> String {
    attribute
        .split(';')
        .next()
        .unwrap_or(attribute)
        .to_ascii_lowercase()
}

/// The text form of an `objectGUID` (16 bytes, its first three fields little-endian), as
/// Active Directory's tools and the names of deleted objects (`CN=x\0ADEL:GUID`) show it.
pub fn guid_text(bytes: &[u8]) -> Option<String> {
    let b: [u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The bytes of an `objectGUID` from its text form, escaped for a search filter.
pub fn guid_filter_value(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| &hex[2 * i..2 * i + 2];
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    Some(order.iter().map(|&i| format!("\\{}", byte(i))).collect())
}

/// The id of `entry`: its `entryUUID` (or `objectGUID` as text), else its folded DN.
pub fn id_of(entry: &Entry, flavor: Flavor) -> String {
    let attribute = flavor.id_attribute();
    match entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
    {
        Some((_, values)) if flavor == Flavor::ActiveDirectory => values
            .first()
            .map(|v| guid_text(v).unwrap_or_else(|| STANDARD.encode(v)))
            .unwrap_or_default(),
        Some((_, values)) => values
            .first()
            .and_then(|v| String::from_utf8(v.clone()).ok())
            .unwrap_or_default(),
        None => Dn::parse(&entry.dn).map_or_else(|| entry.dn.clone(), |d| d.folded()),
    }
}

/// The object classes of `entry`, in lower case.
pub fn object_classes(entry: &Entry) -> Vec<String> {
    entry
        .text("objectClass")
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The record of `entry` and, for a group, one record per member value. Empty for an entry
/// whose DN cannot be parsed or lies outside `base_dn`.
pub fn entry_records(entry: &Entry, ctx: &Context) -> Vec<Record> {
    let Some(dn) = Dn::parse(&entry.dn).filter(|d| d.is_under(ctx.base)) else {
        return Vec::new();
    };
    let kind = kinds::kind_of(&object_classes(entry));
    let id = id_of(entry, ctx.flavor);
    let key = key_of(&dn, ctx.base);
    let mut refs = Vec::new();
    if let Some(parent) = dn.parent().filter(|p| p.is_under(ctx.base))
        && let Some((pid, pkind)) = ctx.directory.lookup(&parent.folded())
    {
        refs.push(Ref::new("parent", pkind, pid));
    }
    for (name, values) in &entry.attrs {
        let name = base_name(name);
        if !REFERENCES.contains(&name.as_str()) {
            continue;
        }
        for value in values.iter().filter_map(|v| std::str::from_utf8(v).ok()) {
            if let Some((rid, rkind)) =
                Dn::parse(value).and_then(|d| ctx.directory.lookup(&d.folded()))
            {
                refs.push(Ref::new(&name, rkind, rid));
            }
        }
    }
    let members = kind == GROUP;
    let attrs = attributes(entry, ctx, members);
    let mut out = vec![Record::new(kind, &id, &key, attrs, refs)];
    if members {
        out.extend(memberships(entry, &id, &key, ctx));
    }
    out
}

/// The entry's attributes as a record's `attrs` (see the module's documentation). Member
/// values are left out when they are records of their own (`without_members`).
pub fn attributes(entry: &Entry, ctx: &Context, without_members: bool) -> Value {
    let mut text = Map::new();
    let mut binary = Map::new();
    let mut password_left_out = false;
    let domain = kinds::kind_of(&object_classes(entry)) == DOMAIN;
    for (name, values) in &entry.attrs {
        let base = base_name(name);
        if ctx.flavor.maintains(&base)
            || ctx.schema.is_system_only(&base)
            || (domain && !DOMAIN_SETTINGS.contains(&base.as_str()))
            || (without_members && MEMBER_ATTRIBUTES.contains(&base.as_str()))
            || values.is_empty()
        {
            continue;
        }
        if base == "userpassword" && !ctx.read_password_hashes {
            password_left_out = true;
            continue;
        }
        let as_text: Option<Vec<String>> =
            if BINARY.contains(&base.as_str()) || ctx.schema.is_binary(&base) {
                None
            } else {
                values
                    .iter()
                    .map(|v| String::from_utf8(v.clone()).ok())
                    .collect()
            };
        match as_text {
            Some(mut v) => {
                v.sort();
                text.insert(name.clone(), json!(v));
            }
            None => {
                let mut v: Vec<String> = values.iter().map(|v| STANDARD.encode(v)).collect();
                v.sort();
                binary.insert(name.clone(), json!(v));
            }
        }
    }
    let mut attrs = Map::new();
    attrs.insert("attributes".into(), Value::Object(text));
    if !binary.is_empty() {
        attrs.insert("binary".into(), Value::Object(binary));
    }
    if password_left_out {
        attrs.insert("password".into(), json!(PASSWORD_NOT_SAVED));
    }
    Value::Object(attrs)
}

/// One record per value of the group's `member`, `uniqueMember` and `memberUid`.
fn memberships(entry: &Entry, group_id: &str, group_key: &str, ctx: &Context) -> Vec<Record> {
    let mut out = Vec::new();
    for (name, values) in &entry.attrs {
        let base = base_name(name);
        if !MEMBER_ATTRIBUTES.contains(&base.as_str()) {
            continue;
        }
        for value in values {
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            let mut refs = vec![Ref::new("group", GROUP, group_id)];
            let (member_key, member_id) = if base == "memberuid" {
                (value.replace('|', "\\7c"), value.to_string())
            } else {
                let Some(member) = Dn::parse(value) else {
                    continue;
                };
                let member_key = key_of(&member, ctx.base);
                match ctx.directory.lookup(&member.folded()) {
                    Some((mid, mkind)) => {
                        refs.push(Ref::new("member", mkind, &mid));
                        (member_key, mid)
                    }
                    // A member that does not exist (a dangling value): named by its key.
                    None => (member_key.clone(), member_key),
                }
            };
            out.push(Record::new(
                MEMBERSHIP,
                format!("{group_id}|{member_id}"),
                format!("{group_key}|{member_key}"),
                json!({ "attribute": name }),
                refs,
            ));
        }
    }
    out
}

/// An attribute's name and values, as the wire carries them.
pub type Attribute = (String, Vec<Vec<u8>>);

/// The values of a record's attributes as bytes, by attribute name: text as it is, binary
/// decoded.
pub fn values_of(attrs: &Value) -> Result<Vec<Attribute>, String> {
    let mut out = Vec::new();
    if let Some(text) = attrs.get("attributes").and_then(Value::as_object) {
        for (name, values) in text {
            let values = strings(values)
                .into_iter()
                .map(String::into_bytes)
                .collect();
            out.push((name.clone(), values));
        }
    }
    if let Some(binary) = attrs.get("binary").and_then(Value::as_object) {
        for (name, values) in binary {
            let values = strings(values)
                .iter()
                .map(|v| {
                    STANDARD
                        .decode(v)
                        .map_err(|e| format!("{name}: not base64: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            out.push((name.clone(), values));
        }
    }
    Ok(out)
}

fn strings(values: &Value) -> Vec<String> {
    values
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str, attrs: &[(&str, &[&[u8]])]) -> Entry {
        Entry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|b| b.to_vec()).collect()))
                .collect(),
        }
    }

    fn directory() -> HashMap<String, (String, &'static str)> {
        HashMap::from([
            (
                "ou=people,dc=example,dc=org".into(),
                ("u-people".into(), kinds::CONTAINER),
            ),
            (
                "ou=groups,dc=example,dc=org".into(),
                ("u-groups".into(), kinds::CONTAINER),
            ),
            (
                "uid=ada,ou=people,dc=example,dc=org".into(),
                ("u-ada".into(), kinds::USER),
            ),
            (
                "cn=ops,ou=groups,dc=example,dc=org".into(),
                ("u-ops".into(), GROUP),
            ),
        ])
    }

    #[test]
    fn a_user_keeps_its_attributes_not_what_the_server_maintains() {
        let base = Dn::parse("dc=example,dc=org").unwrap();
        let dir = directory();
        let ctx = Context {
            base: &base,
            flavor: Flavor::OpenLdap,
            read_password_hashes: false,
            directory: &dir,
            schema: &Schema::default(),
        };
        let ada = entry(
            "uid=ada,ou=People,dc=example,dc=org",
            &[
                ("objectClass", &[b"top", b"inetOrgPerson"]),
                ("cn", &[b"Ada"]),
                ("mail", &[b"b@x", b"a@x"]),
                ("entryUUID", &[b"u-ada"]),
                ("modifyTimestamp", &[b"20260101000000Z"]),
                ("memberOf", &[b"cn=ops,ou=groups,dc=example,dc=org"]),
                ("userPassword", &[b"{SSHA}abc"]),
                ("jpegPhoto", &[&[0xff, 0xd8, 0x00]]),
            ],
        );
        let records = entry_records(&ada, &ctx);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(
            (r.kind.as_str(), r.id.as_str(), r.key.as_str()),
            (kinds::USER, "u-ada", "uid=ada,ou=People")
        );
        assert_eq!(
            r.attrs,
            json!({
                "attributes": {"objectClass": ["inetOrgPerson", "top"], "cn": ["Ada"], "mail": ["a@x", "b@x"]},
                "binary": {"jpegPhoto": ["/9gA"]},
                "password": "not saved"
            })
        );
        assert_eq!(
            r.refs,
            vec![Ref::new("parent", kinds::CONTAINER, "u-people")]
        );
        let back = values_of(&r.attrs).unwrap();
        assert!(back.contains(&("jpegPhoto".into(), vec![vec![0xff, 0xd8, 0x00]])));

        let ctx = Context {
            read_password_hashes: true,
            ..ctx
        };
        let with_hash = &entry_records(&ada, &ctx)[0];
        assert_eq!(
            with_hash.attrs["attributes"]["userPassword"],
            json!(["{SSHA}abc"])
        );
        assert!(with_hash.attrs.get("password").is_none());
    }

    #[test]
    fn a_groups_members_are_records_of_their_own() {
        let base = Dn::parse("dc=example,dc=org").unwrap();
        let dir = directory();
        let ctx = Context {
            base: &base,
            flavor: Flavor::OpenLdap,
            read_password_hashes: false,
            directory: &dir,
            schema: &Schema::default(),
        };
        let group = entry(
            "cn=eng,ou=groups,dc=example,dc=org",
            &[
                ("objectClass", &[b"groupOfNames"]),
                ("cn", &[b"eng"]),
                ("entryUUID", &[b"u-eng"]),
                (
                    "member",
                    &[
                        b"uid=ada,ou=people,dc=example,dc=org",
                        b"cn=ops,ou=groups,dc=example,dc=org",
                        b"cn=gone,dc=example,dc=org",
                    ],
                ),
            ],
        );
        let records = entry_records(&group, &ctx);
        assert_eq!(
            records[0].attrs["attributes"],
            json!({"objectClass": ["groupOfNames"], "cn": ["eng"]})
        );
        let members: Vec<(&str, &str)> = records[1..]
            .iter()
            .map(|r| (r.id.as_str(), r.key.as_str()))
            .collect();
        assert_eq!(
            members,
            [
                ("u-eng|u-ada", "cn=eng,ou=groups|uid=ada,ou=people"),
                ("u-eng|u-ops", "cn=eng,ou=groups|cn=ops,ou=groups"),
                ("u-eng|cn=gone", "cn=eng,ou=groups|cn=gone"),
            ]
        );
        assert!(
            records[2]
                .refs
                .contains(&Ref::new("member", GROUP, "u-ops"))
        );
        assert_eq!(records[1].attrs, json!({"attribute": "member"}));
    }
}
