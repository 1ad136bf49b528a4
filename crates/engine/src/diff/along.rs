//! Relationship records removed along with the object they name as a member.
//!
//! When a user is deleted, its group memberships and app assignments go with it. Listed under
//! each group, they would repeat the user's removal once per group; an operator reads them
//! better under the user: `- ada (id 00u1)` / `removed with it: 4 group memberships (Ops, …)`.
//!
//! A relationship record (a kind with a [`iamsnap_provider::Parent`]) is *along* a removed
//! object when one of its references names that object and the object's key is the member
//! part of the record's key. Finding them is a join on (kind, id) between the removed objects
//! and the references of removed relationship records, done by one external sort so that
//! memory stays bounded; the answers come back in the (kind, key) order the report is written
//! in, so that the report reads them with forward-only cursors.

use std::io;

use iamsnap_provider::Parent;
use serde::{Deserialize, Serialize};

use crate::archive::spool::{DEFAULT_BUDGET, SortedLine, SortedRecords, Spool};
use crate::diff::{Change, Status};
use crate::report::Kinds;

/// In the join, an object sorts before the references to it.
const OBJECT: char = '0';
const LINK: char = '1';

/// A removed relationship record, as the join carries it.
#[derive(Serialize, Deserialize)]
struct Link {
    kind: String,
    key: String,
}

/// One relationship record shown under its member: what kind it is and its parent's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Along {
    pub kind: String,
    pub parent: String,
}

/// Collects removed objects and removed relationship records while the diff streams by.
pub struct Finder<'k> {
    kinds: &'k Kinds,
    join: Spool,
}

impl<'k> Finder<'k> {
    pub fn new(kinds: &'k Kinds) -> io::Result<Self> {
        Ok(Finder {
            kinds,
            join: Spool::new(None, DEFAULT_BUDGET / 4)?,
        })
    }

    pub fn see(&mut self, change: &Change) -> io::Result<()> {
        if change.status != Status::Removed {
            return Ok(());
        }
        if self.kinds.parent(&change.kind).is_none() {
            let Some(id) = &change.old_id else {
                return Ok(());
            };
            return self.join.push_entry(
                change.kind.clone(),
                id.clone(),
                format!("{OBJECT}{}", change.key),
            );
        }
        let link = serde_json::to_string(&Link {
            kind: change.kind.clone(),
            key: change.key.clone(),
        })
        .map_err(io::Error::other)?;
        for target in &change.refs {
            self.join.push_entry(
                target.kind.clone(),
                target.id.clone(),
                format!("{LINK}{link}"),
            )?;
        }
        Ok(())
    }

    /// Joins what was seen: which records go under which object.
    pub fn finish(self) -> io::Result<Found> {
        let mut sorted = self.join.finish()?;
        let mut under = Spool::new(None, DEFAULT_BUDGET / 4)?;
        let mut taken = Spool::new(None, DEFAULT_BUDGET / 4)?;
        // The removed object the current references point at: (kind, id, key).
        let mut object: Option<(String, String, String)> = None;
        while let Some(SortedLine { kind, id, json }) = sorted.next_line()? {
            if let Some(key) = json.strip_prefix(OBJECT) {
                object = Some((kind, id, key.to_string()));
                continue;
            }
            let Some((o_kind, o_id, o_key)) = &object else {
                continue;
            };
            if (o_kind, o_id) != (&kind, &id) {
                continue;
            }
            let link: Link =
                serde_json::from_str(json.trim_start_matches(LINK)).map_err(io::Error::other)?;
            let (parent, member) = Parent::split(&link.key);
            if member != o_key {
                continue;
            }
            let along = serde_json::to_string(&Along {
                kind: link.kind.clone(),
                parent: parent.to_string(),
            })
            .map_err(io::Error::other)?;
            under.push_entry(o_kind.clone(), o_key.clone(), along)?;
            taken.push_entry(link.kind, link.key, o_kind.clone())?;
        }
        Ok(Found {
            under: Cursor::new(under.finish()?)?,
            taken: Cursor::new(taken.finish()?)?,
        })
    }
}

/// A sorted list read forwards, looked up by (kind, key) in increasing order.
struct Cursor {
    lines: SortedRecords,
    head: Option<SortedLine>,
}

impl Cursor {
    fn new(mut lines: SortedRecords) -> io::Result<Self> {
        let head = lines.next_line()?;
        Ok(Cursor { lines, head })
    }

    /// The lines for (kind, key), skipping any before it; duplicates are given once.
    fn take(&mut self, kind: &str, key: &str) -> io::Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        while let Some(line) = &self.head {
            match (line.kind.as_str(), line.id.as_str()).cmp(&(kind, key)) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    if out.last() != Some(&line.json) {
                        out.push(line.json.clone());
                    }
                }
                std::cmp::Ordering::Greater => break,
            }
            self.head = self.lines.next_line()?;
        }
        Ok(out)
    }
}

/// The answers of the join, for a report written in (kind, key) order.
pub struct Found {
    under: Cursor,
    taken: Cursor,
}

impl Found {
    /// The relationship records to show under the removed object (kind, key), sorted.
    pub fn under(&mut self, kind: &str, key: &str) -> io::Result<Vec<Along>> {
        self.under
            .take(kind, key)?
            .iter()
            .map(|json| serde_json::from_str(json).map_err(io::Error::other))
            .collect()
    }

    /// The kind of the object a relationship record is shown under, if it is.
    pub fn taken(&mut self, kind: &str, key: &str) -> io::Result<Option<String>> {
        Ok(self.taken.take(kind, key)?.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use iamsnap_provider::{KindInfo, Ref};

    use super::*;

    const KINDS: &[KindInfo] = &[
        KindInfo {
            name: "t.user",
            description: "users",
            depends_on: &[],
            capabilities: iamsnap_provider::Capabilities::ALL,
            parent: None,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.group",
            description: "groups",
            depends_on: &[],
            capabilities: iamsnap_provider::Capabilities::ALL,
            parent: None,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.member",
            description: "memberships",
            depends_on: &["t.user", "t.group"],
            capabilities: iamsnap_provider::Capabilities::ALL,
            parent: Some(Parent {
                noun: "group",
                members: "members",
            }),
            cannot_restore: &[],
        },
    ];

    fn removed(kind: &str, key: &str, id: &str, refs: &[(&str, &str)]) -> Change {
        Change {
            kind: kind.into(),
            key: key.into(),
            status: Status::Removed,
            old_id: Some(id.into()),
            new_id: None,
            matched_by: None,
            fields: Vec::new(),
            refs: refs.iter().map(|(k, i)| Ref::new("to", *k, *i)).collect(),
            events: Vec::new(),
        }
    }

    #[test]
    fn memberships_of_a_removed_user_go_under_it_and_the_others_stay() {
        let kinds = Kinds::new(KINDS);
        let mut finder = Finder::new(&kinds).unwrap();
        let changes = [
            removed("t.group", "Gone", "g9", &[]),
            // Both ends removed: the member decides.
            removed(
                "t.member",
                "Gone|ada",
                "g9:u1",
                &[("t.group", "g9"), ("t.user", "u1")],
            ),
            removed(
                "t.member",
                "Ops|ada",
                "g1:u1",
                &[("t.group", "g1"), ("t.user", "u1")],
            ),
            // The user is still there: the membership stays under its group.
            removed(
                "t.member",
                "Ops|bob",
                "g1:u2",
                &[("t.group", "g1"), ("t.user", "u2")],
            ),
            removed(
                "t.member",
                "Sales|ada",
                "g2:u1",
                &[("t.group", "g2"), ("t.user", "u1")],
            ),
            removed("t.user", "ada", "u1", &[]),
            removed("t.user", "cy", "u3", &[]),
        ];
        for c in &changes {
            finder.see(c).unwrap();
        }
        let mut found = finder.finish().unwrap();
        assert_eq!(
            found.taken("t.member", "Gone|ada").unwrap().as_deref(),
            Some("t.user")
        );
        assert_eq!(
            found.taken("t.member", "Ops|ada").unwrap().as_deref(),
            Some("t.user")
        );
        assert_eq!(found.taken("t.member", "Ops|bob").unwrap(), None);
        assert_eq!(
            found.taken("t.member", "Sales|ada").unwrap().as_deref(),
            Some("t.user")
        );
        let parents: Vec<String> = found
            .under("t.user", "ada")
            .unwrap()
            .into_iter()
            .map(|a| a.parent)
            .collect();
        assert_eq!(parents, ["Gone", "Ops", "Sales"]);
        assert!(found.under("t.user", "cy").unwrap().is_empty());
    }
}
