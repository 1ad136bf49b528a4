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
            cannot_restore: &[],
        }
    }

    #[test]
    fn dependencies_come_first() {
        let kinds = [kind("m", &["u", "g"]), kind("g", &[]), kind("u", &["x"])];
        let names: Vec<_> = dependency_order(&kinds).iter().map(|k| k.name).collect();
        assert_eq!(names, ["g", "u", "m"]);
    }
}
