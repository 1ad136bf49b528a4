//! Journal objects as they are stored: encrypted to the repository's recipients (age) and
//! signed (minisign), like archives, so that whoever can read or write the repository (the
//! backup host among them) can neither read a journal's records nor change one unnoticed.
//!
//! A sealed object is a single object, stored whole or not at all, in one request:
//!
//! ```text
//! iamsnap-journal 1
//! <minisign signature of the age ciphertext below: four lines>
//! <age ciphertext of: the object's path in the repository, a newline, the contents>
//! ```
//!
//! The signature is checked before anything is decrypted. The path inside the ciphertext ties
//! the object to its place: a signed segment copied into another journal, or stored under
//! another number, is refused. With standard tools: `head -n 5 OBJ | tail -n 4 > OBJ.minisig`,
//! `tail -n +6 OBJ > OBJ.age`, `minisign -V -p KEY.pub -m OBJ.age -x OBJ.minisig`,
//! `age -d -i IDENTITY OBJ.age`.

use std::io::{self, Read, Write};

use crate::backup::Seal;
use crate::keys;
use crate::open::OpenOptions;

use super::JournalError;

/// The first line of every sealed object.
const MAGIC: &str = "iamsnap-journal 1\n";
/// Lines of a minisign signature.
const SIGNATURE_LINES: usize = 4;

/// The keys of a restore's journal.
#[derive(Debug, Clone, Default)]
pub struct JournalKeys {
    /// Seals what the journal writes: `repository.recipients` and the signing key of the host
    /// that restores. Without it a journal can be read, not written.
    pub seal: Option<Seal>,
    /// Opens what it reads: the identity, `repository.verify_key` and
    /// `--insecure-skip-signature`, as for archives. A journal signed by this host's own
    /// signing key (in [`JournalKeys::seal`]) is trusted too.
    pub open: OpenOptions,
}

/// Encrypts what `write` writes and signs it, as the object at `path`.
pub(super) fn seal(
    path: &str,
    keys: &JournalKeys,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<Vec<u8>, JournalError> {
    let seal = keys.seal.as_ref().ok_or(JournalError::NoSeal)?;
    let recipients = keys::parse_recipients(&seal.recipients)?;
    let storage = |e: io::Error| JournalError::Storage {
        path: path.to_string(),
        message: format!("cannot encrypt: {e}"),
    };
    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| storage(io::Error::other(e.to_string())))?;
    let mut ciphertext = Vec::new();
    let mut plain = encryptor.wrap_output(&mut ciphertext).map_err(storage)?;
    plain.write_all(path.as_bytes()).map_err(storage)?;
    plain.write_all(b"\n").map_err(storage)?;
    write(&mut plain).map_err(storage)?;
    plain.finish().map_err(storage)?;
    let signature = seal.signing_key.sign(path, &ciphertext[..])?;
    let mut object = Vec::with_capacity(MAGIC.len() + signature.len() + 1 + ciphertext.len());
    object.extend_from_slice(MAGIC.as_bytes());
    object.extend_from_slice(signature.as_bytes());
    if !signature.ends_with('\n') {
        object.push(b'\n');
    }
    object.extend_from_slice(&ciphertext);
    Ok(object)
}

/// Checks the signature of the object stored at `path`, decrypts it and checks that it was
/// sealed for that path; returns a reader of its contents.
pub(super) fn unseal<'b>(
    path: &str,
    object: &'b [u8],
    keys: &JournalKeys,
) -> Result<impl Read + 'b, JournalError> {
    let damaged = |message: &str| JournalError::Damaged {
        path: path.to_string(),
        message: message.to_string(),
    };
    let body = object
        .strip_prefix(MAGIC.as_bytes())
        .ok_or_else(|| damaged("it is not a sealed journal object"))?;
    let mut end = 0;
    for _ in 0..SIGNATURE_LINES {
        end += body[end..]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| damaged("its signature is cut short"))?
            + 1;
    }
    let signature =
        std::str::from_utf8(&body[..end]).map_err(|_| damaged("its signature is not text"))?;
    let ciphertext = &body[end..];
    check_signature(path, signature, ciphertext, keys)?;

    if keys.open.identity.is_none() {
        return Err(JournalError::NoIdentity);
    }
    let identities = keys
        .open
        .identities()
        .map_err(|source| JournalError::Open {
            path: path.to_string(),
            source,
        })?;
    let decryptor = age::Decryptor::new_buffered(ciphertext)
        .map_err(|e| damaged(&format!("cannot decrypt: {e}")))?;
    let mut plain = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref()))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => JournalError::WrongKey {
                path: path.to_string(),
            },
            e => damaged(&format!("cannot decrypt: {e}")),
        })?;
    let mut sealed_for = Vec::with_capacity(path.len() + 1);
    let mut byte = [0u8; 1];
    while sealed_for.len() <= path.len() {
        plain
            .read_exact(&mut byte)
            .map_err(|e| damaged(&format!("cannot decrypt: {e}")))?;
        if byte[0] == b'\n' {
            break;
        }
        sealed_for.push(byte[0]);
    }
    if sealed_for != path.as_bytes() {
        return Err(JournalError::Misplaced {
            path: path.to_string(),
            found: String::from_utf8_lossy(&sealed_for).into_owned(),
        });
    }
    Ok(plain)
}

/// The contents of the sealed object stored at `path`, its seal checked as
/// [`Journal::latest_unfinished`](super::Journal::latest_unfinished) checks it.
pub fn open(path: &str, object: &[u8], keys: &JournalKeys) -> Result<Vec<u8>, JournalError> {
    let mut contents = Vec::new();
    unseal(path, object, keys)?
        .read_to_end(&mut contents)
        .map_err(|e| JournalError::Damaged {
            path: path.to_string(),
            message: e.to_string(),
        })?;
    Ok(contents)
}

/// The signature must be one of a trusted key: `repository.verify_key`, or this host's own.
fn check_signature(
    path: &str,
    signature: &str,
    ciphertext: &[u8],
    keys: &JournalKeys,
) -> Result<(), JournalError> {
    let own = keys.seal.as_ref().map(|s| s.signing_key.public_key());
    let trusted: Vec<&str> = keys
        .open
        .verify_key
        .iter()
        .map(String::as_str)
        .chain(own.as_deref())
        .collect();
    if trusted.is_empty() {
        if keys.open.insecure_skip_signature {
            tracing::warn!(journal = %path, "journal signature not checked (--insecure-skip-signature)");
            return Ok(());
        }
        return Err(JournalError::NoVerifyKey);
    }
    let mut refused = None;
    for key in trusted {
        match keys::verify(key, signature, ciphertext) {
            Ok(_) => return Ok(()),
            Err(e) => refused = Some(e),
        }
    }
    Err(JournalError::Untrusted {
        path: path.to_string(),
        reason: refused.map(|e| e.to_string()).unwrap_or_default(),
    })
}

/// Keys for tests: a fresh identity and signing key, the same for the whole test run.
#[cfg(test)]
pub(crate) fn test_keys() -> JournalKeys {
    static KEYS: std::sync::OnceLock<(tempfile::TempDir, JournalKeys)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let identity = dir.path().join("identity.txt");
        let recipient = keys::write_identity(&identity).unwrap();
        let signing = dir.path().join("signing.key");
        let verify_key = keys::generate_signing_key(&signing).unwrap();
        let seal = Seal::new(
            vec![recipient],
            keys::SigningKey::load(&signing, keys::KeyPermissions::OwnerOnly).unwrap(),
        )
        .unwrap();
        let keys = JournalKeys {
            seal: Some(seal),
            open: OpenOptions {
                verify_key: Some(verify_key),
                insecure_skip_signature: false,
                identity: Some(identity),
                key_permissions: keys::KeyPermissions::OwnerOnly,
            },
        };
        (dir, keys)
    })
    .1
    .clone()
}
