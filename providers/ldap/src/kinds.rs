//! The record kinds of the LDAP connector.
//!
//! | kind | id | key |
//! | --- | --- | --- |
//! | `ldap.domain`, `ldap.container`, `ldap.user`, `ldap.computer`, `ldap.group`, `ldap.password_policy`, `ldap.entry` | `entryUUID`; on Active Directory `objectGUID` (as text) | DN relative to `base_dn` (`.` for the base entry) |
//! | `ldap.membership` | `GROUPID\|MEMBERID` | `GROUP\|MEMBER`: the group's key, then the member's key (or `memberUid` value) |

use iamsnap_provider::{Capabilities, KindInfo, Parent};

pub const DOMAIN: &str = "ldap.domain";
pub const CONTAINER: &str = "ldap.container";
pub const USER: &str = "ldap.user";
pub const COMPUTER: &str = "ldap.computer";
pub const GROUP: &str = "ldap.group";
pub const PASSWORD_POLICY: &str = "ldap.password_policy";
pub const ENTRY: &str = "ldap.entry";
pub const MEMBERSHIP: &str = "ldap.membership";

/// The kinds in restore order: each comes after every kind it depends on. Entries of one
/// kind below one another (nested OUs) wait for their parent through the `parent` ref.
pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: DOMAIN,
        description: "Active Directory domain: its password and lockout settings and group policy links (the domain itself is never created or deleted)",
        depends_on: &[],
        capabilities: Capabilities {
            create: false,
            update: true,
            delete: false,
        },
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: CONTAINER,
        description: "organizational unit, organization, domain component or container, with every attribute (gPLink and gPOptions on Active Directory)",
        depends_on: &[DOMAIN],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: USER,
        description: "person or account (inetOrgPerson, posixAccount, Active Directory user), with every attribute but its password unless read_password_hashes is on",
        depends_on: &[CONTAINER],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: COMPUTER,
        description: "Active Directory computer account, with every attribute but its password",
        depends_on: &[CONTAINER],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: GROUP,
        description: "group (groupOfNames, groupOfUniqueNames, posixGroup, Active Directory group of every scope and type, with managedBy), its members aside",
        depends_on: &[CONTAINER, USER],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: PASSWORD_POLICY,
        description: "Active Directory fine-grained password policy (msDS-PasswordSettings) and the users and groups it applies to",
        depends_on: &[CONTAINER, USER, GROUP],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: ENTRY,
        description: "any other entry, saved verbatim",
        depends_on: &[CONTAINER, USER, COMPUTER, GROUP],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: MEMBERSHIP,
        description: "one value of a group's member, uniqueMember or memberUid: a user, a computer, a nested group or any entry",
        depends_on: &[USER, COMPUTER, GROUP, ENTRY],
        // An update puts back a value that names a renamed or re-created member.
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "group",
            members: "members",
        }),
        cannot_restore: &[],
    },
];

/// The attributes whose values are members of a group.
pub const MEMBER_ATTRIBUTES: &[&str] = &["member", "uniquemember", "memberuid"];

/// The kind of an entry with these object classes (lower case).
pub fn kind_of(object_classes: &[String]) -> &'static str {
    let has = |names: &[&str]| object_classes.iter().any(|c| names.contains(&c.as_str()));
    if has(&["domaindns"]) {
        DOMAIN
    } else if has(&["msds-passwordsettings"]) {
        PASSWORD_POLICY
    } else if has(&["computer"]) {
        COMPUTER
    } else if has(&["groupofnames", "groupofuniquenames", "posixgroup", "group"]) {
        GROUP
    } else if has(&[
        "person",
        "organizationalperson",
        "inetorgperson",
        "posixaccount",
        "account",
        "user",
    ]) {
        USER
    } else if has(&[
        "organizationalunit",
        "organization",
        "dcobject",
        "domain",
        "container",
        "locality",
        "country",
    ]) {
        CONTAINER
    } else {
        ENTRY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_declared_in_dependency_order() {
        let ordered: Vec<_> = iamsnap_provider::kind::dependency_order(KINDS)
            .iter()
            .map(|k| k.name)
            .collect();
        let declared: Vec<_> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(ordered, declared);
    }

    #[test]
    fn object_classes_decide_the_kind() {
        let k = |c: &[&str]| kind_of(&c.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(k(&["top", "inetorgperson", "posixaccount"]), USER);
        assert_eq!(k(&["top", "posixgroup"]), GROUP);
        assert_eq!(k(&["top", "organizationalunit"]), CONTAINER);
        assert_eq!(k(&["top", "organizationalrole"]), ENTRY);
        assert_eq!(k(&["top", "domain", "domaindns"]), DOMAIN);
        assert_eq!(
            k(&["top", "person", "organizationalperson", "user", "computer"]),
            COMPUTER
        );
        assert_eq!(k(&["top", "msds-passwordsettings"]), PASSWORD_POLICY);
    }
}
