//! Users as the emulator keeps them: compact, since they are most of an org (up to hundreds of
//! thousands). A seeded user's profile is a handful of indices into name tables, expanded
//! into JSON only when it is served, and written straight as JSON text for the lists.

use std::borrow::Cow;
use std::io::Write as _;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde_json::{Map, Value, json};

use super::model::ts;

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

    /// One profile attribute as JSON, `None` when absent.
    pub(crate) fn value(&self, attr: &str) -> Option<Value> {
        match self {
            Profile::Written(map) => map.get(attr).cloned(),
            Profile::Seeded { .. } => match attr {
                "department" | "title" | "costCenter" => {
                    self.text(attr).map(|t| Value::from(t.into_owned()))
                }
                _ => self.to_map().remove(attr),
            },
        }
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

fn value_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
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
