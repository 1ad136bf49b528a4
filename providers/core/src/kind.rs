//! What a connector declares about each of its kinds.

/// Which restore operations a connector supports for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Restore can create a missing object.
    pub create: bool,
    /// Restore can change a live object back.
    pub update: bool,
    /// An authoritative restore can delete an object the snapshot lacks.
    pub delete: bool,
}

impl Capabilities {
    /// Create, update and delete.
    pub const ALL: Capabilities = Capabilities {
        create: true,
        update: true,
        delete: true,
    };
    /// Read only: restore reports differences but never writes.
    pub const NONE: Capabilities = Capabilities {
        create: false,
        update: false,
        delete: false,
    };
    /// Relationships are created or removed, never changed in place.
    pub const LINK: Capabilities = Capabilities {
        create: true,
        update: false,
        delete: true,
    };
}

/// Static metadata of one record kind.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// Provider-qualified name, e.g. `okta.group_membership`.
    pub name: &'static str,
    /// One line for humans.
    pub description: &'static str,
    /// Kinds whose records must exist before records of this kind can be created.
    pub depends_on: &'static [&'static str],
    /// Which operations restore can perform.
    pub capabilities: Capabilities,
    /// What the provider can never give back for records of this kind.
    pub cannot_restore: &'static [&'static str],
    /// For a relationship kind (membership, assignment, attachment): what its records belong
    /// to when a report groups them. `None` for an object kind.
    pub parent: Option<Parent>,
}

/// Where reports show the records of a relationship kind: under their parent object.
///
/// A record of a kind with a parent has the key `PARENT|MEMBER`: what names the parent (its
/// key, or a label such as `role/admins`), `|`, then what names the member; the last `|` of the
/// key separates the two ([`Parent::split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    /// What the parent is, in a word: `group`, `app`, `principal`.
    pub noun: &'static str,
    /// What the records are to the parent, plural: `members`, `user assignments`.
    pub members: &'static str,
}

impl Parent {
    /// `(parent, member)` of a key of this kind; the whole key as the parent when it has no `|`.
    pub fn split(key: &str) -> (&str, &str) {
        key.rsplit_once('|').unwrap_or((key, ""))
    }
}

impl KindInfo {
    /// The kind's name for people, plural and without the provider: `okta.group_membership`
    /// → `group memberships`, `aws.policy` → `policies`.
    pub fn plural(name: &str) -> String {
        let short = name
            .split_once('.')
            .map_or(name, |(_, s)| s)
            .replace('_', " ");
        if let Some(stem) = short.strip_suffix('y')
            && !stem.ends_with(['a', 'e', 'o', 'u'])
        {
            format!("{stem}ies")
        } else if short.ends_with('s') || short.ends_with('x') {
            format!("{short}es")
        } else {
            format!("{short}s")
        }
    }

    /// The kind's name for people, singular and without the provider: `okta.group` → `group`.
    pub fn singular(name: &str) -> String {
        name.split_once('.')
            .map_or(name, |(_, s)| s)
            .replace('_', " ")
    }
}

/// Orders `kinds` so that every kind comes after the kinds it depends on (stable otherwise).
/// Dependencies on kinds outside the list are ignored.
pub fn dependency_order(kinds: &[KindInfo]) -> Vec<KindInfo> {
    let mut done: Vec<KindInfo> = Vec::with_capacity(kinds.len());
    let mut pending: Vec<KindInfo> = kinds.to_vec();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|k| {
            let ready = k.depends_on.iter().all(|dep| {
                done.iter().any(|d| d.name == *dep) || !kinds.iter().any(|x| x.name == *dep)
            });
            if ready {
                done.push(*k);
            }
            !ready
        });
        if pending.len() == before {
            // A cycle: keep declaration order for the rest rather than loop forever.
            done.append(&mut pending);
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn kind(name: &'static str, deps: &'static [&'static str]) -> KindInfo {
        KindInfo {
            name,
            description: "",
            depends_on: deps,
            capabilities: Capabilities::ALL,
            parent: None,
            cannot_restore: &[],
        }
    }

    #[test]
    fn names_for_people() {
        assert_eq!(
            KindInfo::plural("okta.group_membership"),
            "group memberships"
        );
        assert_eq!(KindInfo::plural("aws.policy"), "policies");
        assert_eq!(KindInfo::plural("aws.account_alias"), "account aliases");
        assert_eq!(KindInfo::plural("okta.user"), "users");
        assert_eq!(
            KindInfo::singular("okta.app_user_assignment"),
            "app user assignment"
        );
        assert_eq!(Parent::split("Ops | Team|ada"), ("Ops | Team", "ada"));
        assert_eq!(Parent::split("alone"), ("alone", ""));
    }

    #[test]
    fn dependencies_come_first() {
        let kinds = [kind("m", &["u", "g"]), kind("g", &[]), kind("u", &["x"])];
        let names: Vec<_> = dependency_order(&kinds).iter().map(|k| k.name).collect();
        assert_eq!(names, ["g", "u", "m"]);
    }
}
