use std::io::Write;

use chrono::{TimeZone, Utc};
use iamsnap_provider::{Record, Ref, RequestStats};
use proptest::prelude::*;
use serde_json::json;

use super::*;

struct Keys {
    recipients: Vec<Box<dyn age::Recipient + Send>>,
    identities: Vec<Box<dyn age::Identity>>,
}

fn keys() -> Keys {
    let identity = age::x25519::Identity::generate();
    Keys {
        recipients: vec![Box::new(identity.to_public())],
        identities: vec![Box::new(identity)],
    }
}

fn header() -> ManifestHeader {
    ManifestHeader {
        source: "okta-prod".into(),
        snapshot: "okta-prod/20261127T020000Z-00000001".into(),
        provider: "okta".into(),
        started: Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap(),
        finished: Utc.with_ymd_and_hms(2026, 11, 27, 2, 5, 0).unwrap(),
        requests: RequestStats {
            requests: 12,
            throttled: 1,
            retries: 2,
        },
        kinds_read: None,
    }
}

fn sorted(records: &[Record], budget: usize) -> SortedRecords {
    let mut spool = Spool::new(None, budget).unwrap();
    for record in records {
        spool.push(record).unwrap();
    }
    spool.finish().unwrap()
}

fn sample() -> Vec<Record> {
    vec![
        Record::new(
            "okta.user",
            "00u2",
            "bob@example.com",
            json!({"login": "bob"}),
            vec![],
        ),
        Record::new(
            "okta.user",
            "00u1",
            "ada@example.com",
            json!({"login": "ada"}),
            vec![],
        ),
        Record::new(
            "okta.group_membership",
            "00g1:00u1",
            "Engineering/ada@example.com",
            json!({}),
            vec![
                Ref::new("group", "okta.group", "00g1"),
                Ref::new("user", "okta.user", "00u1"),
            ],
        ),
        Record::new(
            "okta.group",
            "00g1",
            "Engineering",
            json!({"name": "Engineering"}),
            vec![],
        ),
    ]
}

fn archive_of(records: &[Record], keys: &Keys) -> (Vec<u8>, Manifest) {
    let mut out = Vec::new();
    let manifest = write_archive(
        header(),
        sorted(records, 1 << 20),
        &keys.recipients,
        &mut out,
    )
    .unwrap();
    (out, manifest)
}

fn read_all(bytes: &[u8], keys: &Keys) -> Result<Vec<Record>, ArchiveError> {
    let mut reader = ArchiveReader::open(bytes, &keys.identities)?;
    reader.records()?.collect()
}

/// An archive made by hand from raw tar entries, to test what the writer never produces.
fn raw_archive(entries: &[(&str, Vec<u8>)], keys: &Keys) -> Vec<u8> {
    let mut out = Vec::new();
    let encryptor = age::Encryptor::with_recipients(
        keys.recipients
            .iter()
            .map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .unwrap();
    let stream = encryptor.wrap_output(&mut out).unwrap();
    let mut tar = tar::Builder::new(zstd::Encoder::new(stream, 1).unwrap());
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        // Written by hand: the tar crate refuses to write `..`, an attacker would not.
        header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        tar.append(&header, &bytes[..]).unwrap();
    }
    tar.into_inner()
        .unwrap()
        .finish()
        .unwrap()
        .finish()
        .unwrap();
    out
}

fn manifest_for(files: &[(&str, &[u8], u64)]) -> Vec<u8> {
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        tool_version: "test".into(),
        source: "s".into(),
        // As archives written before names were recorded.
        snapshot: None,
        provider: "p".into(),
        started: header().started,
        finished: header().finished,
        counts: Default::default(),
        entries: Default::default(),
        requests: RequestStats::default(),
        kinds_read: None,
    };
    for (kind, bytes, count) in files {
        manifest.counts.insert(kind.to_string(), *count);
        manifest.entries.insert(
            manifest::records_path(kind),
            EntryDigest {
                sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
                size: bytes.len() as u64,
            },
        );
    }
    manifest.to_json()
}

fn line(kind: &str, id: &str) -> String {
    format!(
        "{}\n",
        Record::new(kind, id, id, json!({}), vec![]).to_canonical_json()
    )
}

#[test]
fn round_trip_keeps_records_in_kind_then_id_order() {
    let keys = keys();
    let (bytes, manifest) = archive_of(&sample(), &keys);
    assert_eq!(manifest.counts["okta.user"], 2);
    assert_eq!(manifest.counts["okta.group"], 1);
    assert_eq!(manifest.entries.len(), 3);
    assert_eq!(manifest.requests.throttled, 1);

    let mut reader = ArchiveReader::open(&bytes[..], &keys.identities).unwrap();
    assert_eq!(reader.manifest(), &manifest);
    let ids: Vec<(String, String)> = reader
        .records()
        .unwrap()
        .map(|r| r.map(|r| (r.kind, r.id)).unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            ("okta.group", "00g1"),
            ("okta.group_membership", "00g1:00u1"),
            ("okta.user", "00u1"),
            ("okta.user", "00u2"),
        ]
        .map(|(k, i)| (k.to_string(), i.to_string()))
    );
    assert!(matches!(
        reader.records(),
        Err(ArchiveError::RecordsAlreadyRead)
    ));
    assert_eq!(
        read_manifest_only(&bytes[..], &keys.identities).unwrap(),
        manifest
    );
}

#[test]
fn identical_duplicates_are_written_once_and_conflicting_ones_refused() {
    let keys = keys();
    let mut records = sample();
    records.push(records[0].clone());
    let (bytes, manifest) = archive_of(&records, &keys);
    assert_eq!(manifest.counts["okta.user"], 2);
    assert_eq!(read_all(&bytes, &keys).unwrap().len(), 4);

    let mut conflicting = sample();
    conflicting.push(Record::new(
        "okta.user",
        "00u1",
        "ada@example.com",
        json!({"login": "ADA"}),
        vec![],
    ));
    let err = write_archive(
        header(),
        sorted(&conflicting, 1 << 20),
        &keys.recipients,
        Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::DuplicateRecord { .. }), "{err}");
}

#[test]
fn kinds_that_are_not_file_names_are_refused() {
    let keys = keys();
    let records = [Record::new("../evil", "1", "k", json!({}), vec![])];
    let err = write_archive(
        header(),
        sorted(&records, 1 << 20),
        &keys.recipients,
        Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::InvalidKind { .. }), "{err}");
}

#[test]
fn empty_snapshot_round_trips() {
    let keys = keys();
    let (bytes, manifest) = archive_of(&[], &keys);
    assert_eq!(manifest.total_records(), 0);
    assert!(read_all(&bytes, &keys).unwrap().is_empty());
}

#[test]
fn a_wrong_key_is_an_integrity_error_that_says_so() {
    let (bytes, _) = archive_of(&sample(), &keys());
    let err = ArchiveReader::open(&bytes[..], &keys().identities)
        .err()
        .unwrap();
    assert!(matches!(err, ArchiveError::WrongKey));
    assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
    assert!(
        err.to_string()
            .contains("does not match the archive's recipients")
    );
}

#[test]
fn every_flipped_byte_is_an_integrity_error() {
    let keys = keys();
    let (bytes, _) = archive_of(&sample(), &keys);
    for position in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        let mut damaged = bytes.clone();
        damaged[position] ^= 0x20;
        let err = read_all(&damaged, &keys).err();
        let err = err.unwrap_or_else(|| panic!("flipping byte {position} went unnoticed"));
        assert_eq!(
            err.exit_status(),
            Some(ExitStatus::Integrity),
            "byte {position}: {err}"
        );
    }
}

#[test]
fn every_truncation_is_an_integrity_error() {
    let keys = keys();
    let many: Vec<Record> = (0..3000)
        .map(|i| Record::new("t.user", format!("{i:06}"), format!("u{i}"), json!({"n": i, "noise": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(i.to_string()))}), vec![]))
        .collect();
    let (bytes, _) = archive_of(&many, &keys);
    assert!(
        bytes.len() > 64 * 1024,
        "the archive must span several age chunks"
    );
    for cut in [
        bytes.len() - 1,
        bytes.len() - 17,
        65536 + 16 + 200,
        bytes.len() / 2,
        100,
        0,
    ] {
        let err = read_all(&bytes[..cut], &keys).err();
        let err = err.unwrap_or_else(|| panic!("cutting at {cut} went unnoticed"));
        assert_eq!(
            err.exit_status(),
            Some(ExitStatus::Integrity),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn a_changed_record_fails_the_manifest_hash() {
    let keys = keys();
    let users = format!("{}{}", line("t.user", "1"), line("t.user", "2"));
    let manifest = manifest_for(&[("t.user", users.as_bytes(), 2)]);
    let good = raw_archive(
        &[
            ("manifest.json", manifest.clone()),
            ("records/t.user.jsonl", users.clone().into_bytes()),
        ],
        &keys,
    );
    assert_eq!(read_all(&good, &keys).unwrap().len(), 2);

    let changed = users.replace("\"1\"", "\"0\"");
    assert_eq!(changed.len(), users.len());
    let bad = raw_archive(
        &[
            ("manifest.json", manifest.clone()),
            ("records/t.user.jsonl", changed.into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&bad, &keys),
        Err(ArchiveError::HashMismatch { .. })
    ));

    let shorter = line("t.user", "1");
    let bad = raw_archive(
        &[
            ("manifest.json", manifest),
            ("records/t.user.jsonl", shorter.into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&bad, &keys),
        Err(ArchiveError::SizeMismatch { .. })
    ));
}

#[test]
fn counts_order_and_entries_are_checked() {
    let keys = keys();
    let users = format!("{}{}", line("t.user", "1"), line("t.user", "2"));
    let wrong_count = manifest_for(&[("t.user", users.as_bytes(), 3)]);
    let bad = raw_archive(
        &[
            ("manifest.json", wrong_count),
            ("records/t.user.jsonl", users.into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&bad, &keys),
        Err(ArchiveError::CountMismatch { .. })
    ));

    let unsorted = format!("{}{}", line("t.user", "2"), line("t.user", "1"));
    let manifest = manifest_for(&[("t.user", unsorted.as_bytes(), 2)]);
    let bad = raw_archive(
        &[
            ("manifest.json", manifest),
            ("records/t.user.jsonl", unsorted.into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&bad, &keys),
        Err(ArchiveError::OutOfOrder { .. })
    ));

    let a = line("a.x", "1");
    let b = line("b.x", "1");
    let manifest = manifest_for(&[("a.x", a.as_bytes(), 1), ("b.x", b.as_bytes(), 1)]);
    let swapped = raw_archive(
        &[
            ("manifest.json", manifest.clone()),
            ("records/b.x.jsonl", b.clone().into_bytes()),
            ("records/a.x.jsonl", a.clone().into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&swapped, &keys),
        Err(ArchiveError::OutOfOrder { .. })
    ));
    let missing = raw_archive(
        &[
            ("manifest.json", manifest.clone()),
            ("records/a.x.jsonl", a.clone().into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&missing, &keys),
        Err(ArchiveError::MissingEntry { .. })
    ));
    let extra = raw_archive(
        &[
            ("manifest.json", manifest.clone()),
            ("records/a.x.jsonl", a.clone().into_bytes()),
            ("records/b.x.jsonl", b.into_bytes()),
            ("notes.txt", b"hi".to_vec()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&extra, &keys),
        Err(ArchiveError::UnexpectedEntry { .. })
    ));
    let traversal = raw_archive(
        &[
            ("manifest.json", manifest),
            ("records/../a.x.jsonl", a.into_bytes()),
        ],
        &keys,
    );
    assert!(matches!(
        read_all(&traversal, &keys),
        Err(ArchiveError::UnexpectedEntry { .. })
    ));
}

#[test]
fn the_manifest_must_come_first_and_be_known() {
    let keys = keys();
    let a = line("a.x", "1");
    let manifest = manifest_for(&[("a.x", a.as_bytes(), 1)]);
    let late = raw_archive(
        &[
            ("records/a.x.jsonl", a.into_bytes()),
            ("manifest.json", manifest),
        ],
        &keys,
    );
    let err = ArchiveReader::open(&late[..], &keys.identities)
        .err()
        .unwrap();
    assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");

    let future = raw_archive(
        &[("manifest.json", br#"{"format_version": 99}"#.to_vec())],
        &keys,
    );
    let err = ArchiveReader::open(&future[..], &keys.identities)
        .err()
        .unwrap();
    assert!(
        matches!(err, ArchiveError::UnsupportedFormat { version: 99 }),
        "{err}"
    );
}

#[test]
fn build_signs_the_encrypted_bytes() {
    let keys = keys();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("signing.key");
    let public = crate::keys::generate_signing_key(&key_path).unwrap();
    let signing = SigningKey::load(&key_path, crate::keys::KeyPermissions::OwnerOnly).unwrap();
    let built = build(
        header(),
        sorted(&sample(), 1 << 20),
        &keys.recipients,
        &signing,
        Some(dir.path()),
    )
    .unwrap();
    assert_eq!(built.size, std::fs::metadata(built.path()).unwrap().len());
    assert!(built.path().starts_with(dir.path()));
    let bytes = std::fs::read(built.path()).unwrap();
    let signed = crate::keys::verify(&public, &built.signature, &bytes[..]).unwrap();
    assert_eq!(
        signed.snapshot.as_deref(),
        Some("okta-prod/20261127T020000Z-00000001"),
        "the signature names the snapshot"
    );
    assert_eq!(read_all(&bytes, &keys).unwrap().len(), 4);
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    assert!(crate::keys::verify(&public, &built.signature, &flipped[..]).is_err());
}

fn arb_record() -> impl Strategy<Value = Record> {
    (
        prop::sample::select(vec!["okta.user", "okta.group", "aws.role", "t.x-y_z"]),
        "[a-zA-Z0-9:_é-]{1,12}",
        ".{0,20}",
        prop::collection::btree_map(
            "[a-z]{1,6}",
            prop_oneof![
                any::<i64>().prop_map(|n| json!(n)),
                ".{0,16}".prop_map(|s| json!(s)),
                any::<bool>().prop_map(|b| json!(b))
            ],
            0..4,
        ),
        prop::collection::vec(("[a-z]{1,5}", "[a-z.]{1,8}", "[0-9a-z]{1,6}"), 0..3),
    )
        .prop_map(|(kind, id, key, attrs, refs)| {
            Record::new(
                kind,
                id,
                key,
                serde_json::to_value(attrs).unwrap(),
                refs.into_iter()
                    .map(|(rel, kind, id)| Ref::new(rel, kind, id))
                    .collect(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn records_survive_archive_round_trip(records in prop::collection::vec(arb_record(), 0..60), budget in 200usize..5000) {
        let keys = keys();
        let mut expected: std::collections::BTreeMap<(String, String), Record> = Default::default();
        let mut unique = Vec::new();
        for record in records {
            if expected.contains_key(&(record.kind.clone(), record.id.clone())) {
                continue;
            }
            expected.insert((record.kind.clone(), record.id.clone()), record.clone());
            unique.push(record);
        }
        let mut out = Vec::new();
        let manifest = write_archive(header(), sorted(&unique, budget), &keys.recipients, &mut out).unwrap();
        prop_assert_eq!(manifest.total_records(), expected.len() as u64);
        let back = read_all(&out, &keys).unwrap();
        let expected: Vec<Record> = expected.into_values().collect();
        prop_assert_eq!(back, expected);
    }
}

#[test]
fn writing_to_a_failing_sink_is_a_storage_failure() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let keys = keys();
    let err =
        write_archive(header(), sorted(&sample(), 1 << 20), &keys.recipients, Full).unwrap_err();
    assert_eq!(err.exit_status(), Some(ExitStatus::Failure), "{err}");
    assert!(err.to_string().contains("disk full"));
}

#[test]
fn an_open_reader_can_move_to_another_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let keys = keys();
    let (bytes, _) = archive_of(&sample(), &keys);
    let reader = ArchiveReader::open(std::io::Cursor::new(bytes), &keys.identities).unwrap();
    assert_send(&reader);
    let manifest = std::thread::spawn(move || reader.verify().unwrap())
        .join()
        .unwrap();
    assert_eq!(manifest.total_records(), 4);
}

/// The tar stream inside a valid archive of `sample()`, decrypted and decompressed.
fn plaintext_tar(keys: &Keys) -> Vec<u8> {
    let (bytes, _) = archive_of(&sample(), keys);
    let decryptor = age::Decryptor::new_buffered(&bytes[..]).unwrap();
    let reader = decryptor
        .decrypt(keys.identities.iter().map(|i| i.as_ref()))
        .unwrap();
    zstd::decode_all(reader).unwrap()
}

/// `tar` re-compressed and encrypted, as an attacker holding a recipient could.
fn seal(tar: &[u8], keys: &Keys) -> Vec<u8> {
    let mut out = Vec::new();
    let encryptor = age::Encryptor::with_recipients(
        keys.recipients
            .iter()
            .map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .unwrap();
    let mut stream = encryptor.wrap_output(&mut out).unwrap();
    stream
        .write_all(&zstd::encode_all(tar, 1).unwrap())
        .unwrap();
    stream.finish().unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A changed plaintext never panics the reader, and whatever it accepts is exactly what
    /// was written: the checks leave no room for a silently altered record.
    #[test]
    fn altered_plaintext_is_refused_or_harmless(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let keys = keys();
        let mut tar = plaintext_tar(&keys);
        for (index, mask) in &flips {
            let at = index.index(tar.len());
            tar[at] ^= mask;
        }
        if let Some(cut) = cut {
            tar.truncate(cut.index(tar.len()));
        }
        if let Ok(records) = read_all(&seal(&tar, &keys), &keys) {
            let mut expected = sample();
            expected.sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
            prop_assert_eq!(records, expected);
        }
    }

    /// Arbitrary bytes behind a valid age header never panic the reader.
    #[test]
    fn arbitrary_plaintext_never_panics(tar in prop::collection::vec(any::<u8>(), 0..4096)) {
        let keys = keys();
        let _ = read_all(&seal(&tar, &keys), &keys);
    }
}

/// A manifest that records its snapshot's name is refused under any other, even one with the
/// same source and second (another millisecond prefix or random suffix).
#[test]
fn a_manifest_that_names_its_snapshot_is_refused_under_another_name() {
    let mut manifest = Manifest::from_json(&manifest_for(&[])).unwrap();
    let at = manifest.started;
    manifest.snapshot = Some("s/20261127T020000Z-1f4abcde".into());
    let json = manifest.to_json();
    let manifest = Manifest::from_json(&json).unwrap();
    assert_eq!(
        manifest.snapshot.as_deref(),
        Some("s/20261127T020000Z-1f4abcde")
    );
    manifest
        .check_stored_as("s/20261127T020000Z-1f4abcde", "s", at)
        .unwrap();
    for other in [
        "s/20261127T020000Z-2004abcd",
        "s/20261127T020000Z-1f4abcdf",
        "t/20261127T020000Z-1f4abcde",
    ] {
        let err = manifest.check_stored_as(other, "s", at).unwrap_err();
        assert!(matches!(err, ArchiveError::Misplaced { .. }), "{err}");
        assert!(
            err.to_string().contains("s/20261127T020000Z-1f4abcde"),
            "{err}"
        );
        assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
    }
}

/// Data after the tar's two end blocks makes the archive invalid; it is not read to its end
/// (zeros appended compress to almost nothing, and would take time to read).
#[test]
fn data_after_the_end_of_the_tar_is_refused() {
    let keys = keys();
    let mut tar = plaintext_tar(&keys);
    assert!(read_all(&seal(&tar, &keys), &keys).is_ok());
    let end = tar.len();
    for tail in [
        vec![0u8; 1],
        vec![0u8; 512],
        b"junk".to_vec(),
        vec![0u8; 10240],
    ] {
        tar.truncate(end);
        tar.extend_from_slice(&tail);
        let err = read_all(&seal(&tar, &keys), &keys).unwrap_err();
        assert!(
            err.to_string().contains("data follows the end of the tar"),
            "{err}"
        );
        assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
    }
    // Without its second end block.
    tar.truncate(end - 512);
    let err = read_all(&seal(&tar, &keys), &keys).unwrap_err();
    assert!(err.to_string().contains("end-of-archive"), "{err}");
}

#[test]
fn a_manifest_belongs_only_where_it_was_stored() {
    let manifest = Manifest::from_json(&manifest_for(&[])).unwrap();
    let at = manifest.started;
    manifest.check_stored_as("s/x", "s", at).unwrap();
    let whole_second = at - chrono::TimeDelta::nanoseconds(i64::from(at.timestamp_subsec_nanos()));
    manifest.check_stored_as("s/x", "s", whole_second).unwrap();
    let moved = manifest.check_stored_as("t/x", "t", at).unwrap_err();
    assert!(matches!(moved, ArchiveError::Misplaced { .. }), "{moved}");
    assert!(moved.to_string().contains("source s taken at"), "{moved}");
    assert_eq!(moved.exit_status(), Some(ExitStatus::Integrity));
    let replayed = manifest
        .check_stored_as("s/y", "s", at + chrono::TimeDelta::hours(1))
        .unwrap_err();
    assert!(
        matches!(replayed, ArchiveError::Misplaced { .. }),
        "{replayed}"
    );
}
