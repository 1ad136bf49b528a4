//! Group rules at work: an active rule adds the users its expression matches to its groups,
//! when it is activated and whenever a user is created or changed, as Okta does.
//!
//! The Okta Expression Language is large; this evaluates the forms group rules mostly use:
//! `user.attr=="value"` and `!=`, joined with `&&` and `||` (`||` binding loosest).

use serde_json::Value;

use super::model::{Org, Profile};

/// An expression parsed once, so that a rule run over a whole org does not read its text
/// again for every user: alternatives (`||`) of conjunctions (`&&`) of clauses.
struct Expression {
    any: Vec<Vec<Option<Clause>>>,
}

/// `user.attr=="value"` (`equal`) or `!=`. A clause of an unknown form is `None`: it never
/// holds.
struct Clause {
    attr: String,
    value: String,
    equal: bool,
}

impl Expression {
    fn parse(expression: &str) -> Expression {
        Expression {
            any: expression
                .split("||")
                .map(|all| all.split("&&").map(|c| Clause::parse(c.trim())).collect())
                .collect(),
        }
    }

    fn holds(&self, profile: &Profile) -> bool {
        self.any.iter().any(|all| {
            all.iter()
                .all(|clause| clause.as_ref().is_some_and(|c| c.holds(profile)))
        })
    }
}

impl Clause {
    fn parse(clause: &str) -> Option<Clause> {
        let (attr, value, equal) = if let Some((a, v)) = clause.split_once("!=") {
            (a, v, false)
        } else if let Some((a, v)) = clause.split_once("==") {
            (a, v, true)
        } else {
            return None;
        };
        let attr = attr.trim().strip_prefix("user.")?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))?;
        Some(Clause {
            attr: attr.to_string(),
            value: value.to_string(),
            equal,
        })
    }

    fn holds(&self, profile: &Profile) -> bool {
        // Numbers and booleans compare by their JSON text (`user.clearanceLevel=="2"`); an
        // absent or null attribute equals nothing.
        let same = profile.text(&self.attr).is_some_and(|t| t == self.value);
        same == self.equal
    }
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
        let expression = Expression::parse(
            rule.pointer("/conditions/expression/value")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let excluded = ids_at(rule, "/conditions/people/users/exclude");
        let targets = ids_at(rule, "/actions/assignUserToGroups/groupIds");
        let matching: Vec<String> = self
            .users
            .values()
            .filter(|u| u.status != "DEPROVISIONED" && !excluded.contains(&u.id))
            .filter(|u| expression.holds(&u.profile))
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
                || !Expression::parse(expression).holds(&user.profile)
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

    fn matches(expression: &str, profile: &Profile) -> bool {
        Expression::parse(expression).holds(profile)
    }

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
