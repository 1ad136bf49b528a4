//! The iamsnap command line's library half: the configuration file ([`config::Config`]),
//! the registry that turns a source's `provider = "…"` into a connector ([`registry`]), and
//! how errors reach the operator ([`error`]: one line, one exit status).
//!
//! The engine ([`iamsnap_engine`]) never names a connector; the binary (`src/main.rs`, one
//! module per command under `src/commands/`) parses arguments, builds connectors through the
//! registry, calls one engine function per command, renders the result and maps errors to
//! exit codes.

pub mod config;
pub mod error;
pub mod registry;

pub use config::{Config, ConfigError};
