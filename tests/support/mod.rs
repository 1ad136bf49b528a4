//! Shared helpers of the end-to-end tests: a workspace with fresh keys and a configuration,
//! the `iamsnap` binary, and an emulated Okta org served in-process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use iamsnap_testkit::okta::{OktaEmulator, RunningOkta};

pub mod aws;
pub mod browser;
pub mod entra;
pub mod okta_api;

/// The Okta API token the emulated orgs accept; tests check it never leaks.
pub const OKTA_TOKEN: &str = "okta-token-DO-NOT-LEAK-4242";

/// How long the emulated orgs list a group without a member just added, as real Okta does for
/// a short while after the 204 of the add: restores must verify through it.
pub const OKTA_CONSISTENCY_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

/// An emulated Okta org on its own runtime thread, stopped when dropped.
pub struct Org {
    pub okta: RunningOkta,
    runtime: tokio::runtime::Runtime,
}

impl Org {
    pub fn start(users: usize, groups: usize, apps: usize) -> Org {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let okta = runtime
            .block_on(
                OktaEmulator::builder()
                    .users(users)
                    .groups(groups)
                    .apps(apps)
                    .seed(7)
                    .token(OKTA_TOKEN)
                    .consistency_delay(OKTA_CONSISTENCY_DELAY)
                    .start(),
            )
            .expect("the Okta emulator starts");
        Org { okta, runtime }
    }

    /// An emulator started with options of its own, on `runtime`.
    pub fn from_running(okta: RunningOkta, runtime: tokio::runtime::Runtime) -> Org {
        Org { okta, runtime }
    }

    pub fn url(&self) -> String {
        self.okta.base_url().to_string()
    }
}

/// Runs the quickstart's incident (`scripts/okta-incident.py`) against the org at `url`
/// through its Management API, as `scripts/quickstart.sh` does; returns what it printed.
pub fn okta_incident(url: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/okta-incident.py");
    let out = std::process::Command::new("python3")
        .args([script, url])
        .env("OKTA_API_TOKEN", OKTA_TOKEN)
        .output()
        .expect("python3 runs the incident script (scripts/test.sh installs it)");
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// A folder with an identity, a signing key, a configuration and an initialised repository.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub recipient: String,
    pub verify_key: String,
}

impl Workspace {
    /// Keys and a configuration whose repository is `repository` (TOML lines) and whose only
    /// source is the Okta org at `org_url` named `okta-test`.
    pub fn new(org_url: &str) -> Workspace {
        Workspace::with_repository(org_url, "url = \"repo\"")
    }

    pub fn with_repository(org_url: &str, repository: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let recipient = stdout(&run_in(
            dir.path(),
            &["key", "generate", "--out", "identity.txt"],
        ));
        let verify_key = stdout(&run_in(
            dir.path(),
            &["key", "signing", "--out", "signing.key"],
        ));
        let ws = Workspace {
            dir,
            recipient: recipient.trim().to_string(),
            verify_key: verify_key.trim().to_string(),
        };
        ws.write_config(org_url, repository, true);
        ws
    }

    /// (Re)writes iamsnap.toml; `verify` decides whether `verify_key` is set.
    pub fn write_config(&self, org_url: &str, repository: &str, verify: bool) {
        let verify_line = if verify {
            format!("verify_key = \"{}\"\n", self.verify_key)
        } else {
            String::new()
        };
        let text = format!(
            "[repository]\n{repository}\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\n{verify_line}\n[sources.okta-test]\nprovider = \"okta\"\norg_url = \"{org_url}\"\ntoken_env = \"IAMSNAP_TEST_OKTA_TOKEN\"\n",
            self.recipient
        );
        std::fs::write(self.path("iamsnap.toml"), text).unwrap();
    }

    /// Adds the Okta org at `org_url` as source `name` (same token), with `extra` TOML lines.
    pub fn add_okta_source(&self, name: &str, org_url: &str, extra: &str) {
        let config = std::fs::read_to_string(self.path("iamsnap.toml")).unwrap();
        std::fs::write(
            self.path("iamsnap.toml"),
            format!(
                "{config}\n[sources.{name}]\nprovider = \"okta\"\norg_url = \"{org_url}\"\ntoken_env = \"IAMSNAP_TEST_OKTA_TOKEN\"\n{extra}"
            ),
        )
        .unwrap();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `iamsnap ARGS` with this workspace's configuration and identity.
    pub fn iamsnap(&self, args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(self.dir.path())
            .env("IAMSNAP_CONFIG", self.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", self.path("identity.txt"))
            .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
            .env_remove("IAMSNAP_LOG")
            .args(args);
        cmd.output().unwrap()
    }

    /// The keys that open this workspace's restore journals.
    pub fn journal_keys(&self) -> iamsnap_engine::restore::JournalKeys {
        iamsnap_engine::restore::JournalKeys {
            seal: None,
            open: iamsnap_engine::open::OpenOptions {
                verify_key: Some(self.verify_key.clone()),
                insecure_skip_signature: false,
                identity: Some(self.path("identity.txt")),
                key_permissions: iamsnap_engine::keys::KeyPermissions::OwnerOnly,
            },
        }
    }

    /// The archives under the repository folder, oldest first.
    pub fn archives(&self, source: &str) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.path("repo/snapshots").join(source))
            .map(|dir| {
                dir.map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "iamsnap"))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

/// `iamsnap ARGS` in `dir` without configuration.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    let output = Command::cargo_bin("iamsnap")
        .unwrap()
        .current_dir(dir)
        .env_remove("IAMSNAP_CONFIG")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "iamsnap {args:?}: {}",
        describe(&output)
    );
    output
}

/// Writes a secret the way an operator should: readable by its owner only (`doctor` warns on
/// any other mode).
pub fn write_secret(path: &Path, secret: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, secret).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}

/// Asserts the exit code, showing the output when it differs.
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
}

/// An S3 client of moto's server at `endpoint`.
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Restore operations that ended (done, skipped or failed), counted in the journal segments
/// (`ops/*.sealed`, opened with the workspace's keys; `ops/*.jsonl` of journals written before
/// they were sealed) under `dir`, a folder of the repository `repo/journals/…`.
#[allow(dead_code)]
pub fn journal_ends(ws: &Workspace, dir: &Path) -> usize {
    let keys = ws.journal_keys();
    walk(dir)
        .iter()
        .filter_map(|path| {
            let text = path.to_string_lossy();
            let stored = &text[text.find("journals/")?..];
            if !stored.contains("/ops/") {
                return None;
            }
            let bytes = std::fs::read(path).ok()?;
            if stored.ends_with(".jsonl") {
                return Some(bytes);
            }
            iamsnap_engine::restore::journal::sealed::open(stored, &bytes, &keys).ok()
        })
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|event| event.get("end").is_some())
                .count()
        })
        .sum()
}

/// Every file under `dir`, sorted; empty when `dir` does not exist.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
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

/// The words of a command printed for a POSIX shell (single quotes only, as printed).
pub fn shell_words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if !quoted => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}
