//! The configuration file: one repository, any number of sources.
//!
//! TOML, every table `deny_unknown_fields`, so a typo is an error naming the file, line and
//! field rather than a silently ignored setting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iamsnap_engine::config::RepositoryConfig;
use iamsnap_engine::error::{Classify, ExitStatus};
use serde::Deserialize;

use crate::registry::SourceConfig;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[repository]`: where snapshots go and which keys protect them.
    pub repository: RepositoryConfig,
    /// `[sources.NAME]`: the identity systems to back up, by name.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// Where the file was read from; relative paths in it are taken from its folder.
    #[serde(skip)]
    pub path: PathBuf,
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no configuration file given: pass --config FILE or set IAMSNAP_CONFIG (see config/ for examples)"
    )]
    Missing,
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("configuration {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Classify for ConfigError {
    fn exit_status(&self) -> Option<ExitStatus> {
        Some(ExitStatus::Usage)
    }
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.path = path.to_path_buf();
        config.check()?;
        crate::registry::link_sources(&mut config.sources).map_err(|message| {
            ConfigError::Invalid {
                path: path.to_path_buf(),
                message,
            }
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: self.path.clone(),
            message,
        };
        self.repository.validate().map_err(invalid)?;
        for (name, source) in &self.sources {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return Err(invalid(format!(
                    "source name {name:?}: use letters, digits, '-', '_' and '.' only"
                )));
            }
            source.check_exclude_kinds(name).map_err(invalid)?;
        }
        Ok(())
    }

    /// The `[repository]` table with relative paths (a plain-path or `file://` URL, the signing
    /// key file) taken from the configuration file's folder.
    pub fn repository(&self) -> RepositoryConfig {
        self.repository
            .resolved(self.path.parent().unwrap_or(Path::new("")))
    }

    /// The folder relative paths in the file are taken from.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The source named `name`, or an error listing the configured ones.
    pub fn source(&self, name: &str) -> Result<&SourceConfig, ConfigError> {
        self.sources.get(name).ok_or_else(|| ConfigError::Invalid {
            path: self.path.clone(),
            message: format!(
                "no source named {name:?}; configured: {}",
                if self.sources.is_empty() {
                    "none".to_string()
                } else {
                    self.sources.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
        })
    }
}
