//! Conditional access policies and authentication strengths as records. A policy names users,
//! groups, roles, applications, named locations and an authentication strength by id; each id
//! of an object the snapshot holds becomes a ref, so that a restore writes the id the object
//! has live (a re-created group's, custom role's or strength's new id; a re-created
//! application's new application id). Built-in roles and strengths have the same id in every
//! tenant and need none; an id that names nothing the snapshot holds is kept as it is and
//! reported.

use std::collections::HashSet;

use iamsnap_provider::{Record, Ref};
use serde_json::{Value, json};

use crate::kinds::*;
use crate::records::{Index, id_of, kept, key_of};
use crate::roles::Roles;

/// What the snapshot holds that a policy may name.
pub(crate) struct Known<'a> {
    pub index: &'a Index,
    pub locations: &'a HashSet<String>,
    pub strengths: &'a HashSet<String>,
    pub terms: &'a HashSet<String>,
    pub roles: &'a Roles,
}

/// The id lists of a policy's conditions: (section, field).
const ID_FIELDS: [(&str, &str); 10] = [
    ("users", "includeUsers"),
    ("users", "excludeUsers"),
    ("users", "includeGroups"),
    ("users", "excludeGroups"),
    ("users", "includeRoles"),
    ("users", "excludeRoles"),
    ("applications", "includeApplications"),
    ("applications", "excludeApplications"),
    ("locations", "includeLocations"),
    ("locations", "excludeLocations"),
];

/// Ref names of applications carry the application (client) id the policy names.
pub(crate) const APP_REF: &str = "application:";

fn is_id(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

fn ids<'v>(v: &'v Value, section: &str, field: &str) -> impl Iterator<Item = &'v str> {
    v["conditions"][section][field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|s| is_id(s))
}

pub(crate) fn conditional_access_policy(v: &Value, known: &Known) -> Record {
    let mut attrs = kept(v);
    // Graph expands the strength a policy requires; the policy holds only its id.
    let strength = v["grantControls"]["authenticationStrength"]["id"].clone();
    if let Some(Value::Object(grant)) = attrs.get_mut("grantControls")
        && grant.contains_key("authenticationStrength")
    {
        let id = if strength.is_null() {
            Value::Null
        } else {
            json!({ "id": strength })
        };
        grant.insert("authenticationStrength".into(), id);
    }
    let mut refs = Vec::new();
    for (section, field) in ID_FIELDS {
        for id in ids(v, section, field) {
            let r = match field {
                "includeRoles" | "excludeRoles" => known
                    .roles
                    .reference(id)
                    .map(|_| Ref::new(field, ROLE_DEFINITION, id)),
                "includeApplications" | "excludeApplications" => known
                    .index
                    .app_by_app_id
                    .get(&id.to_lowercase())
                    .map(|app| Ref::new(format!("{APP_REF}{id}"), APPLICATION, app.as_str())),
                "includeLocations" | "excludeLocations" => known
                    .locations
                    .contains(id)
                    .then(|| Ref::new(field, NAMED_LOCATION, id)),
                _ => known
                    .index
                    .by_id
                    .get(id)
                    .map(|(kind, _)| Ref::new(field, *kind, id)),
            };
            refs.extend(r);
        }
    }
    if let Some(id) = strength.as_str()
        && known.strengths.contains(id)
    {
        refs.push(Ref::new(
            "authenticationStrength",
            AUTHENTICATION_STRENGTH,
            id,
        ));
    }
    for id in terms_of_use(v) {
        if known.terms.contains(id) {
            refs.push(Ref::new("termsOfUse", TERMS_OF_USE, id));
        }
    }
    Record::new(
        CONDITIONAL_ACCESS_POLICY,
        id_of(v),
        key_of(CONDITIONAL_ACCESS_POLICY, v),
        Value::Object(attrs),
        refs,
    )
}

/// The ids a policy names that no ref covers: objects the snapshot does not hold, or
/// built-in roles and strengths (the same in every tenant). Built-in ones are left out.
pub(crate) fn unknown_ids(record: &Record, roles_built_in: impl Fn(&str) -> bool) -> Vec<String> {
    let covered: HashSet<&str> = record
        .refs
        .iter()
        .map(|r| r.rel.strip_prefix(APP_REF).unwrap_or(r.id.as_str()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (section, field) in ID_FIELDS {
        for id in ids(&record.attrs, section, field) {
            let built_in = matches!(field, "includeRoles" | "excludeRoles") && roles_built_in(id);
            if !built_in && !covered.contains(id) && !out.iter().any(|o| o == id) {
                out.push(id.to_string());
            }
        }
    }
    let strength = record.attrs["grantControls"]["authenticationStrength"]["id"].as_str();
    if let Some(id) = strength.filter(|id| !is_built_in_strength(id) && !covered.contains(id)) {
        out.push(id.to_string());
    }
    for id in terms_of_use(&record.attrs).filter(|id| !covered.contains(id)) {
        out.push(id.to_string());
    }
    out
}

/// The terms of use agreements a policy requires.
fn terms_of_use(v: &Value) -> impl Iterator<Item = &str> {
    v["grantControls"]["termsOfUse"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Microsoft's built-in authentication strengths: `00000000-0000-0000-0000-00000000000N`.
pub(crate) fn is_built_in_strength(id: &str) -> bool {
    id.starts_with("00000000-0000-0000-0000-0000000000")
}

/// A custom authentication strength; `None` for a built-in one.
pub(crate) fn strength(v: &Value) -> Option<Record> {
    if v["policyType"] != "custom" {
        return None;
    }
    let mut combinations: Vec<&str> = v["allowedCombinations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    combinations.sort_unstable();
    Some(Record::new(
        AUTHENTICATION_STRENGTH,
        id_of(v),
        v["displayName"].as_str().unwrap_or_default(),
        json!({"displayName": v["displayName"], "description": v["description"],
               "allowedCombinations": combinations}),
        Vec::new(),
    ))
}
