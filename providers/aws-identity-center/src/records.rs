//! API objects → records. Attributes carry the API's own member names (`DisplayName`,
//! `Emails`, `SessionDuration`), absent fields left out, so that a restore writes back what it
//! reads; generated ids and dates are never attributes.

use aws_sdk_identitystore::types as store;
use aws_sdk_ssoadmin::types as sso;
use aws_smithy_types::{Document, Number};
use iamsnap_provider::{Record, Ref};
use serde_json::{Map, Value, json};

use crate::kinds::{self, Principal, assignment_id, assignment_key, membership_key};

/// An object of the fields that have a value.
fn object(fields: impl IntoIterator<Item = (&'static str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect::<Map<String, Value>>(),
    )
}

fn text(value: Option<&str>) -> Option<Value> {
    value.map(|s| Value::String(s.to_string()))
}

/// A list attribute, left out when empty.
fn list(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

pub fn instance(meta: &sso::InstanceMetadata) -> Record {
    let attrs = object([
        ("Name", text(meta.name())),
        ("OwnerAccountId", text(meta.owner_account_id())),
        ("Status", text(meta.status().map(|s| s.as_str()))),
    ]);
    Record::new(
        kinds::INSTANCE,
        meta.instance_arn().unwrap_or_default(),
        kinds::INSTANCE_KEY,
        attrs,
        vec![],
    )
}

/// Everything a permission set is, read by six calls.
#[derive(Debug)]
pub struct PermissionSetParts {
    pub set: sso::PermissionSet,
    pub tags: Vec<sso::Tag>,
    pub managed: Vec<sso::AttachedManagedPolicy>,
    pub customer_managed: Vec<sso::CustomerManagedPolicyReference>,
    pub inline: Option<String>,
    pub boundary: Option<sso::PermissionsBoundary>,
}

fn customer_reference(r: &sso::CustomerManagedPolicyReference) -> Value {
    object([
        ("Name", Some(Value::String(r.name().to_string()))),
        (
            "Path",
            Some(Value::String(r.path().unwrap_or("/").to_string())),
        ),
    ])
}

/// A policy document as JSON, so that a diff shows statements and key order never matters; a
/// document that is not JSON is kept as text.
pub fn document(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// A document attribute written back as the API takes it.
pub fn document_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn permission_set(parts: &PermissionSetParts) -> Record {
    let set = &parts.set;
    let tags: Map<String, Value> = parts
        .tags
        .iter()
        .map(|t| (t.key().to_string(), Value::String(t.value().to_string())))
        .collect();
    let mut managed: Vec<Value> = parts.managed.iter().filter_map(|p| text(p.arn())).collect();
    managed.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    let mut customer: Vec<Value> = parts
        .customer_managed
        .iter()
        .map(customer_reference)
        .collect();
    customer.sort_by_key(|v| v.to_string());
    let boundary = parts.boundary.as_ref().map(|b| {
        object([
            ("ManagedPolicyArn", text(b.managed_policy_arn())),
            (
                "CustomerManagedPolicyReference",
                b.customer_managed_policy_reference()
                    .map(customer_reference),
            ),
        ])
    });
    let attrs = object([
        ("Description", text(set.description())),
        ("SessionDuration", text(set.session_duration())),
        ("RelayState", text(set.relay_state())),
        ("Tags", (!tags.is_empty()).then_some(Value::Object(tags))),
        ("ManagedPolicies", list(managed)),
        ("CustomerManagedPolicyReferences", list(customer)),
        (
            "InlinePolicy",
            parts
                .inline
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(document),
        ),
        ("PermissionsBoundary", boundary),
    ]);
    Record::new(
        kinds::PERMISSION_SET,
        set.permission_set_arn().unwrap_or_default(),
        set.name().unwrap_or_default(),
        attrs,
        vec![],
    )
}

fn external_ids(ids: &[store::ExternalId]) -> Option<Value> {
    let mut items: Vec<Value> = ids
        .iter()
        .map(|e| json!({"Issuer": e.issuer(), "Id": e.id()}))
        .collect();
    items.sort_by_key(|v| v.to_string());
    list(items)
}

fn primary(value: Option<bool>) -> Option<Value> {
    value.filter(|p| *p).map(Value::Bool)
}

pub fn user(u: &store::User) -> Record {
    let name = u.name().map(|n| {
        object([
            ("Formatted", text(n.formatted())),
            ("FamilyName", text(n.family_name())),
            ("GivenName", text(n.given_name())),
            ("MiddleName", text(n.middle_name())),
            ("HonorificPrefix", text(n.honorific_prefix())),
            ("HonorificSuffix", text(n.honorific_suffix())),
        ])
    });
    let emails = u
        .emails()
        .iter()
        .map(|e| {
            object([
                ("Value", text(e.value())),
                ("Type", text(e.r#type())),
                ("Primary", primary(Some(e.primary))),
            ])
        })
        .collect();
    let addresses = u
        .addresses()
        .iter()
        .map(|a| {
            object([
                ("StreetAddress", text(a.street_address())),
                ("Locality", text(a.locality())),
                ("Region", text(a.region())),
                ("PostalCode", text(a.postal_code())),
                ("Country", text(a.country())),
                ("Formatted", text(a.formatted())),
                ("Type", text(a.r#type())),
                ("Primary", primary(Some(a.primary))),
            ])
        })
        .collect();
    let phones = u
        .phone_numbers()
        .iter()
        .map(|p| {
            object([
                ("Value", text(p.value())),
                ("Type", text(p.r#type())),
                ("Primary", primary(Some(p.primary))),
            ])
        })
        .collect();
    let enterprise = u
        .extensions()
        .and_then(|x| x.get(kinds::ENTERPRISE))
        .map(from_document)
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
    let attrs = object([
        ("DisplayName", text(u.display_name())),
        (
            "Name",
            name.filter(|n| n.as_object().is_some_and(|o| !o.is_empty())),
        ),
        ("NickName", text(u.nick_name())),
        ("ProfileUrl", text(u.profile_url())),
        ("Emails", list(emails)),
        ("Addresses", list(addresses)),
        ("PhoneNumbers", list(phones)),
        ("UserType", text(u.user_type())),
        ("Title", text(u.title())),
        ("PreferredLanguage", text(u.preferred_language())),
        ("Locale", text(u.locale())),
        ("Timezone", text(u.timezone())),
        ("Website", text(u.website())),
        ("Birthdate", text(u.birthdate())),
        ("Enterprise", enterprise),
        ("ExternalIds", external_ids(u.external_ids())),
    ]);
    Record::new(
        kinds::USER,
        u.user_id(),
        u.user_name().unwrap_or_default(),
        attrs,
        vec![],
    )
}

pub fn group(g: &store::Group) -> Record {
    let attrs = object([
        ("Description", text(g.description())),
        ("ExternalIds", external_ids(g.external_ids())),
    ]);
    Record::new(
        kinds::GROUP,
        g.group_id(),
        g.display_name().unwrap_or_default(),
        attrs,
        vec![],
    )
}

pub fn membership(id: &str, group_id: &str, group: &str, user_id: &str, user: &str) -> Record {
    Record::new(
        kinds::GROUP_MEMBERSHIP,
        id,
        membership_key(group, user),
        json!({"Group": group, "User": user}),
        vec![
            Ref::new("group", kinds::GROUP, group_id),
            Ref::new("member", kinds::USER, user_id),
        ],
    )
}

/// One assignment: `principal` is the user name or group display name, or `id:ID` for a
/// principal the store no longer holds (AWS keeps such assignments).
pub fn assignment(
    set_arn: &str,
    set_name: &str,
    account: &str,
    principal: Principal,
    principal_id: &str,
    principal_name: &str,
) -> Record {
    Record::new(
        kinds::ACCOUNT_ASSIGNMENT,
        assignment_id(set_arn, account, principal, principal_id),
        assignment_key(set_name, account, principal, principal_name),
        json!({
            "PermissionSet": set_name,
            "AccountId": account,
            "PrincipalType": principal.as_api(),
            "Principal": principal_name,
        }),
        vec![
            Ref::new("permission_set", kinds::PERMISSION_SET, set_arn),
            Ref::new("principal", principal.kind(), principal_id),
        ],
    )
}

/// A smithy document as JSON.
pub fn from_document(doc: &Document) -> Value {
    match doc {
        Document::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), from_document(v)))
                .collect(),
        ),
        Document::Array(items) => Value::Array(items.iter().map(from_document).collect()),
        Document::Number(Number::PosInt(n)) => json!(n),
        Document::Number(Number::NegInt(n)) => json!(n),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => Value::String(s.clone()),
        Document::Bool(b) => Value::Bool(*b),
        Document::Null => Value::Null,
    }
}

/// JSON as a smithy document, for the attributes `UpdateUser` takes as documents.
pub fn to_document(value: &Value) -> Document {
    match value {
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_document(v)))
                .collect(),
        ),
        Value::Array(items) => Document::Array(items.iter().map(to_document).collect()),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Document::Number(Number::PosInt(u)),
            (None, Some(i)) => Document::Number(Number::NegInt(i)),
            _ => Document::Number(Number::Float(n.as_f64().unwrap_or_default())),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Bool(b) => Document::Bool(*b),
        Value::Null => Document::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_keeps_every_field_and_no_generated_id() {
        let u = store::User::builder()
            .identity_store_id("d-1234567890")
            .user_id("uid-1")
            .user_name("ada")
            .display_name("Ada Lovelace")
            .name(
                store::Name::builder()
                    .given_name("Ada")
                    .family_name("Lovelace")
                    .build(),
            )
            .emails(
                store::Email::builder()
                    .value("ada@example.com")
                    .r#type("work")
                    .primary(true)
                    .build(),
            )
            .phone_numbers(
                store::PhoneNumber::builder()
                    .value("+44 20")
                    .r#type("work")
                    .build(),
            )
            .title("Countess")
            .external_ids(
                store::ExternalId::builder()
                    .issuer("https://idp")
                    .id("42")
                    .build()
                    .unwrap(),
            )
            .extensions(
                kinds::ENTERPRISE,
                to_document(&json!({"employeeNumber": "7", "costCenter": "R&D"})),
            )
            .build()
            .unwrap();
        let r = user(&u);
        assert_eq!((r.id.as_str(), r.key.as_str()), ("uid-1", "ada"));
        assert_eq!(r.attrs["Emails"][0]["Primary"], json!(true));
        assert_eq!(r.attrs["PhoneNumbers"][0].get("Primary"), None);
        assert_eq!(r.attrs["Enterprise"]["costCenter"], "R&D");
        assert_eq!(r.attrs["ExternalIds"][0]["Issuer"], "https://idp");
        assert!(!r.to_canonical_json().contains("d-1234567890"));
    }

    #[test]
    fn a_permission_set_sorts_its_policies_and_parses_its_documents() {
        let parts = PermissionSetParts {
            set: sso::PermissionSet::builder()
                .name("Admin")
                .permission_set_arn("arn:aws:sso:::permissionSet/ssoins-1/ps-1")
                .session_duration("PT4H")
                .build(),
            managed: vec![
                sso::AttachedManagedPolicy::builder().arn("arn:b").build(),
                sso::AttachedManagedPolicy::builder().arn("arn:a").build(),
            ],
            inline: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
            boundary: Some(
                sso::PermissionsBoundary::builder()
                    .managed_policy_arn("arn:pb")
                    .build(),
            ),
            tags: vec![],
            customer_managed: vec![],
        };
        let r = permission_set(&parts);
        assert_eq!(r.key, "Admin");
        assert_eq!(r.attrs["ManagedPolicies"], json!(["arn:a", "arn:b"]));
        assert_eq!(r.attrs["InlinePolicy"]["Version"], "2012-10-17");
        assert_eq!(r.attrs["PermissionsBoundary"]["ManagedPolicyArn"], "arn:pb");
        assert_eq!(r.attrs.get("Tags"), None);
    }

    #[test]
    fn documents_round_trip() {
        let v = json!({"a": [1, -2, 1.5, "x", true, null], "b": {}});
        assert_eq!(from_document(&to_document(&v)), v);
    }
}
