//! The group profile schema, each app's user schema and profile mappings, as records.
//!
//! The group schema is one record (key `default`); an app's user schema is keyed
//! `APP LABEL|default`, under its app. A profile mapping is keyed by its two sides, never by
//! ids: `user:TYPE -> app:LABEL` (Okta user profile to app user profile) or the reverse; a side
//! that is neither a user type nor an app the org lists is `TYPE:NAME` as the mapping gives it.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use super::{AppHead, cleaned, required, str_at};
use crate::kinds::*;

pub(crate) fn group_schema(v: Value) -> Record {
    let attrs = cleaned(v, &["$schema"]);
    Record::new(GROUP_SCHEMA, "default", "default", attrs, Vec::new())
}

pub(crate) fn app_schema_key(label: &str) -> String {
    format!("{label}|default")
}

/// An app's user schema, without its `name` (the app's own name, which Okta generates anew
/// for a re-created custom app).
pub(crate) fn app_user_schema(app: &AppHead, v: Value) -> Record {
    let attrs = cleaned(v, &["$schema", "name"]);
    Record::new(
        APP_USER_SCHEMA,
        &app.id,
        app_schema_key(&app.label),
        attrs,
        vec![Ref::new("app", APP, &app.id)],
    )
}

/// One side of a mapping, named and referenced: `user:TYPE` (a user type), `app:LABEL` (an
/// app), or `TYPE:NAME`.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    pub name: String,
    pub reference: Option<Ref>,
}

impl Side {
    pub(crate) fn user_type(id: &str, name: &str) -> Side {
        Side {
            name: format!("user:{name}"),
            reference: Some(Ref::new("", USER_TYPE, id)),
        }
    }

    pub(crate) fn app(id: &str, label: &str) -> Side {
        Side {
            name: format!("app:{label}"),
            reference: Some(Ref::new("", APP, id)),
        }
    }

    pub(crate) fn other(v: &Value) -> Side {
        Side {
            name: format!("{}:{}", str_at(v, "/type"), str_at(v, "/name")),
            reference: None,
        }
    }
}

pub(crate) fn mapping_key(source: &Side, target: &Side) -> String {
    format!("{} -> {}", source.name, target.name)
}

/// A mapping (as `GET /api/v1/mappings/{id}` returns it, with its properties) between
/// `source` and `target`.
pub(crate) fn profile_mapping(
    v: &Value,
    source: &Side,
    target: &Side,
) -> Result<Record, ProviderError> {
    let id = required(v, "/id", PROFILE_MAPPING)?.to_string();
    let mut refs = Vec::new();
    for (rel, side) in [("source", source), ("target", target)] {
        if let Some(r) = &side.reference {
            refs.push(Ref::new(rel, &r.kind, &r.id));
        }
    }
    let properties = v.get("properties").cloned().unwrap_or(json!({}));
    Ok(Record::new(
        PROFILE_MAPPING,
        id,
        mapping_key(source, target),
        json!({"source": source.name, "target": target.name, "properties": properties}),
        refs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_is_keyed_by_its_sides_and_holds_no_ids() {
        let v = json!({"id": "prm1", "source": {"id": "oty1", "name": "user", "type": "user"},
            "target": {"id": "0oa1", "name": "examplecom_saml_1", "type": "appuser"},
            "properties": {"userName": {"expression": "user.login", "pushStatus": "PUSH"}},
            "_links": {}});
        let (s, t) = (Side::user_type("oty1", "user"), Side::app("0oa1", "Wiki"));
        let r = profile_mapping(&v, &s, &t).unwrap();
        assert_eq!(r.key, "user:user -> app:Wiki");
        assert!(!r.to_canonical_json().contains("\"attrs\":{\"id\""));
        assert!(!r.attrs.to_string().contains("0oa1"));
        assert_eq!(r.target("target").unwrap().kind, APP);
        assert_eq!(r.target("source").unwrap().kind, USER_TYPE);
        let app = AppHead {
            id: "0oa1".into(),
            label: "Wiki".into(),
        };
        let schema = app_user_schema(
            &app,
            json!({"id": "x", "$schema": "s", "name": "n", "title": "t"}),
        );
        assert_eq!(schema.key, "Wiki|default");
        assert_eq!(schema.attrs, json!({"title": "t"}));
    }
}
