//! Encrypted temporary files, written once and read as often as needed, in order or from any
//! offset.
//!
//! A file is a sequence of frames: each the AES-256-GCM encryption of [`FRAME`] plaintext
//! bytes (the last one of 0 to [`FRAME`] bytes) followed by its 16-byte tag. The nonce is the
//! file's number in its folder and the frame's index; the additional data says whether the
//! frame is the last. So a frame cannot be changed, moved within or between files, or
//! dropped from the end without the read failing, and since every frame but the last has the
//! same size, a reader finds the frame holding any plaintext offset without reading the ones
//! before it. Memory is a frame (or a few, for reads by offset) per open file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ring::aead::{Aad, NONCE_LEN, Nonce};

use super::ScratchDir;

/// Plaintext bytes per frame.
pub const FRAME: usize = 16 * 1024;
const TAG: usize = 16;
const STORED_FRAME: u64 = (FRAME + TAG) as u64;

fn nonce(file: u32, frame: u64) -> Nonce {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[..4].copy_from_slice(&file.to_le_bytes());
    bytes[4..].copy_from_slice(&frame.to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

fn aad(last: bool) -> Aad<[u8; 1]> {
    Aad::from([u8::from(last)])
}

fn tampered(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the temporary file {} was changed while in use",
            path.display()
        ),
    )
}

/// Writes one encrypted file; [`SealedWriter::finish`] seals its last frame. A file that is
/// never finished cannot be read back.
pub struct SealedWriter {
    dir: ScratchDir,
    file: File,
    path: PathBuf,
    id: u32,
    /// The frame being filled, then sealed in place (with room for its tag).
    frame: Vec<u8>,
    index: u64,
    len: u64,
}

impl SealedWriter {
    pub(super) fn new(dir: ScratchDir, file: File, path: PathBuf, id: u32) -> SealedWriter {
        SealedWriter {
            dir,
            file,
            path,
            id,
            frame: Vec::with_capacity(FRAME + TAG),
            index: 0,
            len: 0,
        }
    }

    /// Plaintext bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn seal_frame(&mut self, last: bool) -> io::Result<()> {
        let tag = self
            .dir
            .key()
            .seal_in_place_separate_tag(nonce(self.id, self.index), aad(last), &mut self.frame)
            .map_err(|_| io::Error::other("cannot encrypt a temporary file"))?;
        self.frame.extend_from_slice(tag.as_ref());
        self.file.write_all(&self.frame)?;
        self.frame.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the last frame and returns the file, ready to read.
    pub fn finish(mut self) -> io::Result<SealedFile> {
        self.seal_frame(true)?;
        Ok(SealedFile {
            dir: self.dir,
            path: self.path,
            id: self.id,
            len: self.len,
        })
    }
}

impl Write for SealedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.frame.len() == FRAME && !data.is_empty() {
            // A full frame is sealed only once more follows: the last frame is sealed as such.
            self.seal_frame(false)?;
        }
        let n = data.len().min(FRAME - self.frame.len());
        self.frame.extend_from_slice(&data[..n]);
        self.len += n as u64;
        Ok(n)
    }

    /// Frames reach the file as they fill; the last one when the file is finished.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A finished encrypted file; it stays while any handle to its folder does.
pub struct SealedFile {
    dir: ScratchDir,
    path: PathBuf,
    id: u32,
    len: u64,
}

impl std::fmt::Debug for SealedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedFile")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

impl SealedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Plaintext bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader from the start, holding one frame.
    pub fn open(&self) -> io::Result<SealedReader> {
        self.open_keeping(1)
    }

    /// A reader that keeps the last `frames` frames it decrypted, for reads by offset
    /// ([`SealedReader::seek_to`]) that come back to the same places.
    pub fn open_keeping(&self, frames: usize) -> io::Result<SealedReader> {
        let file = File::open(&self.path)?;
        let stored = file.metadata()?.len();
        let count = stored.div_ceil(STORED_FRAME).max(1);
        let last = stored - (count - 1) * STORED_FRAME;
        if last < TAG as u64 || stored - count * TAG as u64 != self.len {
            return Err(tampered(&self.path));
        }
        Ok(SealedReader {
            dir: self.dir.clone(),
            file,
            path: self.path.clone(),
            id: self.id,
            count,
            last,
            keep: frames.max(1),
            frames: VecDeque::new(),
            at: 0,
            file_at: 0,
            spare: Vec::new(),
        })
    }
}

/// Reads a [`SealedFile`] in order ([`Read`], [`BufRead`]) or from any plaintext offset
/// ([`SealedReader::seek_to`]), checking every frame.
pub struct SealedReader {
    dir: ScratchDir,
    file: File,
    path: PathBuf,
    id: u32,
    /// Frames in the file, and the stored size of the last one.
    count: u64,
    last: u64,
    /// Decrypted frames, the current one first, at most `keep`.
    keep: usize,
    frames: VecDeque<(u64, Vec<u8>)>,
    /// Read position within the current frame.
    at: usize,
    /// Where the file's cursor is.
    file_at: u64,
    spare: Vec<u8>,
}

impl SealedReader {
    /// Moves to plaintext `offset`.
    pub fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        let index = offset / FRAME as u64;
        if index >= self.count {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "offset past the end of a temporary file",
            ));
        }
        self.load(index)?;
        self.at = (offset % FRAME as u64) as usize;
        Ok(())
    }

    /// Makes frame `index` the current one, decrypting it unless it is kept.
    fn load(&mut self, index: u64) -> io::Result<()> {
        if let Some(i) = self.frames.iter().position(|(at, _)| *at == index) {
            let frame = self.frames.remove(i).expect("the position is in range");
            self.frames.push_front(frame);
            return Ok(());
        }
        let last = index + 1 == self.count;
        let size = if last { self.last } else { STORED_FRAME };
        let start = index * STORED_FRAME;
        if self.file_at != start {
            self.file.seek(SeekFrom::Start(start))?;
        }
        let mut buffer = if self.frames.len() >= self.keep {
            self.frames.pop_back().map(|(_, b)| b).unwrap_or_default()
        } else {
            std::mem::take(&mut self.spare)
        };
        buffer.resize(size as usize, 0);
        self.file.read_exact(&mut buffer).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                tampered(&self.path)
            } else {
                e
            }
        })?;
        self.file_at = start + size;
        let plain = self
            .dir
            .key()
            .open_in_place(nonce(self.id, index), aad(last), &mut buffer)
            .map_err(|_| tampered(&self.path))?
            .len();
        buffer.truncate(plain);
        self.frames.push_front((index, buffer));
        Ok(())
    }
}

impl BufRead for SealedReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let current = self
            .frames
            .front()
            .map(|(index, frame)| (*index, frame.len()));
        let exhausted = current.is_none_or(|(_, len)| self.at >= len);
        if exhausted {
            let next = current.map_or(0, |(index, _)| index + 1);
            if next >= self.count {
                return Ok(&[]);
            }
            self.load(next)?;
            self.at = 0;
        }
        let (_, frame) = self.frames.front().expect("a frame is loaded");
        Ok(&frame[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at += amount;
    }
}

impl Read for SealedReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(dir: &ScratchDir, name: &str, data: &[u8]) -> SealedFile {
        let mut out = dir.create(name).unwrap();
        // Odd-sized writes, across frame boundaries.
        for chunk in data.chunks(7_001) {
            out.write_all(chunk).unwrap();
        }
        out.finish().unwrap()
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn files_of_any_length_read_back_in_order_and_by_offset() {
        let parent = tempfile::tempdir().unwrap();
        let dir = ScratchDir::new(Some(parent.path()), "test").unwrap();
        for len in [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 3 * FRAME + 17] {
            let bytes = data(len);
            let file = written(&dir, &format!("f{len}"), &bytes);
            assert_eq!(file.len(), len as u64);
            let stored = std::fs::metadata(file.path()).unwrap().len();
            let frames = len.div_ceil(FRAME).max(1);
            assert_eq!(stored, (len + TAG * frames) as u64);
            let mut back = Vec::new();
            file.open().unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, bytes, "length {len}");

            let mut reader = file.open_keeping(2).unwrap();
            for offset in [len / 2, 0, len.saturating_sub(1), FRAME.min(len), len / 3] {
                if offset >= len {
                    continue;
                }
                reader.seek_to(offset as u64).unwrap();
                let mut rest = Vec::new();
                reader.read_to_end(&mut rest).unwrap();
                assert_eq!(rest, bytes[offset..], "length {len}, offset {offset}");
            }
        }
    }

    #[test]
    fn a_changed_truncated_or_swapped_file_is_refused() {
        let parent = tempfile::tempdir().unwrap();
        let dir = ScratchDir::new(Some(parent.path()), "test").unwrap();
        let bytes = data(2 * FRAME + 100);
        let read = |file: &SealedFile| -> io::Result<Vec<u8>> {
            let mut back = Vec::new();
            file.open()?.read_to_end(&mut back)?;
            Ok(back)
        };

        let file = written(&dir, "flip", &bytes);
        let mut raw = std::fs::read(file.path()).unwrap();
        raw[FRAME + 20] ^= 1;
        std::fs::write(file.path(), &raw).unwrap();
        assert_eq!(read(&file).unwrap_err().kind(), io::ErrorKind::InvalidData);

        // Cut after two whole frames: the second is not sealed as the last.
        let file = written(&dir, "cut", &bytes);
        let raw = std::fs::read(file.path()).unwrap();
        std::fs::write(file.path(), &raw[..2 * STORED_FRAME as usize]).unwrap();
        assert!(read(&file).is_err());

        // Frames of another file, under the same key, are refused.
        let a = written(&dir, "a", &bytes);
        let b = written(
            &dir,
            "b",
            &data(2 * FRAME + 100)
                .iter()
                .map(|b| b ^ 0x55)
                .collect::<Vec<_>>(),
        );
        std::fs::copy(b.path(), a.path()).unwrap();
        assert!(read(&a).is_err());
        assert!(read(&b).is_ok());
    }
}
