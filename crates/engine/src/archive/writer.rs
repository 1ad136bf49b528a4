//! Writing an archive: sorted records → per-kind JSONL files → tar → zstd → age.
//!
//! A tar header needs the entry's size and the manifest (the first entry) needs every entry's
//! hash, so the records are first drained into one scratch file per kind (encrypted, in a
//! private folder: [`crate::scratch`]), hashed on the way. Then the manifest and the files are
//! streamed into the encrypted tar. Memory stays flat whatever the number of records.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::path::Path;
use std::thread;

use sha2::{Digest, Sha256};

use super::ArchiveError;
use super::manifest::{
    EntryDigest, FORMAT_VERSION, MANIFEST_PATH, Manifest, ManifestHeader, records_path, valid_kind,
};
use super::spool::SortedRecords;
use crate::scratch::{ScratchDir, SealedFile, SealedWriter};

/// zstd level 3 (zstd's default): the archive is written after the last request, so its time
/// adds to every backup's. On 1M records (BENCHMARKS.md) the local pipeline used a fifth less
/// CPU than at level 9, for an archive 6% larger.
const ZSTD_LEVEL: i32 = 3;

/// Bytes of tar stream per zstd frame. Far above level 3's window (2 MiB), so cutting the
/// stream into frames costs next to nothing in size.
const FRAME_BYTES: usize = 8 * 1024 * 1024;

/// Writes the archive of `records` to `out`, encrypted to `recipients`, using the system temp
/// dir for scratch files. Returns the manifest written.
pub fn write_archive(
    header: ManifestHeader,
    records: SortedRecords,
    recipients: &[Box<dyn age::Recipient + Send>],
    out: impl Write,
) -> Result<Manifest, ArchiveError> {
    write_archive_in(None, header, records, recipients, out)
}

/// [`write_archive`] with scratch files under `scratch` (the system temp dir when `None`).
pub fn write_archive_in(
    scratch: Option<&Path>,
    header: ManifestHeader,
    records: SortedRecords,
    recipients: &[Box<dyn age::Recipient + Send>],
    out: impl Write,
) -> Result<Manifest, ArchiveError> {
    let dir = ScratchDir::new(scratch, "archive")
        .map_err(|e| write_error("creating a scratch folder", e))?;
    write_archive_with(&dir, header, records, recipients, out)
}

/// [`write_archive`] with the per-kind files in `dir`.
pub(crate) fn write_archive_with(
    dir: &ScratchDir,
    header: ManifestHeader,
    mut records: SortedRecords,
    recipients: &[Box<dyn age::Recipient + Send>],
    out: impl Write,
) -> Result<Manifest, ArchiveError> {
    if recipients.is_empty() {
        return Err(ArchiveError::NoRecipients);
    }
    let kinds = drain_by_kind(dir, &mut records)?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        source: header.source,
        snapshot: Some(header.snapshot),
        provider: header.provider,
        started: header.started,
        finished: header.finished,
        counts: kinds.iter().map(|(k, f)| (k.clone(), f.count)).collect(),
        entries: kinds
            .iter()
            .map(|(k, f)| (records_path(k), f.digest.clone()))
            .collect(),
        requests: header.requests,
        kinds_read: header.kinds_read,
    };

    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| ArchiveError::Encrypt {
        reason: e.to_string(),
    })?;
    let encrypted = encryptor
        .wrap_output(out)
        .map_err(|e| write_error("writing the age header", e))?;
    let mut tar = tar::Builder::new(FrameWriter::new(encrypted, ZSTD_LEVEL));
    let mtime = manifest.finished.timestamp().max(0) as u64;

    let manifest_bytes = manifest.to_json();
    append(
        &mut tar,
        MANIFEST_PATH,
        manifest_bytes.len() as u64,
        mtime,
        &manifest_bytes[..],
    )?;
    for (kind, file) in &kinds {
        let reader = file
            .file
            .open()
            .map_err(|e| write_error("reopening a scratch file", e))?;
        append(
            &mut tar,
            &records_path(kind),
            file.digest.size,
            mtime,
            reader,
        )?;
    }
    let compressed = tar
        .into_inner()
        .map_err(|e| write_error("finishing the tar stream", e))?;
    let encrypted = compressed
        .finish()
        .map_err(|e| write_error("finishing the zstd stream", e))?;
    let mut out = encrypted
        .finish()
        .map_err(|e| write_error("finishing the age stream", e))?;
    out.flush()
        .map_err(|e| write_error("flushing the archive", e))?;
    Ok(manifest)
}

/// The tar stream compressed as a sequence of independent zstd frames, several at once: the
/// frames are compressed on their own threads and written in order. A zstd stream may hold
/// any number of frames (every decoder, `zstd -d` included, reads them as one), and
/// compressing is most of the work left after a backup's last request.
struct FrameWriter<W: Write> {
    out: W,
    level: i32,
    buffer: Vec<u8>,
    in_flight: VecDeque<thread::JoinHandle<io::Result<Vec<u8>>>>,
    workers: usize,
    frames: usize,
}

impl<W: Write> FrameWriter<W> {
    fn new(out: W, level: i32) -> Self {
        FrameWriter {
            out,
            level,
            buffer: Vec::with_capacity(FRAME_BYTES),
            in_flight: VecDeque::new(),
            workers: thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            frames: 0,
        }
    }

    /// Hands the buffer to a thread, after writing out the oldest frame if enough are in
    /// flight (memory stays at a few frames).
    fn start_frame(&mut self) -> io::Result<()> {
        if self.in_flight.len() >= self.workers {
            self.write_oldest()?;
        }
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(FRAME_BYTES));
        let level = self.level;
        self.in_flight
            .push_back(thread::spawn(move || compress_frame(&data, level)));
        self.frames += 1;
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(frame) = self.in_flight.pop_front() {
            let frame = frame
                .join()
                .map_err(|_| io::Error::other("a zstd thread panicked"))??;
            self.out.write_all(&frame)?;
        }
        Ok(())
    }

    /// Compresses what is left, writes every frame and returns the inner writer.
    fn finish(mut self) -> io::Result<W> {
        if !self.buffer.is_empty() || self.frames == 0 {
            self.start_frame()?;
        }
        while !self.in_flight.is_empty() {
            self.write_oldest()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(FRAME_BYTES - self.buffer.len());
        self.buffer.extend_from_slice(&data[..n]);
        if self.buffer.len() == FRAME_BYTES {
            self.start_frame()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One zstd frame, with its content checksum.
fn compress_frame(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let mut compressor = zstd::bulk::Compressor::new(level)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    compressor.compress(data)
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    mtime: u64,
    data: impl io::Read,
) -> Result<(), ArchiveError> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    tar.append_data(&mut header, path, data)
        .map_err(|e| write_error(&format!("adding {path}"), e))
}

/// One kind's scratch file.
struct KindFile {
    file: SealedFile,
    count: u64,
    digest: EntryDigest,
}

/// Writes each kind's lines to its own scratch file, hashing as it goes.
fn drain_by_kind(
    dir: &ScratchDir,
    records: &mut SortedRecords,
) -> Result<BTreeMap<String, KindFile>, ArchiveError> {
    let mut done: BTreeMap<String, KindFile> = BTreeMap::new();
    let mut current: Option<(String, HashingFile)> = None;
    let mut last: Option<(String, String)> = None;
    while let Some(line) = records
        .next_line()
        .map_err(|e| write_error("reading the record spool", e))?
    {
        if let Some((kind, id)) = &last
            && *kind == line.kind
            && *id == line.id
        {
            // The same object twice (pages overlapping while the provider changed) is
            // written once; two different states under one id are a connector bug.
            if current
                .as_ref()
                .is_some_and(|(_, f)| f.last_line == line.json)
            {
                continue;
            }
            return Err(ArchiveError::DuplicateRecord {
                kind: line.kind,
                id: line.id,
            });
        }
        if current.as_ref().is_none_or(|(kind, _)| *kind != line.kind) {
            if !valid_kind(&line.kind) {
                return Err(ArchiveError::InvalidKind { kind: line.kind });
            }
            if let Some((kind, file)) = current.take() {
                done.insert(kind, file.finish()?);
            }
            let name = format!("kind-{:05}.jsonl", done.len());
            current = Some((line.kind.clone(), HashingFile::create(dir, &name)?));
        }
        let (_, file) = current
            .as_mut()
            .expect("a file is open for the current kind");
        file.write_line(&line.json)?;
        last = Some((line.kind, line.id));
    }
    if let Some((kind, file)) = current.take() {
        done.insert(kind, file.finish()?);
    }
    Ok(done)
}

/// A scratch file that counts lines and hashes what is written to it.
struct HashingFile {
    out: SealedWriter,
    hasher: Sha256,
    size: u64,
    count: u64,
    last_line: String,
}

impl HashingFile {
    fn create(dir: &ScratchDir, name: &str) -> Result<Self, ArchiveError> {
        let out = dir
            .create(name)
            .map_err(|e| write_error("creating a scratch file", e))?;
        Ok(HashingFile {
            out,
            hasher: Sha256::new(),
            size: 0,
            count: 0,
            last_line: String::new(),
        })
    }

    fn write_line(&mut self, json: &str) -> Result<(), ArchiveError> {
        for part in [json.as_bytes(), b"\n"] {
            self.out
                .write_all(part)
                .map_err(|e| write_error("writing a scratch file", e))?;
            self.hasher.update(part);
            self.size += part.len() as u64;
        }
        self.count += 1;
        json.clone_into(&mut self.last_line);
        Ok(())
    }

    fn finish(self) -> Result<KindFile, ArchiveError> {
        let file = self
            .out
            .finish()
            .map_err(|e| write_error("writing a scratch file", e))?;
        Ok(KindFile {
            file,
            count: self.count,
            digest: EntryDigest {
                sha256: hex::encode(self.hasher.finalize()),
                size: self.size,
            },
        })
    }
}

fn write_error(context: &str, source: io::Error) -> ArchiveError {
    ArchiveError::Write {
        context: context.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Spool;
    use iamsnap_provider::Record;
    use serde_json::json;

    /// Checks the scratch folder when the archive starts to be written out: every kind's
    /// file is complete by then.
    struct Inspecting<'a> {
        parent: &'a Path,
        files: Option<usize>,
    }

    impl Write for Inspecting<'_> {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            if self.files.is_none() {
                self.files = Some(crate::scratch::assert_private_and_sealed(
                    self.parent,
                    &["grace@example.com", "\"kind\""],
                ));
            }
            Ok(data.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_files_of_each_kind_are_private_and_encrypted() {
        let parent = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(Some(parent.path()), usize::MAX).unwrap();
        for kind in ["t.user", "t.group"] {
            spool
                .push(&Record::new(
                    kind,
                    "1",
                    "grace@example.com",
                    json!({}),
                    vec![],
                ))
                .unwrap();
        }
        let records = spool.finish().unwrap();
        let recipient = age::x25519::Identity::generate().to_public();
        let recipients: Vec<Box<dyn age::Recipient + Send>> = vec![Box::new(recipient)];
        let header = ManifestHeader {
            source: "t".into(),
            provider: "t".into(),
            snapshot: "t/20260101T000000.000Z-0000".into(),
            started: chrono::Utc::now(),
            finished: chrono::Utc::now(),
            requests: Default::default(),
            kinds_read: None,
        };
        let mut out = Inspecting {
            parent: parent.path(),
            files: None,
        };
        write_archive_in(Some(parent.path()), header, records, &recipients, &mut out).unwrap();
        // Two kinds' files and the lock of each of the two folders (spool, archive).
        assert_eq!(out.files, Some(4));
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
