//! Canonical JSON: object keys sorted, no insignificant whitespace, so that identical state
//! always gives identical bytes whatever order a provider returned fields in.

use serde_json::Value;

/// Puts `value` in canonical form: every object's keys in sorted order.
///
/// `serde_json` keeps insertion order when any crate in the build enables its `preserve_order`
/// feature, so sorting is asked for explicitly rather than relied upon; without that feature
/// maps are always sorted and this does no work.
pub fn normalize(mut value: Value) -> Value {
    value.sort_all_objects();
    value
}

/// Serializes `value` canonically: sorted keys, compact.
pub fn to_string(value: &Value) -> String {
    let mut out = Vec::with_capacity(512);
    write_value(value, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes `value` canonically into one buffer: keys and scalars go straight through
/// serde_json's writer, without a `String` (and a cloned key) allocated for each, which made
/// this the hottest spot of a large backup. Objects whose keys are already in order (all of
/// them unless `preserve_order` is on) are written without collecting their entries.
pub(crate) fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            if map.keys().is_sorted() {
                write_entries(map.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                write_entries(entries.into_iter(), out);
            }
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(v, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_scalar(k.as_str(), out);
        out.push(b':');
        write_value(v, out);
    }
    out.push(b'}');
}

/// Writes a string or other scalar as JSON (quoted and escaped for a string).
pub(crate) fn write_scalar(value: &(impl serde::Serialize + ?Sized), out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, value).expect("writing JSON to memory cannot fail");
}

/// Removes the named top-level and nested fields (dot-separated paths) from an object.
/// Used by connectors to drop volatile fields such as `lastLogin` or `_links`.
pub fn drop_fields(value: &mut Value, paths: &[&str]) {
    for path in paths {
        let mut parts = path.split('.').peekable();
        let mut cursor = &mut *value;
        while let Some(part) = parts.next() {
            let Value::Object(map) = cursor else { break };
            if parts.peek().is_none() {
                map.remove(part);
                break;
            }
            match map.get_mut(part) {
                Some(next) => cursor = next,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_nested_keys_and_escapes_strings() {
        let v = json!({"b": [{"d": 1, "c": "x\"y"}], "a": null});
        assert_eq!(to_string(&v), r#"{"a":null,"b":[{"c":"x\"y","d":1}]}"#);
    }

    #[test]
    fn drops_nested_volatile_fields() {
        let mut v = json!({"_links": {}, "profile": {"lastLogin": 1, "name": "a"}, "id": "1"});
        drop_fields(&mut v, &["_links", "profile.lastLogin", "missing.path"]);
        assert_eq!(v, json!({"profile": {"name": "a"}, "id": "1"}));
    }
}
