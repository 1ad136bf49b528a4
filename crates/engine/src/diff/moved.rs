//! Ids that moved between two sides, and the references that name them, paired on disk.
//!
//! An object found on both sides under different ids (deleted and re-created, or another
//! tenant) has *moved*. A record that references it names it by the old id on one side and by
//! the new id on the other: compared by raw id the two records differ, compared in key space
//! (the object each reference stands for) they are the same. A diff and a restore plan both
//! need, for some records, the moved ids among their references; after the re-creation of a
//! whole organisation every id has moved, too many to hold. [`MovedIds`] collects, sorted by
//! (kind, id) in a [`Spool`], each moved id, each object the caller will re-create and each
//! reference to resolve; one merge pairs them, and [`Resolved`] hands back, item by item, the
//! moved ids each item references.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use iamsnap_provider::{IdMap, Record, Ref};

use crate::archive::spool::{SortedRecords, Spool};
use crate::restore::spill::{SpillWriter, Spilled};

/// `(kind, old id, new id)` of an object found on both sides under different ids.
pub type MovedId = (String, String, String);

/// Items, by number, that reference an object noted [`MovedIds::absent`]: the (kind, id) of
/// each such object.
pub type Stale = BTreeMap<usize, Vec<(String, String)>>;

/// Collects moved ids and references; see the module documentation.
///
/// Entries are `(kind, id, tag)`: `/` for an absent object, `0` + new id for a moved one, `1` +
/// item number for a reference to resolve, `2` + item number for a reference to watch. The
/// tags sort in that order, so that the merge meets what an id is before what names it.
pub struct MovedIds {
    spool: Spool,
    dir: Option<PathBuf>,
    budget: usize,
}

impl MovedIds {
    /// Temporary files go under `dir` (the system temp dir when `None`).
    pub fn new(dir: Option<&Path>, budget: usize) -> io::Result<Self> {
        Ok(MovedIds {
            spool: Spool::new(dir, budget)?,
            dir: dir.map(Path::to_path_buf),
            budget,
        })
    }

    /// The object `kind` `old_id` is `new_id` on the other side.
    pub fn moved(&mut self, kind: &str, old_id: &str, new_id: &str) -> io::Result<()> {
        self.spool
            .push_entry(kind.to_string(), old_id.to_string(), format!("0{new_id}"))
    }

    /// The object `kind` `id` is absent from the other side and will be re-created.
    pub fn absent(&mut self, kind: &str, id: &str) -> io::Result<()> {
        self.spool
            .push_entry(kind.to_string(), id.to_string(), "/".to_string())
    }

    /// Item `item` references `refs`: [`Resolved::ids_of`] gives back those that moved.
    /// Items are numbered from 0 in the order the caller will ask for them.
    pub fn resolve(&mut self, item: usize, refs: &[Ref]) -> io::Result<()> {
        for r in refs {
            self.spool
                .push_entry(r.kind.clone(), r.id.clone(), format!("1{item:020}"))?;
        }
        Ok(())
    }

    /// Item `item` references `refs`: [`Resolved::stale`] lists it if one is absent.
    pub fn watch(&mut self, item: usize, refs: &[Ref]) -> io::Result<()> {
        for r in refs {
            self.spool
                .push_entry(r.kind.clone(), r.id.clone(), format!("2{item:020}"))?;
        }
        Ok(())
    }

    /// Pairs everything collected. `keep_moved` writes every moved id to
    /// [`Resolved::moved`] as well.
    pub fn finish(self, keep_moved: bool) -> io::Result<Resolved> {
        let dir = self.dir.as_deref();
        let mut sorted = self.spool.finish()?;
        let mut all_moved = match keep_moved {
            true => Some(SpillWriter::new(dir)?),
            false => None,
        };
        let mut by_item = Spool::new(dir, self.budget)?;
        let mut moved: Option<MovedId> = None;
        let mut absent: Option<(String, String)> = None;
        let mut stale = Stale::new();
        while let Some(line) = sorted.next_line()? {
            if line.json == "/" {
                absent = Some((line.kind, line.id));
            } else if let Some(item) = line.json.strip_prefix('2') {
                if absent
                    .as_ref()
                    .is_some_and(|(kind, id)| *kind == line.kind && *id == line.id)
                {
                    let item = item.parse::<usize>().map_err(io::Error::other)?;
                    stale.entry(item).or_default().push((line.kind, line.id));
                }
            } else if let Some(new_id) = line.json.strip_prefix('0') {
                let entry = (line.kind, line.id, new_id.to_string());
                if let Some(all) = &mut all_moved {
                    all.push(&entry)?;
                }
                moved = Some(entry);
            } else if let (Some(item), Some((kind, id, new_id))) =
                (line.json.strip_prefix('1'), &moved)
                && *kind == line.kind
                && *id == line.id
            {
                let json = serde_json::to_string(&(kind, id, new_id)).map_err(io::Error::other)?;
                by_item.push_entry(item.to_string(), String::new(), json)?;
            }
        }
        Ok(Resolved {
            moved: match all_moved {
                Some(all) => all.finish()?,
                None => Spilled::default(),
            },
            stale,
            by_item: by_item.finish()?,
            next: None,
        })
    }
}

/// What [`MovedIds::finish`] paired.
pub struct Resolved {
    /// Every moved id, when asked for.
    pub moved: Spilled<MovedId>,
    /// The watched items that reference an absent object.
    pub stale: Stale,
    by_item: SortedRecords,
    next: Option<(usize, MovedId)>,
}

impl Resolved {
    /// The moved ids item `item` references. Items must be asked for in increasing order.
    pub fn ids_of(&mut self, item: usize) -> io::Result<ItemIds> {
        let mut ids = ItemIds::default();
        loop {
            if self.next.is_none() {
                let Some(line) = self.by_item.next_line()? else {
                    return Ok(ids);
                };
                let at = line.kind.parse::<usize>().map_err(io::Error::other)?;
                let moved: MovedId = serde_json::from_str(&line.json).map_err(io::Error::other)?;
                self.next = Some((at, moved));
            }
            match &self.next {
                Some((at, _)) if *at < item => self.next = None,
                Some((at, _)) if *at == item => {
                    let (_, (kind, old, new)) = self.next.take().expect("matched above");
                    ids.0.insert((kind, old), new);
                }
                _ => return Ok(ids),
            }
        }
    }
}

/// The moved ids one record references; any other id is the same on the other side.
#[derive(Debug, Default)]
pub struct ItemIds(BTreeMap<(String, String), String>);

impl ItemIds {
    /// `record` as the other side would hold it: its references (and the ids they put in its
    /// attributes) rewritten to the other side's ids, its own id `id`.
    pub fn rewrite(&self, record: &Record, id: &str) -> Record {
        let mut out = iamsnap_provider::to_live(record, self);
        out.id = id.to_string();
        out
    }

    /// The references of `record` that name a moved object: (rel, kind, old id, new id).
    pub fn moved_refs<'r>(
        &'r self,
        record: &'r Record,
    ) -> impl Iterator<Item = (&'r Ref, &'r String)> + 'r {
        record
            .refs
            .iter()
            .filter_map(|r| self.0.get(&(r.kind.clone(), r.id.clone())).map(|n| (r, n)))
            .filter(|(r, n)| r.id != **n)
    }
}

impl IdMap for ItemIds {
    fn live_id(&self, kind: &str, snapshot_id: &str) -> Option<String> {
        let at = (kind.to_string(), snapshot_id.to_string());
        Some(
            self.0
                .get(&at)
                .cloned()
                .unwrap_or_else(|| snapshot_id.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_meet_the_ids_they_name_on_disk() {
        for budget in [1, 1 << 20] {
            let mut ids = MovedIds::new(None, budget).unwrap();
            ids.resolve(1, &[Ref::new("user", "t.user", "u1")]).unwrap();
            ids.resolve(0, &[Ref::new("group", "t.group", "g1")])
                .unwrap();
            ids.resolve(
                2,
                &[
                    Ref::new("user", "t.user", "u2"),
                    Ref::new("group", "t.group", "g1"),
                ],
            )
            .unwrap();
            ids.watch(3, &[Ref::new("include", "t.group", "g7")])
                .unwrap();
            ids.moved("t.user", "u1", "u9").unwrap();
            ids.moved("t.group", "g1", "g9").unwrap();
            ids.absent("t.group", "g7").unwrap();
            let mut resolved = ids.finish(true).unwrap();
            assert_eq!(resolved.moved.len(), 2);
            assert_eq!(
                resolved.stale,
                Stale::from([(3, vec![("t.group".into(), "g7".into())])])
            );
            let live = |ids: &ItemIds, kind: &str, id: &str| ids.live_id(kind, id).unwrap();
            let zero = resolved.ids_of(0).unwrap();
            assert_eq!(live(&zero, "t.group", "g1"), "g9");
            let two = resolved.ids_of(2).unwrap();
            assert_eq!(live(&two, "t.group", "g1"), "g9");
            assert_eq!(live(&two, "t.user", "u2"), "u2");
            assert_eq!(live(&two, "t.user", "u1"), "u1", "item 1 was skipped");
            assert!(resolved.ids_of(5).unwrap().0.is_empty());
        }
    }
}
