//! Group rules at work: an active rule adds the users its expression matches to its groups,
//! when it is activated and whenever a user is created or changed, as Okta does.
//!
//! The Okta Expression Language is large; this evaluates the forms group rules mostly use:
//! `user.attr=="value"` and `!=`, joined with `&&` and `||` (`||` binding loosest).

use serde_json::Value;

use super::model::{Org, Profile};

/// Whether `expression` holds for a user profile. Unknown forms never match.
pub(crate) fn matches(expression: &str, profile: &Profile) -> bool {
    expression.split("||").any(|any| {
        any.split("&&")
            .all(|clause| clause_holds(clause.trim(), profile))
    })
}

fn clause_holds(clause: &str, profile: &Profile) -> bool {
    let (attr, value, equal) = if let Some((a, v)) = clause.split_once("!=") {
        (a, v, false)
    } else if let Some((a, v)) = clause.split_once("==") {
        (a, v, true)
    } else {
        return false;
    };
    let Some(attr) = attr.trim().strip_prefix("user.") else {
        return false;
    };
    let value = value.trim();
    let Some(value) = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
    else {
        return false;
    };
    let actual = profile.get(attr);
    let same = match &actual {
        Some(Value::String(s)) => s == value,
        Some(Value::Null) | None => false,
        // Numbers and booleans compare by their JSON text (`user.clearanceLevel=="2"`).
        Some(other) => {
            let text = other.to_string();
            text == value
        }
    };
    same == equal
}

impl Org {
    /// Adds the users an active rule matches to its target groups.
    pub(crate) fn run_rule(&mut self, rule_id: &str) {
        let Some(rule) = self.rules.get(rule_id) else {
            return;
        };
        if rule["status"] != "ACTIVE" {
            return;
        }
        let expression = rule
            .pointer("/conditions/expression/value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let excluded = ids_at(rule, "/conditions/people/users/exclude");
        let targets = ids_at(rule, "/actions/assignUserToGroups/groupIds");
        let matching: Vec<String> = self
            .users
            .values()
            .filter(|u| u.status != "DEPROVISIONED" && !excluded.contains(&u.id))
            .filter(|u| matches(&expression, &u.profile))
            .map(|u| u.id.clone())
            .collect();
        for group in targets {
            if let Some(members) = self.members.get_mut(&group) {
                members.extend(matching.iter().cloned());
            }
        }
    }

    /// Applies every active rule to one user (after it was created or changed).
    pub(crate) fn run_rules_for(&mut self, user_id: &str) {
        let Some(user) = self.users.get(user_id) else {
            return;
        };
        if user.status == "DEPROVISIONED" {
            return;
        }
        let mut joins = Vec::new();
        for rule in self.rules.values().filter(|r| r["status"] == "ACTIVE") {
            let expression = rule
                .pointer("/conditions/expression/value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if ids_at(rule, "/conditions/people/users/exclude").contains(&user.id)
                || !matches(expression, &user.profile)
            {
                continue;
            }
            joins.extend(ids_at(rule, "/actions/assignUserToGroups/groupIds"));
        }
        for group in joins {
            if let Some(members) = self.members.get_mut(&group) {
                members.insert(user_id.to_string());
            }
        }
    }
}

fn ids_at(value: &Value, pointer: &str) -> Vec<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn profile(department: &str, title: &str) -> Profile {
        let mut m = Map::new();
        m.insert("department".into(), json!(department));
        m.insert("title".into(), json!(title));
        Profile::Written(Box::new(m))
    }

    #[test]
    fn evaluates_equality_conjunctions_and_alternatives() {
        let p = profile("Sales", "Lead");
        assert!(matches("user.department==\"Sales\"", &p));
        assert!(!matches("user.department==\"Legal\"", &p));
        assert!(matches("user.department != \"Legal\"", &p));
        assert!(matches(
            "user.department==\"Sales\" && user.title==\"Lead\"",
            &p
        ));
        assert!(!matches(
            "user.department==\"Sales\" && user.title==\"Manager\"",
            &p
        ));
        assert!(matches(
            "user.department==\"Legal\" || user.title=='Lead'",
            &p
        ));
        assert!(!matches("isMemberOfAnyGroup(\"00g1\")", &p));
        assert!(!matches("user.nothere==\"x\"", &p));
    }
}
