//! Keys: age identities and recipients (encryption), minisign key pairs (signatures).
//!
//! The backup host holds only public material: age recipients to encrypt to, and a minisign
//! secret key that can sign new archives but read none. The restore side holds an age identity
//! and the minisign public key. Secret keys never reach `Debug` output, errors or logs: the types
//! holding them print as `[redacted]`, errors name the file, never its contents, and the key
//! material read is registered with [`iamsnap_provider::redact`], which scrubs it from any text.
//!
//! Like ssh, iamsnap refuses identity and signing key files that users other than their owner
//! may read or write ([`KeyPermissions`]), unless told otherwise.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;

use crate::error::{Classify, ExitStatus};

/// Identity and key files larger than this are not key files.
const KEY_FILE_LIMIT: u64 = 1024 * 1024;

/// Which secret key files are used: by default only those no one but their owner can read or
/// write (group and others have no access, as ssh requires of private keys);
/// `--allow-insecure-key-permissions` takes any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyPermissions {
    #[default]
    OwnerOnly,
    AllowInsecure,
}

/// A key that could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{path} is a secret key that other users may read or write (mode {mode:04o}); restrict it to its owner with `chmod 600 {path}`, or pass --allow-insecure-key-permissions to use it anyway"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("cannot write key file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path} already exists; refusing to overwrite a key: choose another --out path")]
    Exists { path: PathBuf },
    #[error(
        "recipient {recipient:?} is not usable: {reason}; use an `age1…` key from `iamsnap key generate` or an `ssh-ed25519`/`ssh-rsa` public key"
    )]
    BadRecipient { recipient: String, reason: String },
    #[error(
        "no recipients configured: add repository.recipients (an `age1…` key from `iamsnap key generate`)"
    )]
    NoRecipients,
    #[error("{path} is not an age identity file or ssh private key: {reason}")]
    BadIdentityFile { path: PathBuf, reason: String },
    #[error(
        "{path} is protected by a passphrase and iamsnap never prompts; give an unencrypted identity (for an age file: `age -d -o key.txt {path}` on a safe machine; for an ssh key: `ssh-keygen -p -N '' -f COPY`)"
    )]
    EncryptedIdentity { path: PathBuf },
    #[error(
        "{path} holds an ssh key age cannot decrypt with: {reason}; use an ssh-ed25519 or ssh-rsa key, or an age identity"
    )]
    UnsupportedSshKey { path: PathBuf, reason: String },
    #[error("{path} holds no identity; generate one with `iamsnap key generate --out FILE`")]
    NoIdentities { path: PathBuf },
    #[error(
        "{path} is not a minisign secret key: {reason}; create one with `iamsnap key signing --out FILE`"
    )]
    BadSigningKey { path: PathBuf, reason: String },
    #[error(
        "{path} is a password-protected minisign key; unattended backups need one without a password: create it with `iamsnap key signing --out FILE`"
    )]
    EncryptedSigningKey { path: PathBuf },
    #[error(
        "minisign public key is not usable: {reason}; give the `RW…` line of the .pub file written by `iamsnap key signing`"
    )]
    BadPublicKey { reason: String },
    #[error("signature is malformed: {reason}")]
    MalformedSignature { reason: String },
    #[error(
        "signature does not verify with the configured verify key: {reason}; the archive was changed after signing or signed by another key"
    )]
    SignatureMismatch { reason: String },
    #[error("cannot sign: {reason}")]
    Sign { reason: String },
    #[error("cannot read the signed data: {source}")]
    Data { source: io::Error },
}

impl Classify for KeyError {
    fn exit_status(&self) -> Option<ExitStatus> {
        Some(match self {
            KeyError::MalformedSignature { .. } | KeyError::SignatureMismatch { .. } => {
                ExitStatus::Integrity
            }
            KeyError::Write { .. } | KeyError::Sign { .. } | KeyError::Data { .. } => {
                ExitStatus::Failure
            }
            _ => ExitStatus::Usage,
        })
    }
}

/// A freshly generated age identity. Prints as `[redacted]`.
pub struct GeneratedIdentity {
    file_text: String,
    recipient: String,
}

impl GeneratedIdentity {
    /// The identity file's text, in `age-keygen` format (`# created:`, `# public key:`, key).
    pub fn file_text(&self) -> &str {
        &self.file_text
    }

    /// The public `age1…` recipient to put into `repository.recipients`.
    pub fn recipient(&self) -> &str {
        &self.recipient
    }
}

impl fmt::Debug for GeneratedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedIdentity")
            .field("recipient", &self.recipient)
            .field("file_text", &"[redacted]")
            .finish()
    }
}

/// A new X25519 identity, as `age-keygen` would write it.
pub fn generate_identity() -> GeneratedIdentity {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let file_text = format!(
        "# created: {created}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    );
    GeneratedIdentity {
        file_text,
        recipient,
    }
}

/// Generates an identity into a new file `path` (mode 0600) and returns its recipient.
pub fn write_identity(path: &Path) -> Result<String, KeyError> {
    let identity = generate_identity();
    write_new_secret_file(path, identity.file_text().as_bytes())?;
    Ok(identity.recipient)
}

/// Parses recipients: `age1…` X25519 keys and `ssh-ed25519`/`ssh-rsa` public keys.
pub fn parse_recipients(
    recipients: &[String],
) -> Result<Vec<Box<dyn age::Recipient + Send>>, KeyError> {
    if recipients.is_empty() {
        return Err(KeyError::NoRecipients);
    }
    recipients.iter().map(|r| parse_recipient(r)).collect()
}

fn parse_recipient(text: &str) -> Result<Box<dyn age::Recipient + Send>, KeyError> {
    let trimmed = text.trim();
    let bad = |reason: String| KeyError::BadRecipient {
        recipient: trimmed.to_string(),
        reason,
    };
    if trimmed.starts_with("age1") {
        return trimmed
            .parse::<age::x25519::Recipient>()
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|e| bad(e.to_string()));
    }
    if trimmed.starts_with("ssh-") {
        use age::ssh::ParseRecipientKeyError as E;
        return trimmed
            .parse::<age::ssh::Recipient>()
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|e| {
                bad(match e {
                    E::Ignore => "this ssh key type is not supported".into(),
                    E::Invalid(reason) => reason.to_string(),
                    E::RsaModulusTooLarge => "the RSA key is larger than 4096 bits".into(),
                    E::RsaModulusTooSmall => "the RSA key is smaller than 2048 bits".into(),
                    E::Unsupported(kind) => format!("{kind} keys are not supported"),
                })
            });
    }
    if looks_secret(trimmed) {
        return Err(KeyError::BadRecipient {
            recipient: "(a secret key, not shown)".into(),
            reason: "this is a secret key, not a public recipient; remove it from the configuration and rotate it".into(),
        });
    }
    Err(KeyError::BadRecipient {
        recipient: shortened(trimmed),
        reason: "unknown key format".into(),
    })
}

/// Secret material pasted where a public key belongs must not be echoed back.
fn looks_secret(text: &str) -> bool {
    text.starts_with("AGE-SECRET-KEY-")
        || text.starts_with("AGE-PLUGIN-")
        || text.contains("PRIVATE KEY")
        || text.starts_with("untrusted comment:")
}

/// At most the first 40 characters of an unrecognised value.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Reads the identities in `path`: an age identity file (one or more `AGE-SECRET-KEY-1…`
/// lines) or an unencrypted OpenSSH/PEM `ssh-ed25519`/`ssh-rsa` private key. A file others may
/// read is refused unless `permissions` allows it.
pub fn load_identities(
    path: &Path,
    permissions: KeyPermissions,
) -> Result<Vec<Box<dyn age::Identity>>, KeyError> {
    let text = read_key_file(path, permissions)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with("age-encryption.org/")
        || trimmed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
    {
        return Err(KeyError::EncryptedIdentity {
            path: path.to_path_buf(),
        });
    }
    if trimmed.starts_with("-----BEGIN") {
        return load_ssh_identity(path, trimmed);
    }
    let file = age::IdentityFile::from_buffer(trimmed.as_bytes()).map_err(|e| {
        KeyError::BadIdentityFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    })?;
    let identities = file
        .into_identities()
        .map_err(|e| KeyError::BadIdentityFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if identities.is_empty() {
        return Err(KeyError::NoIdentities {
            path: path.to_path_buf(),
        });
    }
    Ok(identities)
}

fn load_ssh_identity(path: &Path, text: &str) -> Result<Vec<Box<dyn age::Identity>>, KeyError> {
    use age::ssh::{Identity, UnsupportedKey};
    let identity =
        Identity::from_buffer(text.as_bytes(), None).map_err(|e| KeyError::BadIdentityFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    match identity {
        Identity::Unencrypted(_) => Ok(vec![Box::new(identity)]),
        Identity::Encrypted(_) | Identity::Unsupported(UnsupportedKey::EncryptedPem) => {
            Err(KeyError::EncryptedIdentity {
                path: path.to_path_buf(),
            })
        }
        Identity::Unsupported(UnsupportedKey::EncryptedSsh(cipher)) => {
            Err(KeyError::UnsupportedSshKey {
                path: path.to_path_buf(),
                reason: format!("it is encrypted with the unsupported cipher {cipher}"),
            })
        }
        Identity::Unsupported(UnsupportedKey::Hardware(kind))
        | Identity::Unsupported(UnsupportedKey::Type(kind)) => Err(KeyError::UnsupportedSshKey {
            path: path.to_path_buf(),
            reason: format!("{kind} keys are not supported"),
        }),
    }
}

/// A minisign secret key without password, for unattended signing. Prints as `[redacted]`.
pub struct SigningKey {
    secret: minisign::SecretKey,
    public: minisign::PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public.to_base64())
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// Reads a minisign secret key file written by [`generate_signing_key`] (or `minisign -G -W`).
    /// A file others may read is refused unless `permissions` allows it.
    pub fn load(path: &Path, permissions: KeyPermissions) -> Result<SigningKey, KeyError> {
        let text = read_key_file(path, permissions)?;
        let bad = |reason: String| KeyError::BadSigningKey {
            path: path.to_path_buf(),
            reason,
        };
        if !text.starts_with("untrusted comment:") {
            return Err(bad("it does not start with `untrusted comment:`".into()));
        }
        let boxed = minisign::SecretKeyBox::from_string(&text).map_err(|e| bad(e.to_string()))?;
        let secret = match boxed.into_unencrypted_secret_key() {
            Ok(secret) => secret,
            Err(e) if e.to_string().contains("encrypted") => {
                return Err(KeyError::EncryptedSigningKey {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => match unchecked_passwordless_key(&text) {
                Some(secret) => secret,
                None => return Err(bad(e.to_string())),
            },
        };
        let public =
            minisign::PublicKey::from_secret_key(&secret).map_err(|e| bad(e.to_string()))?;
        Ok(SigningKey { secret, public })
    }

    /// The public key as the `RW…` base64 line, for `repository.verify_key`.
    pub fn public_key(&self) -> String {
        self.public.to_base64()
    }

    /// Signs `data`, the archive of snapshot `name`, and returns the contents of a `.minisig`
    /// file. The trusted comment, which the signature covers, names the snapshot, so that a
    /// copy stored under another name is refused without decrypting it ([`verify`]).
    pub fn sign(&self, name: &str, data: impl Read) -> Result<String, KeyError> {
        let trusted = format!(
            "timestamp:{}\tiamsnap {}\t{SNAPSHOT_FIELD}{name}",
            chrono::Utc::now().timestamp(),
            env!("CARGO_PKG_VERSION")
        );
        minisign::sign(
            Some(&self.public),
            &self.secret,
            data,
            Some(&trusted),
            Some("signature from iamsnap"),
        )
        .map(|sig| sig.into_string())
        .map_err(|e| match e.kind() {
            minisign::ErrorKind::Io => KeyError::Data {
                source: io::Error::other(e.to_string()),
            },
            _ => KeyError::Sign {
                reason: e.to_string(),
            },
        })
    }
}

/// A passwordless key as `minisign -G -W` 0.11 writes it: with an all-zero checksum, which the
/// minisign crate rejects as corrupted. A damaged key still cannot sign unnoticed: its
/// signatures fail verification against the `.pub` file.
fn unchecked_passwordless_key(text: &str) -> Option<minisign::SecretKey> {
    use base64::Engine as _;
    const LEN: usize = 158;
    const CHECKSUM: std::ops::Range<usize> = 126..158;
    let line = text.lines().nth(1)?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .ok()?;
    let passwordless = bytes.len() == LEN && bytes[2..4] == [0, 0];
    if !passwordless || bytes[CHECKSUM].iter().any(|b| *b != 0) {
        return None;
    }
    minisign::SecretKey::from_bytes(&bytes).ok()
}

/// Creates a minisign key pair without password: the secret key in a new file `out` (mode
/// 0600) and the public key in `out.pub`, both in minisign's own format. Returns the public
/// key's `RW…` line.
pub fn generate_signing_key(out: &Path) -> Result<String, KeyError> {
    let public_path = public_key_path(out);
    if public_path.exists() {
        return Err(KeyError::Exists { path: public_path });
    }
    let pair = minisign::KeyPair::generate_unencrypted_keypair().map_err(|e| KeyError::Sign {
        reason: e.to_string(),
    })?;
    let secret_box = pair
        .sk
        .to_box(Some("iamsnap signing key (no password)"))
        .map_err(|e| KeyError::Sign {
            reason: e.to_string(),
        })?;
    let public_box = pair.pk.to_box().map_err(|e| KeyError::Sign {
        reason: e.to_string(),
    })?;
    write_new_secret_file(out, secret_box.to_string().as_bytes())?;
    let mut public_file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&public_path)
        .map_err(|source| write_error(&public_path, source))?;
    public_file
        .write_all(&public_box.to_bytes())
        .and_then(|()| public_file.sync_all())
        .map_err(|source| KeyError::Write {
            path: public_path.clone(),
            source,
        })?;
    Ok(pair.pk.to_base64())
}

/// `FILE.pub` beside the secret key `FILE`.
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Signs `data` with the secret key in `secret_key_file` (readable by its owner only) as the
/// archive of snapshot `name`; returns the `.minisig` contents.
pub fn sign(secret_key_file: &Path, name: &str, data: impl Read) -> Result<String, KeyError> {
    SigningKey::load(secret_key_file, KeyPermissions::OwnerOnly)?.sign(name, data)
}

/// Parses a minisign public key: the `RW…` base64 line, or a whole `.pub` file's text.
pub fn parse_public_key(text: &str) -> Result<minisign::PublicKey, KeyError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .ok_or_else(|| KeyError::BadPublicKey {
            reason: "it is empty".into(),
        })?;
    minisign::PublicKey::from_base64(line).map_err(|e| KeyError::BadPublicKey {
        reason: e.to_string(),
    })
}

/// The trusted comment's field naming the snapshot signed.
const SNAPSHOT_FIELD: &str = "snapshot:";

/// What a verified signature says about what it signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The snapshot the archive was signed as; `None` for signatures made before signatures
    /// named their snapshot.
    pub snapshot: Option<String>,
}

/// Checks that `signature` (a `.minisig` file's text) was made over `data` by `public_key`
/// (an `RW…` line or a `.pub` file's text), and returns what its trusted comment says. Reads
/// `data` once, in bounded memory.
pub fn verify(public_key: &str, signature: &str, data: impl Read) -> Result<Signed, KeyError> {
    let public = parse_public_key(public_key)?;
    let signature = minisign::SignatureBox::from_string(signature).map_err(|e| {
        KeyError::MalformedSignature {
            reason: e.to_string(),
        }
    })?;
    if !signature.is_prehashed() {
        return Err(KeyError::MalformedSignature {
            reason: "legacy (not prehashed) signatures are not accepted".into(),
        });
    }
    minisign::verify(&public, &signature, ForwardOnly(data), true, false, false).map_err(|e| {
        match e.kind() {
            minisign::ErrorKind::Io => KeyError::Data {
                source: io::Error::other(e.to_string()),
            },
            _ => KeyError::SignatureMismatch {
                reason: e.to_string(),
            },
        }
    })?;
    // Verified together with the signature above, so it is as trustworthy as the archive.
    let trusted = signature
        .trusted_comment()
        .map_err(|e| KeyError::MalformedSignature {
            reason: e.to_string(),
        })?;
    Ok(Signed {
        snapshot: trusted
            .split('\t')
            .find_map(|field| field.strip_prefix(SNAPSHOT_FIELD))
            .map(str::to_string),
    })
}

/// Lets a plain reader go where minisign asks for `Seek`: it only seeks to copy the data to
/// stdout, which iamsnap never asks it to do.
struct ForwardOnly<R>(R);

impl<R: Read> Read for ForwardOnly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R> Seek for ForwardOnly<R> {
    fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the signed data is read once",
        ))
    }
}

/// Whether a secret key file of this mode is refused under [`KeyPermissions::OwnerOnly`]:
/// any bit for its group or for other users.
pub(crate) fn others_have_access(mode: u32) -> bool {
    mode & 0o077 != 0
}

/// The text of the secret key file `path`, its key lines registered as secrets. Its mode is
/// checked on the file opened, not on the path, so the file read is the file checked.
fn read_key_file(path: &Path, permissions: KeyPermissions) -> Result<String, KeyError> {
    let read = |source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read)?;
    #[cfg(unix)]
    if permissions == KeyPermissions::OwnerOnly {
        use std::os::unix::fs::PermissionsExt;
        let metadata = file.metadata().map_err(read)?;
        // Pipes and devices (`--identity /dev/stdin`, process substitution) have no file mode
        // to speak of.
        let mode = metadata.permissions().mode() & 0o7777;
        if metadata.is_file() && others_have_access(mode) {
            return Err(KeyError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = permissions;
    let mut bytes = Vec::new();
    file.take(KEY_FILE_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    // Not `read_to_string`: a passphrase-protected identity (`age -p`) is binary after its
    // header, and must reach the check that says so rather than fail as invalid UTF-8.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    for line in text.lines() {
        let line = line.trim();
        if !line.is_empty()
            && !line.starts_with('#')
            && !line.starts_with("untrusted comment:")
            && !line.starts_with("-----")
        {
            iamsnap_provider::redact::register(line);
        }
    }
    Ok(text)
}

fn write_error(path: &Path, source: io::Error) -> KeyError {
    if source.kind() == io::ErrorKind::AlreadyExists {
        KeyError::Exists {
            path: path.to_path_buf(),
        }
    } else {
        KeyError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `bytes` to a new file readable by its owner only; never replaces an existing file.
fn write_new_secret_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| write_error(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        let recipient = write_identity(&path).unwrap();
        assert!(recipient.starts_with("age1"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# created: "));
        assert!(text.contains(&format!("# public key: {recipient}\n")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            load_identities(&path, KeyPermissions::OwnerOnly)
                .unwrap()
                .len(),
            1
        );
        assert!(matches!(
            write_identity(&path),
            Err(KeyError::Exists { .. })
        ));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let identity = generate_identity();
        let secret_line = identity.file_text().lines().last().unwrap().to_string();
        assert!(secret_line.starts_with("AGE-SECRET-KEY-1"));
        assert!(!format!("{identity:?}").contains(&secret_line));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        generate_signing_key(&path).unwrap();
        let key = SigningKey::load(&path, KeyPermissions::OwnerOnly).unwrap();
        let secret_b64 = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string();
        let debug = format!("{key:?}");
        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains(&secret_b64));
    }

    #[test]
    fn recipients_accept_age_and_ssh_keys_and_refuse_the_rest() {
        let age = generate_identity().recipient().to_string();
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust".to_string();
        assert_eq!(parse_recipients(&[age, ssh]).unwrap().len(), 2);
        assert!(matches!(parse_recipients(&[]), Err(KeyError::NoRecipients)));
        let err = parse_recipients(&["age1notakey".into()]).err().unwrap();
        assert!(err.to_string().contains("age1notakey"), "{err}");
        assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
        let secret = generate_identity()
            .file_text()
            .lines()
            .last()
            .unwrap()
            .to_string();
        let err = parse_recipients(std::slice::from_ref(&secret))
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains(&secret), "a secret must not be echoed: {err}");
    }

    #[test]
    fn pasted_private_keys_are_not_echoed() {
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----".to_string();
        let err = parse_recipients(std::slice::from_ref(&pem))
            .err()
            .unwrap()
            .to_string();
        assert!(!err.contains("b3BlbnNzaC1rZXkt"), "{err}");
        assert!(err.contains("secret key"), "{err}");
        let long = format!("nonsense{}", "x".repeat(200));
        let err = parse_recipients(&[long]).err().unwrap().to_string();
        assert!(err.contains("nonsense") && err.len() < 300, "{err}");
    }

    #[test]
    fn encrypted_identity_files_are_refused_without_prompting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.age");
        std::fs::write(&path, "age-encryption.org/v1\n-> scrypt abc 18\nxyz\n").unwrap();
        let err = load_identities(&path, KeyPermissions::AllowInsecure)
            .err()
            .unwrap();
        assert!(matches!(err, KeyError::EncryptedIdentity { .. }), "{err}");
        assert!(err.to_string().contains("passphrase"));

        std::fs::write(&path, "not a key\n").unwrap();
        let err = load_identities(&path, KeyPermissions::AllowInsecure)
            .err()
            .unwrap();
        assert!(matches!(err, KeyError::BadIdentityFile { .. }), "{err}");
        assert!(!err.to_string().contains("not a key"));
    }

    #[test]
    fn signatures_verify_and_detect_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let public = generate_signing_key(&path).unwrap();
        let public_file = std::fs::read_to_string(public_key_path(&path)).unwrap();
        assert!(public_file.contains(&public));
        let signature = sign(
            &path,
            "okta/20261127T020000Z-00000001",
            &b"archive bytes"[..],
        )
        .unwrap();
        let signed = verify(&public, &signature, &b"archive bytes"[..]).unwrap();
        assert_eq!(
            signed.snapshot.as_deref(),
            Some("okta/20261127T020000Z-00000001")
        );
        verify(&public_file, &signature, &b"archive bytes"[..]).unwrap();

        let err = verify(&public, &signature, &b"archive bytez"[..]).unwrap_err();
        assert!(matches!(err, KeyError::SignatureMismatch { .. }), "{err}");
        assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));

        let other = dir.path().join("other.key");
        let other_public = generate_signing_key(&other).unwrap();
        let err = verify(&other_public, &signature, &b"archive bytes"[..]).unwrap_err();
        assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));

        let err = verify(&public, "garbage", &b"archive bytes"[..]).unwrap_err();
        assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
    }

    #[test]
    fn password_protected_signing_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw.key");
        let pair = minisign::KeyPair::generate_encrypted_keypair(Some("pw".into())).unwrap();
        std::fs::write(&path, pair.sk.to_box(None).unwrap().to_string()).unwrap();
        let err = SigningKey::load(&path, KeyPermissions::AllowInsecure).unwrap_err();
        assert!(matches!(err, KeyError::EncryptedSigningKey { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn key_files_others_may_read_are_refused_unless_allowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let identity = dir.path().join("key.txt");
        let signing = dir.path().join("signing.key");
        write_identity(&identity).unwrap();
        generate_signing_key(&signing).unwrap();
        for mode in [0o640, 0o604, 0o660, 0o644] {
            for path in [&identity, &signing] {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            let err = load_identities(&identity, KeyPermissions::OwnerOnly)
                .err()
                .unwrap();
            assert!(
                matches!(err, KeyError::InsecurePermissions { .. }),
                "{mode:o}: {err}"
            );
            let text = err.to_string();
            assert!(text.contains(&format!("{mode:04o}")), "{text}");
            assert!(text.contains("chmod 600"), "{text}");
            assert!(text.contains("--allow-insecure-key-permissions"), "{text}");
            assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
            assert!(matches!(
                SigningKey::load(&signing, KeyPermissions::OwnerOnly),
                Err(KeyError::InsecurePermissions { .. })
            ));
            load_identities(&identity, KeyPermissions::AllowInsecure).unwrap();
            SigningKey::load(&signing, KeyPermissions::AllowInsecure).unwrap();
        }
        for path in [&identity, &signing] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400)).unwrap();
        }
        load_identities(&identity, KeyPermissions::OwnerOnly).unwrap();
        SigningKey::load(&signing, KeyPermissions::OwnerOnly).unwrap();
    }

    #[test]
    fn key_material_read_is_scrubbed_from_any_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        generate_signing_key(&path).unwrap();
        SigningKey::load(&path, KeyPermissions::OwnerOnly).unwrap();
        let secret_line = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_string();
        let text = format!("error near {secret_line} here");
        assert_eq!(
            iamsnap_provider::redact::scrub(&text),
            "error near [redacted] here"
        );
    }

    #[test]
    fn signatures_made_before_they_named_their_snapshot_still_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let public = generate_signing_key(&path).unwrap();
        let key = SigningKey::load(&path, KeyPermissions::OwnerOnly).unwrap();
        let old = minisign::sign(
            Some(&key.public),
            &key.secret,
            &b"archive bytes"[..],
            Some("timestamp:1764208800\tiamsnap 0.1.0"),
            Some("signature from iamsnap"),
        )
        .unwrap()
        .into_string();
        let signed = verify(&public, &old, &b"archive bytes"[..]).unwrap();
        assert_eq!(signed.snapshot, None);
    }
}
