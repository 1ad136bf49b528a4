//! What `iamsnap doctor --restore` asks a directory, without writing to it.
//!
//! Active Directory computes for the bound account what it may do to an entry:
//! `allowedChildClassesEffective` (the classes it may create below it) and
//! `allowedAttributesEffective` (the attributes it may write). Deleting and reanimating are
//! read from security descriptors (the DACL, asked for with the SD flags control): the
//! `Delete` right on an object or `Delete Child` on its container, and the
//! `Reanimate-Tombstones` extended right on the domain, each weighed for the account's own SID
//! and its `tokenGroups`. A search of `CN=Deleted Objects` with the show-deleted control says
//! whether a restore can find what it would reanimate.
//!
//! Other servers are asked whether they offer the Get Effective Rights control; OpenLDAP does
//! not, and then the answer is that the rights cannot be checked without writing.

mod sd;

use iamsnap_provider::doctor::Check;
use ldap3::Scope;
use ldap3::controls::RawControl;

use crate::Source;
use crate::client::Entry;
use crate::flavor::Flavor;
use crate::read::flavor;
use crate::restore::reanimate::SHOW_DELETED;

/// The Get Effective Rights control ([draft-ietf-ldapext-acl-model]), offered by 389
/// Directory Server and Oracle's directories, not by OpenLDAP.
const GET_EFFECTIVE_RIGHTS: &str = "1.3.6.1.4.1.42.2.27.9.5.2";

/// `LDAP_SERVER_SD_FLAGS_OID`, asking for the DACL only (`DACL_SECURITY_INFORMATION`): the
/// part of a security descriptor an account without `Read Permissions` on the SACL may read.
fn dacl_only() -> RawControl {
    RawControl {
        ctype: "1.2.840.113556.1.4.801".to_string(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x04]),
    }
}

/// The classes a restore creates, each with an attribute it writes back on them.
const CLASSES: &[(&str, &str)] = &[
    ("user", "description"),
    ("group", "member"),
    ("organizationalUnit", "gPLink"),
];

pub async fn check_writes(source: &Source) -> Vec<Check> {
    match flavor(source).await {
        Ok(Flavor::ActiveDirectory) => active_directory(source).await,
        Ok(_) => other(source).await,
        Err(e) => vec![Check::fail("restore permissions", e.to_string())],
    }
}

/// Servers other than Active Directory.
async fn other(source: &Source) -> Vec<Check> {
    let offered = match source.connection.read("", &["supportedControl"]).await {
        Ok(dse) => dse
            .unwrap_or_default()
            .text("supportedControl")
            .contains(&GET_EFFECTIVE_RIGHTS.to_string()),
        Err(e) => return vec![Check::fail("restore permissions", e.to_string())],
    };
    if offered {
        vec![Check::note(
            "restore permissions",
            "not checked: the server offers the Get Effective Rights control, which iamsnap does not ask yet; the access rules a restore needs are listed in docs/ldap.md",
        )]
    } else {
        vec![Check::note(
            "restore permissions",
            "cannot check without writing: the server does not offer the Get Effective Rights control (OpenLDAP never does); the access rules a restore needs (write on the subtree's entries and attributes) are listed in docs/ldap.md",
        )]
    }
}

/// An entry of the subtree a restore writes: where, and of which class.
struct Sample {
    dn: String,
    class: &'static str,
}

async fn active_directory(source: &Source) -> Vec<Check> {
    let base = source.config.base_dn.clone();
    let mut checks = Vec::new();
    // The containers a restore creates in: the base and the first unit below it.
    let mut containers = vec![base.clone()];
    let mut samples = Vec::new();
    for (class, _) in CLASSES {
        match first(source, &format!("(objectClass={class})")).await {
            Ok(Some(dn)) => {
                if *class == "organizationalUnit" {
                    containers.push(dn.clone());
                }
                samples.push(Sample { dn, class });
            }
            Ok(None) => {}
            Err(e) => return vec![Check::fail("restore permissions", e.to_string())],
        }
    }

    // Create: what the server says the account may create below each container.
    let mut missing = Vec::new();
    for container in &containers {
        let allowed = match effective(source, container, "allowedChildClassesEffective").await {
            Ok(allowed) => allowed,
            Err(e) => return vec![Check::fail("restore permissions", e.to_string())],
        };
        for (class, _) in CLASSES {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(class)) {
                missing.push(format!("Create {class} objects on {container}"));
            }
        }
    }
    checks.push(verdict(
        "restore create",
        &missing,
        "may create users, groups and organizational units in",
        &containers,
    ));

    // Modify: the attributes the account may write on an entry of each class.
    let mut missing = Vec::new();
    for sample in &samples {
        let attribute = CLASSES
            .iter()
            .find(|(c, _)| *c == sample.class)
            .map_or("description", |(_, a)| a);
        match effective(source, &sample.dn, "allowedAttributesEffective").await {
            Ok(allowed) if allowed.iter().any(|a| a.eq_ignore_ascii_case(attribute)) => {}
            Ok(_) => missing.push(format!("Write {attribute} on {}", sample.dn)),
            Err(e) => return vec![Check::fail("restore permissions", e.to_string())],
        }
    }
    let modified: Vec<String> = samples.iter().map(|s| s.dn.clone()).collect();
    checks.push(verdict(
        "restore modify",
        &missing,
        "may write the attributes a restore sets on",
        &modified,
    ));

    // Delete and reanimate: the account's SIDs against the security descriptors.
    let sids = match token(source).await {
        Ok(Some(sids)) => sids,
        Ok(None) => {
            checks.push(Check::note(
                "restore delete",
                "not checked: the bind account's entry (its objectSid and tokenGroups) could not be read; set bind_dn to the account's DN",
            ));
            return checks;
        }
        Err(e) => {
            checks.push(Check::fail("restore delete", e.to_string()));
            return checks;
        }
    };
    let mut missing = Vec::new();
    for sample in &samples {
        let class = sd::class_guid(sample.class);
        let own = descriptor(source, &sample.dn).await;
        let parent = sample.dn.split_once(',').map(|(_, p)| p.to_string());
        let container = match &parent {
            Some(parent) => descriptor(source, parent).await,
            None => None,
        };
        let by_object = own
            .as_deref()
            .and_then(|sd| sd::grants(sd, class, &sids, sd::DELETE, None))
            .unwrap_or(false);
        let by_container = container
            .as_deref()
            .and_then(|sd| {
                let grant = |right| sd::grants(sd, None, &sids, right, class);
                Some(grant(sd::DELETE_CHILD)? || grant(sd::DELETE_TREE)?)
            })
            .unwrap_or(false);
        if !by_object && !by_container {
            missing.push(format!(
                "Delete {} (or Delete {} objects on its container)",
                sample.dn, sample.class
            ));
        }
    }
    checks.push(verdict("restore delete", &missing, "may delete", &modified));

    let domain = naming_context(source).await;
    checks.push(match descriptor(source, &domain).await {
        Some(sd) => match sd::grants(
            &sd,
            sd::class_guid("domainDNS"),
            &sids,
            sd::CONTROL_ACCESS,
            Some(sd::REANIMATE_TOMBSTONES),
        ) {
            Some(true) => Check::ok(
                "restore reanimate",
                format!("the bind account holds Reanimate Tombstones on {domain}"),
            ),
            _ => Check::fail(
                "restore reanimate",
                format!(
                    "missing: the extended right Reanimate Tombstones on {domain}; without it deleted objects come back re-created, with new SIDs: grant it to the bind account (dsacls \"{domain}\" /G \"ACCOUNT:CA;Reanimate Tombstones\")"
                ),
            ),
        },
        None => Check::fail(
            "restore reanimate",
            format!("the security descriptor of {domain} could not be read: grant the bind account Read Permissions on it"),
        ),
    });
    checks.push(deleted_objects(source, &domain).await);
    checks
}

/// One line for one kind of write: `ok` naming where, or `fail` naming each missing right in
/// Active Directory's words.
fn verdict(check: &str, missing: &[String], may: &str, on: &[String]) -> Check {
    if missing.is_empty() {
        Check::ok(check, format!("the bind account {may} {}", on.join("; ")))
    } else {
        Check::fail(
            check,
            format!(
                "missing: {}; grant them to the bind account (Active Directory Users and Computers, Delegate Control, or dsacls)",
                missing.join("; ")
            ),
        )
    }
}

/// Whether the account may see `CN=Deleted Objects`, where a restore finds what it reanimates.
async fn deleted_objects(source: &Source, domain: &str) -> Check {
    let container = format!("CN=Deleted Objects,{domain}");
    let control = RawControl {
        ctype: SHOW_DELETED.to_string(),
        crit: true,
        val: None,
    };
    let found = async {
        let mut pages = source
            .connection
            .search_with(
                &container,
                Scope::Base,
                "(objectClass=*)",
                &["1.1"],
                1,
                vec![control],
            )
            .await?;
        Ok::<_, iamsnap_provider::ProviderError>(pages.next().await?.is_some_and(|p| !p.is_empty()))
    };
    match found.await {
        Ok(true) => Check::ok(
            "restore deleted objects",
            format!("{container} is readable with the show-deleted control"),
        ),
        Ok(false) | Err(_) => Check::fail(
            "restore deleted objects",
            format!(
                "{container} is not visible to the bind account: a restore cannot find deleted objects and re-creates them with new SIDs; grant it List Contents and Read Property on the container, whose permissions only its owner may change (dsacls \"{container}\" /takeownership, then dsacls \"{container}\" /G \"ACCOUNT:LCRP\")"
            ),
        ),
    }
}

/// The first entry of the subtree matching `filter`, below the base.
async fn first(
    source: &Source,
    filter: &str,
) -> Result<Option<String>, iamsnap_provider::ProviderError> {
    let base = &source.config.base_dn;
    let mut pages = source
        .connection
        .search(base, Scope::Subtree, filter, &["1.1"], 1)
        .await?;
    while let Some(page) = pages.next().await? {
        if let Some(entry) = page.into_iter().find(|e| !e.dn.eq_ignore_ascii_case(base)) {
            return Ok(Some(entry.dn));
        }
    }
    Ok(None)
}

/// A constructed attribute of `dn`, as the server computes it for the bound account.
async fn effective(
    source: &Source,
    dn: &str,
    attribute: &str,
) -> Result<Vec<String>, iamsnap_provider::ProviderError> {
    Ok(source
        .connection
        .read(dn, &[attribute])
        .await?
        .map(|e| e.text(attribute))
        .unwrap_or_default())
}

/// The DACL-only security descriptor of `dn`, when the account may read it.
async fn descriptor(source: &Source, dn: &str) -> Option<Vec<u8>> {
    let mut pages = source
        .connection
        .search_with(
            dn,
            Scope::Base,
            "(objectClass=*)",
            &["nTSecurityDescriptor"],
            1,
            vec![dacl_only()],
        )
        .await
        .ok()?;
    let page = pages.next().await.ok()??;
    binary(page.first()?, "nTSecurityDescriptor")
}

fn binary(entry: &Entry, name: &str) -> Option<Vec<u8>> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
}

/// The SIDs the bound account acts with: its own, its groups' (`tokenGroups`), Everyone and
/// Authenticated Users. `None` when its entry cannot be read.
async fn token(source: &Source) -> Result<Option<Vec<sd::Sid>>, iamsnap_provider::ProviderError> {
    let bind_dn = source.connection.bind_dn().to_string();
    let Some(entry) = source
        .connection
        .read(&bind_dn, &["objectSid", "tokenGroups"])
        .await?
    else {
        return Ok(None);
    };
    let mut sids: Vec<sd::Sid> = entry
        .attrs
        .iter()
        .filter(|(k, _)| {
            k.eq_ignore_ascii_case("objectSid") || k.eq_ignore_ascii_case("tokenGroups")
        })
        .flat_map(|(_, v)| v.iter().cloned())
        .collect();
    if sids.is_empty() {
        return Ok(None);
    }
    sids.extend(sd::implicit_sids());
    Ok(Some(sids))
}

/// The domain's naming context (the root DSE's `defaultNamingContext`), else the base.
async fn naming_context(source: &Source) -> String {
    source
        .connection
        .read("", &["defaultNamingContext"])
        .await
        .ok()
        .flatten()
        .and_then(|dse| dse.text("defaultNamingContext").into_iter().next())
        .unwrap_or_else(|| source.config.base_dn.clone())
}
