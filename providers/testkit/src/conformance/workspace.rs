//! The suite's workspace: a temporary folder with keys made for the run, the configuration
//! file the command line reads (a local repository and the sources added so far), and what
//! the checks do with them through the engine (back up, open a snapshot) or through the
//! `iamsnap` binary.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iamsnap_engine::backup::{self, Seal};
use iamsnap_engine::config::RepositoryConfig;
use iamsnap_engine::keys::{self, KeyPermissions, SigningKey};
use iamsnap_engine::open::{OpenOptions, OpenedSnapshot};
use iamsnap_engine::repo::Repository;
use iamsnap_engine::restore::JournalKeys;
use iamsnap_provider::{ReadProvider, Record};

use super::chain;

const IDENTITY: &str = "identity.txt";
const SIGNING_KEY: &str = "signing.key";
const CONFIG: &str = "iamsnap.toml";
const REPOSITORY: &str = "repo";

/// Longest a command may run before it is killed and reported as hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// A run of the `iamsnap` binary.
#[derive(Debug, Clone)]
pub(crate) struct Ran {
    /// Its arguments, as typed.
    pub command: String,
    /// Its exit code; `None` when it was killed.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The command, its exit code and the end of its stderr, for a problem's text.
    pub fn describe(&self) -> String {
        let tail: Vec<&str> = self.stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "`iamsnap {}` exited with {}; stderr: {}",
            self.command,
            self.code
                .map_or_else(|| "no code (killed)".to_string(), |c| c.to_string()),
            if tail.is_empty() {
                "(empty)".to_string()
            } else {
                tail.join(" | ")
            }
        )
    }
}

pub(crate) struct Workspace {
    dir: tempfile::TempDir,
    binary: PathBuf,
    env: Vec<(String, String)>,
    recipient: String,
    verify_key: String,
    sources: BTreeMap<String, String>,
}

impl Workspace {
    /// A new folder with an age identity, a minisign key pair and a configuration without
    /// sources; `env` is given to every run of `binary`.
    pub fn new(binary: &Path, env: Vec<(String, String)>) -> Result<Workspace, String> {
        let dir = tempfile::Builder::new()
            .prefix("iamsnap-conformance-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let recipient = keys::write_identity(&dir.path().join(IDENTITY)).map_err(|e| chain(&e))?;
        let verify_key =
            keys::generate_signing_key(&dir.path().join(SIGNING_KEY)).map_err(|e| chain(&e))?;
        let ws = Workspace {
            dir,
            binary: binary.to_path_buf(),
            env,
            recipient,
            verify_key,
            sources: BTreeMap::new(),
        };
        ws.write_config()?;
        Ok(ws)
    }

    /// The folder: keys, configuration, repository, secret files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir().join(CONFIG)
    }

    pub fn repository_dir(&self) -> PathBuf {
        self.dir().join(REPOSITORY)
    }

    /// Adds `[sources.NAME]` with `table` as its body, or replaces it.
    pub fn set_source(&mut self, name: &str, table: &str) {
        self.sources.insert(name.to_string(), table.to_string());
        if let Err(e) = self.write_config() {
            panic!("{e}");
        }
    }

    fn write_config(&self) -> Result<(), String> {
        let mut text = format!(
            "[repository]\nurl = \"{REPOSITORY}\"\nrecipients = [\"{}\"]\nsigning_key_file = \"{SIGNING_KEY}\"\nverify_key = \"{}\"\n",
            self.recipient, self.verify_key
        );
        for (name, table) in &self.sources {
            text.push_str(&format!("\n[sources.{name}]\n{}\n", table.trim_end()));
        }
        std::fs::write(self.config_path(), text)
            .map_err(|e| format!("cannot write {}: {e}", self.config_path().display()))
    }

    fn repository_config(&self) -> RepositoryConfig {
        RepositoryConfig {
            url: self.repository_dir().display().to_string(),
            recipients: vec![self.recipient.clone()],
            signing_key_file: Some(self.dir().join(SIGNING_KEY)),
            verify_key: Some(self.verify_key.clone()),
            ..RepositoryConfig::default()
        }
    }

    pub async fn init_repository(&self) -> Result<(), String> {
        Repository::init(&self.repository_config())
            .await
            .map(|_| ())
            .map_err(|e| format!("cannot create the repository: {}", chain(&e)))
    }

    pub async fn repository(&self) -> Result<Repository, String> {
        Repository::open(&self.repository_config())
            .await
            .map_err(|e| format!("cannot open the repository: {}", chain(&e)))
    }

    /// Backs `reader` up as source `source`; returns the snapshot's name.
    pub async fn backup(&self, source: &str, reader: &dyn ReadProvider) -> Result<String, String> {
        let repo = self.repository().await?;
        let key = SigningKey::load(&self.dir().join(SIGNING_KEY), KeyPermissions::OwnerOnly)
            .map_err(|e| chain(&e))?;
        let seal = Seal::new(vec![self.recipient.clone()], key).map_err(|e| chain(&e))?;
        let published = backup::run(&repo, source, reader, &seal, Arc::new(()))
            .await
            .map_err(|e| chain(&e))?;
        Ok(published.info.name)
    }

    /// The keys that open this workspace's archives and journals: its identity and verify key.
    fn open_options(&self) -> OpenOptions {
        OpenOptions {
            verify_key: Some(self.verify_key.clone()),
            insecure_skip_signature: false,
            identity: Some(self.dir().join(IDENTITY)),
            key_permissions: KeyPermissions::OwnerOnly,
        }
    }

    /// The keys of a restore's journal: sealed to this workspace's recipient and signing key,
    /// opened with its identity.
    pub fn journal_keys(&self) -> Result<JournalKeys, String> {
        let key = SigningKey::load(&self.dir().join(SIGNING_KEY), KeyPermissions::OwnerOnly)
            .map_err(|e| chain(&e))?;
        let seal = Seal::new(vec![self.recipient.clone()], key).map_err(|e| chain(&e))?;
        Ok(JournalKeys {
            seal: Some(seal),
            open: self.open_options(),
        })
    }

    /// Opens snapshot `reference` (a name or `SOURCE@latest`), its signature checked.
    pub async fn open(&self, repo: &Repository, reference: &str) -> Result<OpenedSnapshot, String> {
        self.open_options()
            .open(repo, reference)
            .await
            .map_err(|e| format!("cannot open snapshot {reference}: {}", chain(&e)))
    }

    /// Every record of snapshot `reference`, in archive order (kind, then id).
    pub async fn records(&self, reference: &str) -> Result<Vec<Record>, String> {
        let repo = self.repository().await?;
        let mut snapshot = self.open(&repo, reference).await?;
        let records = snapshot
            .reader
            .records()
            .map_err(|e| chain(&e))?
            .collect::<Result<Vec<Record>, _>>()
            .map_err(|e| format!("cannot read snapshot {reference}: {}", chain(&e)))?;
        Ok(records)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.current_dir(self.dir())
            .env("IAMSNAP_CONFIG", self.config_path())
            .env("IAMSNAP_IDENTITY", self.dir().join(IDENTITY))
            .env_remove("IAMSNAP_LOG")
            .env_remove("AWS_PROFILE")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `iamsnap ARGS` to its end (killed after [`COMMAND_TIMEOUT`]).
    pub fn iamsnap(&self, args: &[&str]) -> Ran {
        let command = args.join(" ");
        let spawned = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                return Ran {
                    command,
                    code: None,
                    stdout: String::new(),
                    stderr: format!("cannot start {}: {e}", self.binary.display()),
                };
            }
        };
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut pipe) = pipe {
                    let mut bytes = Vec::new();
                    let _ = pipe.read_to_end(&mut bytes);
                    text = String::from_utf8_lossy(&bytes).into_owned();
                }
                text
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let started = Instant::now();
        let mut timed_out = false;
        let code = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if started.elapsed() > COMMAND_TIMEOUT => {
                    timed_out = true;
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break None,
            }
        };
        let mut stderr = stderr.join().unwrap_or_default();
        if timed_out {
            stderr.push_str(&format!(
                "\n(killed after {} s: it hung)",
                COMMAND_TIMEOUT.as_secs()
            ));
        }
        Ran {
            command,
            code,
            stdout: stdout.join().unwrap_or_default(),
            stderr,
        }
    }

    /// Starts `iamsnap ARGS` with its output going to files named after `label`; read them
    /// back with [`Workspace::output_of`] once it has ended.
    pub fn spawn(&self, args: &[&str], label: &str) -> Result<Child, String> {
        let file = |stream: &str| {
            File::create(self.dir().join(format!("{label}.{stream}")))
                .map_err(|e| format!("cannot create the {stream} file of `iamsnap {label}`: {e}"))
        };
        self.command(args)
            .stdout(file("stdout")?)
            .stderr(file("stderr")?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))
    }

    /// What a run started by [`Workspace::spawn`] as `label` wrote.
    pub fn output_of(&self, args: &[&str], label: &str, code: Option<i32>) -> Ran {
        let read = |stream: &str| {
            std::fs::read(self.dir().join(format!("{label}.{stream}")))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        Ran {
            command: args.join(" "),
            code,
            stdout: read("stdout"),
            stderr: read("stderr"),
        }
    }
}

/// Every file under `dir`, sorted; empty when `dir` does not exist.
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}
