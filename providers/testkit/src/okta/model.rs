//! The emulated org's state and how each object renders as Okta JSON.
//!
//! Users are the bulk of an org (up to hundreds of thousands), so they are kept compact: a
//! seeded user's profile is a handful of indices into name tables, expanded into JSON only when
//! it is served. Every other object is small in number and kept as the JSON Okta returns.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Donald",
    "Hedy",
    "John",
    "Katherine",
    "Niklaus",
    "Sophie",
    "Tim",
    "Annie",
    "Vint",
];
pub(crate) const LAST_NAMES: &[&str] = &[
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Knuth", "Lamarr", "Backus", "Johnson", "Wirth", "Wilson",
    "Berners", "Easley", "Cerf",
];
pub(crate) const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Support",
    "Legal",
    "People",
    "Operations",
    "Security",
    "Design",
];
pub(crate) const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Specialist",
    "Associate",
    "Lead",
];
pub(crate) const DOMAIN: &str = "example.com";

/// A user's profile: seeded ones are indices into the name tables, written ones are JSON.
#[derive(Debug, Clone)]
pub(crate) enum Profile {
    Seeded {
        n: u32,
        first: u8,
        last: u8,
        department: u8,
        title: u8,
        cost_center: u16,
        clearance: u8,
    },
    Written(Box<Map<String, Value>>),
}

impl Profile {
    pub(crate) fn login(&self) -> String {
        match self {
            Profile::Seeded { n, first, last, .. } => format!(
                "{}.{}{}@{DOMAIN}",
                FIRST_NAMES[*first as usize].to_lowercase(),
                LAST_NAMES[*last as usize].to_lowercase(),
                n
            ),
            Profile::Written(map) => map
                .get("login")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// One profile attribute as text (a number or boolean as its JSON text), `None` when it is
    /// absent or null. A seeded user's department and title are read without allocating: group
    /// rules test them (and the cost center) for every user of the org.
    pub(crate) fn text(&self, attr: &str) -> Option<Cow<'_, str>> {
        let value = match self {
            Profile::Written(map) => return map.get(attr).and_then(value_text),
            Profile::Seeded {
                department,
                title,
                cost_center,
                ..
            } => match attr {
                "department" => return Some(Cow::Borrowed(DEPARTMENTS[*department as usize])),
                "title" => return Some(Cow::Borrowed(TITLES[*title as usize])),
                "costCenter" => return Some(Cow::Owned(format!("CC-{cost_center}"))),
                _ => self.to_map().remove(attr)?,
            },
        };
        value_text(&value).map(|t| Cow::Owned(t.into_owned()))
    }

    pub(crate) fn to_map(&self) -> Map<String, Value> {
        match self {
            Profile::Written(map) => (**map).clone(),
            Profile::Seeded {
                n,
                first,
                last,
                department,
                title,
                cost_center,
                clearance,
            } => {
                let login = self.login();
                let mut m = Map::new();
                m.insert("login".into(), json!(login));
                m.insert("email".into(), json!(login));
                m.insert("firstName".into(), json!(FIRST_NAMES[*first as usize]));
                m.insert("lastName".into(), json!(LAST_NAMES[*last as usize]));
                m.insert(
                    "displayName".into(),
                    json!(format!(
                        "{} {}",
                        FIRST_NAMES[*first as usize], LAST_NAMES[*last as usize]
                    )),
                );
                m.insert(
                    "department".into(),
                    json!(DEPARTMENTS[*department as usize]),
                );
                m.insert("title".into(), json!(TITLES[*title as usize]));
                m.insert("employeeNumber".into(), json!(format!("{n:06}")));
                m.insert("costCenter".into(), json!(format!("CC-{cost_center}")));
                m.insert("mobilePhone".into(), Value::Null);
                m.insert("secondEmail".into(), Value::Null);
                m.insert("badgeId".into(), json!(format!("B{:07}", n * 7 + 3)));
                m.insert("clearanceLevel".into(), json!(*clearance));
                m
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub status: &'static str,
    pub type_id: String,
    pub created: i64,
    pub activated: Option<i64>,
    pub status_changed: Option<i64>,
    pub last_login: Option<i64>,
    pub last_updated: i64,
    pub password_changed: Option<i64>,
    pub provider: (&'static str, &'static str),
    pub profile: Profile,
}

impl User {
    pub(crate) fn to_json(&self, base: &str) -> Value {
        let links = json!({
            "self": {"href": format!("{base}/api/v1/users/{}", self.id)},
            "type": {"href": format!("{base}/api/v1/meta/types/user/{}", self.type_id)},
            "schema": {"href": format!("{base}/api/v1/meta/schemas/user/default")},
        });
        let mut credentials = Map::new();
        if self.provider.0 == "OKTA" && self.status != "STAGED" && self.status != "PROVISIONED" {
            credentials.insert("password".into(), json!({}));
            credentials.insert(
                "emails".into(),
                json!([{"value": self.profile.login(), "status": "VERIFIED", "type": "PRIMARY"}]),
            );
        }
        credentials.insert(
            "provider".into(),
            json!({"type": self.provider.0, "name": self.provider.1}),
        );
        json!({
            "id": self.id,
            "status": self.status,
            "created": ts(self.created),
            "activated": self.activated.map(ts),
            "statusChanged": self.status_changed.map(ts),
            "lastLogin": self.last_login.map(ts),
            "lastUpdated": ts(self.last_updated),
            "passwordChanged": self.password_changed.map(ts),
            "type": {"id": self.type_id},
            "transitioningToStatus": Value::Null,
            "realmId": Value::Null,
            "profile": Value::Object(self.profile.to_map()),
            "credentials": Value::Object(credentials),
            "_links": links,
        })
    }
}

impl User {
    /// [`User::to_json`] written straight as JSON text, keys in the order serializing that
    /// `Value` gives them (sorted). Users and group members are most of what the emulator
    /// serves, and building a `Value` tree per user (and formatting its six timestamps through
    /// `strftime`) made the emulator the busier process of a large backup.
    pub(crate) fn write_json(&self, base: &str, out: &mut Vec<u8>) {
        // Ids and the base URL are the emulator's own (base62, loopback URL): nothing to escape.
        let raw = |out: &mut Vec<u8>, parts: &[&str]| {
            out.push(b'"');
            for p in parts {
                out.extend_from_slice(p.as_bytes());
            }
            out.push(b'"');
        };
        out.extend_from_slice(b"{\"_links\":{\"schema\":{\"href\":");
        raw(out, &[base, "/api/v1/meta/schemas/user/default"]);
        out.extend_from_slice(b"},\"self\":{\"href\":");
        raw(out, &[base, "/api/v1/users/", &self.id]);
        out.extend_from_slice(b"},\"type\":{\"href\":");
        raw(out, &[base, "/api/v1/meta/types/user/", &self.type_id]);
        out.extend_from_slice(b"}},\"activated\":");
        write_ts(out, self.activated);
        out.extend_from_slice(b",\"created\":");
        write_ts(out, Some(self.created));
        out.extend_from_slice(b",\"credentials\":{");
        if self.provider.0 == "OKTA" && self.status != "STAGED" && self.status != "PROVISIONED" {
            out.extend_from_slice(
                b"\"emails\":[{\"status\":\"VERIFIED\",\"type\":\"PRIMARY\",\"value\":",
            );
            write_str(out, &self.profile.login());
            out.extend_from_slice(b"}],\"password\":{},");
        }
        out.extend_from_slice(b"\"provider\":{\"name\":");
        write_str(out, self.provider.1);
        out.extend_from_slice(b",\"type\":");
        write_str(out, self.provider.0);
        out.extend_from_slice(b"}},\"id\":");
        raw(out, &[&self.id]);
        out.extend_from_slice(b",\"lastLogin\":");
        write_ts(out, self.last_login);
        out.extend_from_slice(b",\"lastUpdated\":");
        write_ts(out, Some(self.last_updated));
        out.extend_from_slice(b",\"passwordChanged\":");
        write_ts(out, self.password_changed);
        out.extend_from_slice(b",\"profile\":");
        self.profile.write_json(out);
        out.extend_from_slice(b",\"realmId\":null,\"status\":");
        write_str(out, self.status);
        out.extend_from_slice(b",\"statusChanged\":");
        write_ts(out, self.status_changed);
        out.extend_from_slice(b",\"transitioningToStatus\":null,\"type\":{\"id\":");
        raw(out, &[&self.type_id]);
        out.extend_from_slice(b"}}");
    }
}

impl Profile {
    /// [`Profile::to_map`] written as JSON text, keys sorted. The name tables hold nothing
    /// that JSON escapes.
    fn write_json(&self, out: &mut Vec<u8>) {
        let &Profile::Seeded {
            n,
            first,
            last,
            department,
            title,
            cost_center,
            clearance,
        } = self
        else {
            if let Profile::Written(map) = self {
                serde_json::to_writer(&mut *out, &**map)
                    .expect("writing JSON to memory cannot fail");
            }
            return;
        };
        let (first, last) = (FIRST_NAMES[first as usize], LAST_NAMES[last as usize]);
        let (department, title) = (DEPARTMENTS[department as usize], TITLES[title as usize]);
        let login = self.login();
        let _ = write!(
            out,
            "{{\"badgeId\":\"B{:07}\",\"clearanceLevel\":{clearance},\"costCenter\":\"CC-{cost_center}\",\
             \"department\":\"{department}\",\"displayName\":\"{first} {last}\",\"email\":",
            n * 7 + 3
        );
        write_str(out, &login);
        let _ = write!(
            out,
            ",\"employeeNumber\":\"{n:06}\",\"firstName\":\"{first}\",\"lastName\":\"{last}\",\"login\":"
        );
        write_str(out, &login);
        let _ = write!(
            out,
            ",\"mobilePhone\":null,\"secondEmail\":null,\"title\":\"{title}\"}}"
        );
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing JSON to memory cannot fail");
}

/// [`ts`] as a JSON string, `null` for `None`, without going through `strftime`.
fn write_ts(out: &mut Vec<u8>, secs: Option<i64>) {
    let Some(secs) = secs else {
        out.extend_from_slice(b"null");
        return;
    };
    let t: DateTime<Utc> = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
    let _ = write!(
        out,
        "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z\"",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

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
    pub target_apps: BTreeSet<String>,
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

/// The whole emulated org.
#[derive(Debug)]
pub struct Org {
    pub(crate) base: String,
    pub(crate) rng: StdRng,
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) logins: HashMap<String, String>,
    pub(crate) me: String,
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
    pub(crate) schema: Value,
    pub(crate) now: i64,
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
            schema: Value::Null,
            // 2026-01-01T00:00:00Z: seeded timestamps fall in the two years before.
            now: 1_767_225_600,
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

    /// Members of a group, the built-in Everyone group included (it holds every user).
    pub(crate) fn member_ids<'a>(
        &'a self,
        group_id: &str,
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
                Some(set) => Box::new(set.range::<str, _>((lower, Unbounded))),
                None => Box::new(std::iter::empty()),
            }
        }
    }

    pub(crate) fn is_member(&self, group_id: &str, user_id: &str) -> bool {
        group_id == self.everyone
            || self
                .members
                .get(group_id)
                .is_some_and(|m| m.contains(user_id))
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
                + self.group_roles.values().map(|r| r.len()).sum::<usize>(),
            user_types: self.user_types.len(),
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

fn value_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// Okta's timestamp format: `2024-05-01T10:00:00.000Z`.
pub(crate) fn ts(secs: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::okta::seed::{SeedSpec, seed};

    #[test]
    fn users_written_as_text_are_their_json_values() {
        let mut org = seed(SeedSpec {
            users: 300,
            groups: 5,
            apps: 1,
            seed: 9,
        });
        let id = org.users.keys().nth(3).cloned().unwrap();
        org.set_profile_field(&id, "nickName", json!("Q \"the\" \\ é"));
        let base = "http://127.0.0.1:1";
        for user in org.users.values() {
            let mut text = Vec::new();
            user.write_json(base, &mut text);
            assert_eq!(
                String::from_utf8(text).unwrap(),
                serde_json::to_string(&user.to_json(base)).unwrap()
            );
        }
    }
}
