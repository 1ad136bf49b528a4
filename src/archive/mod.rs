//! Snapshot archives: records → canonical JSON lines → tar → zstd → age, and back.

pub mod spool;
