//! Lists that a plan holds on disk rather than in memory.
//!
//! A plan that re-creates a whole organisation has as many operations as the snapshot has
//! records, each with its desired record. Held as values, that is several kilobytes per
//! operation. A [`Spilled`] list is a temporary file of JSON lines (encrypted, in a private
//! folder: [`crate::scratch`]), written once through a [`SpillWriter`] and read back as often
//! as needed, so that planning, printing and journalling a plan take memory that does not
//! grow with it.

use std::fmt;
use std::io::{self, BufRead, Write};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scratch::{ScratchDir, SealedFile, SealedReader, SealedWriter};

/// Frames a reader by position keeps decrypted: an apply reads operations a little out of
/// order (each kind at its own pace).
const KEPT_FRAMES: usize = 8;

/// An immutable list of `T` kept in a temporary file, one JSON value per line. Clones share
/// the file, which is removed when the last clone is dropped.
pub struct Spilled<T> {
    file: Option<Arc<SealedFile>>,
    len: usize,
    _items: PhantomData<fn() -> T>,
}

/// Writes a [`Spilled`] list, item by item.
pub struct SpillWriter<T> {
    out: SealedWriter,
    len: usize,
    line: Vec<u8>,
    _items: PhantomData<fn(T)>,
}

impl<T: Serialize> SpillWriter<T> {
    /// A writer whose file goes under `dir` (the system temp dir when `None`).
    pub fn new(dir: Option<&Path>) -> io::Result<Self> {
        let out = ScratchDir::new(dir, "plan")?.create("list.jsonl")?;
        Ok(SpillWriter {
            out,
            len: 0,
            line: Vec::new(),
            _items: PhantomData,
        })
    }

    pub fn push(&mut self, item: &T) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        serde_json::to_writer(&mut line, item).map_err(io::Error::other)?;
        let pushed = self.push_json(&line);
        self.line = line;
        pushed
    }

    /// Appends an item already written as one line of JSON (no newline inside).
    pub fn push_json(&mut self, json: &[u8]) -> io::Result<()> {
        self.out.write_all(json)?;
        self.out.write_all(b"\n")?;
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the next item will start in the file, for [`Spilled::iter_from`].
    pub fn offset(&self) -> u64 {
        self.out.len()
    }

    pub fn finish(self) -> io::Result<Spilled<T>> {
        let file = self.out.finish()?;
        Ok(Spilled {
            file: (self.len > 0).then(|| Arc::new(file)),
            len: self.len,
            _items: PhantomData,
        })
    }
}

impl<T> Spilled<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T: Serialize + DeserializeOwned> Spilled<T> {
    /// A list of `items`, written to a temporary file.
    pub fn collect(items: impl IntoIterator<Item = T>) -> io::Result<Self> {
        let mut writer = SpillWriter::new(None)?;
        for item in items {
            writer.push(&item)?;
        }
        writer.finish()
    }

    /// The items in order, read back from the file.
    pub fn iter(&self) -> io::Result<Items<T>> {
        let lines = match &self.file {
            Some(file) => Some(file.open()?),
            None => None,
        };
        Ok(Items {
            lines,
            line: String::new(),
            offset: 0,
            _items: PhantomData,
        })
    }

    /// The items from `offset` (where one starts, see [`SpillWriter::offset`]) to the end.
    pub fn iter_from(&self, offset: u64) -> io::Result<Items<T>> {
        let lines = match &self.file {
            Some(file) => {
                let mut reader = file.open()?;
                reader.seek_to(offset)?;
                Some(reader)
            }
            None => None,
        };
        Ok(Items {
            lines,
            line: String::new(),
            offset,
            _items: PhantomData,
        })
    }

    /// Every item, in memory.
    pub fn to_vec(&self) -> io::Result<Vec<T>> {
        self.iter()?.collect()
    }

    /// Reads items by position: [`Positions::get`] with an offset from [`Items::offset`].
    pub fn positions(&self) -> io::Result<Positions<T>> {
        let file = match &self.file {
            Some(file) => Some(Mutex::new(file.open_keeping(KEPT_FRAMES)?)),
            None => None,
        };
        Ok(Positions {
            file,
            _items: PhantomData,
        })
    }
}

/// Items of a [`Spilled`] list read one at a time, by where they start in the file.
pub struct Positions<T> {
    file: Option<Mutex<SealedReader>>,
    _items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Positions<T> {
    pub fn get(&self, offset: u64) -> io::Result<T> {
        let Some(file) = &self.file else {
            return Err(io::Error::other("the list is empty"));
        };
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        file.seek_to(offset)?;
        let mut line = String::new();
        file.read_line(&mut line)?;
        serde_json::from_str(line.trim_end()).map_err(io::Error::other)
    }
}

/// The items of a [`Spilled`] list.
pub struct Items<T> {
    lines: Option<SealedReader>,
    line: String,
    offset: u64,
    _items: PhantomData<fn() -> T>,
}

impl<T> Items<T> {
    /// Where the next item starts in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl<T: DeserializeOwned> Iterator for Items<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        let lines = self.lines.as_mut()?;
        self.line.clear();
        match lines.read_line(&mut self.line) {
            Ok(0) => None,
            Ok(n) => Some({
                self.offset += n as u64;
                serde_json::from_str(self.line.trim_end()).map_err(io::Error::other)
            }),
            Err(e) => Some(Err(e)),
        }
    }
}

impl<T> Default for Spilled<T> {
    fn default() -> Self {
        Spilled {
            file: None,
            len: 0,
            _items: PhantomData,
        }
    }
}

impl<T> Clone for Spilled<T> {
    fn clone(&self) -> Self {
        Spilled {
            file: self.file.clone(),
            len: self.len,
            _items: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Spilled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spilled")
            .field("len", &self.len)
            .field("file", &self.file.as_ref().map(|f| f.path().to_path_buf()))
            .finish()
    }
}

/// Equal when the items are; a list that cannot be read back equals nothing.
impl<T: Serialize + DeserializeOwned + PartialEq> PartialEq for Spilled<T> {
    fn eq(&self, other: &Self) -> bool {
        if self.len != other.len {
            return false;
        }
        let (Ok(mine), Ok(theirs)) = (self.iter(), other.iter()) else {
            return false;
        };
        mine.zip(theirs)
            .all(|(a, b)| matches!((a, b), (Ok(a), Ok(b)) if a == b))
    }
}

impl<T: Serialize + DeserializeOwned + Eq> Eq for Spilled<T> {}

/// Written as a JSON array, item by item from the file.
impl<T: Serialize + DeserializeOwned> Serialize for Spilled<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for item in self.iter().map_err(S::Error::custom)? {
            seq.serialize_element(&item.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

/// Read from a JSON array, item by item into a new file.
impl<'de, T: Serialize + DeserializeOwned> Deserialize<'de> for Spilled<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(PhantomData<fn() -> T>);
        impl<'de, T: Serialize + DeserializeOwned> serde::de::Visitor<'de> for Visit<T> {
            type Value = Spilled<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut writer = SpillWriter::new(None).map_err(A::Error::custom)?;
                while let Some(item) = seq.next_element::<T>()? {
                    writer.push(&item).map_err(A::Error::custom)?;
                }
                writer.finish().map_err(A::Error::custom)
            }
        }
        deserializer.deserialize_seq(Visit(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_in_order_through_the_file_and_through_serde() {
        let list = Spilled::collect((0..1000).map(|i| (format!("k{i}"), i))).unwrap();
        assert_eq!(list.len(), 1000);
        let back = list.to_vec().unwrap();
        assert_eq!(back[0], ("k0".to_string(), 0));
        assert_eq!(back[999], ("k999".to_string(), 999));
        let json = serde_json::to_string(&list).unwrap();
        assert!(json.starts_with(r#"[["k0",0],["k1",1]"#), "{json:.40}");
        let again: Spilled<(String, i32)> = serde_json::from_str(&json).unwrap();
        assert_eq!(again, list);
        assert_ne!(again, Spilled::collect([("k0".to_string(), 0)]).unwrap());
        let empty: Spilled<(String, i32)> = serde_json::from_str("[]").unwrap();
        assert!(empty.is_empty() && empty.to_vec().unwrap().is_empty());
        assert_eq!(serde_json::to_string(&empty).unwrap(), "[]");
    }

    #[test]
    fn items_are_read_back_by_position() {
        let list = Spilled::collect((0..50).map(|i| "x".repeat(i))).unwrap();
        let mut items = list.iter().unwrap();
        let mut offsets = Vec::new();
        loop {
            let at = items.offset();
            if items.next().is_none() {
                break;
            }
            offsets.push(at);
        }
        let positions = list.positions().unwrap();
        for i in [49, 0, 17, 17, 3] {
            assert_eq!(positions.get(offsets[i]).unwrap(), "x".repeat(i));
        }
        let tail: Vec<String> = list
            .iter_from(offsets[47])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(tail, ["x".repeat(47), "x".repeat(48), "x".repeat(49)]);
    }

    #[test]
    fn the_file_is_private_and_encrypted() {
        let parent = tempfile::tempdir().unwrap();
        let mut writer = SpillWriter::new(Some(parent.path())).unwrap();
        for i in 0..2_000 {
            writer.push(&format!("ada{i}@example.com")).unwrap();
        }
        let list = writer.finish().unwrap();
        let files = crate::scratch::assert_private_and_sealed(parent.path(), &["ada", "example"]);
        assert_eq!(files, 2, "the list and its folder's lock");
        assert_eq!(list.to_vec().unwrap()[1_999], "ada1999@example.com");
        drop(list);
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_file_goes_when_the_last_clone_does() {
        let list = Spilled::collect(["a".to_string()]).unwrap();
        let path = list.file.as_ref().unwrap().path().to_path_buf();
        let copy = list.clone();
        drop(list);
        assert!(path.exists());
        assert_eq!(copy.to_vec().unwrap(), ["a"]);
        drop(copy);
        assert!(!path.exists());
    }
}
