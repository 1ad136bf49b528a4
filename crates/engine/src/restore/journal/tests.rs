use iamsnap_provider::{Action, Outcome, Record};
use serde_json::json;

use super::sealed::test_keys;
use super::*;
use crate::error::{Classify, ExitStatus};
use crate::restore::PlannedOp;
use crate::restore::spill::Spilled;

const SNAPSHOT: &str = "mem/20261127T020000Z-00000000";
const LOGIN: &str = "ada.lovelace@example.com";

fn plan() -> Plan {
    let desired = Record::new(
        "t.user",
        "u1",
        LOGIN,
        json!({"profile": {"login": LOGIN}}),
        vec![],
    );
    Plan {
        snapshot: SNAPSHOT.into(),
        target: "mem".into(),
        operations: Spilled::collect([PlannedOp {
            seq: 0,
            level: 0,
            action: Action::Create,
            kind: "t.user".into(),
            key: LOGIN.into(),
            snapshot_id: Some("u1".into()),
            live_id: None,
            fields: vec![],
            desired: Some(desired),
            current: None,
        }])
        .unwrap(),
        ..Plan::default()
    }
}

fn done() -> OpEnd {
    OpEnd::Done {
        outcome: Outcome::Applied { id: "x".into() },
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A journal with its plan and one segment of events, as a killed restore leaves it.
async fn interrupted(store: &LocalJournalStore) -> String {
    let journal = Journal::create(store, &plan(), &test_keys()).await.unwrap();
    journal.started(0, 1).await.unwrap();
    journal.dir.clone()
}

async fn resume(
    store: &LocalJournalStore,
    keys: &JournalKeys,
) -> Result<BTreeMap<usize, OpState>, JournalError> {
    let (journal, _) = Journal::latest_unfinished(store, "mem", SNAPSHOT, keys)
        .await?
        .expect("unfinished");
    journal.states().await
}

fn every_file(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn sealed_journals_hold_no_plaintext_and_read_back() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let path = interrupted(&store).await;
        let files = every_file(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        for file in files {
            let raw = std::fs::read(&file).unwrap();
            assert!(raw.starts_with(b"iamsnap-journal 1\nuntrusted comment:"));
            for plain in [LOGIN.as_bytes(), b"\"seq\"", b"t.user"] {
                assert!(!raw.windows(plain.len()).any(|w| w == plain), "{file:?}");
            }
        }
        let (journal, plan) = Journal::latest_unfinished(&store, "mem", SNAPSHOT, &test_keys())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (journal.dir.as_str(), journal.legacy),
            (path.as_str(), false)
        );
        assert_eq!(plan.operations.to_vec().unwrap()[0].key, LOGIN);
        let states = journal.states().await.unwrap();
        assert_eq!(states[&0].attempts, 1);
        journal.ended(0, 1, &done()).await.unwrap();
        journal.finished(&json!({"done": 1})).await.unwrap();
        assert!(
            Journal::latest_unfinished(&store, "mem", SNAPSHOT, &test_keys())
                .await
                .unwrap()
                .is_none()
        );
    });
}

#[test]
fn a_journal_changed_in_the_repository_is_refused() {
    runtime().block_on(async {
        for object in ["plan.sealed", "ops/00000000.sealed"] {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalJournalStore::new(dir.path());
            let journal = interrupted(&store).await;
            let file = dir.path().join(&journal).join(object);
            let mut raw = std::fs::read(&file).unwrap();
            let last = raw.len() - 1;
            raw[last] ^= 1;
            std::fs::write(&file, raw).unwrap();
            let err = resume(&store, &test_keys()).await.unwrap_err();
            assert!(
                matches!(err, JournalError::Untrusted { .. }),
                "{object}: {err}"
            );
            assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
            assert!(err.to_string().contains(object), "{err}");
        }
    });
}

#[test]
fn a_signed_object_moved_elsewhere_is_refused() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let journal = interrupted(&store).await;
        let ops = dir.path().join(&journal).join("ops");
        std::fs::copy(ops.join("00000000.sealed"), ops.join("00000007.sealed")).unwrap();
        let err = resume(&store, &test_keys()).await.unwrap_err();
        assert!(matches!(err, JournalError::Misplaced { .. }), "{err}");
        assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
    });
}

#[test]
fn a_journal_signed_by_an_untrusted_key_is_refused_and_one_by_this_host_is_read() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        interrupted(&store).await;
        let keys_dir = tempfile::tempdir().unwrap();
        let other = keys_dir.path().join("other.key");
        let other_public = crate::keys::generate_signing_key(&other).unwrap();
        let mut keys = test_keys();
        // Signed by neither repository.verify_key nor this host's signing key.
        keys.open.verify_key = Some(other_public.clone());
        let own = keys.seal.clone().unwrap();
        keys.seal = Some(
            crate::backup::Seal::new(
                own.recipients.clone(),
                crate::keys::SigningKey::load(&other, crate::keys::KeyPermissions::OwnerOnly)
                    .unwrap(),
            )
            .unwrap(),
        );
        let err = resume(&store, &keys).await.unwrap_err();
        assert!(matches!(err, JournalError::Untrusted { .. }), "{err}");
        // This host's own signing key is trusted beside repository.verify_key.
        keys.seal = Some(own);
        assert_eq!(resume(&store, &keys).await.unwrap().len(), 1);
        // No key to check with at all.
        keys.seal = None;
        keys.open.verify_key = None;
        let err = resume(&store, &keys).await.unwrap_err();
        assert!(matches!(err, JournalError::NoVerifyKey), "{err}");
    });
}

#[test]
fn reading_needs_the_identity_and_writing_the_seal() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        interrupted(&store).await;
        let mut keys = test_keys();
        keys.open.identity = None;
        let err = resume(&store, &keys).await.unwrap_err();
        assert!(matches!(err, JournalError::NoIdentity), "{err}");
        assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
        assert!(err.to_string().contains("--identity"), "{err}");

        let keys = JournalKeys {
            seal: None,
            ..test_keys()
        };
        let err = Journal::create(&store, &plan(), &keys).await.err().unwrap();
        assert!(matches!(err, JournalError::NoSeal), "{err}");
        assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
    });
}

#[test]
fn a_plain_object_in_a_sealed_journal_is_refused() {
    runtime().block_on(async {
        for (object, bytes) in [
            ("ops/00000005.jsonl", &b"{\"seq\":0,\"attempt\":1,\"end\":{\"result\":\"done\",\"outcome\":{\"outcome\":\"applied\",\"id\":\"x\"}}}\n"[..]),
            ("finished.json", &b"{}"[..]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let store = LocalJournalStore::new(dir.path());
            let journal = interrupted(&store).await;
            store
                .put_new(&format!("{journal}/{object}"), bytes.to_vec())
                .await
                .unwrap();
            let err = resume(&store, &test_keys()).await.unwrap_err();
            assert!(matches!(err, JournalError::Damaged { .. }), "{err}");
            assert!(err.to_string().contains(object), "{err}");
        }
    });
}

#[test]
fn a_journal_written_before_sealing_is_resumed_and_its_new_events_are_sealed() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let journal = "journals/mem/20261127T030000000Z-0000abcd";
        let mut plan_bytes = zstd::Encoder::new(Vec::new(), 3).unwrap();
        serde_json::to_writer(&mut plan_bytes, &plan()).unwrap();
        store
            .put_new(
                &format!("{journal}/plan.json.zst"),
                plan_bytes.finish().unwrap(),
            )
            .await
            .unwrap();
        // A segment cut short by a crash: its incomplete last line does not count.
        store
            .put_new(
                &format!("{journal}/ops/00000000.jsonl"),
                br#"{"seq":0,"attempt":1,"started":"2026-11-27T03:00:00Z"}
{"seq":0,"attempt":1,"end":{"res"#
                    .to_vec(),
            )
            .await
            .unwrap();
        let (resumed, plan) = Journal::latest_unfinished(&store, "mem", SNAPSHOT, &test_keys())
            .await
            .unwrap()
            .expect("unfinished");
        assert!(resumed.legacy);
        assert_eq!(plan.operations.len(), 1);
        let states = resumed.states().await.unwrap();
        assert_eq!((states[&0].attempts, states[&0].end.is_none()), (1, true));

        resumed.started(0, 2).await.unwrap();
        resumed.ended(0, 2, &done()).await.unwrap();
        let names: Vec<String> = store
            .list(&format!("{journal}/ops/"))
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.rsplit('/').next().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            ["00000000.jsonl", "00000001.sealed", "00000002.sealed"]
        );
        let states = resumed.states().await.unwrap();
        assert_eq!(
            (states[&0].attempts, states[&0].end.clone()),
            (2, Some(done()))
        );
        resumed.finished(&json!({})).await.unwrap();
        assert!(
            Journal::latest_unfinished(&store, "mem", SNAPSHOT, &test_keys())
                .await
                .unwrap()
                .is_none()
        );
    });
}
