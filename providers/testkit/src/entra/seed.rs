//! Deterministic seeding: the same sizes and seed give the same tenant, ids included.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::model::{
    ADMINISTRATIVE_UNITS, APPLICATIONS, DEVICES, GROUPS, SERVICE_PRINCIPALS, Tenant, USERS, guid,
};

/// Sizes and seed of a tenant.
#[derive(Debug, Clone)]
pub(crate) struct SeedSpec {
    pub tenant: String,
    pub users: usize,
    pub groups: usize,
    pub apps: usize,
    pub policies: usize,
    pub seed: u64,
}

pub(crate) const DOMAIN: &str = "contoso.onmicrosoft.com";

/// Microsoft Graph's own application, present in every tenant.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Built-in directory roles: (template id, name).
pub(crate) const ROLES: [(&str, &str); 8] = [
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        "Groups Administrator",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ("5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"),
];

const GRAPH_ROLES: [(&str, &str); 4] = [
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
    ("5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All"),
    ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All"),
    ("246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All"),
];

const FIRST: [&str; 16] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
    "Radia", "Niklaus", "Shafi", "Leslie", "Hedy", "John",
];
const LAST: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Wirth",
    "Goldwasser",
    "Lamport",
    "Lamarr",
    "Backus",
];
const DEPARTMENTS: [&str; 8] = [
    "Engineering",
    "Sales",
    "Finance",
    "Marketing",
    "Support",
    "Legal",
    "Operations",
    "Research",
];
const CITIES: [(&str, &str, &str); 4] = [
    ("Seattle", "United States", "US"),
    ("Dublin", "Ireland", "IE"),
    ("Berlin", "Germany", "DE"),
    ("Tokyo", "Japan", "JP"),
];
const METHODS: [&str; 7] = [
    "MicrosoftAuthenticator",
    "Fido2",
    "Sms",
    "TemporaryAccessPass",
    "Email",
    "SoftwareOath",
    "X509Certificate",
];

pub(crate) fn seed(spec: &SeedSpec) -> Tenant {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut t = Tenant::new(spec.tenant.clone());
    for (id, name) in ROLES {
        t.role_definitions.insert(
            id.to_string(),
            json!({"id": id, "templateId": id, "displayName": name, "isBuiltIn": true, "isEnabled": true,
                   "description": format!("Built-in role: {name}."),
                   "rolePermissions": [{"allowedResourceActions": [format!("microsoft.directory/{}/allTasks", name.to_lowercase().replace(' ', ""))]}]}),
        );
    }
    let graph_roles: Vec<Value> = GRAPH_ROLES
        .iter()
        .map(|(id, v)| json!({"id": id, "value": v, "displayName": v, "description": v, "allowedMemberTypes": ["Application"], "isEnabled": true, "origin": "Application"}))
        .collect();
    t.external_apps.insert(
        GRAPH_APP_ID.into(),
        json!({"displayName": "Microsoft Graph", "appRoles": graph_roles}),
    );
    let graph_sp = guid(&mut rng);
    t.collection_mut(SERVICE_PRINCIPALS).insert(
        graph_sp.clone(),
        sp_object(
            &graph_sp,
            GRAPH_APP_ID,
            "Microsoft Graph",
            graph_roles,
            "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        ),
    );

    let users = seed_users(&mut t, &mut rng, spec.users);
    let devices: Vec<String> = (0..(spec.users / 20).max(2))
        .map(|i| {
            let id = guid(&mut rng);
            let device_id = guid(&mut rng);
            t.collection_mut(DEVICES).insert(
                id.clone(),
                json!({"@odata.type": "#microsoft.graph.device", "id": id, "deviceId": device_id,
                       "displayName": format!("LAPTOP-{i:04}"), "operatingSystem": "Windows", "accountEnabled": true}),
            );
            id
        })
        .collect();
    let groups = seed_groups(&mut t, &mut rng, spec.groups, &users, &devices);
    let sps = seed_apps(&mut t, &mut rng, spec.apps, &users, &groups, &graph_sp);
    seed_roles_and_units(&mut t, &mut rng, spec, &users, &groups, &sps);
    seed_policies(&mut t, &mut rng, spec.policies, &users, &groups);
    // A generator of its own: what came before is seeded as it always was.
    let mut pim = StdRng::seed_from_u64(spec.seed ^ 0x5eed_0001);
    seed_privileged_access(&mut t, &mut pim, &users);
    super::strengths::seed(&mut t, !users.is_empty());
    super::sts_policies::seed(&mut t, &sps);
    if !users.is_empty() {
        super::cross_tenant::seed(&mut t);
        super::terms::seed(&mut t);
        super::role_policies::seed(&mut t, ROLES[0].0);
    }
    t
}

/// Custom roles a tenant defines for its own helpdesk and app owners.
pub(crate) const CUSTOM_ROLES: [(&str, &[&str]); 3] = [
    (
        "Contoso Helpdesk Tier 1",
        &[
            "microsoft.directory/users/password/update",
            "microsoft.directory/users/basic/update",
        ],
    ),
    (
        "Contoso App Registrar",
        &[
            "microsoft.directory/applications/create",
            "microsoft.directory/applications/basic/update",
        ],
    ),
    (
        "Contoso Group Steward",
        &["microsoft.directory/groups/members/update"],
    ),
];

/// A tenant that uses Privileged Identity Management: a few custom roles, most administrators
/// eligible rather than active (some until a date, some without end), and a few active
/// assignments that end on a date.
fn seed_privileged_access(t: &mut Tenant, rng: &mut StdRng, users: &[String]) {
    if users.len() < 4 {
        return;
    }
    let mut custom = Vec::new();
    for (i, (name, actions)) in CUSTOM_ROLES.iter().enumerate() {
        let id = guid(rng);
        t.role_definitions.insert(
            id.clone(),
            json!({"id": id, "templateId": id, "displayName": name, "isBuiltIn": false,
                   "isEnabled": i != 2, "version": "1", "resourceScopes": ["/"], "inheritsPermissionsFrom": [],
                   "description": format!("{name}: delegated by Contoso IT."),
                   "rolePermissions": [{"allowedResourceActions": actions, "condition": null}]}),
        );
        custom.push(id);
    }
    // A policy for administrators covers the helpdesk's custom role too.
    let admins = t.ca_policies.values_mut().find(|p| {
        p["conditions"]["users"]["includeRoles"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    });
    if let Some(p) = admins
        && let Some(roles) = p["conditions"]["users"]["includeRoles"].as_array_mut()
    {
        roles.push(json!(custom[0]));
    }
    let until = |rng: &mut StdRng| {
        if rng.gen_bool(0.5) {
            json!({"type": "afterDateTime", "endDateTime": format!("2031-0{}-15T00:00:00Z", rng.gen_range(1..10)), "duration": null})
        } else {
            json!({"type": "noExpiration", "endDateTime": null, "duration": null})
        }
    };
    let schedule = |rng: &mut StdRng,
                    principal: &str,
                    role: &str,
                    scope: &str,
                    expiration: Value| {
        let id = guid(rng);
        json!({"id": id, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope,
               "appScopeId": null, "createdUsing": id, "createdDateTime": "2025-03-01T08:00:00Z",
               "modifiedDateTime": null, "status": "Provisioned", "memberType": "Direct",
               "scheduleInfo": {"startDateTime": "2025-03-01T08:00:00Z", "recurrence": null, "expiration": expiration}})
    };
    let units: Vec<String> = t.collection(ADMINISTRATIVE_UNITS).keys().cloned().collect();
    // A few hundred at most: PIM is for administrators, not for everyone.
    let eligible = (users.len() / 12).clamp(4, 300);
    for i in 0..eligible {
        let user = &users[rng.gen_range(2..users.len())];
        let (role, scope) = match i % 4 {
            0 => (custom[i / 4 % custom.len()].clone(), "/".to_string()),
            1 if !units.is_empty() => (
                custom[0].clone(),
                format!("/administrativeUnits/{}", units[i % units.len()]),
            ),
            _ => (
                ROLES[1 + i % (ROLES.len() - 1)].0.to_string(),
                "/".to_string(),
            ),
        };
        let taken = t.role_eligibilities.values().any(|e| {
            e["principalId"] == user.as_str()
                && e["roleDefinitionId"] == role.as_str()
                && e["directoryScopeId"] == scope.as_str()
        });
        if taken {
            continue;
        }
        let expiration = until(rng);
        let e = schedule(rng, user, &role, &scope, expiration);
        t.role_eligibilities
            .insert(e["id"].as_str().unwrap_or_default().to_string(), e);
    }
    // Global Administrator: eligible for the second break-glass account's owner.
    let e = schedule(
        rng,
        &users[2],
        ROLES[0].0,
        "/",
        json!({"type": "noExpiration", "endDateTime": null, "duration": null}),
    );
    t.role_eligibilities
        .insert(e["id"].as_str().unwrap_or_default().to_string(), e);
    for user in users.iter().skip(3).take(2) {
        let role = ROLES[1 + rng.gen_range(0..ROLES.len() - 1)].0;
        if t.role_assignments
            .values()
            .any(|a| a["principalId"] == user.as_str() && a["roleDefinitionId"] == role)
        {
            continue;
        }
        let mut a = schedule(
            rng,
            user,
            role,
            "/",
            json!({"type": "afterDateTime", "endDateTime": "2030-12-31T00:00:00Z", "duration": null}),
        );
        a["assignmentType"] = json!("Assigned");
        t.role_assignments
            .insert(a["id"].as_str().unwrap_or_default().to_string(), a);
    }
}

fn seed_users(t: &mut Tenant, rng: &mut StdRng, n: usize) -> Vec<String> {
    let mut ids: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let id = guid(rng);
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let nick = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i);
        let guest = i > 2 && rng.gen_bool(0.04);
        let (upn, user_type, mail) = if guest {
            // Guests come from the partner organisations the cross-tenant settings list.
            let (_, partner) =
                super::cross_tenant::PARTNERS[i % super::cross_tenant::PARTNERS.len()];
            (
                format!("{nick}_{partner}#EXT#@{DOMAIN}"),
                "Guest",
                format!("{nick}@{partner}"),
            )
        } else {
            (
                format!("{nick}@{DOMAIN}"),
                "Member",
                format!("{nick}@{DOMAIN}"),
            )
        };
        let (city, country, usage) = CITIES[rng.gen_range(0..CITIES.len())];
        let dept = DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())];
        t.collection_mut(USERS).insert(
            id.clone(),
            json!({
                "@odata.type": "#microsoft.graph.user",
                "id": id, "accountEnabled": i < 3 || rng.gen_bool(0.95),
                "displayName": format!("{first} {last}"), "givenName": first, "surname": last,
                "userPrincipalName": upn, "mailNickname": nick, "mail": mail,
                "userType": user_type, "jobTitle": if i < 3 { "Administrator" } else { "Engineer" },
                "department": dept, "companyName": "Contoso", "officeLocation": format!("{city} {}", rng.gen_range(1..9)),
                "employeeId": format!("E{:06}", i + 1), "employeeType": "Employee",
                "usageLocation": usage, "preferredLanguage": "en-US", "city": city, "country": country,
                // Unset properties are not stored: `$select` answers them as null.
                "mobilePhone": format!("+1 555 01{:04}", i % 10_000), "businessPhones": [],
                "otherMails": [], "createdDateTime": "2024-01-15T09:00:00Z",
                "lastPasswordChangeDateTime": "2025-06-01T08:00:00Z",
            }),
        );
        if i > 0 && rng.gen_bool(0.7) {
            let manager = ids[rng.gen_range(0..ids.len().min(i))].clone();
            t.managers.insert(id.clone(), manager);
        }
        ids.push(id);
    }
    ids
}

fn pick<'a>(rng: &mut StdRng, from: &'a [String]) -> Option<&'a String> {
    (!from.is_empty()).then(|| &from[rng.gen_range(0..from.len())])
}

fn seed_groups(
    t: &mut Tenant,
    rng: &mut StdRng,
    n: usize,
    users: &[String],
    devices: &[String],
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::with_capacity(n);
    let average = (users.len() * 3 / n.max(1)).clamp(1, 400);
    // Dynamic groups select users by department and office, as rules commonly do.
    let mut by_office: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    for u in users {
        let user = &t.objects[USERS][u];
        let key = (
            user["department"].as_str().unwrap_or_default().to_string(),
            user["officeLocation"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        by_office.entry(key).or_default().push(u.clone());
    }
    for i in 0..n {
        let id = guid(rng);
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        let shape = i % 10;
        let name = match shape {
            0..=4 => format!("SG-{dept}-{i:03}"),
            5..=7 => format!("M365 {dept} Team {i:03}"),
            8 => format!("DYN-{dept}-{i:03}"),
            _ => format!("PRIV-{dept}-Admins-{i:03}"),
        };
        let nick = name.to_lowercase().replace([' ', '-'], "");
        let mut group = json!({
            "@odata.type": "#microsoft.graph.group", "id": id, "displayName": name,
            "description": format!("{dept} group {i}"), "mailNickname": nick,
            "mailEnabled": false, "securityEnabled": true, "groupTypes": [],
            "membershipRule": null, "membershipRuleProcessingState": null,
            "isAssignableToRole": null, "visibility": null, "mail": null, "classification": null,
            "securityIdentifier": format!("S-1-12-1-{}", rng.gen_range(1_000_000u64..9_999_999)),
            "createdDateTime": "2024-02-01T10:00:00Z", "renewedDateTime": "2024-02-01T10:00:00Z",
        });
        match shape {
            5..=7 => {
                group["groupTypes"] = json!(["Unified"]);
                group["mailEnabled"] = json!(true);
                group["securityEnabled"] = json!(false);
                group["visibility"] = json!(if i % 2 == 0 { "Private" } else { "Public" });
                group["mail"] = json!(format!("{nick}@{DOMAIN}"));
            }
            8 => {
                group["groupTypes"] = json!(["DynamicMembership"]);
                group["membershipRule"] = json!(format!(
                    "(user.department -eq \"{dept}\") -and (user.officeLocation -eq \"{}\")",
                    office(i)
                ));
                group["membershipRuleProcessingState"] = json!("On");
            }
            9 => group["isAssignableToRole"] = json!(true),
            _ => {}
        }
        t.collection_mut(GROUPS).insert(id.clone(), group);
        let members = t.members.entry(id.clone()).or_default();
        if shape == 8 {
            // What the rule evaluated to: every user of the department.
            let key = (dept.to_string(), office(i));
            members.extend(by_office.get(&key).into_iter().flatten().cloned());
        } else {
            for _ in 0..rng.gen_range(0..=average * 2) {
                if let Some(u) = pick(rng, users) {
                    members.insert(u.clone());
                }
            }
            if shape < 5 && i > 0 && rng.gen_bool(0.2) {
                members.insert(ids[rng.gen_range(0..ids.len())].clone());
            }
            if shape < 5
                && rng.gen_bool(0.15)
                && let Some(d) = pick(rng, devices)
            {
                members.insert(d.clone());
            }
        }
        let owners = t.owners.entry(id.clone()).or_default();
        for _ in 0..if (5..=7).contains(&shape) {
            2
        } else {
            rng.gen_range(0..2)
        } {
            if let Some(u) = pick(rng, users) {
                owners.insert(u.clone());
            }
        }
        ids.push(id);
    }
    ids
}

/// The office a dynamic group's rule selects.
fn office(i: usize) -> String {
    format!("{} {}", CITIES[(i / 10) % CITIES.len()].0, (i / 40) % 8 + 1)
}

pub(crate) fn sp_object(
    id: &str,
    app_id: &str,
    name: &str,
    roles: Vec<Value>,
    owner_tenant: &str,
) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal", "id": id, "appId": app_id,
        "displayName": name, "accountEnabled": true, "appRoleAssignmentRequired": false,
        "servicePrincipalType": "Application", "tags": [], "notes": null,
        "preferredSingleSignOnMode": null, "homepage": null, "loginUrl": null,
        "replyUrls": [], "servicePrincipalNames": [app_id], "appRoles": roles,
        "appOwnerOrganizationId": owner_tenant, "keyCredentials": [], "passwordCredentials": [],
        "description": null,
    })
}

fn seed_apps(
    t: &mut Tenant,
    rng: &mut StdRng,
    n: usize,
    users: &[String],
    groups: &[String],
    graph_sp: &str,
) -> Vec<String> {
    let mut sps = Vec::with_capacity(n);
    for i in 0..n {
        let id = guid(rng);
        let app_id = guid(rng);
        let name = format!("App {i:03} {}", DEPARTMENTS[i % DEPARTMENTS.len()]);
        let roles: Vec<Value> = (0..rng.gen_range(0..3))
            .map(|r| {
                let value = ["Reader", "Writer", "Admin"][r];
                json!({"id": guid(rng), "value": value, "displayName": value, "description": format!("{value} of {name}"),
                       "allowedMemberTypes": ["User"], "isEnabled": true, "origin": "Application"})
            })
            .collect();
        let passwords: Vec<Value> = (0..rng.gen_range(0..3))
            .map(|p| json!({"keyId": guid(rng), "displayName": format!("secret {p}"), "hint": "x7Q",
                            "customKeyIdentifier": null, "secretText": null,
                            "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"}))
            .collect();
        let keys: Vec<Value> = if i % 4 == 0 {
            vec![
                json!({"keyId": guid(rng), "displayName": format!("CN={name}"), "type": "AsymmetricX509Cert",
                        "usage": "Verify", "key": null, "customKeyIdentifier": "3F2504E04F8911D39A0C0305E82C3301",
                        "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2028-01-01T00:00:00Z"}),
            ]
        } else {
            Vec::new()
        };
        let graph_access: Vec<Value> = GRAPH_ROLES[..rng.gen_range(1..=GRAPH_ROLES.len())]
            .iter()
            .map(|(rid, _)| json!({"id": rid, "type": "Role"}))
            .collect();
        t.collection_mut(APPLICATIONS).insert(
            id.clone(),
            json!({
                "@odata.type": "#microsoft.graph.application", "id": id, "appId": app_id,
                "displayName": name, "description": null, "notes": null, "tags": [],
                "signInAudience": if i % 5 == 0 { "AzureADMultipleOrgs" } else { "AzureADMyOrg" },
                "identifierUris": [format!("api://{app_id}")], "groupMembershipClaims": null,
                "isFallbackPublicClient": false,
                "web": {"redirectUris": [format!("https://app{i}.contoso.com/signin-oidc")], "homePageUrl": null,
                        "logoutUrl": null, "implicitGrantSettings": {"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false}},
                "spa": {"redirectUris": []}, "publicClient": {"redirectUris": []},
                "api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [], "preAuthorizedApplications": [], "knownClientApplications": []},
                "appRoles": roles.clone(), "optionalClaims": null, "info": {"marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
                "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": graph_access}],
                "keyCredentials": keys, "passwordCredentials": passwords,
                "publisherDomain": DOMAIN, "createdDateTime": "2024-03-01T12:00:00Z",
            }),
        );
        let owner = pick(rng, users).cloned();
        if let Some(u) = &owner {
            t.owners.entry(id.clone()).or_default().insert(u.clone());
        }
        let sp = guid(rng);
        let tenant = t.tenant_id.clone();
        t.collection_mut(SERVICE_PRINCIPALS).insert(
            sp.clone(),
            sp_object(&sp, &app_id, &name, roles.clone(), &tenant),
        );
        // The first application is signed in to from CI pipelines without a secret.
        if i == 0 {
            super::federated::seed(t, &id);
        }
        // Every other enterprise application is owned too, by its registration's owner.
        if i % 2 == 0
            && let Some(u) = owner
        {
            t.owners.entry(sp.clone()).or_default().insert(u);
        }
        for role in &roles {
            for _ in 0..rng.gen_range(1..6) {
                let (principal, ptype) = if rng.gen_bool(0.7) {
                    (pick(rng, users), "User")
                } else {
                    (pick(rng, groups), "Group")
                };
                if let Some(p) = principal {
                    let p = p.clone();
                    assign(
                        t,
                        rng,
                        &p,
                        ptype,
                        &sp,
                        role["id"].as_str().unwrap_or_default(),
                    );
                }
            }
        }
        for access in t.objects[APPLICATIONS][&id]["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let role = access["id"].as_str().unwrap_or_default().to_string();
            assign(t, rng, &sp.clone(), "ServicePrincipal", graph_sp, &role);
        }
        if i % 3 == 0 {
            let gid = guid(rng);
            t.grants.insert(
                gid.clone(),
                json!({"id": gid, "clientId": sp, "consentType": "AllPrincipals", "principalId": null,
                       "resourceId": graph_sp, "scope": "openid profile User.Read"}),
            );
        }
        sps.push(sp);
    }
    sps
}

fn assign(
    t: &mut Tenant,
    rng: &mut StdRng,
    principal: &str,
    ptype: &str,
    resource: &str,
    role: &str,
) {
    let id = guid(rng).replace('-', "");
    let principal_name = t
        .find(principal)
        .and_then(|(_, o)| o["displayName"].as_str().map(str::to_string));
    let resource_name = t
        .find(resource)
        .and_then(|(_, o)| o["displayName"].as_str().map(str::to_string));
    let exists = t.app_role_assignments.values().any(|a| {
        a["principalId"] == principal && a["resourceId"] == resource && a["appRoleId"] == role
    });
    if !exists {
        t.app_role_assignments.insert(
            id.clone(),
            json!({"id": id, "appRoleId": role, "principalId": principal, "principalType": ptype,
                   "principalDisplayName": principal_name, "resourceId": resource,
                   "resourceDisplayName": resource_name, "createdDateTime": "2024-04-01T00:00:00Z", "deletedDateTime": null}),
        );
    }
}

fn seed_roles_and_units(
    t: &mut Tenant,
    rng: &mut StdRng,
    spec: &SeedSpec,
    users: &[String],
    groups: &[String],
    sps: &[String],
) {
    let add = |t: &mut Tenant, rng: &mut StdRng, principal: &str, role: &str, scope: &str| {
        let id = guid(rng);
        t.role_assignments.insert(
            id.clone(),
            json!({"id": id, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope}),
        );
    };
    for u in users.iter().take(2) {
        add(t, rng, u, ROLES[0].0, "/");
    }
    for _ in 0..(users.len() / 50).max(1) {
        if let Some(u) = pick(rng, users) {
            let role = ROLES[rng.gen_range(1..ROLES.len())].0;
            add(t, rng, u, role, "/");
        }
    }
    for g in groups.iter().skip(9).step_by(10) {
        add(t, rng, g, ROLES[2].0, "/");
    }
    if let Some(sp) = sps.first() {
        add(t, rng, sp, ROLES[3].0, "/");
    }
    for i in 0..(spec.groups / 20).max(2) {
        let id = guid(rng);
        let (city, _, _) = CITIES[i % CITIES.len()];
        t.collection_mut(ADMINISTRATIVE_UNITS).insert(
            id.clone(),
            json!({"@odata.type": "#microsoft.graph.administrativeUnit", "id": id,
                   "displayName": format!("AU {city} {i}"), "description": format!("Staff in {city}"),
                   "visibility": null, "membershipType": null, "membershipRule": null, "membershipRuleProcessingState": null}),
        );
        let members = t.members.entry(id.clone()).or_default();
        for _ in 0..rng.gen_range(1..20) {
            if let Some(u) = pick(rng, users) {
                members.insert(u.clone());
            }
        }
        if let Some(g) = pick(rng, groups) {
            members.insert(g.clone());
        }
        if let Some(u) = pick(rng, users) {
            let u = u.clone();
            add(
                t,
                rng,
                &u,
                ROLES[5].0,
                &format!("/administrativeUnits/{id}"),
            );
        }
    }
}

fn seed_policies(t: &mut Tenant, rng: &mut StdRng, k: usize, users: &[String], groups: &[String]) {
    let mut locations = Vec::new();
    for i in 0..(k / 4 + 2) {
        let id = guid(rng);
        let location = if i % 2 == 0 {
            json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": id, "displayName": format!("Office network {i}"),
                   "isTrusted": true, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": format!("203.0.{}.0/24", 100 + i)}],
                   "createdDateTime": "2024-05-01T00:00:00Z", "modifiedDateTime": "2024-05-01T00:00:00Z"})
        } else {
            json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": id, "displayName": format!("Blocked countries {i}"),
                   "countriesAndRegions": ["KP", "IR"], "includeUnknownCountriesAndRegions": false,
                   "countryLookupMethod": "clientIpAddress",
                   "createdDateTime": "2024-05-01T00:00:00Z", "modifiedDateTime": "2024-05-01T00:00:00Z"})
        };
        t.named_locations.insert(id.clone(), location);
        locations.push(id);
    }
    let break_glass = users.first().cloned();
    for i in 0..k {
        let id = guid(rng);
        let state = [
            "enabled",
            "enabled",
            "enabledForReportingButNotEnforced",
            "disabled",
        ][i % 4];
        let exclude_users: Vec<String> = break_glass.iter().cloned().collect();
        let mut include_groups = Vec::new();
        let mut exclude_groups = Vec::new();
        if let Some(g) = pick(rng, groups) {
            include_groups.push(g.clone());
        }
        if i % 3 == 0
            && let Some(g) = pick(rng, groups)
        {
            exclude_groups.push(g.clone());
        }
        let (name, grant, locs, roles) = match i % 4 {
            0 => (
                "Require MFA for admins",
                json!({"operator": "OR", "builtInControls": ["mfa"]}),
                json!(null),
                vec![ROLES[0].0, ROLES[1].0],
            ),
            1 => (
                "Require MFA for group",
                json!({"operator": "OR", "builtInControls": ["mfa"]}),
                json!(null),
                vec![],
            ),
            2 => (
                "Block outside trusted networks",
                json!({"operator": "OR", "builtInControls": ["block"]}),
                json!({"includeLocations": ["All"], "excludeLocations": [locations[0]]}),
                vec![],
            ),
            _ => (
                "Block blocked countries",
                json!({"operator": "OR", "builtInControls": ["block"]}),
                json!({"includeLocations": [locations[1 % locations.len()]], "excludeLocations": []}),
                vec![],
            ),
        };
        t.ca_policies.insert(
            id.clone(),
            json!({
                "id": id, "displayName": format!("CA{i:03} {name}"), "state": state,
                "createdDateTime": "2024-06-01T00:00:00Z", "modifiedDateTime": null, "templateId": null,
                "conditions": {
                    "clientAppTypes": ["all"], "userRiskLevels": [], "signInRiskLevels": [],
                    "applications": {"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": []},
                    "users": {"includeUsers": if roles.is_empty() && include_groups.is_empty() { vec!["All".to_string()] } else { vec![] },
                              "excludeUsers": exclude_users, "includeGroups": if roles.is_empty() { include_groups } else { vec![] },
                              "excludeGroups": exclude_groups, "includeRoles": roles, "excludeRoles": []},
                    "locations": locs, "platforms": null, "devices": null,
                },
                "grantControls": grant, "sessionControls": null,
            }),
        );
    }
    let configurations: Vec<Value> = METHODS
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let target = if i == 2 {
                groups.first().cloned().unwrap_or_else(|| "all_users".into())
            } else {
                "all_users".into()
            };
            json!({"@odata.type": format!("#microsoft.graph.{}AuthenticationMethodConfiguration", lower_first(m)),
                   "id": m, "state": if i < 3 { "enabled" } else { "disabled" }, "excludeTargets": [],
                   "includeTargets": [{"targetType": "group", "id": target, "isRegistrationRequired": false}]})
        })
        .collect();
    t.authentication_methods_policy = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#authenticationMethodsPolicy",
        "id": "authenticationMethodsPolicy", "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
        "lastModifiedDateTime": "2024-07-01T00:00:00Z", "policyVersion": "1.5",
        "policyMigrationState": "migrationComplete",
        "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 1, "state": "default", "excludeTargets": [],
            "includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}]}},
        "authenticationMethodConfigurations": configurations,
    });
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
