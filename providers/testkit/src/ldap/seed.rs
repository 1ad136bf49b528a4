//! The content of a seeded directory, written as LDIF: the base entry; `ous` organizational
//! units of people (one nested in another, to restore parents before children); users that
//! are both `inetOrgPerson` and `posixAccount`, spread over them, some with a binary
//! `jpegPhoto`; `groups` groups under `ou=groups` — groups of names, one in four a
//! `posixGroup` with `memberUid`s, every fifth group of names nesting the one before, one
//! group of unique names — and an `organizationalRole` as an entry of another kind.
//! The same seed always gives the same directory.

use std::io::{self, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::BASE_DN;

/// What a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seed {
    pub users: usize,
    pub groups: usize,
    pub ous: usize,
    pub seed: u64,
}

impl Seed {
    /// The base entry alone, as a directory just made has it.
    pub const EMPTY: Seed = Seed {
        users: 0,
        groups: 0,
        ous: 0,
        seed: 0,
    };

    /// The key-relative DN of user `i`'s organizational unit.
    pub fn ou_of(&self, i: usize) -> String {
        ou_dn(i % self.ous.max(1))
    }

    /// The DN (relative to the base) of user `i`.
    pub fn user_dn(&self, i: usize) -> String {
        format!("uid=user{i:05},{}", self.ou_of(i))
    }

    /// The DN (relative to the base) of group `g`.
    pub fn group_dn(&self, g: usize) -> String {
        format!("cn=group{g:04},ou=groups")
    }

    /// Whether group `g` is a `posixGroup` (members by `memberUid`).
    pub fn is_posix(g: usize) -> bool {
        g % 4 == 3
    }

    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n"
        )?;
        if *self == Seed::EMPTY {
            return Ok(());
        }
        let mut rng = StdRng::seed_from_u64(self.seed);
        writeln!(
            out,
            "dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n"
        )?;
        writeln!(
            out,
            "dn: ou=groups,{BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n"
        )?;
        for k in 0..self.ous.max(1) {
            let name = ou_name(k);
            writeln!(
                out,
                "dn: {},{BASE_DN}\nobjectClass: organizationalUnit\nou: {name}\ndescription: Department {k}\n",
                ou_dn(k)
            )?;
        }
        for i in 0..self.users {
            let (given, family) = (
                GIVEN[rng.gen_range(0..GIVEN.len())],
                FAMILY[rng.gen_range(0..FAMILY.len())],
            );
            write!(
                out,
                "dn: {},{BASE_DN}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: user{i:05}\ncn: {given} {family}\nsn: {family}\ngivenName: {given}\nmail: user{i:05}@example.org\nuidNumber: {}\ngidNumber: {}\nhomeDirectory: /home/user{i:05}\nloginShell: /bin/bash\ntitle: {}\nemployeeNumber: {}\ntelephoneNumber: +1 555 {:04}\nuserPassword: {{SSHA}}{}\n",
                self.user_dn(i),
                10000 + i,
                10000 + i % 7,
                TITLES[rng.gen_range(0..TITLES.len())],
                rng.gen_range(100000..999999),
                i % 10000,
                STANDARD.encode(rng.r#gen::<[u8; 24]>()),
            )?;
            if i % 50 == 7 {
                let photo: [u8; 32] = rng.r#gen();
                writeln!(
                    out,
                    "jpegPhoto:: {}",
                    STANDARD.encode([&[0xff, 0xd8, 0xff][..], &photo].concat())
                )?;
            }
            writeln!(out)?;
        }
        for g in 0..self.groups {
            let size = if self.users == 0 {
                0
            } else {
                rng.gen_range(1..=12.min(self.users))
            };
            let members: Vec<usize> = (0..size).map(|_| rng.gen_range(0..self.users)).collect();
            let mut members = members;
            members.sort();
            members.dedup();
            if Seed::is_posix(g) {
                write!(
                    out,
                    "dn: {},{BASE_DN}\nobjectClass: posixGroup\ncn: group{g:04}\ngidNumber: {}\ndescription: POSIX group {g}\n",
                    self.group_dn(g),
                    20000 + g
                )?;
                for m in members {
                    writeln!(out, "memberUid: user{m:05}")?;
                }
            } else {
                let (class, attribute) = if g == 1 {
                    ("groupOfUniqueNames", "uniqueMember")
                } else {
                    ("groupOfNames", "member")
                };
                write!(
                    out,
                    "dn: {},{BASE_DN}\nobjectClass: {class}\ncn: group{g:04}\ndescription: Group {g}\n",
                    self.group_dn(g)
                )?;
                for m in &members {
                    writeln!(out, "{attribute}: {},{BASE_DN}", self.user_dn(*m))?;
                }
                if g % 5 == 0 && g > 0 && !Seed::is_posix(g - 1) {
                    writeln!(out, "{attribute}: {},{BASE_DN}", self.group_dn(g - 1))?;
                }
                if members.is_empty() {
                    writeln!(out, "{attribute}: {},{BASE_DN}", self.group_dn(g))?;
                }
            }
            writeln!(out)?;
        }
        if self.users > 0 {
            writeln!(
                out,
                "dn: cn=helpdesk,{BASE_DN}\nobjectClass: organizationalRole\ncn: helpdesk\nroleOccupant: {},{BASE_DN}\ndescription: First-line support\n",
                self.user_dn(0)
            )?;
        }
        Ok(())
    }
}

/// The DN (relative to the base) of organizational unit `k`: the first under `ou=people`,
/// each further one under `ou=people` too except the last, nested in the first.
fn ou_dn(k: usize) -> String {
    if k > 0 && k.is_multiple_of(4) {
        format!("ou={},{}", ou_name(k), ou_dn(0))
    } else {
        format!("ou={},ou=people", ou_name(k))
    }
}

fn ou_name(k: usize) -> String {
    format!("dept{k:02}")
}

const GIVEN: &[&str] = &[
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Radia", "Ken", "Margaret", "Linus",
];
const FAMILY: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Perlman", "Thompson",
    "Hamilton", "Torvalds",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Manager",
    "Analyst",
    "Designer",
    "Administrator",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_directory() {
        let seed = Seed {
            users: 20,
            groups: 10,
            ous: 5,
            seed: 3,
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        seed.write(&mut a).unwrap();
        seed.write(&mut b).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert_eq!(text.matches("objectClass: posixAccount").count(), 20);
        assert!(text.contains("dn: ou=dept04,ou=dept00,ou=people,dc=example,dc=org"));
        assert!(
            text.contains("member: cn=group0004,ou=groups,dc=example,dc=org"),
            "group 5 nests group 4"
        );
        assert!(text.contains("uniqueMember: "));
        assert!(text.contains("memberUid: "));
        assert!(text.contains("jpegPhoto:: "));
    }
}
