//! OpenLDAP's refint overlay takes a deleted entry's DN out of every group, and rewrites a
//! renamed entry's DN in them, in a thread of its own after the delete or `modrdn` has
//! answered: each queued change is a search of the whole database (its `dnSubtreeMatch`
//! filter uses no index), a few a second on a directory of 100,000 entries. An incident
//! that deleted a unit of thousands of users leaves minutes of such work queued, and every
//! member value a restore puts back before refint reaches the old entry is taken away again
//! when it does.
//!
//! So before its first write a restore on OpenLDAP waits for that queue to drain: it adds a
//! probe entry and a probe group naming it, deletes the entry, and waits until the group no
//! longer names it. refint works through its queue in order, so by then everything queued
//! before the probe is done. A server without refint never takes the value away; it is told
//! apart by its groups, which stop changing, and the restore goes on after a short wait.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use iamsnap_provider::ProviderError;
use ldap3::Scope;

use crate::Source;
use crate::client::rc;

/// How long the groups may stay unchanged, with the probe still named, before the server is
/// taken to have no refint overlay. refint with nothing queued answers in milliseconds; one
/// working through a backlog changes no group while it passes deleted entries that were in
/// none, a few a second, so a short quiet spell does not mean it is done.
const QUIET: Duration = Duration::from_secs(30);

/// The longest pause between two looks at the probe group.
const MOST: Duration = Duration::from_secs(2);

/// The probe entries of one restore (a restore running beside it uses others).
pub struct Probe {
    group: String,
    member: String,
}

impl Probe {
    pub fn new(base: &str) -> Probe {
        let tag = format!(
            "{:x}{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        Probe {
            group: format!("cn=iamsnap-refint-probe-{tag},{base}"),
            member: format!("cn=iamsnap-refint-probe-{tag}-member,{base}"),
        }
    }

    /// Waits until refint has done what was queued before this restore, at most `limit`.
    /// Safe to run again after an attempt whose connection dropped: an entry already added
    /// or already deleted is taken as done.
    pub async fn settle(&self, source: &Source, limit: Duration) -> Result<(), ProviderError> {
        let (group, member) = (&self.group, &self.member);
        let cn = |dn: &str| dn[3..dn.find(',').unwrap_or(dn.len())].to_string();
        let added = add(
            source,
            member,
            vec![
                ("objectClass", vec!["applicationProcess".into()]),
                ("cn", vec![cn(member)]),
            ],
        )
        .await?;
        if added.rc != rc::SUCCESS && added.rc != rc::ENTRY_ALREADY_EXISTS {
            tracing::warn!(
                "could not add the probe entry {member} ({}): the restore does not wait for the server's refint overlay, whose pending work may take away member values it puts back",
                added.text
            );
            return Ok(());
        }
        let added = add(
            source,
            group,
            vec![
                ("objectClass", vec!["groupOfNames".into()]),
                ("cn", vec![cn(group)]),
                ("member", vec![group.clone(), member.clone()]),
            ],
        )
        .await?;
        delete(source, member).await?;
        if added.rc != rc::SUCCESS && added.rc != rc::ENTRY_ALREADY_EXISTS {
            tracing::warn!(
                "could not add the probe group {group} ({}): the restore does not wait for the server's refint overlay",
                added.text
            );
            return Ok(());
        }
        let waited = wait(source, group, member, limit).await;
        delete(source, group).await?;
        waited
    }
}

async fn add(
    source: &Source,
    dn: &str,
    attrs: Vec<(&'static str, Vec<String>)>,
) -> Result<ldap3::LdapResult, ProviderError> {
    let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = attrs
        .into_iter()
        .map(|(n, v)| {
            (
                n.as_bytes().to_vec(),
                v.into_iter().map(String::into_bytes).collect(),
            )
        })
        .collect();
    source
        .connection
        .writer(vec![])
        .await?
        .add(dn, attrs)
        .await
        .map_err(|e| source.connection.transport("write", e))
}

async fn delete(source: &Source, dn: &str) -> Result<(), ProviderError> {
    let result = source
        .connection
        .writer(vec![])
        .await?
        .delete(dn)
        .await
        .map_err(|e| source.connection.transport("write", e))?;
    match result.rc {
        rc::SUCCESS | rc::NO_SUCH_OBJECT => Ok(()),
        _ => Err(source
            .connection
            .failed("delete (refint probe)", dn, &result)),
    }
}

/// Looks at the probe `group` until refint took `member` out of it, the groups stayed
/// unchanged for [`QUIET`] (no refint), or `limit` passed.
async fn wait(
    source: &Source,
    group: &str,
    member: &str,
    limit: Duration,
) -> Result<(), ProviderError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    let mut values = member_values(source).await?;
    let mut changed = Instant::now();
    let mut told = Instant::now();
    loop {
        let entry = source.connection.read(group, &["member"]).await?;
        let named = entry.is_some_and(|e| {
            e.text("member")
                .iter()
                .any(|v| v.eq_ignore_ascii_case(member))
        });
        if !named {
            if started.elapsed() > Duration::from_secs(1) {
                tracing::info!(
                    "the server's refint overlay finished its pending work in {} s",
                    started.elapsed().as_secs()
                );
            }
            return Ok(());
        }
        let now = member_values(source).await?;
        if now != values {
            values = now;
            changed = Instant::now();
        } else if changed.elapsed() >= QUIET {
            tracing::debug!("no refint overlay: the probe group still names its deleted member");
            return Ok(());
        }
        if started.elapsed() >= limit {
            tracing::warn!(
                "the server's refint overlay is still taking deleted entries out of groups after {} s (refint_wait_secs): member values this restore puts back may be taken away again; run the restore again once it is done",
                limit.as_secs()
            );
            return Ok(());
        }
        if told.elapsed() >= Duration::from_secs(30) {
            told = Instant::now();
            tracing::warn!(
                "waiting for the server's refint overlay to finish taking deleted entries out of groups ({} s so far): a member value put back before it would be taken away again",
                started.elapsed().as_secs()
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MOST);
    }
}

/// How many `member` and `uniqueMember` values the groups under the base hold: refint at
/// work lowers it.
async fn member_values(source: &Source) -> Result<usize, ProviderError> {
    let mut count = 0;
    let mut pages = source
        .connection
        .search(
            &source.config.base_dn,
            Scope::Subtree,
            "(|(member=*)(uniqueMember=*))",
            &["member", "uniqueMember"],
            source.config.page_size(),
        )
        .await?;
    while let Some(page) = pages.next().await? {
        count += page
            .iter()
            .map(|e| e.attrs.values().map(Vec::len).sum::<usize>())
            .sum::<usize>();
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_named_under_the_base() {
        let probe = Probe::new("dc=example,dc=org");
        let (group, member) = (&probe.group, &probe.member);
        assert!(group.starts_with("cn=iamsnap-refint-probe-"));
        assert!(group.ends_with(",dc=example,dc=org"));
        assert!(member.ends_with("-member,dc=example,dc=org"));
        assert!(member.starts_with(&group[..group.find(',').unwrap()]));
    }
}
