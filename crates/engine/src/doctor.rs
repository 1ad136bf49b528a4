//! `iamsnap doctor`: whether this host can back up and restore, checked without changing
//! anything that matters. The repository ([`repository`]): it opens, this host may write to
//! it, Object Lock is on where configured, the signing key is the one `verify_key` names, the
//! key files are private, and the clock agrees with the storage's. Each source ([`source`]):
//! what its connector says of its reads and, for a restore, of its writes
//! ([`iamsnap_provider::doctor`]).

use std::path::Path;

use chrono::{TimeDelta, Utc};
use iamsnap_provider::Connector;
pub use iamsnap_provider::doctor::{Check, Status};

use crate::config::RepositoryConfig;
use crate::error::ExitStatus;
use crate::keys::{KeyPermissions, SigningKey};
use crate::repo::{Repository, lock_mode_name};

/// A clock further than this from the storage's is reported.
const CLOCK_WARN: TimeDelta = TimeDelta::minutes(1);
/// S3 refuses requests signed further than this from its clock (`RequestTimeTooSkewed`).
const CLOCK_FAIL: TimeDelta = TimeDelta::minutes(15);

/// The exit status of a set of checks: 3 when one failed, 1 when one warns, else 0.
pub fn exit_status<'a>(checks: impl IntoIterator<Item = &'a Check>) -> ExitStatus {
    match checks.into_iter().map(|c| c.status).max() {
        Some(Status::Fail) => ExitStatus::Failure,
        Some(Status::Warn) => ExitStatus::Different,
        _ => ExitStatus::Ok,
    }
}

/// What a connector says of its reads, and with `restore` of the writes a restore needs.
pub async fn source(connector: &Connector, restore: bool) -> Vec<Check> {
    let mut checks = connector.reader().check_reads().await;
    if restore && checks.iter().any(|c| c.status == Status::Fail) {
        checks.push(Check::note(
            "restore permissions",
            "not checked: fix the failed checks above first",
        ));
    } else if restore {
        match connector.writer() {
            Some(writer) => checks.extend(writer.check_writes().await),
            None => checks.push(Check::note(
                "restore permissions",
                format!(
                    "iamsnap cannot restore into {} sources yet",
                    connector.reader().provider_type()
                ),
            )),
        }
    }
    checks
}

/// The repository's checks. `identity` is the age identity file a restore would use, when
/// this host has one.
pub async fn repository(config: &RepositoryConfig, identity: Option<&Path>) -> Vec<Check> {
    let mut checks = Vec::new();
    match Repository::open(config).await {
        Ok(repo) => {
            checks.push(Check::ok(
                "opens",
                format!(
                    "{} (format {})",
                    repo.location(),
                    repo.repo_file().format_version
                ),
            ));
            checks.push(match repo.probe_write().await {
                Ok(true) => Check::ok("writable", "an object was written under doctor/ and removed"),
                Ok(false) => Check::ok(
                    "writable",
                    "an object was written under doctor/; the bucket's default Object Lock keeps it until the lock ends",
                ),
                Err(e) => Check::fail(
                    "writable",
                    format!("{e}; backups cannot publish: give this host write access (S3: s3:PutObject and s3:DeleteObject on the prefix)"),
                ),
            });
            checks.push(object_lock(&repo).await);
            checks.push(clock(&repo).await);
        }
        Err(e) => checks.push(Check::fail("opens", e.to_string())),
    }
    checks.extend(signing_key(config));
    let key_files = config
        .signing_key_file
        .iter()
        .cloned()
        .chain(identity.map(Path::to_path_buf));
    checks.extend(key_files.map(|path| key_file_mode(&path)));
    checks
}

async fn object_lock(repo: &Repository) -> Check {
    let Some(lock) = repo.object_lock() else {
        return Check::note("object lock", "not configured");
    };
    let wanted = format!("{}, {} days", lock_mode_name(lock.mode), lock.days);
    match repo.check_object_lock().await {
        Ok(()) => Check::ok(
            "object lock",
            format!("{wanted}: the bucket has Object Lock on"),
        ),
        Err(e) => Check::fail("object lock", e.to_string()),
    }
}

async fn clock(repo: &Repository) -> Check {
    let storage = match repo.clock().await {
        Ok(Some(storage)) => storage,
        Ok(None) => {
            return Check::note(
                "clock",
                "not checked: a local folder has no clock of its own",
            );
        }
        Err(e) => return Check::fail("clock", e.to_string()),
    };
    let skew = Utc::now() - storage;
    let seconds = skew.num_seconds();
    let text = if seconds >= 0 {
        format!("{seconds} s ahead of the storage's")
    } else {
        format!("{} s behind the storage's", -seconds)
    };
    // An HTTP date has whole seconds: up to one of the skew is its rounding.
    if skew.abs() > CLOCK_FAIL {
        Check::fail(
            "clock",
            format!(
                "{text}: S3 refuses requests signed more than 15 minutes off; synchronise this host's clock (NTP)"
            ),
        )
    } else if skew.abs() > CLOCK_WARN {
        Check::warn(
            "clock",
            format!(
                "{text}: snapshot times and Object Lock dates follow this host's clock; synchronise it (NTP)"
            ),
        )
    } else {
        Check::ok("clock", text)
    }
}

/// Whether the signing key loads and is the key `verify_key` names. Public keys only are shown.
fn signing_key(config: &RepositoryConfig) -> Vec<Check> {
    let verify = config.verify_key.as_deref().map(str::trim);
    let Some(path) = &config.signing_key_file else {
        return vec![match verify {
            Some(_) => Check::note(
                "signing key",
                "no signing_key_file: this host can check archives (verify_key) but not back up",
            ),
            None => Check::warn(
                "signing key",
                "neither signing_key_file nor verify_key is set: backups cannot sign and restores cannot check signatures; create a key with `iamsnap key signing --out FILE`",
            ),
        }];
    };
    // The file's mode is a check of its own; here only whether it is the right key.
    let key = match SigningKey::load(path, KeyPermissions::AllowInsecure) {
        Ok(key) => key,
        Err(e) => return vec![Check::fail("signing key", e.to_string())],
    };
    let public = key.public_key();
    vec![match verify {
        Some(verify) if verify == public => Check::ok(
            "signing key",
            format!("{} matches verify_key", path.display()),
        ),
        Some(verify) => Check::fail(
            "signing key",
            format!(
                "{} has the public key {public}, but verify_key is {verify}: restores would refuse every archive this host signs; set verify_key to the key's .pub line or configure the matching signing key",
                path.display()
            ),
        ),
        None => Check::note(
            "signing key",
            format!(
                "{} loads; verify_key is not set, so this host cannot check archives (a restore host sets verify_key = \"{public}\")",
                path.display()
            ),
        ),
    }]
}

/// A secret key file's mode: 0600 (or stricter) passes; any access by others warns (backup and
/// restore refuse it unless `--allow-insecure-key-permissions`); writable by others fails,
/// since anyone could put their own key in its place.
fn key_file_mode(path: &Path) -> Check {
    private_file(
        format!("key file {}", path.display()),
        path,
        "other users have access to this secret key, and iamsnap refuses it unless --allow-insecure-key-permissions",
        Some("other users may replace this key"),
    )
}

/// A file a source's secret is read from (`token_file`, `bind_password_file`, a credentials
/// file), named by `what` (`sources.corp.bind_password_file`): missing or unreadable fails, as
/// the source cannot connect; any access by the group or others warns, since they can read the
/// secret.
pub fn secret_file_mode(what: &str, path: &Path) -> Check {
    private_file(
        format!("secret file {}", path.display()),
        path,
        &format!("other users may read this secret ({what})"),
        None,
    )
}

/// Whether `path` is a regular file only its owner may read: `shared` says what any access by
/// the group or others means, `replaceable` (when set) what write access by them means, which
/// fails.
fn private_file(name: String, path: &Path, shared: &str, replaceable: Option<&str>) -> Check {
    // Opening, not only `stat`: a file this user may not read fails here, not at the backup.
    let metadata = match std::fs::File::open(path).and_then(|f| f.metadata()) {
        Ok(metadata) => metadata,
        Err(e) => return Check::fail(name, format!("cannot read it: {e}")),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        let fix = chmod(path);
        if !metadata.is_file() {
            Check::note(name, "not a regular file: no mode to check")
        } else if let Some(replaceable) = replaceable.filter(|_| mode & 0o022 != 0) {
            Check::fail(name, format!("mode {mode:04o}: {replaceable}; {fix}"))
        } else if crate::keys::others_have_access(mode) {
            Check::warn(name, format!("mode {mode:04o}: {shared}; {fix}"))
        } else {
            Check::ok(name, format!("mode {mode:04o}"))
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (metadata, shared, replaceable);
        Check::note(name, "file modes are checked on Unix only")
    }
}

fn chmod(path: &Path) -> String {
    format!("run `chmod 600 {}`", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_check_decides_the_exit_status() {
        let ok = Check::ok("a", "");
        let note = Check::note("b", "");
        let warn = Check::warn("c", "");
        let fail = Check::fail("d", "");
        assert_eq!(exit_status([&ok, &note]), ExitStatus::Ok);
        assert_eq!(exit_status([&ok, &warn, &note]), ExitStatus::Different);
        assert_eq!(exit_status([&warn, &fail]), ExitStatus::Failure);
        assert_eq!(exit_status([]), ExitStatus::Ok);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_readable_by_others_warn_and_writable_ones_fail() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        std::fs::write(&path, "x").unwrap();
        let with_mode = |mode| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            key_file_mode(&path)
        };
        assert_eq!(with_mode(0o600).status, Status::Ok);
        assert_eq!(with_mode(0o400).status, Status::Ok);
        let readable = with_mode(0o644);
        assert_eq!(readable.status, Status::Warn);
        assert!(readable.detail.contains("chmod 600"), "{}", readable.detail);
        assert_eq!(with_mode(0o666).status, Status::Fail);
        // Whatever the loader refuses warns here too, an execute bit for the group included.
        assert_eq!(with_mode(0o610).status, Status::Warn);
        assert_eq!(
            key_file_mode(&dir.path().join("missing")).status,
            Status::Fail
        );
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_others_may_read_warn_and_missing_ones_fail() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("okta.token");
        std::fs::write(&path, "x").unwrap();
        let with_mode = |mode| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            secret_file_mode("sources.okta.token_file", &path)
        };
        assert_eq!(with_mode(0o600).status, Status::Ok);
        let readable = with_mode(0o640);
        assert_eq!(readable.status, Status::Warn);
        assert!(
            readable.detail.contains("sources.okta.token_file")
                && readable.detail.contains("chmod 600"),
            "{}",
            readable.detail
        );
        // A secret others may overwrite is theirs to read too: a warning, not a failure.
        assert_eq!(with_mode(0o666).status, Status::Warn);
        let missing = secret_file_mode("x", &dir.path().join("missing"));
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.check.contains("missing"), "{}", missing.check);
    }
}
