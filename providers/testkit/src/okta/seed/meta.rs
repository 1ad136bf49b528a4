//! User types and their profile schemas. Each user type has a schema of its own: the base
//! attributes Okta defines for every user and the custom ones added to that type.

use serde_json::{Map, Value, json};

use super::past;
use crate::okta::model::{Org, ts};

/// The base attributes Okta defines for every user profile (31 of them), with their titles;
/// the first four are required.
const BASE_ATTRIBUTES: &[(&str, &str)] = &[
    ("login", "Username"),
    ("firstName", "First name"),
    ("lastName", "Last name"),
    ("email", "Primary email"),
    ("secondEmail", "Secondary email"),
    ("middleName", "Middle name"),
    ("honorificPrefix", "Honorific prefix"),
    ("honorificSuffix", "Honorific suffix"),
    ("title", "Title"),
    ("displayName", "Display name"),
    ("nickName", "Nickname"),
    ("profileUrl", "Profile Url"),
    ("primaryPhone", "Primary phone"),
    ("mobilePhone", "Mobile phone"),
    ("streetAddress", "Street address"),
    ("city", "City"),
    ("state", "State"),
    ("zipCode", "Zip code"),
    ("countryCode", "Country code"),
    ("postalAddress", "Postal Address"),
    ("preferredLanguage", "Preferred language"),
    ("locale", "Locale"),
    ("timezone", "Time zone"),
    ("userType", "User type"),
    ("employeeNumber", "Employee number"),
    ("costCenter", "Cost center"),
    ("organization", "Organization"),
    ("division", "Division"),
    ("department", "Department"),
    ("managerId", "ManagerId"),
    ("manager", "Manager"),
];

/// Seeds the default user type and a contractor type, each with its schema; both schemas
/// define the custom attributes seeded users hold.
pub(super) fn seed_meta(org: &mut Org) {
    for (name, display, default) in [("user", "User", true), ("contractor", "Contractor", false)] {
        let id = org.new_id("oty");
        let created = past(org);
        let value = json!({
            "id": id,
            "name": name,
            "displayName": display,
            "description": format!("{display} type"),
            "default": default,
            "createdBy": "00u000000000000000",
            "lastUpdatedBy": "00u000000000000000",
            "created": ts(created),
            "lastUpdated": ts(created),
        });
        org.user_types.insert(id.clone(), value);
        let mut schema = if default {
            default_schema()
        } else {
            type_schema(name, display)
        };
        schema["definitions"]["custom"]["properties"] = Value::Object(seeded_custom());
        add_schema(org, &id, schema);
    }
}

/// Gives user type `type_id` its schema, under a new schema id.
pub(crate) fn add_schema(org: &mut Org, type_id: &str, schema: Value) {
    let schema_id = org.new_id("osc");
    org.schemas.insert(schema_id.clone(), schema);
    org.type_schemas.insert(type_id.to_string(), schema_id);
}

/// The custom attributes of seeded users.
fn seeded_custom() -> Map<String, Value> {
    let mut custom = Map::new();
    custom.insert(
        "badgeId".into(),
        json!({"title": "Badge", "description": "Building badge number",
               "type": "string", "maxLength": 20, "mutability": "READ_WRITE",
               "scope": "NONE", "permissions": [{"principal": "SELF", "action": "READ_ONLY"}]}),
    );
    custom.insert(
        "clearanceLevel".into(),
        json!({"title": "Clearance level", "type": "integer", "minimum": 0,
               "maximum": 5, "mutability": "READ_WRITE", "scope": "NONE",
               "permissions": [{"principal": "SELF", "action": "HIDE"}]}),
    );
    custom
}

/// The default user type's schema, before any custom attribute is added.
pub(crate) fn default_schema() -> Value {
    schema(
        "user",
        "User",
        "Okta user profile template with default permission settings",
    )
}

/// The schema Okta gives a new user type: the base attributes, no custom ones.
pub(crate) fn type_schema(name: &str, display: &str) -> Value {
    schema(name, display, &format!("{display} user profile"))
}

fn schema(name: &str, title: &str, description: &str) -> Value {
    let properties: Map<String, Value> = BASE_ATTRIBUTES
        .iter()
        .enumerate()
        .map(|(i, (attribute, title))| {
            let mut definition = json!({"title": title, "type": "string", "required": i < 4,
                "mutability": "READ_WRITE", "scope": "NONE",
                "permissions": [{"principal": "SELF", "action": "READ_WRITE"}]});
            if *attribute == "login" {
                definition["pattern"] = json!(".+");
            }
            (attribute.to_string(), definition)
        })
        .collect();
    json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "name": name,
        "title": title,
        "description": description,
        "type": "object",
        "created": "2024-01-01T00:00:00.000Z",
        "lastUpdated": "2024-01-01T00:00:00.000Z",
        "definitions": {
            "base": {
                "id": "#base",
                "type": "object",
                "properties": properties,
                "required": ["login", "firstName", "lastName", "email"],
            },
            "custom": {
                "id": "#custom",
                "type": "object",
                "properties": {},
                "required": [],
            },
        },
        "properties": {
            "profile": {"allOf": [{"$ref": "#/definitions/custom"}, {"$ref": "#/definitions/base"}]},
        },
    })
}
