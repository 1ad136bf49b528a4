//! The Identity Store: users and groups created with every attribute the API takes, changed
//! with `UpdateUser` / `UpdateGroup` attribute operations, and group memberships.
//!
//! Attribute operations name attributes by their camelCase path (`displayName`,
//! `phoneNumbers`) and carry whole values, so a changed list (emails) is replaced whole.

use aws_sdk_identitystore::types::{
    Address, AttributeOperation, Email, MemberId, Name, PhoneNumber, User,
};
use iamsnap_provider::Record;
use serde_json::{Map, Value};

use super::{Ctx, Done, principal_id, str_attr};
use crate::client::{Api, ApiError};
use crate::kinds::{self, Principal};
use crate::records::{self, to_document};

/// User attributes a restore writes, as records name them. `ExternalIds` is not among them:
/// only the synchronizing identity provider sets it.
const USER_FIELDS: &[&str] = &[
    "DisplayName",
    "Name",
    "NickName",
    "ProfileUrl",
    "Emails",
    "Addresses",
    "PhoneNumbers",
    "UserType",
    "Title",
    "PreferredLanguage",
    "Locale",
    "Timezone",
    "Website",
    "Birthdate",
    "Enterprise",
];

/// The attribute path of a record attribute: `PhoneNumbers` → `phoneNumbers`; the enterprise
/// fields live in the user's extension of that name.
fn path(field: &str) -> String {
    if field == "Enterprise" {
        return format!("extensions.{}", kinds::ENTERPRISE);
    }
    let mut chars = field.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A value as an attribute operation carries it: object members in camelCase, as the
/// attribute paths name them.
fn camel(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (path(k), camel(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel).collect()),
        other => other.clone(),
    }
}

/// The attribute operations that bring `have` to `want`, over `fields`. A field `want` lacks
/// is removed (an operation without a value).
pub(crate) fn operations(
    fields: &[&str],
    want: &Value,
    have: &Value,
) -> Result<Vec<AttributeOperation>, ApiError> {
    fields
        .iter()
        .filter(|f| want.get(**f) != have.get(**f))
        .map(|f| {
            let value = match want.get(*f) {
                // Enterprise fields keep the extension's own member names.
                Some(v) if *f == "Enterprise" => Some(to_document(v)),
                Some(v) => Some(to_document(&camel(v))),
                None => None,
            };
            AttributeOperation::builder()
                .attribute_path(path(f))
                .set_attribute_value(value)
                .build()
                .map_err(|e| ApiError::local("identitystore:UpdateUser", e.to_string()))
        })
        .collect()
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

fn flag(v: &Value) -> Option<bool> {
    v.get("Primary").and_then(Value::as_bool)
}

fn items(v: &Value, field: &str) -> Vec<Value> {
    v.get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Creates the user if missing and brings it to `desired`.
pub(crate) async fn converge_user(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let store = &ctx.clients.store;
    let want = &desired.attrs;
    let Some(id) = principal_id(ctx, Principal::User, &desired.key).await? else {
        let name = want.get("Name").map(|n| {
            Name::builder()
                .set_formatted(text(n, "Formatted"))
                .set_family_name(text(n, "FamilyName"))
                .set_given_name(text(n, "GivenName"))
                .set_middle_name(text(n, "MiddleName"))
                .set_honorific_prefix(text(n, "HonorificPrefix"))
                .set_honorific_suffix(text(n, "HonorificSuffix"))
                .build()
        });
        let (emails, phones, addresses) = (
            items(want, "Emails"),
            items(want, "PhoneNumbers"),
            items(want, "Addresses"),
        );
        let emails = emails.iter().map(|e| {
            Email::builder()
                .set_value(text(e, "Value"))
                .set_type(text(e, "Type"))
                .set_primary(flag(e))
                .build()
        });
        let phones = phones.iter().map(|p| {
            PhoneNumber::builder()
                .set_value(text(p, "Value"))
                .set_type(text(p, "Type"))
                .set_primary(flag(p))
                .build()
        });
        let addresses = addresses.iter().map(|a| {
            Address::builder()
                .set_street_address(text(a, "StreetAddress"))
                .set_locality(text(a, "Locality"))
                .set_region(text(a, "Region"))
                .set_postal_code(text(a, "PostalCode"))
                .set_country(text(a, "Country"))
                .set_formatted(text(a, "Formatted"))
                .set_type(text(a, "Type"))
                .set_primary(flag(a))
                .build()
        });
        let mut create = store
            .create_user()
            .identity_store_id(&ctx.instance.store_id)
            .user_name(&desired.key)
            .set_name(name)
            .set_display_name(text(want, "DisplayName"))
            .set_nick_name(text(want, "NickName"))
            .set_profile_url(text(want, "ProfileUrl"))
            .set_emails(Some(emails.collect()).filter(|v: &Vec<_>| !v.is_empty()))
            .set_phone_numbers(Some(phones.collect()).filter(|v: &Vec<_>| !v.is_empty()))
            .set_addresses(Some(addresses.collect()).filter(|v: &Vec<_>| !v.is_empty()))
            .set_user_type(text(want, "UserType"))
            .set_title(text(want, "Title"))
            .set_preferred_language(text(want, "PreferredLanguage"))
            .set_locale(text(want, "Locale"))
            .set_timezone(text(want, "Timezone"))
            .set_website(text(want, "Website"))
            .set_birthdate(text(want, "Birthdate"));
        if let Some(enterprise) = want.get("Enterprise") {
            create = create.extensions(kinds::ENTERPRISE, to_document(enterprise));
        }
        let out = create.send().await.api("identitystore:CreateUser")?;
        return Ok(Done::Changed(out.user_id));
    };
    let live = store
        .describe_user()
        .identity_store_id(&ctx.instance.store_id)
        .user_id(&id)
        .extensions(kinds::ENTERPRISE)
        .send()
        .await
        .api("identitystore:DescribeUser")?;
    let live = User::builder()
        .identity_store_id(live.identity_store_id)
        .user_id(live.user_id)
        .set_user_name(live.user_name)
        .set_external_ids(live.external_ids)
        .set_name(live.name)
        .set_display_name(live.display_name)
        .set_nick_name(live.nick_name)
        .set_profile_url(live.profile_url)
        .set_emails(live.emails)
        .set_addresses(live.addresses)
        .set_phone_numbers(live.phone_numbers)
        .set_user_type(live.user_type)
        .set_title(live.title)
        .set_preferred_language(live.preferred_language)
        .set_locale(live.locale)
        .set_timezone(live.timezone)
        .set_website(live.website)
        .set_birthdate(live.birthdate)
        .set_extensions(live.extensions)
        .build()
        .map_err(|e| ApiError::local("identitystore:DescribeUser", e.to_string()))?;
    let have = records::user(&live).attrs;
    let ops = operations(USER_FIELDS, want, &have)?;
    if ops.is_empty() {
        return Ok(Done::Unchanged(id));
    }
    store
        .update_user()
        .identity_store_id(&ctx.instance.store_id)
        .user_id(&id)
        .set_operations(Some(ops))
        .send()
        .await
        .api("identitystore:UpdateUser")?;
    Ok(Done::Changed(id))
}

/// Creates the group if missing and brings its description back.
pub(crate) async fn converge_group(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let store = &ctx.clients.store;
    let Some(id) = principal_id(ctx, Principal::Group, &desired.key).await? else {
        let out = store
            .create_group()
            .identity_store_id(&ctx.instance.store_id)
            .display_name(&desired.key)
            .set_description(str_attr(desired, "Description").map(str::to_string))
            .send()
            .await
            .api("identitystore:CreateGroup")?;
        return Ok(Done::Changed(out.group_id));
    };
    let live = store
        .describe_group()
        .identity_store_id(&ctx.instance.store_id)
        .group_id(&id)
        .send()
        .await
        .api("identitystore:DescribeGroup")?;
    let have = serde_json::json!({"Description": live.description});
    let want = serde_json::json!({"Description": desired.attrs.get("Description")});
    let ops = operations(&["Description"], &want, &have)?;
    if ops.is_empty() {
        return Ok(Done::Unchanged(id));
    }
    store
        .update_group()
        .identity_store_id(&ctx.instance.store_id)
        .group_id(&id)
        .set_operations(Some(ops))
        .send()
        .await
        .api("identitystore:UpdateGroup")?;
    Ok(Done::Changed(id))
}

pub(crate) async fn delete_user(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    ctx.clients
        .store
        .delete_user()
        .identity_store_id(&ctx.instance.store_id)
        .user_id(id)
        .send()
        .await
        .api("identitystore:DeleteUser")
        .map(|_| ())
}

pub(crate) async fn delete_group(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    ctx.clients
        .store
        .delete_group()
        .identity_store_id(&ctx.instance.store_id)
        .group_id(id)
        .send()
        .await
        .api("identitystore:DeleteGroup")
        .map(|_| ())
}

/// Adds the user to the group, both found by name; a membership that exists already
/// (`ConflictException`) is done.
pub(crate) async fn add_member(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    const OP: &str = "identitystore:CreateGroupMembership";
    let missing = |what: &str| ApiError {
        code: Some("ResourceNotFoundException".into()),
        ..ApiError::local(OP, format!("no {what} in the Identity Store"))
    };
    let group = str_attr(desired, "Group").unwrap_or_default();
    let user = str_attr(desired, "User").unwrap_or_default();
    let group_id = principal_id(ctx, Principal::Group, group)
        .await?
        .ok_or_else(|| missing(&format!("group {group}")))?;
    let user_id = principal_id(ctx, Principal::User, user)
        .await?
        .ok_or_else(|| missing(&format!("user {user}")))?;
    let created = ctx
        .clients
        .store
        .create_group_membership()
        .identity_store_id(&ctx.instance.store_id)
        .group_id(&group_id)
        .member_id(MemberId::UserId(user_id))
        .send()
        .await
        .api(OP);
    match created {
        Ok(out) => Ok(Done::Changed(out.membership_id)),
        Err(e) if e.is("ConflictException") => Ok(Done::Unchanged(desired.id.clone())),
        Err(e) => Err(e),
    }
}

pub(crate) async fn remove_member(ctx: &Ctx<'_>, membership_id: &str) -> Result<(), ApiError> {
    ctx.clients
        .store
        .delete_group_membership()
        .identity_store_id(&ctx.instance.store_id)
        .membership_id(membership_id)
        .send()
        .await
        .api("identitystore:DeleteGroupMembership")
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_replace_what_changed_and_remove_what_is_gone() {
        let want = json!({"DisplayName": "Ada", "Emails": [{"Value": "a@x", "Primary": true}]});
        let have = json!({"DisplayName": "Ada", "Title": "CEO"});
        let ops = operations(USER_FIELDS, &want, &have).unwrap();
        let paths: Vec<&str> = ops.iter().map(|o| o.attribute_path()).collect();
        assert_eq!(paths, ["emails", "title"]);
        assert_eq!(
            records::from_document(ops[0].attribute_value().unwrap()),
            json!([{"value": "a@x", "primary": true}])
        );
        assert!(ops[1].attribute_value().is_none());
        assert_eq!(
            path("Enterprise"),
            "extensions.aws:identitystore:enterprise"
        );
    }
}
