//! Check 7: the source's secret appears nowhere iamsnap writes: the output of every command
//! the suite ran (one at trace level, one logging JSON), the errors of a run the system
//! refuses, a snapshot exported as plaintext, and every file of the repository (journals,
//! manifests, signatures).

use std::path::Path;

use crate::faults::{Fault, FaultProxy, RequestInfo};
use crate::relay::{Relaying, TcpRelay};

use super::workspace::walk;
use super::{Checked, REFUSED, SEEDED, Subject, Suite, fail, verdict};

impl<S: Subject> Suite<'_, S> {
    pub(super) fn secret_never_shown(&mut self) -> Checked {
        let secret = self.subject.secret();
        if secret.len() < 8 {
            return Err(fail(
                "the subject's secret is shorter than 8 characters: too short to search for",
            ));
        }
        let mut problems = Vec::new();
        let reference = format!("{SEEDED}@latest");
        let traced = self.iamsnap(&["-vvv", "backup", "--source", SEEDED]);
        if traced.code != Some(0) {
            problems.push(format!("the traced backup failed: {}", traced.describe()));
        }
        self.iamsnap(&[
            "--log-format",
            "json",
            "-vvv",
            "restore",
            &reference,
            "--format",
            "json",
        ]);

        // A system that refuses every request: the errors name what failed, never the secret.
        // One that does not speak HTTP closes every connection instead.
        let subject = self.subject;
        let url = subject.url(&self.seeded);
        let (proxy, relay) = if subject.speaks_http() {
            let proxy = self
                .runtime
                .block_on(FaultProxy::start(&url, |_: &RequestInfo| {
                    Fault::Status(401)
                }))
                .map_err(|e| fail(format!("the fault proxy did not start: {e}")))?;
            (Some(proxy), None)
        } else {
            let relay = self
                .runtime
                .block_on(TcpRelay::start(&url, Relaying::Refuse))
                .map_err(|e| fail(format!("the relay did not start: {e}")))?;
            (None, Some(relay))
        };
        let refusing = proxy
            .as_ref()
            .map(|p| p.url().to_string())
            .or_else(|| relay.as_ref().map(|r| r.url().to_string()))
            .unwrap_or_default();
        self.add_source(REFUSED, &refusing);
        let refused = self.iamsnap(&["-vvv", "backup", "--source", REFUSED]);
        if refused.code == Some(0) {
            problems.push(format!(
                "a backup of a system answering 401 to everything succeeded: {}",
                refused.describe()
            ));
        }
        let live = format!("live:{REFUSED}");
        self.iamsnap(&["--log-format", "json", "diff", &reference, &live]);
        let connector = self.connect(REFUSED)?;
        let ws = &self.ws;
        let refused_in_process = self
            .runtime
            .block_on(ws.backup(REFUSED, connector.reader()));
        match refused_in_process {
            Ok(_) => problems.push(
                "a backup through the engine of a system answering 401 to everything succeeded"
                    .into(),
            ),
            Err(e) if e.contains(&secret) => problems.push(format!(
                "the error of a backup the system refused holds the secret: {e}"
            )),
            Err(_) => {}
        }
        drop(proxy);
        drop(relay);

        let export = self.ws.dir().join("export");
        let exported =
            self.iamsnap(&["export", &reference, "--out", &export.display().to_string()]);
        if exported.code != Some(0) {
            problems.push(format!("the export failed: {}", exported.describe()));
        }

        for ran in &self.runs {
            for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
                if text.contains(&secret) {
                    problems.push(format!(
                        "`iamsnap {}` wrote the secret on {stream}: …{}…",
                        ran.command,
                        around(text, &secret)
                    ));
                }
            }
        }
        let mut files = 0;
        for dir in [export, self.ws.repository_dir()] {
            files += walk(&dir).len();
            problems.extend(files_holding(&dir, self.ws.dir(), &secret));
        }
        let summary = format!(
            "the output of {} commands and {files} exported and repository files searched",
            self.runs.len()
        );
        verdict(problems, summary)
    }
}

/// One problem per file under `dir` that holds `secret`, named relative to `base`.
fn files_holding(dir: &Path, base: &Path, secret: &str) -> Vec<String> {
    walk(dir)
        .into_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let text = String::from_utf8_lossy(&bytes);
            text.contains(secret).then(|| {
                format!(
                    "{} holds the secret: …{}…",
                    path.strip_prefix(base).unwrap_or(&path).display(),
                    around(&text, secret)
                )
            })
        })
        .collect()
}

/// A few characters either side of `secret` in `text`, the secret itself masked.
fn around(text: &str, secret: &str) -> String {
    let Some(at) = text.find(secret) else {
        return String::new();
    };
    let before: String = text[..at]
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text[at + secret.len()..].chars().take(30).collect();
    format!("{before}[SECRET]{after}").replace('\n', " ")
}
