//! Entry points for the fuzz targets under `fuzz/` and their regression tests: arbitrary bytes
//! are treated as an archive's plaintext (what lies inside the age layer), encrypted to a fixed
//! throwaway key, and read back completely. Every outcome but a panic is fine.

use std::io::Write;

use crate::archive::ArchiveReader;

/// A throwaway identity used only to wrap fuzz inputs; it protects nothing.
const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-1GPZCT065JGZ69CT4WK2L543KMDDTJRVRJAKCC002QVXN8YDDKSSQ55LNVX";

/// Encrypts `plaintext` to the fuzz key, opens it as an archive and reads every record.
pub fn read_plaintext(plaintext: &[u8]) {
    let identity: age::x25519::Identity = FUZZ_IDENTITY.parse().expect("the fuzz identity parses");
    let recipient = identity.to_public();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .expect("one recipient");
    let mut encrypted = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut encrypted)
        .expect("in-memory output");
    writer.write_all(plaintext).expect("in-memory output");
    writer.finish().expect("in-memory output");

    let identities: Vec<Box<dyn age::Identity>> = vec![Box::new(identity)];
    if let Ok(mut reader) = ArchiveReader::open(encrypted.as_slice(), &identities)
        && let Ok(records) = reader.records()
    {
        for record in records {
            if record.is_err() {
                break;
            }
        }
    }
}
