//! The emulated org's state and how each object renders as Okta JSON.
//!
//! Users are the bulk of an org and are kept compactly ([`super::user`]); every other object
//! is small in number and kept as the JSON Okta returns.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

pub(crate) use super::user::{DEPARTMENTS, DOMAIN, FIRST_NAMES, LAST_NAMES, Profile, TITLES, User};

/// One direct or group-derived assignment of a user to an app.
#[derive(Debug, Clone)]
pub(crate) struct AppUser {
    pub created: i64,
    pub user_name: Option<String>,
    pub profile: Option<Box<Map<String, Value>>>,
}

/// An admin role given to a user or a group.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub id: String,
    pub role_type: String,
    pub created: i64,
    pub target_groups: BTreeSet<String>,
    /// App instance targets, by app id.
    pub target_apps: BTreeSet<String>,
    /// Whole-catalog app targets (every instance of an OIN app), by app name.
    pub target_catalog: BTreeSet<String>,
}

pub(crate) fn role_label(role_type: &str) -> &'static str {
    match role_type {
        "SUPER_ADMIN" => "Super Administrator",
        "ORG_ADMIN" => "Organizational Administrator",
        "APP_ADMIN" => "Application Administrator",
        "USER_ADMIN" => "Group Administrator",
        "HELP_DESK_ADMIN" => "Help Desk Administrator",
        "READ_ONLY_ADMIN" => "Read-only Administrator",
        "MOBILE_ADMIN" => "Mobile Administrator",
        "API_ACCESS_MANAGEMENT_ADMIN" => "API Access Management Administrator",
        "REPORT_ADMIN" => "Report Administrator",
        "GROUP_MEMBERSHIP_ADMIN" => "Group Membership Administrator",
        _ => "",
    }
}

impl Role {
    pub(crate) fn to_json(&self, assignment_type: &str, assignee_href: &str) -> Value {
        json!({
            "id": self.id,
            "label": role_label(&self.role_type),
            "type": self.role_type,
            "status": "ACTIVE",
            "created": ts(self.created),
            "lastUpdated": ts(self.created),
            "assignmentType": assignment_type,
            "_links": {"assignee": {"href": assignee_href}},
        })
    }
}

/// A custom authorization server with what belongs to it: scopes, claims, access policies
/// and, by policy id, their rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthServer {
    pub server: Value,
    pub scopes: Vec<Value>,
    pub claims: Vec<Value>,
    pub policies: Vec<Value>,
    pub rules: BTreeMap<String, Vec<Value>>,
}

/// The whole emulated org.
#[derive(Debug)]
pub struct Org {
    pub(crate) base: String,
    pub(crate) rng: StdRng,
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) logins: HashMap<String, String>,
    pub(crate) me: String,
    /// The user the read-only token acts as, a Read-only Administrator, when there is one.
    pub(crate) read_only_me: Option<String>,
    pub(crate) groups: BTreeMap<String, Value>,
    pub(crate) everyone: String,
    pub(crate) members: HashMap<String, BTreeSet<String>>,
    pub(crate) rules: BTreeMap<String, Value>,
    pub(crate) apps: BTreeMap<String, Value>,
    pub(crate) app_users: HashMap<String, BTreeMap<String, AppUser>>,
    pub(crate) app_groups: HashMap<String, BTreeMap<String, Value>>,
    pub(crate) policies: BTreeMap<String, Value>,
    pub(crate) policy_rules: HashMap<String, Vec<Value>>,
    pub(crate) zones: BTreeMap<String, Value>,
    pub(crate) user_roles: BTreeMap<String, Vec<Role>>,
    pub(crate) group_roles: BTreeMap<String, Vec<Role>>,
    pub(crate) user_types: BTreeMap<String, Value>,
    pub(crate) auth_servers: BTreeMap<String, AuthServer>,
    pub(crate) trusted_origins: BTreeMap<String, Value>,
    pub(crate) idps: BTreeMap<String, Value>,
    /// IdP signing certificates by `kid`.
    pub(crate) idp_keys: BTreeMap<String, Value>,
    /// Custom admin roles, resource sets and their bindings.
    pub(crate) iam: super::iam::Iam,
    /// Event hooks, inline hooks and log streams.
    pub(crate) hooks: super::hooks::Hooks,
    /// Brands with their theme and email templates.
    pub(crate) brands: super::brands::Brands,
    /// User profile schemas by schema id: each user type has its own (`_links.schema`).
    pub(crate) schemas: BTreeMap<String, Value>,
    /// The schema id of each user type.
    pub(crate) type_schemas: BTreeMap<String, String>,
    /// The policy types the org has; a type whose feature it lacks is refused, as in Okta.
    pub(crate) policy_types: BTreeSet<String>,
    /// How long a membership added through the API stays out of what reads return.
    pub(crate) consistency_delay: Duration,
    /// Memberships added through the API within the consistency delay: (group, user) → when.
    pub(crate) recent_members: HashMap<(String, String), Instant>,
    pub(crate) now: i64,
    pub(crate) authenticators: BTreeMap<String, Value>,
    pub(crate) behaviors: BTreeMap<String, Value>,
    /// Owners of each group, by group id: `{id, type, originType, …}` without display names.
    pub(crate) group_owners: HashMap<String, Vec<Value>>,
    /// Policy types whose list also answers with policies of another type (requested →
    /// answered).
    pub(crate) policy_aliases: BTreeMap<String, String>,
    /// Custom properties of the group profile schema.
    pub(crate) group_schema_custom: Map<String, Value>,
    /// Custom properties of each app's user schema, by app id.
    pub(crate) app_schema_custom: HashMap<String, Map<String, Value>>,
    pub(crate) mappings: BTreeMap<String, Value>,
    /// Whether the org has Okta Identity Governance, which the Group Owners API comes with.
    pub(crate) governance: bool,
    /// The System Log, oldest first: when each event was published, and the event.
    pub(crate) logs: Vec<(DateTime<Utc>, Value)>,
    /// The token lacks `okta.logs.read`: the System Log answers 403.
    pub(crate) logs_denied: bool,
}

const ID_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl Org {
    pub(crate) fn empty(seed: u64) -> Org {
        Org {
            base: String::new(),
            rng: StdRng::seed_from_u64(seed),
            users: BTreeMap::new(),
            logins: HashMap::new(),
            me: String::new(),
            read_only_me: None,
            groups: BTreeMap::new(),
            everyone: String::new(),
            members: HashMap::new(),
            rules: BTreeMap::new(),
            apps: BTreeMap::new(),
            app_users: HashMap::new(),
            app_groups: HashMap::new(),
            policies: BTreeMap::new(),
            policy_rules: HashMap::new(),
            zones: BTreeMap::new(),
            user_roles: BTreeMap::new(),
            group_roles: BTreeMap::new(),
            user_types: BTreeMap::new(),
            auth_servers: BTreeMap::new(),
            trusted_origins: BTreeMap::new(),
            idps: BTreeMap::new(),
            idp_keys: BTreeMap::new(),
            iam: Default::default(),
            hooks: Default::default(),
            brands: Default::default(),
            schemas: BTreeMap::new(),
            type_schemas: BTreeMap::new(),
            policy_types: super::seed::POLICY_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
            consistency_delay: Duration::ZERO,
            recent_members: HashMap::new(),
            // 2026-01-01T00:00:00Z: seeded timestamps fall in the two years before.
            now: 1_767_225_600,
            authenticators: BTreeMap::new(),
            behaviors: BTreeMap::new(),
            group_owners: HashMap::new(),
            policy_aliases: BTreeMap::new(),
            group_schema_custom: Map::new(),
            app_schema_custom: HashMap::new(),
            mappings: BTreeMap::new(),
            governance: true,
            logs: Vec::new(),
            logs_denied: false,
        }
    }

    /// A new Okta-style id: a three-character prefix and 17 characters of base62.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        let mut id = String::with_capacity(20);
        id.push_str(prefix);
        for _ in 0..17 {
            id.push(ID_CHARS[self.rng.gen_range(0..ID_CHARS.len())] as char);
        }
        id
    }

    /// Time of a write: real time, so `lastUpdated` moves as in Okta.
    pub(crate) fn write_time(&self) -> i64 {
        Utc::now().timestamp()
    }

    pub(crate) fn user_by_ref(&self, id_or_login: &str) -> Option<&User> {
        self.users.get(id_or_login).or_else(|| {
            self.logins
                .get(&id_or_login.to_lowercase())
                .and_then(|id| self.users.get(id))
        })
    }

    pub(crate) fn user_id_by_ref(&self, id_or_login: &str) -> Option<String> {
        self.user_by_ref(id_or_login).map(|u| u.id.clone())
    }

    pub(crate) fn group_name(&self, id: &str) -> Option<&str> {
        self.groups.get(id)?.pointer("/profile/name")?.as_str()
    }

    /// Members of a group as reads see them, the built-in Everyone group included (it holds
    /// every user).
    pub(crate) fn member_ids<'a>(
        &'a self,
        group_id: &'a str,
        after: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        use std::ops::Bound::{Excluded, Unbounded};
        let lower = after.map_or(Unbounded, Excluded);
        if group_id == self.everyone {
            Box::new(
                self.users
                    .range::<str, _>((lower, Unbounded))
                    .map(|(k, _)| k),
            )
        } else {
            match self.members.get(group_id) {
                Some(set) if self.recent_members.is_empty() => {
                    Box::new(set.range::<str, _>((lower, Unbounded)))
                }
                Some(set) => Box::new(
                    set.range::<str, _>((lower, Unbounded))
                        .filter(move |u| self.seen(group_id, u)),
                ),
                None => Box::new(std::iter::empty()),
            }
        }
    }

    /// Whether reads see `user_id` as a member of `group_id`.
    pub(crate) fn is_member(&self, group_id: &str, user_id: &str) -> bool {
        group_id == self.everyone
            || self
                .members
                .get(group_id)
                .is_some_and(|m| m.contains(user_id))
                && self.seen(group_id, user_id)
    }

    /// False while a membership added through the API is within the consistency delay: Okta
    /// answers the add with 204 and lists the group's members without it for a short while.
    fn seen(&self, group_id: &str, user_id: &str) -> bool {
        self.recent_members
            .get(&(group_id.to_string(), user_id.to_string()))
            .is_none_or(|added| added.elapsed() >= self.consistency_delay)
    }

    /// Records a membership added through the API, for [`Org::seen`]; forgets those whose
    /// delay is over.
    pub(crate) fn added_member(&mut self, group_id: &str, user_id: &str) {
        if self.consistency_delay.is_zero() {
            return;
        }
        let delay = self.consistency_delay;
        self.recent_members
            .retain(|_, added| added.elapsed() < delay);
        self.recent_members
            .insert((group_id.to_string(), user_id.to_string()), Instant::now());
    }

    /// The id of the default app sign-in policy, to which new apps are bound.
    pub(crate) fn default_access_policy(&self) -> Option<String> {
        self.policies
            .iter()
            .find(|(_, p)| p["type"] == "ACCESS_POLICY" && p["system"] == true)
            .map(|(id, _)| id.clone())
    }

    /// The app sign-in policy an app is bound to.
    pub(crate) fn access_policy_of(app: &Value) -> Option<&str> {
        app.pointer("/_links/accessPolicy/href")
            .and_then(Value::as_str)
            .and_then(|href| href.rsplit('/').next())
    }

    /// The default user type's id.
    pub(crate) fn default_type(&self) -> Option<&String> {
        self.user_types
            .iter()
            .find(|(_, t)| t["default"] == true)
            .map(|(id, _)| id)
    }

    /// A schema id as the API names it: `default` is the default user type's schema.
    pub(crate) fn schema_id(&self, id: &str) -> Option<String> {
        if id == "default" {
            let default = self.default_type()?;
            return self.type_schemas.get(default).cloned();
        }
        self.schemas.contains_key(id).then(|| id.to_string())
    }

    /// The properties a profile of user type `type_id` may hold: its schema's base and custom
    /// ones.
    pub(crate) fn profile_properties(&self, type_id: &str) -> BTreeSet<String> {
        let Some(schema) = self
            .type_schemas
            .get(type_id)
            .and_then(|sid| self.schemas.get(sid))
        else {
            return BTreeSet::new();
        };
        ["base", "custom"]
            .iter()
            .filter_map(|part| {
                schema
                    .pointer(&format!("/definitions/{part}/properties"))
                    .and_then(Value::as_object)
            })
            .flat_map(|props| props.keys().cloned())
            .collect()
    }

    /// How many objects of each kind the org holds, as the connector should count them.
    pub fn counts(&self) -> OrgCounts {
        let okta_groups: Vec<&String> = self
            .groups
            .iter()
            .filter(|(_, g)| g["type"] != "BUILT_IN")
            .map(|(id, _)| id)
            .collect();
        OrgCounts {
            users: self.users.len(),
            groups: self.groups.len(),
            group_memberships: okta_groups
                .iter()
                .map(|g| self.members.get(*g).map_or(0, |m| m.len()))
                .sum(),
            group_rules: self.rules.len(),
            apps: self.apps.len(),
            app_user_assignments: self.app_users.values().map(|m| m.len()).sum(),
            app_group_assignments: self.app_groups.values().map(|m| m.len()).sum(),
            policies: self.policies.len(),
            policy_rules: self.policy_rules.values().map(|r| r.len()).sum(),
            network_zones: self.zones.len(),
            admin_role_assignments: self.user_roles.values().map(|r| r.len()).sum::<usize>()
                + self.group_roles.values().map(|r| r.len()).sum::<usize>()
                + self.iam.assignments_count(),
            user_types: self.user_types.len(),
            user_schemas: self.type_schemas.len(),
            authorization_servers: self.auth_servers.len(),
            auth_server_scopes: self.auth_servers.values().map(|a| a.scopes.len()).sum(),
            auth_server_claims: self.auth_servers.values().map(|a| a.claims.len()).sum(),
            auth_server_policies: self.auth_servers.values().map(|a| a.policies.len()).sum(),
            auth_server_rules: self
                .auth_servers
                .values()
                .flat_map(|a| a.rules.values())
                .map(Vec::len)
                .sum(),
            trusted_origins: self.trusted_origins.len(),
            identity_providers: self.idps.len(),
            idp_keys: self.idp_keys.len(),
            authenticators: self.authenticators.len(),
            behaviors: self.behaviors.len(),
            group_owners: self.group_owners.values().map(Vec::len).sum(),
            group_schemas: 1,
            app_user_schemas: self.apps.len(),
            profile_mappings: self.mappings.len(),
            custom_roles: self.iam.roles_count(),
            resource_sets: self.iam.sets_count(),
            resource_set_bindings: self.iam.bindings_count(),
            event_hooks: self.hooks.counts().0,
            inline_hooks: self.hooks.counts().1,
            log_streams: self.hooks.counts().2,
            brands: self.brands.counts().0,
            brand_themes: self.brands.counts().1,
            email_template_settings: self.brands.counts().2,
            email_customizations: self.brands.counts().3,
        }
    }

    /// Sizes of the lists a full read pages through, for working out the fewest requests the
    /// API allows: (group type, members) per group and (users, groups) assigned per app.
    pub fn list_sizes(&self) -> ListSizes {
        ListSizes {
            group_members: self
                .groups
                .iter()
                .map(|(id, g)| {
                    let kind = g["type"].as_str().unwrap_or_default().to_string();
                    (kind, self.members.get(id).map_or(0, |m| m.len()))
                })
                .collect(),
            app_assignments: self
                .apps
                .keys()
                .map(|id| {
                    (
                        self.app_users.get(id).map_or(0, |m| m.len()),
                        self.app_groups.get(id).map_or(0, |m| m.len()),
                    )
                })
                .collect(),
            deprovisioned_users: self
                .users
                .values()
                .filter(|u| u.status == "DEPROVISIONED")
                .count(),
        }
    }

    /// The id of the largest group of type `OKTA_GROUP`.
    pub fn largest_group(&self) -> Option<(String, usize)> {
        self.members
            .iter()
            .filter(|(g, _)| {
                self.groups
                    .get(*g)
                    .is_some_and(|g| g["type"] == "OKTA_GROUP")
            })
            .map(|(g, m)| (g.clone(), m.len()))
            .max_by_key(|(_, n)| *n)
    }

    /// Ids of users in a given status.
    pub fn user_ids_with_status(&self, status: &str) -> Vec<String> {
        self.users
            .values()
            .filter(|u| u.status == status)
            .map(|u| u.id.clone())
            .collect()
    }

    /// The login of a user.
    pub fn login_of(&self, user_id: &str) -> Option<String> {
        self.users.get(user_id).map(|u| u.profile.login())
    }

    /// The user the API token belongs to.
    pub fn token_owner(&self) -> &str {
        &self.me
    }

    /// Gives the API token to another user, as if another administrator's token made the
    /// calls from now on: `/users/me` and the System Log's actor name that user.
    pub fn set_token_owner(&mut self, user_id: &str) -> bool {
        if !self.users.contains_key(user_id) {
            return false;
        }
        self.me = user_id.to_string();
        true
    }

    /// A user as Okta returns it.
    pub fn user_json(&self, id_or_login: &str) -> Option<Value> {
        self.user_by_ref(id_or_login).map(|u| u.to_json(&self.base))
    }

    /// A group as Okta returns it, by id or name.
    pub fn group_json(&self, id_or_name: &str) -> Option<Value> {
        self.groups.get(id_or_name).cloned().or_else(|| {
            self.groups
                .values()
                .find(|g| g.pointer("/profile/name").and_then(Value::as_str) == Some(id_or_name))
                .cloned()
        })
    }

    /// Removes a user from a group without going through the API (test setup).
    pub fn remove_member(&mut self, group_id: &str, user_id: &str) -> bool {
        self.members
            .get_mut(group_id)
            .is_some_and(|m| m.remove(user_id))
    }

    /// Changes a seeded user's profile attribute without going through the API (test setup).
    pub fn set_profile_field(&mut self, user_id: &str, field: &str, value: Value) -> bool {
        let Some(user) = self.users.get_mut(user_id) else {
            return false;
        };
        let mut map = user.profile.to_map();
        map.insert(field.to_string(), value);
        user.profile = Profile::Written(Box::new(map));
        true
    }

    /// Stops listing policies of `policy_type`, as an org without its feature does (Okta then
    /// answers 400 to a list of that type).
    pub fn disable_policy_type(&mut self, policy_type: &str) {
        self.policy_types.retain(|t| t != policy_type);
    }

    /// Every app as Okta returns it.
    pub fn apps_json(&self) -> Vec<Value> {
        self.apps.values().cloned().collect()
    }

    /// Every policy as Okta returns it.
    pub fn policies_json(&self) -> Vec<Value> {
        self.policies.values().cloned().collect()
    }
}

/// Object counts of an org, per connector kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgCounts {
    pub users: usize,
    pub groups: usize,
    /// Members of `OKTA_GROUP` and `APP_GROUP` groups (Everyone's members are implicit).
    pub group_memberships: usize,
    pub group_rules: usize,
    pub apps: usize,
    /// Direct (`USER`-scoped) assignments only.
    pub app_user_assignments: usize,
    pub app_group_assignments: usize,
    pub policies: usize,
    pub policy_rules: usize,
    pub network_zones: usize,
    pub admin_role_assignments: usize,
    pub user_types: usize,
    /// One profile schema per user type.
    pub user_schemas: usize,
    pub authorization_servers: usize,
    /// System scopes (`openid`, `profile`, …) included.
    pub auth_server_scopes: usize,
    pub auth_server_claims: usize,
    pub auth_server_policies: usize,
    pub auth_server_rules: usize,
    pub trusted_origins: usize,
    pub identity_providers: usize,
    pub idp_keys: usize,
    pub authenticators: usize,
    pub behaviors: usize,
    pub group_owners: usize,
    /// The group profile schema: one per org.
    pub group_schemas: usize,
    /// One user schema per app.
    pub app_user_schemas: usize,
    pub profile_mappings: usize,
    pub custom_roles: usize,
    pub resource_sets: usize,
    pub resource_set_bindings: usize,
    pub event_hooks: usize,
    pub inline_hooks: usize,
    pub log_streams: usize,
    pub brands: usize,
    /// One per brand.
    pub brand_themes: usize,
    /// One per email template of each brand.
    pub email_template_settings: usize,
    pub email_customizations: usize,
}

/// Sizes of an org's paged lists ([`Org::list_sizes`]).
#[derive(Debug, Clone, Default)]
pub struct ListSizes {
    /// (group type, member count) per group.
    pub group_members: Vec<(String, usize)>,
    /// (users, groups) assigned per app.
    pub app_assignments: Vec<(usize, usize)>,
    pub deprovisioned_users: usize,
}

/// Okta's timestamp format: `2024-05-01T10:00:00.000Z`.
pub(crate) fn ts(secs: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
