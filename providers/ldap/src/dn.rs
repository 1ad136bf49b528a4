//! Distinguished names as keys: parsed into RDNs, attribute types in lower case and spaces
//! around separators removed, so that one entry always gets one key; relative to `base_dn`, so
//! that a backup restores into a directory with another suffix.

use std::fmt;

/// A parsed DN: its RDNs from the entry up to the root. Values keep their escapes and case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dn {
    rdns: Vec<String>,
}

/// The key of the base entry itself.
pub const BASE_KEY: &str = ".";
/// How a key names an entry outside `base_dn` (a member from another subtree): as an LDAP URL.
const OUTSIDE: &str = "ldap:///";

impl Dn {
    /// Parses `text`; `None` when a component has no `=`. The empty string is the root DSE.
    pub fn parse(text: &str) -> Option<Dn> {
        let text = text.trim();
        if text.is_empty() {
            return Some(Dn { rdns: Vec::new() });
        }
        let rdns = split_unescaped(text, ',')
            .into_iter()
            .map(|rdn| {
                let avas: Option<Vec<String>> = split_unescaped(rdn, '+')
                    .into_iter()
                    .map(|ava| {
                        let (ty, value) = ava.split_once('=')?;
                        let ty = ty.trim();
                        (!ty.is_empty())
                            .then(|| format!("{}={}", ty.to_ascii_lowercase(), trim_value(value)))
                    })
                    .collect();
                avas.map(|a| a.join("+"))
            })
            .collect::<Option<Vec<String>>>()?;
        Some(Dn { rdns })
    }

    pub fn is_root(&self) -> bool {
        self.rdns.is_empty()
    }

    /// The DN in lower case, for comparisons: attribute values of names are matched without
    /// regard to case by every naming attribute in use (cn, ou, uid, dc, o).
    pub fn folded(&self) -> String {
        self.to_string().to_lowercase()
    }

    fn folded_rdns(&self) -> Vec<String> {
        self.rdns.iter().map(|r| r.to_lowercase()).collect()
    }

    /// True when `self` is `base` or below it.
    pub fn is_under(&self, base: &Dn) -> bool {
        self.relative_to(base).is_some()
    }

    /// The RDNs of `self` below `base` (empty for `base` itself).
    pub fn relative_to(&self, base: &Dn) -> Option<Dn> {
        let n = self.rdns.len().checked_sub(base.rdns.len())?;
        (self.folded_rdns()[n..] == base.folded_rdns()[..]).then(|| Dn {
            rdns: self.rdns[..n].to_vec(),
        })
    }

    /// `self` (relative) placed under `base`.
    pub fn under(&self, base: &Dn) -> Dn {
        Dn {
            rdns: self.rdns.iter().chain(&base.rdns).cloned().collect(),
        }
    }

    /// The first RDN.
    pub fn rdn(&self) -> Option<&str> {
        self.rdns.first().map(String::as_str)
    }

    /// The entry above; `None` for the root DSE.
    pub fn parent(&self) -> Option<Dn> {
        (!self.rdns.is_empty()).then(|| Dn {
            rdns: self.rdns[1..].to_vec(),
        })
    }

    /// The DN with its attribute types in upper case (`CN=Ada,OU=People,DC=example`), as
    /// Active Directory names its entries: an entry added or moved under this name is shown
    /// so in every attribute that references it.
    pub fn with_upper_types(&self) -> String {
        self.rdns
            .iter()
            .map(|rdn| {
                split_unescaped(rdn, '+')
                    .into_iter()
                    .map(|ava| match ava.split_once('=') {
                        Some((ty, value)) => format!("{}={value}", ty.to_ascii_uppercase()),
                        None => ava.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// How many RDNs deep the entry is.
    pub fn depth(&self) -> usize {
        self.rdns.len()
    }
}

impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rdns.join(","))
    }
}

/// The key of the entry `dn`: its DN relative to `base` (`uid=ada,ou=people`), `.` for `base`
/// itself, `ldap:///DN` for an entry outside `base`. A `|` in a value is written `\7c`, its
/// DN escape, since `|` separates the group from the member in membership keys.
pub fn key_of(dn: &Dn, base: &Dn) -> String {
    match dn.relative_to(base) {
        Some(rel) if rel.is_root() => BASE_KEY.to_string(),
        Some(rel) => rel.to_string().replace('|', "\\7c"),
        None => format!("{OUTSIDE}{}", dn.to_string().replace('|', "\\7c")),
    }
}

/// The DN a key names (see [`key_of`]).
pub fn dn_of_key(key: &str, base: &Dn) -> Option<Dn> {
    if key == BASE_KEY {
        return Some(base.clone());
    }
    if let Some(outside) = key.strip_prefix(OUTSIDE) {
        return Dn::parse(outside);
    }
    Dn::parse(key).map(|rel| rel.under(base))
}

/// Splits at every `sep` that is neither escaped with `\` nor inside double quotes.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped, mut quoted) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value without its surrounding spaces, except a trailing space that is escaped.
fn trim_value(value: &str) -> &str {
    let value = value.trim_start();
    let trimmed = value.trim_end();
    if trimmed.ends_with('\\') && trimmed.len() < value.len() {
        &value[..trimmed.len() + 1]
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> Dn {
        Dn::parse(s).unwrap()
    }

    #[test]
    fn one_entry_one_key() {
        let base = dn("dc=Example, DC=org");
        assert_eq!(
            key_of(&dn("UID=ada , ou=People,dc=example,dc=org"), &base),
            "uid=ada,ou=People"
        );
        assert_eq!(key_of(&dn("dc=example,dc=org"), &base), ".");
        assert_eq!(
            key_of(&dn("cn=admin,dc=other"), &base),
            "ldap:///cn=admin,dc=other"
        );
        assert_eq!(
            key_of(&dn(r"cn=a\,b|c,dc=example,dc=org"), &base),
            r"cn=a\,b\7cc"
        );
        assert_eq!(dn(r"cn=a\,b,dc=x").rdn(), Some(r"cn=a\,b"));
        assert_eq!(dn("cn=a+uid=b,dc=x").depth(), 2);
        assert!(Dn::parse("not a dn").is_none());
    }

    #[test]
    fn keys_name_their_dn_again() {
        let base = dn("dc=example,dc=org");
        for key in ["uid=ada,ou=People", ".", "ldap:///cn=admin,dc=other"] {
            let back = dn_of_key(key, &base).unwrap();
            assert_eq!(key_of(&back, &base), key);
        }
        assert_eq!(
            dn_of_key("uid=ada,ou=people", &base).unwrap().to_string(),
            "uid=ada,ou=people,dc=example,dc=org"
        );
        assert_eq!(
            dn("uid=a,ou=p,dc=x").parent().unwrap().to_string(),
            "ou=p,dc=x"
        );
        assert!(!dn("dc=org").is_under(&base));
        assert_eq!(
            dn(r"cn=Ada\,L+uid=a,ou=People,dc=example").with_upper_types(),
            r"CN=Ada\,L+UID=a,OU=People,DC=example"
        );
    }
}
