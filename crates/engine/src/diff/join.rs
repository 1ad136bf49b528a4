//! The merge-join of two record streams sorted by (kind, id), with a fallback join on
//! (kind, key) for records whose id found no partner.
//!
//! Both inputs are read once, in order. Records unmatched by id are pushed, per kind, through
//! a [`Spool`] keyed by their natural key; when both streams have moved past a kind, the two
//! spools are merged by key. Memory stays bounded by the spool budget however large the
//! inputs are, and every pair is handed to the caller as soon as it is known.

use std::cmp::Ordering;
use std::path::PathBuf;

use iamsnap_provider::Record;

use crate::archive::spool::{SortedRecords, Spool};
use crate::diff::{DiffError, Side};

/// How two records were paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// Same provider id on both sides.
    Id,
    /// Different ids, same natural key: the object was re-created (or lives in another tenant).
    Key,
}

/// One result of the join.
#[derive(Debug, Clone, PartialEq)]
pub enum Joined {
    /// Only in the left (old, snapshot) stream.
    Left(Record),
    /// Only in the right (new, live) stream.
    Right(Record),
    /// In both, paired by id or by key.
    Both {
        left: Record,
        right: Record,
        by: MatchedBy,
    },
}

/// Where and how much the join may spill to disk.
#[derive(Debug, Clone)]
pub struct JoinOptions {
    /// Folder for temporary files (the system temp dir when `None`).
    pub spool_dir: Option<PathBuf>,
    /// In-memory budget of each spool, in bytes.
    pub spool_budget: usize,
}

impl Default for JoinOptions {
    fn default() -> Self {
        JoinOptions {
            spool_dir: None,
            spool_budget: 16 * 1024 * 1024,
        }
    }
}

/// One input stream, checked to be in (kind, id) order.
struct Input<I> {
    side: Side,
    records: I,
    head: Option<Record>,
    count: u64,
}

impl<I, E> Input<I>
where
    I: Iterator<Item = Result<Record, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    fn new(side: Side, records: I) -> Result<Self, DiffError> {
        let mut input = Input {
            side,
            records,
            head: None,
            count: 0,
        };
        input.head = input.read()?;
        Ok(input)
    }

    fn read(&mut self) -> Result<Option<Record>, DiffError> {
        match self.records.next() {
            None => Ok(None),
            Some(Ok(record)) => {
                self.count += 1;
                Ok(Some(record))
            }
            Some(Err(e)) => Err(DiffError::Read {
                side: self.side,
                source: Box::new(e),
            }),
        }
    }

    /// Takes the head and reads the next record, refusing a stream that goes backwards.
    fn advance(&mut self) -> Result<Record, DiffError> {
        let current = self
            .head
            .take()
            .expect("advance is only called with a head");
        let next = self.read()?;
        if let Some(n) = &next
            && (n.kind.as_str(), n.id.as_str()) < (current.kind.as_str(), current.id.as_str())
        {
            return Err(DiffError::Unsorted {
                side: self.side,
                kind: n.kind.clone(),
                id: n.id.clone(),
            });
        }
        self.head = next;
        Ok(current)
    }
}

/// Records of one kind that found no partner by id, sorted by key on the way out.
///
/// The spool orders by (kind, id); a record goes in with its id and key swapped so that it
/// comes back in key order, and is swapped back when read.
struct Unmatched {
    spool: Option<Spool>,
}

impl Unmatched {
    fn push(&mut self, options: &JoinOptions, record: Record) -> Result<(), DiffError> {
        if self.spool.is_none() {
            self.spool = Some(Spool::new(
                options.spool_dir.as_deref(),
                options.spool_budget,
            )?);
        }
        let swapped = Record {
            id: record.key,
            key: record.id,
            ..record
        };
        self.spool.as_mut().expect("created above").push(&swapped)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<KeyOrdered, DiffError> {
        Ok(KeyOrdered {
            records: match self.spool.take() {
                Some(spool) => Some(spool.finish()?),
                None => None,
            },
        })
    }
}

struct KeyOrdered {
    records: Option<SortedRecords>,
}

impl KeyOrdered {
    fn next(&mut self) -> Result<Option<Record>, DiffError> {
        let Some(records) = self.records.as_mut() else {
            return Ok(None);
        };
        match records.next() {
            None => Ok(None),
            Some(Err(e)) => Err(e.into()),
            Some(Ok(r)) => Ok(Some(Record {
                id: r.key,
                key: r.id,
                ..r
            })),
        }
    }
}

/// Joins `left` and `right` (both sorted by (kind, id)) and hands every pair to `emit`, kind
/// by kind in kind order. Returns the number of records read on each side.
pub fn join<L, R, EL, ER, F>(
    left: L,
    right: R,
    options: &JoinOptions,
    mut emit: F,
) -> Result<(u64, u64), DiffError>
where
    L: Iterator<Item = Result<Record, EL>>,
    R: Iterator<Item = Result<Record, ER>>,
    EL: std::error::Error + Send + Sync + 'static,
    ER: std::error::Error + Send + Sync + 'static,
    F: FnMut(Joined) -> Result<(), DiffError>,
{
    let mut l = Input::new(Side::Left, left)?;
    let mut r = Input::new(Side::Right, right)?;
    let mut kind: Option<String> = None;
    let mut lost_left = Unmatched { spool: None };
    let mut lost_right = Unmatched { spool: None };
    loop {
        let next_kind = match (&l.head, &r.head) {
            (None, None) => None,
            (Some(a), None) => Some(&a.kind),
            (None, Some(b)) => Some(&b.kind),
            (Some(a), Some(b)) => Some(std::cmp::min(&a.kind, &b.kind)),
        };
        if next_kind != kind.as_ref() {
            join_by_key(&mut lost_left, &mut lost_right, &mut emit)?;
            match next_kind {
                None => break,
                Some(k) => kind = Some(k.clone()),
            }
        }
        let order = match (&l.head, &r.head) {
            (Some(a), Some(b)) => {
                (a.kind.as_str(), a.id.as_str()).cmp(&(b.kind.as_str(), b.id.as_str()))
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match order {
            Ordering::Equal => {
                let (left, right) = (l.advance()?, r.advance()?);
                emit(Joined::Both {
                    left,
                    right,
                    by: MatchedBy::Id,
                })?;
            }
            Ordering::Less => lost_left.push(options, l.advance()?)?,
            Ordering::Greater => lost_right.push(options, r.advance()?)?,
        }
    }
    Ok((l.count, r.count))
}

/// Pairs the records of one kind that found no partner by id, by their natural key.
fn join_by_key<F>(
    left: &mut Unmatched,
    right: &mut Unmatched,
    emit: &mut F,
) -> Result<(), DiffError>
where
    F: FnMut(Joined) -> Result<(), DiffError>,
{
    let (mut a, mut b) = (left.finish()?, right.finish()?);
    let (mut x, mut y) = (a.next()?, b.next()?);
    loop {
        let order = match (&x, &y) {
            (None, None) => return Ok(()),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(p), Some(q)) => p.key.cmp(&q.key),
        };
        match order {
            Ordering::Equal => {
                let (left, right) = (x.take().expect("some"), y.take().expect("some"));
                emit(Joined::Both {
                    left,
                    right,
                    by: MatchedBy::Key,
                })?;
                x = a.next()?;
                y = b.next()?;
            }
            Ordering::Less => {
                emit(Joined::Left(x.take().expect("some")))?;
                x = a.next()?;
            }
            Ordering::Greater => {
                emit(Joined::Right(y.take().expect("some")))?;
                y = b.next()?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(kind: &str, id: &str, key: &str) -> Record {
        Record::new(kind, id, key, json!({"v": 1}), vec![])
    }

    fn run(left: Vec<Record>, right: Vec<Record>, budget: usize) -> Vec<Joined> {
        let mut out = Vec::new();
        let options = JoinOptions {
            spool_dir: None,
            spool_budget: budget,
        };
        join(
            left.into_iter().map(Ok::<_, std::io::Error>),
            right.into_iter().map(Ok::<_, std::io::Error>),
            &options,
            |j| {
                out.push(j);
                Ok(())
            },
        )
        .unwrap();
        out
    }

    fn describe(j: &Joined) -> String {
        match j {
            Joined::Left(a) => format!("-{}:{}", a.kind, a.id),
            Joined::Right(b) => format!("+{}:{}", b.kind, b.id),
            Joined::Both { left, right, by } => {
                format!("={}:{}/{}:{by:?}", left.kind, left.id, right.id)
            }
        }
    }

    #[test]
    fn pairs_by_id_then_by_key_kind_by_kind() {
        for budget in [1, 1 << 20] {
            let left = vec![
                rec("a", "1", "k1"),
                rec("a", "2", "k2"),
                rec("a", "3", "k3"),
                rec("b", "1", "same"),
            ];
            let right = vec![
                rec("a", "1", "k1"),
                rec("a", "4", "k4"),
                rec("a", "9", "k2"),
                rec("b", "2", "same"),
                rec("c", "1", "new"),
            ];
            let got: Vec<String> = run(left, right, budget).iter().map(describe).collect();
            assert_eq!(
                got,
                [
                    "=a:1/1:Id",
                    "=a:2/9:Key",
                    "-a:3",
                    "+a:4",
                    "=b:1/2:Key",
                    "+c:1"
                ]
            );
        }
    }

    #[test]
    fn refuses_an_unsorted_stream() {
        let left = vec![rec("a", "2", "x"), rec("a", "1", "y")];
        let err = join(
            left.into_iter().map(Ok::<_, std::io::Error>),
            std::iter::empty::<Result<Record, std::io::Error>>(),
            &JoinOptions::default(),
            |_| Ok(()),
        )
        .unwrap_err();
        assert!(matches!(err, DiffError::Unsorted { .. }), "{err}");
    }

    #[test]
    fn duplicate_keys_pair_one_to_one() {
        let left = vec![rec("a", "1", "k"), rec("a", "2", "k")];
        let right = vec![rec("a", "3", "k")];
        let got: Vec<String> = run(left, right, 1 << 20).iter().map(describe).collect();
        assert_eq!(got.len(), 2);
        assert!(got.iter().any(|g| g.ends_with(":Key")));
        assert!(got.iter().any(|g| g.starts_with('-')));
    }
}
