//! The emulated tenant: directory objects by collection, the links between them (members,
//! owners, managers, app role assignments, grants, role assignments), policies, and the
//! recycle bin (`directory/deletedItems`) with what each deleted object was linked to.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Collections of directory objects, as named in Graph paths.
pub const USERS: &str = "users";
pub const GROUPS: &str = "groups";
pub const APPLICATIONS: &str = "applications";
pub const SERVICE_PRINCIPALS: &str = "servicePrincipals";
pub const ADMINISTRATIVE_UNITS: &str = "administrativeUnits";
pub const DEVICES: &str = "devices";

pub(crate) const COLLECTIONS: [&str; 6] = [
    USERS,
    GROUPS,
    APPLICATIONS,
    SERVICE_PRINCIPALS,
    ADMINISTRATIVE_UNITS,
    DEVICES,
];

/// The `@odata.type` of the objects of a collection.
pub(crate) fn odata_type(collection: &str) -> &'static str {
    match collection {
        USERS => "#microsoft.graph.user",
        GROUPS => "#microsoft.graph.group",
        APPLICATIONS => "#microsoft.graph.application",
        SERVICE_PRINCIPALS => "#microsoft.graph.servicePrincipal",
        ADMINISTRATIVE_UNITS => "#microsoft.graph.administrativeUnit",
        _ => "#microsoft.graph.device",
    }
}

/// A link a deleted object had, given back when it is restored from the recycle bin.
#[derive(Debug, Clone)]
pub(crate) enum Link {
    /// Member of the group or administrative unit.
    MemberOf(String),
    /// Owner of the group.
    OwnerOf(String),
    /// This group's or unit's own members and owners.
    Members(BTreeSet<String>),
    Owners(BTreeSet<String>),
    /// Manager of this user / manager of another user.
    Manager(String),
    Reports(String),
    AppRoleAssignment(Value),
    Grant(Value),
    RoleAssignment(Value),
}

/// An object in `directory/deletedItems`.
#[derive(Debug, Clone)]
pub struct Deleted {
    pub collection: &'static str,
    pub object: Value,
    pub(crate) links: Vec<Link>,
}

/// Everything the emulated tenant holds.
#[derive(Debug)]
pub struct Tenant {
    pub tenant_id: String,
    /// Directory objects by collection, then id.
    pub objects: BTreeMap<&'static str, BTreeMap<String, Value>>,
    pub deleted: BTreeMap<String, Deleted>,
    /// Members of groups and administrative units.
    pub members: BTreeMap<String, BTreeSet<String>>,
    pub owners: BTreeMap<String, BTreeSet<String>>,
    /// Federated identity credentials by application id, then credential id.
    pub federated: BTreeMap<String, BTreeMap<String, Value>>,
    /// User id → manager id.
    pub managers: BTreeMap<String, String>,
    pub app_role_assignments: BTreeMap<String, Value>,
    pub grants: BTreeMap<String, Value>,
    pub role_definitions: BTreeMap<String, Value>,
    /// Active directory role assignments; those made through a schedule request keep its
    /// `scheduleInfo` (see `roles`).
    pub role_assignments: BTreeMap<String, Value>,
    /// PIM eligibility schedules.
    pub role_eligibilities: BTreeMap<String, Value>,
    pub ca_policies: BTreeMap<String, Value>,
    /// The tenant's authorization policy.
    pub authorization_policy: Value,
    /// Authentication strengths, built-in and custom.
    pub strengths: BTreeMap<String, Value>,
    /// Claims-mapping and token-lifetime policies (told apart by `@odata.type`), and the
    /// service principals each applies to.
    pub sts_policies: BTreeMap<String, Value>,
    pub policy_targets: BTreeMap<String, BTreeSet<String>>,
    /// The cross-tenant access policy's default settings, and its partners by tenant id.
    pub cross_tenant_default: Value,
    pub cross_tenant_partners: BTreeMap<String, Value>,
    /// PIM rules of directory roles changed from Microsoft's defaults, by role definition id.
    pub role_policy_rules: BTreeMap<String, Vec<Value>>,
    /// Terms of use agreements.
    pub agreements: BTreeMap<String, Value>,
    pub named_locations: BTreeMap<String, Value>,
    pub authentication_methods_policy: Value,
    /// Multi-tenant applications published elsewhere (Microsoft Graph…): appId → name and roles.
    pub external_apps: BTreeMap<String, Value>,
    pub(crate) base: String,
    ids: StdRng,
    /// Directory audits of the writes made through Graph, oldest first.
    pub(crate) audits: Vec<super::audit::Audit>,
}

impl Tenant {
    pub(crate) fn new(tenant_id: String) -> Self {
        Tenant {
            tenant_id,
            objects: COLLECTIONS.iter().map(|c| (*c, BTreeMap::new())).collect(),
            deleted: BTreeMap::new(),
            members: BTreeMap::new(),
            owners: BTreeMap::new(),
            federated: BTreeMap::new(),
            managers: BTreeMap::new(),
            app_role_assignments: BTreeMap::new(),
            grants: BTreeMap::new(),
            role_definitions: BTreeMap::new(),
            role_assignments: BTreeMap::new(),
            role_eligibilities: BTreeMap::new(),
            ca_policies: BTreeMap::new(),
            strengths: BTreeMap::new(),
            sts_policies: BTreeMap::new(),
            policy_targets: BTreeMap::new(),
            cross_tenant_default: super::cross_tenant::default_policy(),
            cross_tenant_partners: BTreeMap::new(),
            agreements: BTreeMap::new(),
            role_policy_rules: BTreeMap::new(),
            authorization_policy: super::authz::default_policy(),
            named_locations: BTreeMap::new(),
            authentication_methods_policy: Value::Null,
            external_apps: BTreeMap::new(),
            base: String::new(),
            // Graph's object ids are GUIDs, unique across tenants: objects made through the
            // API draw theirs from fresh entropy, not from the seed, or two tenants started
            // from one seed (a source and the empty tenant it is restored into) would hand out
            // each other's ids.
            ids: StdRng::from_entropy(),
            audits: Vec::new(),
        }
    }

    /// A fresh object id (a GUID) for an object made through the API.
    pub fn new_id(&mut self) -> String {
        guid(&mut self.ids)
    }

    pub fn collection(&self, name: &str) -> &BTreeMap<String, Value> {
        self.objects.get(name).expect("known collection")
    }

    pub fn collection_mut(&mut self, name: &str) -> &mut BTreeMap<String, Value> {
        self.objects.get_mut(name).expect("known collection")
    }

    /// The live directory object with this id, and its collection.
    pub fn find(&self, id: &str) -> Option<(&'static str, &Value)> {
        // Ids are GUIDs, unique across collections: look first where most members are.
        const ORDER: [&str; 6] = [
            USERS,
            GROUPS,
            SERVICE_PRINCIPALS,
            DEVICES,
            APPLICATIONS,
            ADMINISTRATIVE_UNITS,
        ];
        ORDER.iter().find_map(|c| {
            let (c, objs) = self.objects.get_key_value(c)?;
            objs.get(id).map(|o| (*c, o))
        })
    }

    /// True when `user`'s userPrincipalName (case-insensitive) is taken by another live user.
    pub(crate) fn upn_taken(&self, upn: &str, except: &str) -> bool {
        self.collection(USERS).values().any(|u| {
            u["id"].as_str() != Some(except)
                && u["userPrincipalName"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(upn))
        })
    }

    /// Whether deleting an object of this collection sends it to the recycle bin. Security
    /// groups are deleted for good; Microsoft 365 groups are kept, as in Entra ID.
    pub(crate) fn soft_deletes(collection: &str, object: &Value) -> bool {
        match collection {
            USERS | APPLICATIONS | SERVICE_PRINCIPALS | ADMINISTRATIVE_UNITS => true,
            GROUPS => object["groupTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "Unified")),
            _ => false,
        }
    }

    /// Removes a live object with every link it has; soft-deletable objects go to the recycle
    /// bin with those links, others are gone for good (policies keep naming the stale id).
    /// Deleting an application deletes its service principal too (each is restored on its own).
    pub fn delete(&mut self, collection: &'static str, id: &str) -> Option<Value> {
        if collection == APPLICATIONS {
            let app_id = self.collection(APPLICATIONS).get(id)?["appId"].clone();
            let sp = self
                .collection(SERVICE_PRINCIPALS)
                .iter()
                .find(|(_, sp)| sp["appId"] == app_id)
                .map(|(sp, _)| sp.clone());
            if let Some(sp) = sp {
                self.delete(SERVICE_PRINCIPALS, &sp);
            }
        }
        let mut object = self.collection_mut(collection).remove(id)?;
        let mut links = Vec::new();
        for (parent, set) in self.members.iter_mut() {
            if set.remove(id) {
                links.push(Link::MemberOf(parent.clone()));
            }
        }
        for (parent, set) in self.owners.iter_mut() {
            if set.remove(id) {
                links.push(Link::OwnerOf(parent.clone()));
            }
        }
        if let Some(own) = self.members.remove(id) {
            links.push(Link::Members(own));
        }
        if let Some(own) = self.owners.remove(id) {
            links.push(Link::Owners(own));
        }
        if let Some(m) = self.managers.remove(id) {
            links.push(Link::Manager(m));
        }
        let reports: Vec<String> = self
            .managers
            .iter()
            .filter(|(_, m)| m.as_str() == id)
            .map(|(u, _)| u.clone())
            .collect();
        for u in reports {
            self.managers.remove(&u);
            links.push(Link::Reports(u));
        }
        let touches =
            |v: &Value, fields: &[&str]| fields.iter().any(|f| v[*f].as_str() == Some(id));
        drain(&mut self.app_role_assignments, |v| {
            touches(v, &["principalId", "resourceId"])
        })
        .into_iter()
        .for_each(|v| links.push(Link::AppRoleAssignment(v)));
        drain(&mut self.grants, |v| {
            touches(v, &["clientId", "resourceId", "principalId"])
        })
        .into_iter()
        .for_each(|v| links.push(Link::Grant(v)));
        drain(&mut self.role_assignments, |v| touches(v, &["principalId"]))
            .into_iter()
            .for_each(|v| links.push(Link::RoleAssignment(v)));
        // Eligibilities end with their principal; the recycle bin does not give them back.
        drain(&mut self.role_eligibilities, |v| {
            touches(v, &["principalId"])
        });
        if Tenant::soft_deletes(collection, &object) {
            object["deletedDateTime"] = Value::String(now());
            self.deleted.insert(
                id.to_string(),
                Deleted {
                    collection,
                    object: object.clone(),
                    links,
                },
            );
        }
        Some(object)
    }

    /// Brings an object back from the recycle bin with its original id and the links whose
    /// other end still exists.
    pub fn restore(&mut self, id: &str) -> Result<Value, String> {
        let Some(item) = self.deleted.get(id) else {
            return Err(String::new());
        };
        if item.collection == USERS {
            let upn = item.object["userPrincipalName"]
                .as_str()
                .unwrap_or_default();
            if self.upn_taken(upn, id) {
                return Err(format!(
                    "Another object with the same value for property userPrincipalName already exists: {upn}"
                ));
            }
        }
        let item = self.deleted.remove(id).expect("checked above");
        let mut object = item.object;
        object["deletedDateTime"] = Value::Null;
        self.collection_mut(item.collection)
            .insert(id.to_string(), object.clone());
        for link in item.links {
            match link {
                Link::MemberOf(p) if self.find(&p).is_some() => {
                    self.members.entry(p).or_default().insert(id.to_string());
                }
                Link::OwnerOf(p) if self.find(&p).is_some() => {
                    self.owners.entry(p).or_default().insert(id.to_string());
                }
                Link::Members(set) => {
                    let live: BTreeSet<String> =
                        set.into_iter().filter(|m| self.find(m).is_some()).collect();
                    self.members.insert(id.to_string(), live);
                }
                Link::Owners(set) => {
                    let live: BTreeSet<String> =
                        set.into_iter().filter(|m| self.find(m).is_some()).collect();
                    self.owners.insert(id.to_string(), live);
                }
                Link::Manager(m) if self.find(&m).is_some() => {
                    self.managers.insert(id.to_string(), m);
                }
                Link::Reports(u) if self.find(&u).is_some() => {
                    self.managers.insert(u, id.to_string());
                }
                Link::AppRoleAssignment(v)
                    if self.ends_exist(&v, &["principalId", "resourceId"]) =>
                {
                    self.app_role_assignments
                        .insert(v["id"].as_str().unwrap_or_default().to_string(), v);
                }
                Link::Grant(v) if self.ends_exist(&v, &["clientId", "resourceId"]) => {
                    self.grants
                        .insert(v["id"].as_str().unwrap_or_default().to_string(), v);
                }
                Link::RoleAssignment(v) if self.ends_exist(&v, &["principalId"]) => {
                    self.role_assignments
                        .insert(v["id"].as_str().unwrap_or_default().to_string(), v);
                }
                _ => {}
            }
        }
        Ok(object)
    }

    fn ends_exist(&self, v: &Value, fields: &[&str]) -> bool {
        fields
            .iter()
            .all(|f| v[*f].as_str().is_some_and(|id| self.find(id).is_some()))
    }

    /// Counts of what the tenant holds, for tests and the command line.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut out: BTreeMap<String, usize> = self
            .objects
            .iter()
            .map(|(c, o)| (c.to_string(), o.len()))
            .collect();
        out.insert(
            "members".into(),
            self.members.values().map(BTreeSet::len).sum(),
        );
        out.insert(
            "owners".into(),
            self.owners.values().map(BTreeSet::len).sum(),
        );
        out.insert("appRoleAssignments".into(), self.app_role_assignments.len());
        out.insert("oauth2PermissionGrants".into(), self.grants.len());
        out.insert("roleAssignments".into(), self.role_assignments.len());
        out.insert("conditionalAccessPolicies".into(), self.ca_policies.len());
        out.insert("namedLocations".into(), self.named_locations.len());
        out.insert("deletedItems".into(), self.deleted.len());
        out
    }

    /// The live id of the user with this userPrincipalName.
    pub fn user_id(&self, upn: &str) -> Option<String> {
        self.by_property(USERS, "userPrincipalName", upn)
    }

    /// Registers the application `app_id` (a client iamsnap signs in as) in the tenant, with
    /// its service principal, both named `name`, as an administrator does when consenting to
    /// it; returns the service principal's id.
    pub fn add_client_principal(&mut self, app_id: &str, name: &str) -> String {
        let (app, sp, key) = (self.new_id(), self.new_id(), self.new_id());
        self.collection_mut(APPLICATIONS).insert(
            app.clone(),
            serde_json::json!({
                "@odata.type": "#microsoft.graph.application", "id": app, "appId": app_id,
                "displayName": name, "description": null, "notes": null, "tags": [],
                "signInAudience": "AzureADMyOrg", "identifierUris": [],
                "keyCredentials": [], "passwordCredentials": [
                    {"keyId": key, "displayName": "iamsnap", "hint": "iam",
                     "customKeyIdentifier": null, "secretText": null,
                     "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z"}
                ],
                "requiredResourceAccess": [], "createdDateTime": "2025-01-01T00:00:00Z",
            }),
        );
        let tenant = self.tenant_id.clone();
        self.collection_mut(SERVICE_PRINCIPALS).insert(
            sp.clone(),
            super::seed::sp_object(&sp, app_id, name, Vec::new(), &tenant),
        );
        sp
    }

    /// The live id of the object of `collection` whose `property` equals `value`.
    pub fn by_property(&self, collection: &str, property: &str, value: &str) -> Option<String> {
        self.collection(collection)
            .iter()
            .find(|(_, o)| {
                o[property]
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
            .map(|(id, _)| id.clone())
    }
}

fn drain(map: &mut BTreeMap<String, Value>, pick: impl Fn(&Value) -> bool) -> Vec<Value> {
    let ids: Vec<String> = map
        .iter()
        .filter(|(_, v)| pick(v))
        .map(|(k, _)| k.clone())
        .collect();
    ids.into_iter().filter_map(|k| map.remove(&k)).collect()
}

/// A random GUID in Graph's lowercase form.
pub(crate) fn guid(rng: &mut StdRng) -> String {
    let a: u32 = rng.r#gen();
    let b: u16 = rng.r#gen();
    let c: u16 = rng.r#gen::<u16>() & 0x0fff | 0x4000;
    let d: u16 = rng.r#gen::<u16>() & 0x3fff | 0x8000;
    let e: u64 = rng.r#gen::<u64>() & 0xffff_ffff_ffff;
    format!("{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}")
}

/// Now, as Graph writes timestamps.
pub(crate) fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
