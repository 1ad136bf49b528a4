//! Okta connector.

pub mod config;

pub use config::OktaConfig;
