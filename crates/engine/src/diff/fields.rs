//! Field-level comparison of two records: which JSON-pointer paths changed, old → new.

use std::collections::BTreeMap;

use iamsnap_provider::{Record, Ref};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

/// One changed field of a record.
///
/// `path` is an RFC 6901 JSON pointer into the record: `/key`, `/attrs/profile/email`, or
/// `/refs/<rel>` for the set of targets a record points to with relation `rel`. An absent
/// `old` (or `new`) means the field does not exist on that side; JSON `null` is a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub old: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub new: Option<Value>,
}

/// A field that is present is `Some`, even when its value is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Escapes one reference token of a JSON pointer (RFC 6901: `~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    if !token.contains(['~', '/']) {
        return token.to_string();
    }
    token.replace('~', "~0").replace('/', "~1")
}

/// Every field that differs between `old` and `new`: key, attrs (recursively) and refs.
pub fn field_changes(old: &Record, new: &Record) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if old.key != new.key {
        out.push(FieldChange {
            path: "/key".into(),
            old: Some(Value::String(old.key.clone())),
            new: Some(Value::String(new.key.clone())),
        });
    }
    compare_values("/attrs", Some(&old.attrs), Some(&new.attrs), &mut out);
    compare_refs(&old.refs, &new.refs, &mut out);
    out
}

/// Compares two JSON values under `path`. Objects recurse key by key; arrays of equal length
/// recurse index by index; anything else that differs is reported whole.
pub fn compare_values(
    path: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    if old == new {
        return;
    }
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => compare_objects(path, a, b, out),
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y) {
                compare_values(&format!("{path}/{i}"), Some(x), Some(y), out);
            }
        }
        (a, b) => out.push(FieldChange {
            path: path.to_string(),
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

fn compare_objects(
    path: &str,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (x, y) = (a.get(key), b.get(key));
        if x != y {
            let child = format!("{path}/{}", escape_token(key));
            compare_values(&child, x, y, out);
        }
    }
}

fn compare_refs(old: &[Ref], new: &[Ref], out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    let by_rel = |refs: &[Ref]| {
        let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in refs {
            map.entry(r.rel.clone())
                .or_default()
                .push(json!({"kind": r.kind, "id": r.id}));
        }
        map
    };
    let (a, b) = (by_rel(old), by_rel(new));
    let mut rels: Vec<&String> = a.keys().chain(b.keys()).collect();
    rels.sort();
    rels.dedup();
    for rel in rels {
        let (x, y) = (a.get(rel), b.get(rel));
        if x != y {
            out.push(FieldChange {
                path: format!("/refs/{}", escape_token(rel)),
                old: x.map(|v| Value::Array(v.clone())),
                new: y.map(|v| Value::Array(v.clone())),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, attrs: Value, refs: Vec<Ref>) -> Record {
        Record::new("t.user", "1", key, attrs, refs)
    }

    #[test]
    fn escapes_pointer_tokens() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(escape_token("plain"), "plain");
    }

    #[test]
    fn reports_nested_added_removed_and_changed_fields() {
        let a = rec(
            "k",
            json!({"p": {"x": 1, "gone": true, "a/b": "s"}, "list": [1, 2]}),
            vec![],
        );
        let b = rec(
            "k2",
            json!({"p": {"x": 2, "new": null, "a/b": "t"}, "list": [1, 2, 3]}),
            vec![],
        );
        let paths: Vec<(String, Option<Value>, Option<Value>)> = field_changes(&a, &b)
            .into_iter()
            .map(|c| (c.path, c.old, c.new))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("/key".into(), Some(json!("k")), Some(json!("k2"))),
                (
                    "/attrs/list".into(),
                    Some(json!([1, 2])),
                    Some(json!([1, 2, 3]))
                ),
                ("/attrs/p/a~1b".into(), Some(json!("s")), Some(json!("t"))),
                ("/attrs/p/gone".into(), Some(json!(true)), None),
                ("/attrs/p/new".into(), None, Some(Value::Null)),
                ("/attrs/p/x".into(), Some(json!(1)), Some(json!(2))),
            ]
        );
    }

    #[test]
    fn reports_refs_by_relation() {
        let a = rec("k", json!({}), vec![Ref::new("member", "t.group", "g1")]);
        let b = rec(
            "k",
            json!({}),
            vec![
                Ref::new("member", "t.group", "g2"),
                Ref::new("owner", "t.user", "u1"),
            ],
        );
        let changes = field_changes(&a, &b);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].path, "/refs/member");
        assert_eq!(
            changes[0].old,
            Some(json!([{"kind": "t.group", "id": "g1"}]))
        );
        assert_eq!(changes[1].path, "/refs/owner");
        assert_eq!(changes[1].old, None);
    }

    #[test]
    fn null_survives_a_round_trip() {
        let c = FieldChange {
            path: "/attrs/x".into(),
            old: Some(Value::Null),
            new: None,
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(text, r#"{"path":"/attrs/x","old":null}"#);
        assert_eq!(serde_json::from_str::<FieldChange>(&text).unwrap(), c);
    }
}
