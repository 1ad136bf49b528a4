//! The content of a seeded Active Directory domain, as LDIF change records for `ldbmodify`:
//! `ous` organizational units (one nested in another) linked to the Default Domain Policy
//! (`gPLink`, some with `gPOptions`), an `OU=Groups`; users spread over the units (some
//! disabled, some with a `manager`, some with a binary `thumbnailPhoto`); groups of every
//! scope and type under `OU=Groups` (members users, every fifth nesting the one before, one
//! in three `managedBy` a user); computer accounts; a fine-grained password policy applying
//! to the first group; a shared folder (`volume`); and the domain's lockout settings changed
//! from the defaults.
//! The same seed always gives the same domain.

use std::io::{self, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Seed;
use super::samba::AD_BASE_DN;

/// The Default Domain Policy every provisioned domain has, which the units link to.
pub const DEFAULT_POLICY: &str = "{31B2F340-016D-11D2-945F-00C04FB984F9}";

/// `groupType` of group `g`: domain local, global and universal security groups, global and
/// universal distribution groups, in turn.
pub fn group_type(g: usize) -> i32 {
    const GLOBAL: i32 = 2;
    const DOMAIN_LOCAL: i32 = 4;
    const UNIVERSAL: i32 = 8;
    const SECURITY: i32 = i32::MIN;
    match g % 5 {
        0 => SECURITY | DOMAIN_LOCAL,
        1 => SECURITY | GLOBAL,
        2 => GLOBAL,
        3 => UNIVERSAL,
        _ => SECURITY | UNIVERSAL,
    }
}

/// The DN (relative to the base) of organizational unit `k`: under the domain, except every
/// fourth, nested in the first.
pub fn ou_dn(k: usize) -> String {
    if k > 0 && k.is_multiple_of(4) {
        format!("OU=Dept{k:02},{}", ou_dn(0))
    } else {
        format!("OU=Dept{k:02}")
    }
}

/// The DN (relative to the base) of user `i`.
pub fn user_dn(seed: &Seed, i: usize) -> String {
    format!("CN=user{i:05},{}", ou_dn(i % seed.ous.max(1)))
}

/// The DN (relative to the base) of group `g`.
pub fn group_dn(g: usize) -> String {
    format!("CN=group{g:04},OU=Groups")
}

/// Computer accounts a seed makes: one per hundred users, at least one, at most twenty.
pub fn computers(seed: &Seed) -> usize {
    (seed.users / 100).clamp(1, 20)
}

/// The gPLink value linking `policies` (GUIDs in braces), each enabled.
pub fn gp_link(policies: &[&str]) -> String {
    policies
        .iter()
        .map(|p| format!("[LDAP://CN={p},CN=Policies,CN=System,{AD_BASE_DN};0]"))
        .collect()
}

/// The RIDs a domain started empty hands out: far above any seeded domain's, since every
/// domain of the test kit is a copy of one provisioned domain and would otherwise issue the
/// seeded objects' SIDs again. A backup restored into it re-creates objects with new SIDs, as
/// a domain that never held them does.
pub const EMPTY_DOMAIN_RIDS: u64 = 1_000_000;

/// The highest RID a domain hands out.
const MAX_RID: u64 = (1 << 30) - 1;

pub fn write(seed: &Seed, out: &mut impl Write) -> io::Result<()> {
    let base = AD_BASE_DN;
    if *seed == Seed::EMPTY {
        // The RID manager's pool starts at EMPTY_DOMAIN_RIDS (high 32 bits: its end), and the
        // domain controller's own pool is used up, so the next RID comes from there.
        return writeln!(
            out,
            "dn: CN=RID Manager$,CN=System,{base}\nchangetype: modify\nreplace: rIDAvailablePool\nrIDAvailablePool: {}\n\ndn: CN=RID Set,CN=DC1,OU=Domain Controllers,{base}\nchangetype: modify\nreplace: rIDNextRID\nrIDNextRID: 1599\n",
            (MAX_RID << 32) | EMPTY_DOMAIN_RIDS
        );
    }
    let mut rng = StdRng::seed_from_u64(seed.seed);
    writeln!(
        out,
        "dn: {base}\nchangetype: modify\nreplace: lockoutThreshold\nlockoutThreshold: 5\n-\nreplace: minPwdLength\nminPwdLength: 10\n-\n"
    )?;
    writeln!(
        out,
        "dn: OU=Groups,{base}\nchangetype: add\nobjectClass: organizationalUnit\ndescription: Groups of the company\n"
    )?;
    for k in 0..seed.ous.max(1) {
        write!(
            out,
            "dn: {},{base}\nchangetype: add\nobjectClass: organizationalUnit\ndescription: Department {k}\ngPLink: {}\n",
            ou_dn(k),
            gp_link(&[DEFAULT_POLICY])
        )?;
        if k % 2 == 1 {
            writeln!(out, "gPOptions: 1")?;
        }
        writeln!(out)?;
    }
    for i in 0..seed.users {
        let (given, family) = (
            GIVEN[rng.gen_range(0..GIVEN.len())],
            FAMILY[rng.gen_range(0..FAMILY.len())],
        );
        // 512: a normal account; 514: one that is disabled.
        let control = if i % 17 == 5 { 514 } else { 512 };
        write!(
            out,
            "dn: {},{base}\nchangetype: add\nobjectClass: user\nsAMAccountName: user{i:05}\nuserPrincipalName: user{i:05}@example.org\ngivenName: {given}\nsn: {family}\ndisplayName: {given} {family}\nmail: user{i:05}@example.org\ntitle: {}\nemployeeID: {}\ntelephoneNumber: +1 555 {:04}\nuserAccountControl: {control}\nuidNumber: {}\ngidNumber: 10000\nunixHomeDirectory: /home/user{i:05}\nloginShell: /bin/bash\n",
            user_dn(seed, i),
            TITLES[rng.gen_range(0..TITLES.len())],
            rng.gen_range(100000..999999),
            i % 10000,
            10000 + i,
        )?;
        if i > 0 && i % 10 == 0 {
            writeln!(out, "manager: {},{base}", user_dn(seed, 0))?;
        }
        if i % 50 == 7 {
            let photo: [u8; 32] = rng.r#gen();
            writeln!(
                out,
                "thumbnailPhoto:: {}",
                STANDARD.encode([&[0xff, 0xd8, 0xff][..], &photo].concat())
            )?;
        }
        writeln!(out)?;
    }
    for g in 0..seed.groups {
        write!(
            out,
            "dn: {},{base}\nchangetype: add\nobjectClass: group\nsAMAccountName: group{g:04}\ngroupType: {}\ndescription: Group {g}\n",
            group_dn(g),
            group_type(g)
        )?;
        if seed.users > 0 {
            let size = rng.gen_range(1..=12.min(seed.users));
            let mut members: Vec<usize> = (0..size).map(|_| rng.gen_range(0..seed.users)).collect();
            members.sort();
            members.dedup();
            for m in members {
                writeln!(out, "member: {},{base}", user_dn(seed, m))?;
            }
            if g % 3 == 0 {
                writeln!(out, "managedBy: {},{base}", user_dn(seed, g % seed.users))?;
            }
        }
        // A domain local group may hold a universal one (g - 1 is universal security).
        if g % 5 == 0 && g > 0 {
            writeln!(out, "member: {},{base}", group_dn(g - 1))?;
        }
        writeln!(out)?;
    }
    for c in 0..computers(seed) {
        // 4096: a workstation trust account.
        writeln!(
            out,
            "dn: CN=WS{c:03},CN=Computers,{base}\nchangetype: add\nobjectClass: computer\nsAMAccountName: WS{c:03}$\nuserAccountControl: 4096\ndNSHostName: ws{c:03}.example.org\noperatingSystem: Debian GNU/Linux\n"
        )?;
    }
    // A shared folder published in the directory: an entry of a class the connector has no
    // kind of its own for.
    writeln!(
        out,
        "dn: CN=Projects,{},{base}\nchangetype: add\nobjectClass: volume\nuNCName: \\\\fs1\\projects\ndescription: Project files\nkeywords: projects\n",
        ou_dn(0)
    )?;
    if seed.groups > 0 {
        writeln!(
            out,
            "dn: CN=Admins PSO,CN=Password Settings Container,CN=System,{base}\nchangetype: add\nobjectClass: msDS-PasswordSettings\nmsDS-PasswordSettingsPrecedence: 10\nmsDS-PasswordReversibleEncryptionEnabled: FALSE\nmsDS-PasswordHistoryLength: 24\nmsDS-PasswordComplexityEnabled: TRUE\nmsDS-MinimumPasswordLength: 14\nmsDS-MinimumPasswordAge: -864000000000\nmsDS-MaximumPasswordAge: -36288000000000\nmsDS-LockoutThreshold: 3\nmsDS-LockoutObservationWindow: -18000000000\nmsDS-LockoutDuration: -18000000000\nmsDS-PSOAppliesTo: {},{base}\n",
            group_dn(0)
        )?;
    }
    Ok(())
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
    fn the_same_seed_gives_the_same_domain() {
        let seed = Seed {
            users: 20,
            groups: 10,
            ous: 5,
            seed: 3,
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write(&seed, &mut a).unwrap();
        write(&seed, &mut b).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        assert_eq!(text.matches("objectClass: user\n").count(), 20);
        assert!(text.contains("dn: OU=Dept04,OU=Dept00,DC=example,DC=org"));
        assert!(text.contains("member: CN=group0004,OU=Groups,DC=example,DC=org"));
        assert!(text.contains("groupType: -2147483644"));
        assert!(text.contains("objectClass: msDS-PasswordSettings"));
        assert!(text.contains("thumbnailPhoto:: "));
        assert!(text.contains("uNCName: \\\\fs1\\projects\n"), "{text}");
        let mut empty = Vec::new();
        write(&Seed::EMPTY, &mut empty).unwrap();
        let empty = String::from_utf8(empty).unwrap();
        assert!(
            empty.contains("rIDAvailablePool: 4611686014133420608\n"),
            "RIDs from 1,000,000 to 2^30 - 1: {empty}"
        );
    }
}
