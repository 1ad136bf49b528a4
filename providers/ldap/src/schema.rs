//! What the server's schema says of attributes, read once per source: which hold binary
//! values (saved base64-encoded whatever bytes they happen to hold) and, on Active Directory,
//! which only the system writes (left out of records: a restore could never set them).
//!
//! OpenLDAP and other LDAPv3 servers publish their schema in the subschema subentry
//! (`attributeTypes`, RFC 4512); Active Directory in `attributeSchema` entries under its
//! schema naming context (`attributeSyntax`, `systemOnly`, `systemFlags`).

use std::collections::HashSet;

use iamsnap_provider::ProviderError;
use ldap3::Scope;

use crate::Source;
use crate::flavor::Flavor;

/// Syntaxes (RFC 4517 and RFC 4523 OIDs) whose values are bytes, not text: octet string,
/// binary, JPEG, audio, fax, certificate, certificate list and pair, supported algorithm.
const BINARY_SYNTAXES: &[&str] = &[
    "1.3.6.1.4.1.1466.115.121.1.40",
    "1.3.6.1.4.1.1466.115.121.1.5",
    "1.3.6.1.4.1.1466.115.121.1.28",
    "1.3.6.1.4.1.1466.115.121.1.4",
    "1.3.6.1.4.1.1466.115.121.1.23",
    "1.3.6.1.4.1.1466.115.121.1.8",
    "1.3.6.1.4.1.1466.115.121.1.9",
    "1.3.6.1.4.1.1466.115.121.1.10",
    "1.3.6.1.4.1.1466.115.121.1.49",
];

/// Active Directory syntaxes of bytes: octet string (2.5.5.10, `objectGUID` among them), NT
/// security descriptor (2.5.5.15) and SID (2.5.5.17).
const AD_BINARY_SYNTAXES: &[&str] = &["2.5.5.10", "2.5.5.15", "2.5.5.17"];

/// `systemFlags` bit of an attribute the server computes on every read (FLAG_ATTR_IS_CONSTRUCTED).
const CONSTRUCTED: i64 = 0x4;

/// Attributes only the system writes that a record keeps all the same: `objectClass` makes
/// the entry, `objectSid` is what every ACL names (a restore never writes it).
const KEPT: &[&str] = &["objectclass", "objectsid"];

/// What a source's schema says, by lower-case attribute name.
#[derive(Debug, Default, Clone)]
pub struct Schema {
    pub binary: HashSet<String>,
    pub system_only: HashSet<String>,
}

impl Schema {
    pub fn is_binary(&self, attribute: &str) -> bool {
        self.binary.contains(attribute)
    }

    pub fn is_system_only(&self, attribute: &str) -> bool {
        self.system_only.contains(attribute)
    }
}

/// The schema of `source`'s server, read on first use.
pub(crate) async fn of(source: &Source, flavor: Flavor) -> Result<&Schema, ProviderError> {
    source
        .schema
        .get_or_try_init(async || match flavor {
            Flavor::ActiveDirectory => active_directory(source).await,
            _ => subschema(source).await,
        })
        .await
}

async fn active_directory(source: &Source) -> Result<Schema, ProviderError> {
    let dse = source
        .connection
        .read("", &["schemaNamingContext"])
        .await?
        .unwrap_or_default();
    let Some(naming_context) = dse.text("schemaNamingContext").into_iter().next() else {
        return Ok(Schema::default());
    };
    let mut schema = Schema::default();
    let mut pages = source
        .connection
        .search(
            &naming_context,
            Scope::OneLevel,
            "(objectClass=attributeSchema)",
            &[
                "lDAPDisplayName",
                "attributeSyntax",
                "systemOnly",
                "systemFlags",
            ],
            source.config.page_size(),
        )
        .await?;
    while let Some(page) = pages.next().await? {
        for entry in page {
            let Some(name) = entry.text("lDAPDisplayName").into_iter().next() else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            let syntax = entry.text("attributeSyntax");
            if syntax
                .iter()
                .any(|s| AD_BINARY_SYNTAXES.contains(&s.as_str()))
            {
                schema.binary.insert(name.clone());
            }
            let system_only = entry.text("systemOnly").iter().any(|v| v == "TRUE");
            let constructed = entry
                .text("systemFlags")
                .iter()
                .filter_map(|f| f.parse::<i64>().ok())
                .any(|f| f & CONSTRUCTED != 0);
            if (system_only || constructed) && !KEPT.contains(&name.as_str()) {
                schema.system_only.insert(name);
            }
        }
    }
    Ok(schema)
}

async fn subschema(source: &Source) -> Result<Schema, ProviderError> {
    let dse = source
        .connection
        .read("", &["subschemaSubentry"])
        .await?
        .unwrap_or_default();
    let Some(subentry) = dse.text("subschemaSubentry").into_iter().next() else {
        return Ok(Schema::default());
    };
    // A server that hides its schema from the bind account still backs up: values that are
    // not UTF-8 are saved as binary anyway.
    let Ok(Some(entry)) = source.connection.read(&subentry, &["attributeTypes"]).await else {
        return Ok(Schema::default());
    };
    let mut schema = Schema::default();
    for definition in entry.text("attributeTypes") {
        let (names, syntax) = parse_attribute_type(&definition);
        if syntax.is_some_and(|s| BINARY_SYNTAXES.contains(&s.as_str())) {
            // userPassword is an octet string by syntax, but every server stores a text hash
            // (`{SSHA}…`) in it: saved as text, as an operator reads it.
            schema
                .binary
                .extend(names.into_iter().filter(|n| n != "userpassword"));
        }
    }
    Ok(schema)
}

/// The names (lower case) and syntax OID of an RFC 4512 AttributeTypeDescription such as
/// `( 0.9.2342.19200300.100.1.60 NAME 'jpegPhoto' SYNTAX 1.3.6.1.4.1.1466.115.121.1.28 )`.
/// A type that inherits its syntax (`SUP`) without naming one gives `None`.
fn parse_attribute_type(definition: &str) -> (Vec<String>, Option<String>) {
    let tokens: Vec<&str> = definition
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
        .collect();
    let mut names = Vec::new();
    let mut syntax = None;
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "NAME" => {
                i += 1;
                while i < tokens.len() && tokens[i].starts_with('\'') {
                    names.push(tokens[i].trim_matches('\'').to_ascii_lowercase());
                    i += 1;
                }
                continue;
            }
            "SYNTAX" => {
                if let Some(oid) = tokens.get(i + 1) {
                    // A length bound may follow the OID: `1.3.6.1.4.1.1466.115.121.1.15{32768}`.
                    syntax = Some(oid.split('{').next().unwrap_or(oid).to_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    (names, syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attribute_type_gives_its_names_and_syntax() {
        let (names, syntax) = parse_attribute_type(
            "( 0.9.2342.19200300.100.1.60 NAME 'jpegPhoto' DESC 'RFC2798: a JPEG image' SYNTAX 1.3.6.1.4.1.1466.115.121.1.28 )",
        );
        assert_eq!(names, ["jpegphoto"]);
        assert_eq!(syntax.as_deref(), Some("1.3.6.1.4.1.1466.115.121.1.28"));
        let (names, syntax) =
            parse_attribute_type("( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519' SUP name )");
        assert_eq!(names, ["cn", "commonname"]);
        assert_eq!(syntax, None);
        let (_, syntax) = parse_attribute_type(
            "( 2.5.4.35 NAME 'userPassword' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40{128} )",
        );
        assert_eq!(syntax.as_deref(), Some("1.3.6.1.4.1.1466.115.121.1.40"));
    }
}
