//! External sort of records by (kind, id), in bounded memory.
//!
//! Providers return objects in whatever order their APIs page them, and several lists are read
//! concurrently; an archive holds each kind sorted by id so that two snapshots diff by
//! merge-join. The spool keeps records in memory up to a byte budget, then writes a sorted run
//! to an encrypted temporary file in a private folder ([`crate::scratch`]); [`Spool::finish`]
//! merges the runs back into one sorted stream.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{self, BufRead, Write};
use std::path::Path;

use iamsnap_provider::Record;

use crate::scratch::{ScratchDir, SealedFile, SealedReader};

/// Default in-memory budget before a run is written to disk.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

/// A record kept as its canonical line, with the sort key beside it.
struct Line {
    kind: String,
    id: String,
    json: String,
}

impl Line {
    fn from_record(record: &Record) -> Self {
        Line {
            kind: record.kind.clone(),
            id: record.id.clone(),
            json: record.to_canonical_json(),
        }
    }

    /// Writes the line to a run as three length-prefixed fields (kind, id, canonical JSON), so
    /// that the merge reads its sort key back without parsing the record.
    fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        for field in [&self.kind, &self.id, &self.json] {
            let len = u32::try_from(field.len()).map_err(io::Error::other)?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(field.as_bytes())?;
        }
        Ok(())
    }

    /// What the line takes in memory: its place in the buffer and each field's allocation as
    /// the allocator rounds it. A short entry (a moved id, an operation's place in a file)
    /// takes several times its length.
    fn cost(&self) -> usize {
        std::mem::size_of::<Line>()
            + allocated(self.kind.capacity())
            + allocated(self.id.capacity())
            + allocated(self.json.capacity())
    }

    fn order(&self, other: &Self) -> Ordering {
        (&self.kind, &self.id, &self.json).cmp(&(&other.kind, &other.id, &other.json))
    }
}

/// The heap memory behind a string of `capacity` bytes: what it asked for plus the allocator's
/// header, rounded to its 16-byte granularity, never under its smallest chunk.
fn allocated(capacity: usize) -> usize {
    match capacity {
        0 => 0,
        asked => (asked + 8).next_multiple_of(16).max(32),
    }
}

/// Collects records in any order and gives them back sorted by (kind, id).
pub struct Spool {
    dir: ScratchDir,
    budget: usize,
    buffer: Vec<Line>,
    used: usize,
    runs: Vec<SealedFile>,
    count: u64,
}

impl Spool {
    /// A spool writing its runs under `parent` (the system temp dir when `None`).
    pub fn new(parent: Option<&Path>, budget: usize) -> io::Result<Self> {
        let dir = ScratchDir::new(parent, "spool")?;
        Ok(Spool {
            dir,
            budget: budget.max(1),
            buffer: Vec::new(),
            used: 0,
            runs: Vec::new(),
            count: 0,
        })
    }

    /// Number of records pushed so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn push(&mut self, record: &Record) -> io::Result<()> {
        self.push_line(Line::from_record(record))
    }

    /// Pushes an entry that is not a record: `json` comes back in (`kind`, `id`, `json`)
    /// order from [`SortedRecords::next_line`].
    pub fn push_entry(&mut self, kind: String, id: String, json: String) -> io::Result<()> {
        self.push_line(Line { kind, id, json })
    }

    fn push_line(&mut self, line: Line) -> io::Result<()> {
        self.used += line.cost();
        self.buffer.push(line);
        self.count += 1;
        if self.used >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.buffer.sort_by(Line::order);
        let mut out = self.dir.create(&format!("run-{:05}", self.runs.len()))?;
        for line in self.buffer.drain(..) {
            line.write_to(&mut out)?;
        }
        self.runs.push(out.finish()?);
        self.used = 0;
        Ok(())
    }

    /// Sorts what is left and returns all records in (kind, id) order.
    pub fn finish(mut self) -> io::Result<SortedRecords> {
        if self.runs.is_empty() {
            self.buffer.sort_by(Line::order);
            let lines = std::mem::take(&mut self.buffer);
            return Ok(SortedRecords {
                source: Source::Memory(lines.into_iter()),
                _dir: self.dir,
            });
        }
        self.spill()?;
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::new();
        for (index, run) in self.runs.iter().enumerate() {
            let mut reader = run.open()?;
            if let Some(head) = read_line(&mut reader)? {
                heap.push(Head {
                    line: head,
                    run: index,
                });
            }
            readers.push(reader);
        }
        Ok(SortedRecords {
            source: Source::Merge { readers, heap },
            _dir: self.dir,
        })
    }
}

fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Line>> {
    let Some(kind) = read_field(reader, true)? else {
        return Ok(None);
    };
    let id = read_field(reader, false)?.unwrap_or_default();
    let json = read_field(reader, false)?.unwrap_or_default();
    Ok(Some(Line { kind, id, json }))
}

/// One length-prefixed field of a run; `None` at the end of the file when `first` (the start of
/// an entry), an error anywhere else.
fn read_field(reader: &mut impl BufRead, first: bool) -> io::Result<Option<String>> {
    let mut len = [0u8; 4];
    if first && reader.fill_buf()?.is_empty() {
        return Ok(None);
    }
    reader.read_exact(&mut len)?;
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    reader.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map(Some).map_err(io::Error::other)
}

/// The head of one run in the merge; ordered so that the heap pops the smallest line first.
struct Head {
    line: Line,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .line
            .order(&self.line)
            .then_with(|| other.run.cmp(&self.run))
    }
}

enum Source {
    Memory(std::vec::IntoIter<Line>),
    Merge {
        readers: Vec<SealedReader>,
        heap: BinaryHeap<Head>,
    },
}

/// Records in (kind, id) order, as canonical JSON lines. Holds the spool's temporary files
/// until dropped.
pub struct SortedRecords {
    source: Source,
    _dir: ScratchDir,
}

/// One sorted entry: the kind and the canonical line of the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedLine {
    pub kind: String,
    pub id: String,
    pub json: String,
}

impl SortedRecords {
    /// The next record as its canonical line, without parsing it again.
    pub fn next_line(&mut self) -> io::Result<Option<SortedLine>> {
        let line = match &mut self.source {
            Source::Memory(lines) => lines.next(),
            Source::Merge { readers, heap } => match heap.pop() {
                None => None,
                Some(Head { line, run }) => {
                    if let Some(next) = read_line(&mut readers[run])? {
                        heap.push(Head { line: next, run });
                    }
                    Some(line)
                }
            },
        };
        Ok(line.map(|l| SortedLine {
            kind: l.kind,
            id: l.id,
            json: l.json,
        }))
    }
}

impl Iterator for SortedRecords {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_line() {
            Ok(Some(line)) => Some(serde_json::from_str(&line.json).map_err(io::Error::other)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(kind: &str, id: &str) -> Record {
        Record::new(kind, id, format!("key-{id}"), json!({"id": id}), vec![])
    }

    #[test]
    fn merges_spilled_runs_in_kind_then_id_order() {
        let mut spool = Spool::new(None, 200).unwrap();
        let ids = ["q", "b", "z", "a", "m", "c", "y", "d"];
        for (i, id) in ids.iter().enumerate() {
            let kind = if i % 2 == 0 { "t.user" } else { "t.group" };
            spool.push(&record(kind, id)).unwrap();
        }
        assert!(
            spool.runs.len() > 1,
            "the small budget must force several runs"
        );
        let out: Vec<(String, String)> = spool
            .finish()
            .unwrap()
            .map(|r| r.map(|r| (r.kind, r.id)).unwrap())
            .collect();
        let mut expected: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let kind = if i % 2 == 0 { "t.user" } else { "t.group" };
                (kind.to_string(), id.to_string())
            })
            .collect();
        expected.sort();
        assert_eq!(out, expected);
    }

    #[test]
    fn runs_on_disk_are_private_and_encrypted() {
        let parent = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(Some(parent.path()), 300).unwrap();
        for i in 0..20 {
            let login = format!("ada{i}@example.com");
            let attrs = json!({"profile": {"login": login}});
            spool
                .push(&Record::new(
                    "t.user",
                    format!("{i:02}"),
                    login,
                    attrs,
                    vec![],
                ))
                .unwrap();
        }
        assert!(spool.runs.len() > 2);
        let files = crate::scratch::assert_private_and_sealed(parent.path(), &["ada", "t.user"]);
        // The runs and the folder's lock.
        assert_eq!(files, spool.runs.len() + 1);
        let mut sorted = spool.finish().unwrap();
        let first = sorted.next_line().unwrap().unwrap();
        assert_eq!((first.id.as_str(), first.kind.as_str()), ("00", "t.user"));
        drop(sorted);
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn short_entries_count_what_they_take_in_memory() {
        // Each entry holds three one-byte strings: its place in the buffer (72 bytes) and three
        // of the allocator's smallest chunks (32 bytes each), 168 bytes in all, not 75.
        let mut spool = Spool::new(None, 50 * 120).unwrap();
        for i in 0..50 {
            spool
                .push_entry("k".into(), (i % 10).to_string(), "/".into())
                .unwrap();
        }
        assert_eq!(spool.runs.len(), 1, "36 entries fill the budget, not 80");
        let mut sorted = spool.finish().unwrap();
        let mut ids = Vec::new();
        while let Some(line) = sorted.next_line().unwrap() {
            ids.push(line.id);
        }
        assert_eq!(ids.len(), 50);
        assert!(ids.is_sorted());
    }

    #[test]
    fn sorts_in_memory_when_under_budget() {
        let mut spool = Spool::new(None, DEFAULT_BUDGET).unwrap();
        for id in ["3", "1", "2"] {
            spool.push(&record("k", id)).unwrap();
        }
        let ids: Vec<String> = spool.finish().unwrap().map(|r| r.unwrap().id).collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }
}
