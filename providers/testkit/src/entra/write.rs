//! The write side of the emulated Graph: create (`POST`, 201 with the new object), update
//! (`PATCH`, 204), delete (`DELETE`, 204; users, Microsoft 365 groups, applications, service
//! principals and administrative units go to the recycle bin), `$ref` links, and the recycle
//! bin's restore and permanent delete.

use serde_json::{Map, Value, json};

use super::api::{GraphError, GraphRequest, GraphResponse, GraphResult, body_object, reference_id};
use super::model::{
    ADMINISTRATIVE_UNITS, APPLICATIONS, COLLECTIONS, GROUPS, SERVICE_PRINCIPALS, Tenant, USERS,
    now, odata_type,
};
use super::read::{get_by_ids, resolve};
use super::seed::{DOMAIN, sp_object};

const NO_ROLE: &str = "00000000-0000-0000-0000-000000000000";

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest) -> GraphResult {
    let seg = req.segments();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    if let Some(answer) = super::roles::write(t, req, &s)
        .or_else(|| super::strengths::write(t, req, &s))
        .or_else(|| super::authz::write(t, req, &s))
        .or_else(|| super::federated::write(t, req, &s))
        .or_else(|| super::sts_policies::write(t, req, &s))
        .or_else(|| super::cross_tenant::write(t, req, &s))
        .or_else(|| super::terms::write(t, req, &s))
        .or_else(|| super::role_policies::write(t, req, &s))
    {
        return answer;
    }
    match (req.method.as_str(), s.as_slice()) {
        ("POST", ["directoryObjects", "getByIds"]) => get_by_ids(t, &body_object(req)?),
        ("POST", ["invitations"]) => invite(t, body_object(req)?),
        ("POST", [c]) if COLLECTIONS.contains(c) => create_object(t, c, body_object(req)?),
        ("PATCH", [c, id]) if COLLECTIONS.contains(c) => patch_object(t, c, id, body_object(req)?),
        ("DELETE", [c, id]) if COLLECTIONS.contains(c) => {
            let c = COLLECTIONS
                .iter()
                .copied()
                .find(|x| x == c)
                .unwrap_or(USERS);
            let id = resolve(t, c, id)?;
            t.delete(c, &id);
            Ok(GraphResponse::no_content())
        }
        ("POST", [GROUPS | ADMINISTRATIVE_UNITS, id, "members", "$ref"]) => {
            let target = reference_id(req)?;
            add_link(t, s[0], id, &target, false)
        }
        (
            "POST",
            [
                GROUPS | APPLICATIONS | SERVICE_PRINCIPALS,
                id,
                "owners",
                "$ref",
            ],
        ) => {
            let target = reference_id(req)?;
            add_link(t, s[0], id, &target, true)
        }
        (
            "DELETE",
            [
                GROUPS | ADMINISTRATIVE_UNITS | APPLICATIONS | SERVICE_PRINCIPALS,
                id,
                rel @ ("members" | "owners"),
                member,
                "$ref",
            ],
        ) => {
            let c = collection_of(s[0]);
            // Applications and service principals have owners, never members.
            if *rel == "members" && matches!(c, APPLICATIONS | SERVICE_PRINCIPALS) {
                return Err(GraphError::not_found(&s.join("/")));
            }
            let parent = resolve(t, c, id)?;
            let sets = if *rel == "members" {
                &mut t.members
            } else {
                &mut t.owners
            };
            if !sets.get_mut(&parent).is_some_and(|m| m.remove(*member)) {
                return Err(GraphError::not_found(member));
            }
            Ok(GraphResponse::no_content())
        }
        ("PUT", [USERS, id, "manager", "$ref"]) => {
            let user = resolve(t, USERS, id)?;
            let manager = reference_id(req)?;
            if t.find(&manager).is_none() {
                return Err(GraphError::not_found(&manager));
            }
            t.managers.insert(user, manager);
            Ok(GraphResponse::no_content())
        }
        ("DELETE", [USERS, id, "manager", "$ref"]) => {
            let user = resolve(t, USERS, id)?;
            t.managers
                .remove(&user)
                .ok_or_else(|| GraphError::not_found("manager"))?;
            Ok(GraphResponse::no_content())
        }
        ("POST", [SERVICE_PRINCIPALS, id, "appRoleAssignedTo"]) => {
            assign_role(t, id, body_object(req)?)
        }
        ("DELETE", [SERVICE_PRINCIPALS, id, "appRoleAssignedTo", aid]) => {
            match t.app_role_assignments.get(*aid) {
                Some(a) if a["resourceId"] == *id => {
                    t.app_role_assignments.remove(*aid);
                    Ok(GraphResponse::no_content())
                }
                _ => Err(GraphError::not_found(aid)),
            }
        }
        ("POST", ["oauth2PermissionGrants"]) => create_grant(t, body_object(req)?),
        ("PATCH", ["oauth2PermissionGrants", id]) => {
            let body = body_object(req)?;
            let grant = t
                .grants
                .get_mut(*id)
                .ok_or_else(|| GraphError::not_found(id))?;
            if let Some(scope) = body.get("scope") {
                grant["scope"] = scope.clone();
            }
            Ok(GraphResponse::no_content())
        }
        ("DELETE", ["oauth2PermissionGrants", id]) => remove(&mut t.grants, id),
        ("POST", ["roleManagement", "directory", "roleAssignments"]) => {
            create_role_assignment(t, body_object(req)?)
        }
        ("DELETE", ["roleManagement", "directory", "roleAssignments", id]) => {
            remove(&mut t.role_assignments, id)
        }
        ("POST", ["identity", "conditionalAccess", "policies"]) => {
            let body = body_object(req)?;
            for field in ["displayName", "state", "conditions"] {
                require(&body, field)?;
            }
            check_policy_refs(t, &body)?;
            let id = t.new_id();
            let mut policy = json!({"id": id, "createdDateTime": now(), "modifiedDateTime": null, "templateId": null,
                                    "grantControls": null, "sessionControls": null});
            merge(&mut policy, body);
            t.ca_policies.insert(id, policy.clone());
            Ok(GraphResponse::json(201, policy))
        }
        ("PATCH", ["identity", "conditionalAccess", "policies", id]) => {
            let body = body_object(req)?;
            check_policy_refs(t, &body)?;
            let policy = t
                .ca_policies
                .get_mut(*id)
                .ok_or_else(|| GraphError::not_found(id))?;
            merge(policy, body);
            policy["modifiedDateTime"] = json!(now());
            Ok(GraphResponse::no_content())
        }
        ("DELETE", ["identity", "conditionalAccess", "policies", id]) => {
            remove(&mut t.ca_policies, id)
        }
        ("POST", ["identity", "conditionalAccess", "namedLocations"]) => {
            let body = body_object(req)?;
            require(&body, "@odata.type")?;
            require(&body, "displayName")?;
            let id = t.new_id();
            let mut location =
                json!({"id": id, "createdDateTime": now(), "modifiedDateTime": now()});
            merge(&mut location, body);
            t.named_locations.insert(id, location.clone());
            Ok(GraphResponse::json(201, location))
        }
        ("PATCH", ["identity", "conditionalAccess", "namedLocations", id]) => {
            let body = body_object(req)?;
            require(&body, "@odata.type")?;
            let location = t
                .named_locations
                .get_mut(*id)
                .ok_or_else(|| GraphError::not_found(id))?;
            if body["@odata.type"] != location["@odata.type"] {
                return Err(GraphError::bad_request(
                    "The @odata.type of a named location cannot be changed.",
                ));
            }
            merge(location, body);
            location["modifiedDateTime"] = json!(now());
            Ok(GraphResponse::no_content())
        }
        ("DELETE", ["identity", "conditionalAccess", "namedLocations", id]) => {
            let in_use = t.ca_policies.values().any(|p| {
                ["includeLocations", "excludeLocations"].iter().any(|f| {
                    p["conditions"]["locations"][*f]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == *id))
                })
            });
            if in_use {
                return Err(GraphError::bad_request(format!(
                    "The named location {id} is referenced by a conditional access policy and cannot be deleted."
                )));
            }
            remove(&mut t.named_locations, id)
        }
        ("PATCH", ["policies", "authenticationMethodsPolicy"]) => {
            let body = body_object(req)?;
            if body.contains_key("authenticationMethodConfigurations") {
                return Err(GraphError::bad_request(
                    "authenticationMethodConfigurations cannot be updated here; PATCH each configuration instead.",
                ));
            }
            merge(&mut t.authentication_methods_policy, body);
            t.authentication_methods_policy["lastModifiedDateTime"] = json!(now());
            Ok(GraphResponse::no_content())
        }
        (
            "PATCH",
            [
                "policies",
                "authenticationMethodsPolicy",
                "authenticationMethodConfigurations",
                id,
            ],
        ) => {
            let body = body_object(req)?;
            require(&body, "@odata.type")?;
            let config = t.authentication_methods_policy["authenticationMethodConfigurations"]
                .as_array_mut()
                .and_then(|a| {
                    a.iter_mut()
                        .find(|c| c["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
                })
                .ok_or_else(|| GraphError::not_found(id))?;
            merge(config, body);
            Ok(GraphResponse::no_content())
        }
        ("POST", ["directory", "deletedItems", id, "restore"]) => match t.restore(id) {
            Ok(object) => Ok(GraphResponse::json(200, object)),
            Err(message) if message.is_empty() => Err(GraphError::not_found(id)),
            Err(message) => Err(GraphError::bad_request(message)),
        },
        ("DELETE", ["directory", "deletedItems", id]) => {
            t.deleted
                .remove(*id)
                .ok_or_else(|| GraphError::not_found(id))?;
            Ok(GraphResponse::no_content())
        }
        _ => Err(GraphError::no_route(&req.method, &req.path)),
    }
}

/// `POST /invitations`: a B2B invitation. The invited user's object is created at once, as a
/// guest (`#EXT#` userPrincipalName in the tenant's domain, externalUserState
/// PendingAcceptance) who redeems the invitation later; an address that is already a guest's
/// invites that guest again. 201 with the invitation.
fn invite(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    require(&body, "invitedUserEmailAddress")?;
    require(&body, "inviteRedirectUrl")?;
    let email = body["invitedUserEmailAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let Some((name, domain)) = email
        .split_once('@')
        .filter(|(n, d)| !n.is_empty() && d.contains('.') && !d.contains('@'))
    else {
        return Err(GraphError::bad_request(format!(
            "The specified email address is not valid: {email}"
        )));
    };
    if domain.eq_ignore_ascii_case(DOMAIN) {
        return Err(GraphError::bad_request(format!(
            "The invited user {email} is in the inviting tenant's own domain."
        )));
    }
    let upn = format!("{name}_{domain}#EXT#@{DOMAIN}");
    let existing = t
        .collection(USERS)
        .iter()
        .find(|(_, u)| {
            u["userType"] == "Guest"
                && u["mail"]
                    .as_str()
                    .is_some_and(|m| m.eq_ignore_ascii_case(&email))
        })
        .map(|(id, _)| id.clone());
    let id = match existing {
        Some(id) => id,
        None => {
            if t.upn_taken(&upn, "") {
                return Err(GraphError::conflict_property("userPrincipalName"));
            }
            let id = t.new_id();
            let display = body
                .get("invitedUserDisplayName")
                .and_then(Value::as_str)
                .unwrap_or(name);
            let nickname = format!("{name}_{domain}#EXT#");
            t.collection_mut(USERS).insert(
                id.clone(),
                json!({
                    "@odata.type": odata_type(USERS), "id": id, "createdDateTime": now(),
                    "deletedDateTime": null, "accountEnabled": true, "displayName": display,
                    "userPrincipalName": upn, "mail": email, "mailNickname": nickname,
                    "userType": "Guest", "otherMails": [email], "businessPhones": [],
                    "externalUserState": "PendingAcceptance",
                    "externalUserStateChangeDateTime": now(),
                    "creationType": "Invitation",
                }),
            );
            id
        }
    };
    let invitation_id = t.new_id();
    Ok(GraphResponse::json(
        201,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#invitations/$entity", t.base),
            "id": invitation_id,
            "inviteRedeemUrl": format!("https://login.microsoftonline.com/redeem?rd={invitation_id}"),
            "invitedUserDisplayName": body.get("invitedUserDisplayName").cloned().unwrap_or(Value::Null),
            "invitedUserEmailAddress": email,
            "invitedUserType": body.get("invitedUserType").cloned().unwrap_or(json!("Guest")),
            "sendInvitationMessage": body.get("sendInvitationMessage").cloned().unwrap_or(json!(false)),
            "inviteRedirectUrl": body["inviteRedirectUrl"],
            "resetRedemption": false,
            "status": "PendingAcceptance",
            "invitedUserMessageInfo": {"messageLanguage": null, "customizedMessageBody": null, "ccRecipients": []},
            "invitedUser": {"id": id},
        }),
    ))
}

fn require(body: &Map<String, Value>, field: &str) -> Result<(), GraphError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(GraphError::bad_request(format!(
            "Invalid value specified for property '{field}' of resource: a value is required."
        ))),
        _ => Ok(()),
    }
}

fn merge(target: &mut Value, body: Map<String, Value>) {
    if let Value::Object(t) = target {
        for (k, v) in body {
            if k != "id" {
                t.insert(k, v);
            }
        }
    }
}

fn remove(map: &mut std::collections::BTreeMap<String, Value>, id: &str) -> GraphResult {
    map.remove(id).ok_or_else(|| GraphError::not_found(id))?;
    Ok(GraphResponse::no_content())
}

fn read_only(body: &Map<String, Value>, fields: &[&str]) -> Result<(), GraphError> {
    match fields.iter().find(|f| body.contains_key(**f)) {
        Some(f) => Err(GraphError::bad_request(format!(
            "Property '{f}' is read-only and cannot be set."
        ))),
        None => Ok(()),
    }
}

fn create_object(t: &mut Tenant, collection: &str, mut body: Map<String, Value>) -> GraphResult {
    let collection = COLLECTIONS
        .iter()
        .copied()
        .find(|c| *c == collection)
        .unwrap_or(USERS);
    read_only(&body, &["id", "createdDateTime", "deletedDateTime"])?;
    let id = t.new_id();
    let mut object = json!({"@odata.type": odata_type(collection), "id": id, "createdDateTime": now(), "deletedDateTime": null});
    match collection {
        USERS => {
            for f in [
                "accountEnabled",
                "displayName",
                "mailNickname",
                "userPrincipalName",
                "passwordProfile",
            ] {
                require(&body, f)?;
            }
            let upn = body["userPrincipalName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !upn.to_lowercase().ends_with(&format!("@{DOMAIN}")) || upn.starts_with('@') {
                return Err(GraphError::bad_request(format!(
                    "Property userPrincipalName is invalid: the domain portion of {upn} must be a verified domain of the tenant."
                )));
            }
            if t.upn_taken(&upn, "") {
                return Err(GraphError::conflict_property("userPrincipalName"));
            }
            // Passwords are write-only: Graph never returns them.
            body.remove("passwordProfile");
            object["userType"] = json!("Member");
            object["mail"] = Value::Null;
        }
        GROUPS => {
            for f in [
                "displayName",
                "mailEnabled",
                "mailNickname",
                "securityEnabled",
            ] {
                require(&body, f)?;
            }
            let types: Vec<String> = body
                .get("groupTypes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if types.iter().any(|t| t == "DynamicMembership")
                && body.get("membershipRule").is_none_or(Value::is_null)
            {
                return Err(GraphError::bad_request(
                    "A group with dynamic membership needs a membershipRule.",
                ));
            }
            if body.get("isAssignableToRole") == Some(&Value::Bool(true))
                && body.get("securityEnabled") != Some(&Value::Bool(true))
            {
                return Err(GraphError::bad_request(
                    "isAssignableToRole can only be set on security-enabled groups.",
                ));
            }
            object["groupTypes"] = json!([]);
            if types.iter().any(|t| t == "Unified") {
                let nick = body["mailNickname"].as_str().unwrap_or_default();
                object["mail"] = json!(format!("{nick}@{DOMAIN}"));
            }
        }
        APPLICATIONS => {
            require(&body, "displayName")?;
            read_only(&body, &["appId", "publisherDomain"])?;
            object["appId"] = json!(t.new_id());
            object["publisherDomain"] = json!(DOMAIN);
            // Secrets and certificates are added with addPassword / addKey, never on create.
            body.insert("passwordCredentials".into(), json!([]));
            body.insert("keyCredentials".into(), json!([]));
        }
        SERVICE_PRINCIPALS => {
            require(&body, "appId")?;
            let app_id = body["appId"].as_str().unwrap_or_default().to_string();
            if t.collection(SERVICE_PRINCIPALS).values().any(|s| {
                s["appId"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(&app_id))
            }) {
                return Err(GraphError::conflict_property("appId"));
            }
            let app = t
                .collection(APPLICATIONS)
                .values()
                .find(|a| a["appId"] == app_id.as_str())
                .cloned();
            let (name, roles, owner) = match (app, t.external_apps.get(&app_id)) {
                (Some(app), _) => (
                    app["displayName"].clone(),
                    app["appRoles"].clone(),
                    t.tenant_id.clone(),
                ),
                (None, Some(ext)) => (
                    ext["displayName"].clone(),
                    ext["appRoles"].clone(),
                    "f8cdef31-a31e-4b4a-93e4-5f571e91255a".into(),
                ),
                (None, None) => {
                    return Err(GraphError::bad_request(format!(
                        "The appId '{app_id}' of the service principal does not reference a valid application object."
                    )));
                }
            };
            let roles = roles.as_array().cloned().unwrap_or_default();
            object = sp_object(
                &id,
                &app_id,
                name.as_str().unwrap_or_default(),
                roles,
                &owner,
            );
            object["createdDateTime"] = json!(now());
        }
        ADMINISTRATIVE_UNITS => require(&body, "displayName")?,
        _ => {
            return Err(GraphError::new(
                405,
                "Request_BadRequest",
                "Devices are registered by the devices themselves.",
            ));
        }
    }
    merge(&mut object, body);
    t.collection_mut(collection)
        .insert(id.clone(), object.clone());
    object.as_object_mut().map(|m| m.remove("@odata.type"));
    Ok(GraphResponse::json(201, object))
}

fn patch_object(
    t: &mut Tenant,
    collection: &str,
    key: &str,
    mut body: Map<String, Value>,
) -> GraphResult {
    let collection = COLLECTIONS
        .iter()
        .copied()
        .find(|c| *c == collection)
        .unwrap_or(USERS);
    let id = resolve(t, collection, key)?;
    read_only(
        &body,
        &["id", "appId", "createdDateTime", "deletedDateTime"],
    )?;
    match collection {
        USERS => {
            if let Some(upn) = body.get("userPrincipalName").and_then(Value::as_str)
                && t.upn_taken(upn, &id)
            {
                return Err(GraphError::conflict_property("userPrincipalName"));
            }
            body.remove("passwordProfile");
        }
        GROUPS if body.contains_key("isAssignableToRole") => {
            return Err(GraphError::bad_request(
                "Property 'isAssignableToRole' can only be set when the group is created.",
            ));
        }
        APPLICATIONS => read_only(&body, &["passwordCredentials", "keyCredentials"])?,
        _ => {}
    }
    let object = t.collection_mut(collection).get_mut(&id).expect("resolved");
    merge(object, body);
    Ok(GraphResponse::no_content())
}

fn add_link(
    t: &mut Tenant,
    parent_collection: &str,
    parent: &str,
    target: &str,
    owner: bool,
) -> GraphResult {
    let c = collection_of(parent_collection);
    let parent = resolve(t, c, parent)?;
    if t.find(target).is_none() {
        return Err(GraphError::not_found(target));
    }
    let rel = if owner { "owners" } else { "members" };
    if !owner && c == GROUPS {
        let group = &t.collection(GROUPS)[&parent];
        if group["groupTypes"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "DynamicMembership"))
        {
            return Err(GraphError::bad_request(
                "Insufficient privileges to complete the operation: members of a group with dynamic membership are managed by its rule.",
            ));
        }
    }
    let set = if owner { &mut t.owners } else { &mut t.members };
    if !set.entry(parent).or_default().insert(target.to_string()) {
        return Err(GraphError::bad_request(format!(
            "One or more added object references already exist for the following modified properties: '{rel}'."
        )));
    }
    Ok(GraphResponse::no_content())
}

/// The collection constant a path's first segment names, among those with members or owners.
fn collection_of(segment: &str) -> &'static str {
    match segment {
        GROUPS => GROUPS,
        APPLICATIONS => APPLICATIONS,
        SERVICE_PRINCIPALS => SERVICE_PRINCIPALS,
        _ => ADMINISTRATIVE_UNITS,
    }
}

fn assign_role(t: &mut Tenant, sp_key: &str, body: Map<String, Value>) -> GraphResult {
    for f in ["principalId", "resourceId", "appRoleId"] {
        require(&body, f)?;
    }
    let sp = resolve(t, SERVICE_PRINCIPALS, sp_key)?;
    let (principal, resource, role) = (
        body["principalId"].as_str().unwrap_or_default().to_string(),
        body["resourceId"].as_str().unwrap_or_default().to_string(),
        body["appRoleId"].as_str().unwrap_or_default().to_string(),
    );
    if resource != sp {
        return Err(GraphError::bad_request(
            "resourceId must be the service principal the assignment is created on.",
        ));
    }
    let Some((pc, p)) = t.find(&principal).map(|(c, o)| (c, o.clone())) else {
        return Err(GraphError::not_found(&principal));
    };
    let sp_obj = t.collection(SERVICE_PRINCIPALS)[&sp].clone();
    let role_known = role == NO_ROLE
        || sp_obj["appRoles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["id"] == role.as_str()));
    if !role_known {
        return Err(GraphError::bad_request(format!(
            "Permission being assigned was not found on application '{}'. appRoleId {role} does not exist.",
            sp_obj["appId"].as_str().unwrap_or_default()
        )));
    }
    if t.app_role_assignments.values().any(|a| {
        a["principalId"] == principal.as_str()
            && a["resourceId"] == resource.as_str()
            && a["appRoleId"] == role.as_str()
    }) {
        return Err(GraphError::bad_request(
            "Permission being assigned already exists on the object",
        ));
    }
    let ptype = match pc {
        USERS => "User",
        GROUPS => "Group",
        _ => "ServicePrincipal",
    };
    let id = t.new_id().replace('-', "");
    let assignment = json!({"id": id, "appRoleId": role, "principalId": principal, "principalType": ptype,
        "principalDisplayName": p["displayName"], "resourceId": resource, "resourceDisplayName": sp_obj["displayName"],
        "createdDateTime": now(), "deletedDateTime": null});
    t.app_role_assignments.insert(id, assignment.clone());
    Ok(GraphResponse::json(201, assignment))
}

fn create_grant(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    for f in ["clientId", "consentType", "resourceId", "scope"] {
        require(&body, f)?;
    }
    for f in ["clientId", "resourceId"] {
        let id = body[f].as_str().unwrap_or_default();
        if !t.collection(SERVICE_PRINCIPALS).contains_key(id) {
            return Err(GraphError::bad_request(format!(
                "Invalid value specified for property '{f}': service principal {id} does not exist."
            )));
        }
    }
    let principal = body.get("principalId").cloned().unwrap_or(Value::Null);
    if body["consentType"] == "Principal" && principal.as_str().is_none_or(|p| t.find(p).is_none())
    {
        return Err(GraphError::bad_request(
            "A grant with consentType Principal needs the principalId of an existing user.",
        ));
    }
    if t.grants.values().any(|g| {
        g["clientId"] == body["clientId"]
            && g["resourceId"] == body["resourceId"]
            && g["principalId"] == principal
    }) {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        ));
    }
    let id = t.new_id().replace('-', "");
    let mut grant = json!({"id": id, "principalId": null});
    merge(&mut grant, body);
    t.grants.insert(id, grant.clone());
    Ok(GraphResponse::json(201, grant))
}

fn create_role_assignment(t: &mut Tenant, body: Map<String, Value>) -> GraphResult {
    for f in ["principalId", "roleDefinitionId", "directoryScopeId"] {
        require(&body, f)?;
    }
    let principal = body["principalId"].as_str().unwrap_or_default();
    let role = body["roleDefinitionId"].as_str().unwrap_or_default();
    let scope = body["directoryScopeId"].as_str().unwrap_or_default();
    if !t.role_definitions.contains_key(role) {
        return Err(GraphError::not_found(role));
    }
    match t.find(principal) {
        None => {
            return Err(GraphError::bad_request(format!(
                "Invalid principal {principal}: the object does not exist."
            )));
        }
        Some((GROUPS, g)) if g["isAssignableToRole"] != Value::Bool(true) => {
            return Err(GraphError::bad_request(
                "Only groups with isAssignableToRole set to true can be assigned directory roles.",
            ));
        }
        _ => {}
    }
    if let Some(unit) = scope.strip_prefix("/administrativeUnits/")
        && !t.collection(ADMINISTRATIVE_UNITS).contains_key(unit)
    {
        return Err(GraphError::bad_request(format!(
            "Invalid directoryScopeId {scope}: the administrative unit does not exist."
        )));
    } else if scope != "/"
        && !scope.starts_with("/administrativeUnits/")
        && t.find(scope.trim_start_matches('/')).is_none()
    {
        return Err(GraphError::bad_request(format!(
            "Invalid directoryScopeId {scope}."
        )));
    }
    if t.role_assignments.values().any(|a| {
        a["principalId"] == principal
            && a["roleDefinitionId"] == role
            && a["directoryScopeId"] == scope
    }) {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "A conflicting object with one or more of the specified property values is present in the directory.",
        ));
    }
    let id = t.new_id();
    let assignment = json!({"id": id, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope});
    t.role_assignments.insert(id, assignment.clone());
    Ok(GraphResponse::json(201, assignment))
}

/// Conditional access refuses policies naming users, groups or named locations that do not exist.
fn check_policy_refs(t: &Tenant, body: &Map<String, Value>) -> Result<(), GraphError> {
    super::strengths::check_policy(t, body)?;
    super::terms::check_policy(t, body)?;
    let Some(conditions) = body.get("conditions") else {
        return Ok(());
    };
    let special = ["All", "None", "GuestsOrExternalUsers", "AllTrusted"];
    let mut missing = Vec::new();
    for (section, fields) in [
        (
            "users",
            &[
                "includeUsers",
                "excludeUsers",
                "includeGroups",
                "excludeGroups",
            ][..],
        ),
        ("locations", &["includeLocations", "excludeLocations"][..]),
    ] {
        for f in fields {
            for id in conditions[section][*f]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let exists = special.contains(&id)
                    || if section == "locations" {
                        t.named_locations.contains_key(id)
                    } else {
                        t.find(id).is_some()
                    };
                if !exists {
                    missing.push(id.to_string());
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(GraphError::new(
            400,
            "BadRequest",
            format!(
                "1037: The policy contains invalid user, group or location ids: {}.",
                missing.join(", ")
            ),
        ))
    }
}
