//! `testIamPermissions` on organizations, folders and projects (Resource Manager v3): of the
//! permissions asked, the subset the caller holds on the resource, through the bindings of its
//! allow policy and of every ancestor's (an organization's binding reaches every folder and
//! project under it). A role grants the permissions of its definition: the predefined roles
//! below (the permissions of Google's roles reference that iamsnap's backups and restores
//! use), or a custom role of the organization or a project, unless deleted. Conditional
//! bindings are not evaluated and grant nothing here.

use serde_json::{Value, json};

use super::api::GcpError;
use super::model::Org;

const ORG_GET: &str = "resourcemanager.organizations.get";
const ORG_GET_POLICY: &str = "resourcemanager.organizations.getIamPolicy";
const ORG_SET_POLICY: &str = "resourcemanager.organizations.setIamPolicy";
const FOLDERS_GET: &str = "resourcemanager.folders.get";
const FOLDERS_LIST: &str = "resourcemanager.folders.list";
const FOLDER_GET_POLICY: &str = "resourcemanager.folders.getIamPolicy";
const FOLDER_SET_POLICY: &str = "resourcemanager.folders.setIamPolicy";
const PROJECTS_GET: &str = "resourcemanager.projects.get";
const PROJECTS_LIST: &str = "resourcemanager.projects.list";
const PROJECT_GET_POLICY: &str = "resourcemanager.projects.getIamPolicy";
const PROJECT_SET_POLICY: &str = "resourcemanager.projects.setIamPolicy";
const ROLES_READ: &[&str] = &["iam.roles.get", "iam.roles.list"];
const ROLES_WRITE: &[&str] = &[
    "iam.roles.create",
    "iam.roles.delete",
    "iam.roles.undelete",
    "iam.roles.update",
];
const ACCOUNTS_READ: &[&str] = &["iam.serviceAccounts.get", "iam.serviceAccounts.list"];
const ACCOUNTS_WRITE: &[&str] = &[
    "iam.serviceAccounts.create",
    "iam.serviceAccounts.delete",
    "iam.serviceAccounts.disable",
    "iam.serviceAccounts.enable",
    "iam.serviceAccounts.undelete",
    "iam.serviceAccounts.update",
];
const KEYS_READ: &[&str] = &["iam.serviceAccountKeys.get", "iam.serviceAccountKeys.list"];

/// The permissions of a predefined role, as far as the emulator serves them; `None` for a role
/// it does not know (which grants nothing here).
fn predefined(role: &str) -> Option<Vec<&'static str>> {
    let hierarchy = [
        ORG_GET,
        FOLDERS_GET,
        FOLDERS_LIST,
        PROJECTS_GET,
        PROJECTS_LIST,
    ];
    let get_policies = [ORG_GET_POLICY, FOLDER_GET_POLICY, PROJECT_GET_POLICY];
    let set_policies = [ORG_SET_POLICY, FOLDER_SET_POLICY, PROJECT_SET_POLICY];
    let mut out: Vec<&'static str> = Vec::new();
    match role {
        "roles/owner" => {
            out.extend(hierarchy);
            out.extend(get_policies);
            out.extend(set_policies);
            out.extend(ROLES_READ.iter().chain(ROLES_WRITE));
            out.extend(ACCOUNTS_READ.iter().chain(ACCOUNTS_WRITE).chain(KEYS_READ));
        }
        "roles/viewer" => {
            out.extend([PROJECTS_GET, PROJECT_GET_POLICY]);
            out.extend(ROLES_READ.iter().chain(ACCOUNTS_READ).chain(KEYS_READ));
        }
        "roles/browser" => {
            out.extend(hierarchy);
            out.push(PROJECT_GET_POLICY);
        }
        "roles/iam.securityReviewer" => {
            out.extend(get_policies);
            out.extend(ROLES_READ.iter().chain(ACCOUNTS_READ).chain(KEYS_READ));
        }
        "roles/iam.securityAdmin" => {
            out.extend(get_policies);
            out.extend(set_policies);
            out.extend(ROLES_READ.iter().chain(ACCOUNTS_READ).chain(KEYS_READ));
        }
        "roles/resourcemanager.organizationAdmin" => {
            out.extend(hierarchy);
            out.extend(get_policies);
            out.extend(set_policies);
        }
        "roles/resourcemanager.folderIamAdmin" => {
            out.extend([FOLDERS_GET, FOLDER_GET_POLICY, FOLDER_SET_POLICY]);
        }
        "roles/resourcemanager.projectIamAdmin" => {
            out.extend([PROJECTS_GET, PROJECT_GET_POLICY, PROJECT_SET_POLICY]);
        }
        "roles/iam.organizationRoleAdmin" => {
            out.extend([ORG_GET, PROJECTS_GET, PROJECTS_LIST]);
            out.extend(ROLES_READ.iter().chain(ROLES_WRITE));
        }
        "roles/iam.roleAdmin" => {
            out.extend([PROJECTS_GET, PROJECT_GET_POLICY]);
            out.extend(ROLES_READ.iter().chain(ROLES_WRITE));
        }
        "roles/iam.serviceAccountAdmin" => {
            out.extend([PROJECTS_GET, PROJECTS_LIST]);
            out.extend(ACCOUNTS_READ.iter().chain(ACCOUNTS_WRITE));
        }
        _ => return None,
    }
    Some(out)
}

/// Whether `role` grants `permission`.
fn grants(org: &Org, role: &str, permission: &str) -> bool {
    if let Some(permissions) = predefined(role) {
        return permissions.contains(&permission);
    }
    org.roles
        .get(role)
        .is_some_and(|r| r.deleted_at.is_none() && r.permissions.iter().any(|p| p == permission))
}

/// `POST /v3/{resource}:testIamPermissions` for `member` (`serviceAccount:EMAIL`) on the
/// resource named `name` (already found).
pub(crate) fn test(org: &Org, name: &str, member: &str, body: &Value) -> Result<Value, GcpError> {
    let asked: Vec<&str> = body["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if let Some(wild) = asked.iter().find(|p| p.contains('*')) {
        return Err(GcpError::invalid(format!(
            "Permissions with wildcards (such as * or storage.*) are not allowed: {wild}"
        )));
    }
    // The resource and its ancestors, each one's unconditional bindings naming the member.
    let mut roles: Vec<&str> = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(current) = next {
        let Some(resource) = org.resources.get(&current) else {
            break;
        };
        for b in &resource.policy.bindings {
            let names = b["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x == member));
            if names && b.get("condition").is_none_or(Value::is_null) {
                roles.extend(b["role"].as_str());
            }
        }
        next = resource.parent.clone();
    }
    let held: Vec<&str> = asked
        .into_iter()
        .filter(|p| roles.iter().any(|r| grants(org, r, p)))
        .collect();
    // proto3's JSON leaves an empty list out.
    Ok(if held.is_empty() {
        json!({})
    } else {
        json!({ "permissions": held })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcp::model::{SeedSpec, seed};

    const ME: &str = "serviceAccount:me@p.iam.gserviceaccount.com";

    fn org() -> Org {
        seed(&SeedSpec {
            org: "1".into(),
            folders: 1,
            projects: 2,
            service_accounts: 2,
            custom_roles: 5,
            deny_policies: 0,
            seed: 3,
        })
    }

    fn held(org: &Org, resource: &str, asked: &[&str]) -> Value {
        test(org, resource, ME, &json!({ "permissions": asked })).unwrap()
    }

    #[test]
    fn an_organization_binding_reaches_its_projects_and_only_what_the_role_grants() {
        let mut org = org();
        let project = org
            .resources
            .keys()
            .find(|n| n.starts_with("projects/"))
            .cloned()
            .unwrap();
        let asked = [PROJECT_GET_POLICY, PROJECT_SET_POLICY];
        assert_eq!(held(&org, &project, &asked), json!({}), "nothing bound yet");
        org.resources
            .get_mut("organizations/1")
            .unwrap()
            .policy
            .bindings
            .push(json!({"role": "roles/iam.securityReviewer", "members": [ME]}));
        assert_eq!(
            held(&org, &project, &asked),
            json!({ "permissions": [PROJECT_GET_POLICY] })
        );
    }

    #[test]
    fn custom_roles_grant_their_permissions_until_deleted_and_conditions_grant_nothing() {
        let mut org = org();
        let (name, permission) = {
            let role = org
                .roles
                .values()
                .find(|r| r.name.starts_with("organizations/"))
                .expect("a custom role of the organization");
            (role.name.clone(), role.permissions[0].clone())
        };
        let root = org.resources.get_mut("organizations/1").unwrap();
        root.policy
            .bindings
            .push(json!({"role": name, "members": [ME]}));
        root.policy.bindings.push(json!({"role": "roles/owner", "members": [ME],
            "condition": {"title": "later", "expression": "request.time > timestamp('2999-01-01T00:00:00Z')"}}));
        let asked = [permission.as_str(), ORG_SET_POLICY];
        assert_eq!(
            held(&org, "organizations/1", &asked),
            json!({ "permissions": [permission] })
        );
        org.roles.get_mut(&name).unwrap().deleted_at = Some(std::time::SystemTime::now());
        assert_eq!(held(&org, "organizations/1", &asked), json!({}));
        let wild = test(
            &org,
            "organizations/1",
            ME,
            &json!({"permissions": ["iam.*"]}),
        );
        assert!(wild.is_err(), "wildcards are refused");
    }
}
