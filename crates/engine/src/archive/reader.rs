//! Reading an archive back: age → zstd → tar → manifest + records, checking everything.
//!
//! Every entry's SHA-256 and size, every kind's record count, the order of entries and of
//! records, and the end of the encrypted stream are checked against the manifest while the
//! records stream by; any mismatch is an integrity error. Nothing is held in memory beyond the
//! manifest and one record.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use iamsnap_provider::Record;
use sha2::{Digest, Sha256};

use super::ArchiveError;
use super::manifest::{MANIFEST_LIMIT, MANIFEST_PATH, Manifest, kind_of_path};

/// One record line longer than this is not a record.
const LINE_LIMIT: u64 = 64 * 1024 * 1024;

/// A tar block; a tar ends with two zero blocks.
const BLOCK: usize = 512;

type Plaintext<R> = zstd::Decoder<'static, BufReader<age::stream::StreamReader<BufReader<R>>>>;

/// An opened archive: its manifest, and its records on demand.
pub struct ArchiveReader<R: Read> {
    manifest: Manifest,
    archive: tar::Archive<Shared<Plaintext<R>>>,
    tail: Shared<Plaintext<R>>,
    records_taken: bool,
}

/// Opens the archive and returns its manifest only.
pub fn read_manifest_only(
    encrypted: impl Read,
    identities: &[Box<dyn age::Identity>],
) -> Result<Manifest, ArchiveError> {
    Ok(ArchiveReader::open(encrypted, identities)?.manifest)
}

impl<R: Read> ArchiveReader<R> {
    /// Decrypts the archive with the first of `identities` that matches one of its recipients
    /// and reads its manifest.
    pub fn open(
        encrypted: R,
        identities: &[Box<dyn age::Identity>],
    ) -> Result<ArchiveReader<R>, ArchiveError> {
        if identities.is_empty() {
            return Err(ArchiveError::NoIdentity);
        }
        let decryptor = age::Decryptor::new_buffered(BufReader::new(encrypted)).map_err(|e| {
            ArchiveError::NotAnArchive {
                reason: e.to_string(),
            }
        })?;
        let plaintext = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref()))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => ArchiveError::WrongKey,
                other => ArchiveError::Corrupt {
                    reason: format!("cannot decrypt: {other}"),
                },
            })?;
        let decoded = zstd::Decoder::new(plaintext).map_err(corrupt)?;
        let mut shared = Shared(Arc::new(Mutex::new(decoded)));
        let manifest = read_manifest(&mut shared)?;
        Ok(ArchiveReader {
            manifest,
            archive: tar::Archive::new(shared.clone()),
            tail: shared,
            records_taken: false,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// All records in (kind, id) order. The archive is a stream: this can be called once.
    pub fn records(&mut self) -> Result<Records<'_, R>, ArchiveError> {
        if std::mem::replace(&mut self.records_taken, true) {
            return Err(ArchiveError::RecordsAlreadyRead);
        }
        let entries = self.archive.entries().map_err(corrupt)?;
        Ok(Records {
            manifest: &self.manifest,
            entries,
            tail: &self.tail,
            current: None,
            last_kind: None,
            seen: BTreeSet::new(),
            done: false,
        })
    }

    /// Reads every record, checking the whole archive; returns the manifest.
    pub fn verify(mut self) -> Result<Manifest, ArchiveError> {
        for record in self.records()? {
            record?;
        }
        Ok(self.manifest)
    }
}

/// Reads the first tar entry, which must be the manifest, and the padding after it, leaving
/// `plaintext` at the second entry's header.
fn read_manifest<T: Read>(plaintext: &mut T) -> Result<Manifest, ArchiveError> {
    let (bytes, size) = {
        let mut archive = tar::Archive::new(&mut *plaintext);
        let mut entries = archive.entries().map_err(corrupt)?;
        let mut entry = entries
            .next()
            .ok_or_else(|| ArchiveError::Corrupt {
                reason: "the archive holds no entries".into(),
            })?
            .map_err(corrupt)?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if path != MANIFEST_PATH || entry.header().entry_type() != tar::EntryType::Regular {
            return Err(ArchiveError::Corrupt {
                reason: format!("the first entry is {path:?}, not {MANIFEST_PATH}"),
            });
        }
        let size = entry.size();
        if size > MANIFEST_LIMIT {
            return Err(ArchiveError::Corrupt {
                reason: format!("{MANIFEST_PATH} is {size} bytes long"),
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut bytes).map_err(corrupt)?;
        if bytes.len() as u64 != size {
            return Err(ArchiveError::Corrupt {
                reason: format!("{MANIFEST_PATH} is truncated"),
            });
        }
        (bytes, size)
    };
    let padding = (512 - size % 512) % 512;
    let skipped = io::copy(&mut plaintext.take(padding), &mut io::sink()).map_err(corrupt)?;
    if skipped != padding {
        return Err(ArchiveError::Corrupt {
            reason: "the archive ends after the manifest".into(),
        });
    }
    Manifest::from_json(&bytes)
}

/// The records of an archive, checked as they stream by.
pub struct Records<'a, R: Read> {
    manifest: &'a Manifest,
    entries: tar::Entries<'a, Shared<Plaintext<R>>>,
    tail: &'a Shared<Plaintext<R>>,
    current: Option<KindEntry<'a, R>>,
    last_kind: Option<String>,
    seen: BTreeSet<String>,
    done: bool,
}

/// The `records/<kind>.jsonl` entry being read.
struct KindEntry<'a, R: Read> {
    kind: String,
    path: String,
    reader: BufReader<Hashing<tar::Entry<'a, Shared<Plaintext<R>>>>>,
    count: u64,
    last_id: Option<String>,
    line: String,
}

impl<R: Read> Iterator for Records<'_, R> {
    type Item = Result<Record, ArchiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(record)) => Some(Ok(record)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<'a, R: Read> Records<'a, R> {
    fn advance(&mut self) -> Result<Option<Record>, ArchiveError> {
        loop {
            if let Some(entry) = &mut self.current {
                if let Some(record) = entry.next_record()? {
                    return Ok(Some(record));
                }
                let entry = self.current.take().expect("an entry is being read");
                entry.check(self.manifest)?;
                continue;
            }
            match self.entries.next() {
                Some(entry) => self.start(entry.map_err(corrupt)?)?,
                None => {
                    self.finish()?;
                    return Ok(None);
                }
            }
        }
    }

    fn start(&mut self, entry: tar::Entry<'a, Shared<Plaintext<R>>>) -> Result<(), ArchiveError> {
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = kind_of_path(&path)
            .filter(|_| self.manifest.entries.contains_key(&path))
            .filter(|_| entry.header().entry_type() == tar::EntryType::Regular)
            .ok_or_else(|| ArchiveError::UnexpectedEntry { path: path.clone() })?
            .to_string();
        if self.last_kind.as_ref().is_some_and(|last| *last >= kind) {
            return Err(ArchiveError::OutOfOrder {
                path,
                reason: "entries are not in strictly increasing kind order".into(),
            });
        }
        self.last_kind = Some(kind.clone());
        self.seen.insert(path.clone());
        self.current = Some(KindEntry {
            kind,
            path,
            reader: BufReader::new(Hashing::new(entry)),
            count: 0,
            last_id: None,
            line: String::new(),
        });
        Ok(())
    }

    /// After the last entry: every listed entry was present, the tar ends with its second
    /// zero block and nothing after it, and the encrypted stream ends where it should (age
    /// authenticates its last chunk only when it is read). The tar reader stops at the first
    /// zero block; whatever follows is read here, a block and a byte at most, so that data
    /// appended after the tar's end is refused at once rather than decompressed to its end.
    fn finish(&mut self) -> Result<(), ArchiveError> {
        if let Some(missing) = self
            .manifest
            .entries
            .keys()
            .find(|p| !self.seen.contains(*p))
        {
            return Err(ArchiveError::MissingEntry {
                path: missing.clone(),
            });
        }
        let mut tail = Vec::with_capacity(BLOCK + 1);
        (&mut self.tail.clone())
            .take(BLOCK as u64 + 1)
            .read_to_end(&mut tail)
            .map_err(corrupt)?;
        if tail.len() != BLOCK || tail.iter().any(|b| *b != 0) {
            return Err(ArchiveError::Corrupt {
                reason: if tail.len() < BLOCK {
                    "the tar ends without its end-of-archive blocks".into()
                } else {
                    "data follows the end of the tar".into()
                },
            });
        }
        Ok(())
    }
}

impl<R: Read> KindEntry<'_, R> {
    fn next_record(&mut self) -> Result<Option<Record>, ArchiveError> {
        self.line.clear();
        let read = (&mut self.reader)
            .take(LINE_LIMIT)
            .read_line(&mut self.line)
            .map_err(corrupt)?;
        if read == 0 {
            return Ok(None);
        }
        let Some(json) = self.line.strip_suffix('\n') else {
            return Err(ArchiveError::Corrupt {
                reason: format!(
                    "{}: record {} is not a complete line",
                    self.path,
                    self.count + 1
                ),
            });
        };
        let record: Record = serde_json::from_str(json).map_err(|e| ArchiveError::Corrupt {
            reason: format!(
                "{}: record {} is not a record: {e}",
                self.path,
                self.count + 1
            ),
        })?;
        if record.kind != self.kind {
            return Err(ArchiveError::Corrupt {
                reason: format!(
                    "{}: record {} has kind {}",
                    self.path, record.id, record.kind
                ),
            });
        }
        if self.last_id.as_ref().is_some_and(|last| *last >= record.id) {
            return Err(ArchiveError::OutOfOrder {
                path: self.path.clone(),
                reason: format!(
                    "record {} is not in strictly increasing id order",
                    record.id
                ),
            });
        }
        self.last_id = Some(record.id.clone());
        self.count += 1;
        Ok(Some(record))
    }

    /// The entry read to its end matches the manifest's hash, size and count.
    fn check(self, manifest: &Manifest) -> Result<(), ArchiveError> {
        let expected = &manifest.entries[&self.path];
        let hashing = self.reader.into_inner();
        if hashing.size != expected.size {
            return Err(ArchiveError::SizeMismatch {
                path: self.path,
                expected: expected.size,
                actual: hashing.size,
            });
        }
        let actual = hex::encode(hashing.hasher.finalize());
        if actual != expected.sha256 {
            return Err(ArchiveError::HashMismatch {
                path: self.path,
                expected: expected.sha256.clone(),
                actual,
            });
        }
        let counted = manifest.counts.get(&self.kind).copied().unwrap_or(0);
        if counted != self.count {
            return Err(ArchiveError::CountMismatch {
                kind: self.kind,
                expected: counted,
                actual: self.count,
            });
        }
        Ok(())
    }
}

/// Hashes and counts the bytes read through it.
struct Hashing<T> {
    inner: T,
    hasher: Sha256,
    size: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }
}

impl<T: Read> Read for Hashing<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// The plaintext stream, shared by the tar reader and the final check that it ends cleanly.
/// Reads never overlap: the two sides read one after the other. A mutex rather than a
/// `RefCell` keeps [`ArchiveReader`] `Send`, so it can move to a blocking thread.
struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T: Read> Read for Shared<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("an earlier read of the archive panicked"))?
            .read(buf)
    }
}

fn corrupt(e: io::Error) -> ArchiveError {
    ArchiveError::Corrupt {
        reason: e.to_string(),
    }
}
