//! The record model: every object of every provider is a [`Record`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One object of an identity provider, in canonical form.
///
/// Relationships (group membership, policy attachment, app assignment) are records of their own
/// kind, so a removed membership is an ordinary diff entry and an ordinary restore step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Provider-qualified type, e.g. `okta.user`, `aws.role`.
    pub kind: String,
    /// The provider's own identifier (Okta `00u…`, Entra object id, AWS unique id).
    pub id: String,
    /// The natural key that survives re-creation (login, group name, role name, DN).
    pub key: String,
    /// Provider-native JSON needed to recreate the object, volatile fields removed.
    pub attrs: Value,
    /// Typed edges to other records, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<Ref>,
}

/// A typed edge from one record to another, by the target's provider id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ref {
    /// What the edge means, e.g. `member`, `group`, `app`, `trusts`.
    pub rel: String,
    /// The target's kind.
    pub kind: String,
    /// The target's provider id at the time of the snapshot.
    pub id: String,
}

impl Ref {
    /// An edge `rel` to the record of `kind` with provider id `id`.
    pub fn new(rel: impl Into<String>, kind: impl Into<String>, id: impl Into<String>) -> Self {
        Ref {
            rel: rel.into(),
            kind: kind.into(),
            id: id.into(),
        }
    }
}

impl Record {
    /// Builds a record, putting `attrs` into canonical form and sorting `refs`.
    pub fn new(
        kind: impl Into<String>,
        id: impl Into<String>,
        key: impl Into<String>,
        attrs: Value,
        mut refs: Vec<Ref>,
    ) -> Self {
        refs.sort();
        refs.dedup();
        Record {
            kind: kind.into(),
            id: id.into(),
            key: key.into(),
            attrs: crate::canonical::normalize(attrs),
            refs,
        }
    }

    /// The record as one canonical JSON line (sorted keys, no trailing newline).
    ///
    /// Written field by field in sorted order, as serde would write the record through
    /// [`crate::canonical::to_string`], without first copying it into a `Value` tree.
    pub fn to_canonical_json(&self) -> String {
        use crate::canonical::{write_scalar, write_value};
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"attrs\":");
        write_value(&self.attrs, &mut out);
        out.extend_from_slice(b",\"id\":");
        write_scalar(self.id.as_str(), &mut out);
        out.extend_from_slice(b",\"key\":");
        write_scalar(self.key.as_str(), &mut out);
        out.extend_from_slice(b",\"kind\":");
        write_scalar(self.kind.as_str(), &mut out);
        if !self.refs.is_empty() {
            out.extend_from_slice(b",\"refs\":[");
            for (i, r) in self.refs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"id\":");
                write_scalar(r.id.as_str(), &mut out);
                out.extend_from_slice(b",\"kind\":");
                write_scalar(r.kind.as_str(), &mut out);
                out.extend_from_slice(b",\"rel\":");
                write_scalar(r.rel.as_str(), &mut out);
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// The first ref with relation `rel`, if any.
    pub fn target(&self, rel: &str) -> Option<&Ref> {
        self.refs.iter().find(|r| r.rel == rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_line_sorts_keys_and_refs() {
        let record = Record::new(
            "okta.user",
            "00u1",
            "ada@example.com",
            json!({"z": 1, "a": {"y": 2, "b": 3}}),
            vec![
                Ref::new("member", "okta.group", "00g2"),
                Ref::new("member", "okta.group", "00g1"),
            ],
        );
        assert_eq!(
            record.to_canonical_json(),
            r#"{"attrs":{"a":{"b":3,"y":2},"z":1},"id":"00u1","key":"ada@example.com","kind":"okta.user","refs":[{"id":"00g1","kind":"okta.group","rel":"member"},{"id":"00g2","kind":"okta.group","rel":"member"}]}"#
        );
        let back: Record = serde_json::from_str(&record.to_canonical_json()).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn canonical_line_is_the_canonical_form_of_the_serialized_record() {
        for refs in [vec![], vec![Ref::new("m\"e", "okta.group", "00g\n1")]] {
            let record = Record::new(
                "okta.user",
                "00u\u{e9}1",
                "a\"da@example.com",
                json!({"z": [1, {"b": null, "a": "x\\y"}], "a": true}),
                refs,
            );
            let via_value = crate::canonical::to_string(&serde_json::to_value(&record).unwrap());
            assert_eq!(record.to_canonical_json(), via_value);
        }
    }
}
