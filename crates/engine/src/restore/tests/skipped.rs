//! Operations a connector declines while the restore runs (`Outcome::Skipped`): they took no
//! effect, so they are never counted, journalled or verified as done, and a resumed restore
//! runs them again (their cause may have been dealt with) while it never repeats what was done.

use super::*;

/// Every journal event of the restore journalled in `dir`, in order.
async fn events(store: &dyn JournalStore, dir: &str) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let mut paths = store.list(&format!("{dir}/ops/")).await.unwrap();
    paths.sort();
    for path in &paths {
        let bytes = store.get(path).await.unwrap().unwrap();
        let contents = sealed::open(path, &bytes, &test_keys()).unwrap();
        for line in String::from_utf8(contents).unwrap().lines() {
            events.push(serde_json::from_str(line).unwrap());
        }
    }
    events
}

/// The `end` of each event journalled for the operation on `key`.
fn ends_of(plan: &Plan, events: &[serde_json::Value], key: &str) -> Vec<serde_json::Value> {
    let seq = plan
        .operations
        .to_vec()
        .unwrap()
        .into_iter()
        .find(|o| o.key == key)
        .unwrap()
        .seq;
    events
        .iter()
        .filter(|e| e["seq"] == seq && e.get("end").is_some())
        .map(|e| e["end"].clone())
        .collect()
}

#[test]
fn a_declined_operation_is_journalled_as_skipped_and_run_again_on_resume() {
    runtime().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalJournalStore::new(dir.path());
        let mut live = MemoryProvider::new(damaged());
        live.declines = Some("Engineering");
        let options = PlanOptions::default();
        let plan = plan_for(&snapshot(), &live, &options).unwrap();
        let journal = Journal::create(&store, &plan, &test_keys()).await.unwrap();
        let first = apply(
            &plan,
            &live,
            &journal,
            &BTreeMap::new(),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
        // Grace created and Ada renamed back; Engineering declined, so its two memberships
        // cannot be made.
        assert_eq!((first.done, first.failed), (2, 2), "{first:?}");
        assert!(
            first
                .skipped_operations
                .iter()
                .any(|s| s.key == "Engineering" && s.reason.contains("declined")),
            "{first:?}"
        );
        assert!(
            first.residual.iter().all(|r| r.key != "Engineering"),
            "a skipped operation is not verified as if done: {first:?}"
        );
        let journalled = events(&store, &first.journal).await;
        let ends = ends_of(&plan, &journalled, "Engineering");
        assert_eq!(ends.len(), 1, "{journalled:?}");
        assert_eq!(ends[0]["result"], "skipped", "{journalled:?}");
        assert_eq!(ends_of(&plan, &journalled, "grace")[0]["result"], "done");

        // Run again identically, without --resume (journalled apart, so that the first run
        // stays the one to resume): still nothing done for Engineering.
        let elsewhere = tempfile::tempdir().unwrap();
        let other = LocalJournalStore::new(elsewhere.path());
        let again = restore(&snapshot(), &live, &other, &options).await.unwrap();
        assert_eq!(
            (again.done, again.failed, again.skipped),
            (0, 2, 1),
            "{again:?}"
        );
        assert!(again.residual.is_empty(), "{again:?}");

        // The cause dealt with, the first restore resumed: the declined create runs again,
        // then the memberships that needed it; what was done is not repeated.
        live.declines = None;
        let (journal, plan) =
            Journal::latest_unfinished(&store, "mem", &plan.snapshot, &test_keys())
                .await
                .unwrap()
                .expect("the restore with failures is unfinished");
        let states = journal.states().await.unwrap();
        let resumed = apply(&plan, &live, &journal, &states, &ApplyOptions::default())
            .await
            .unwrap();
        assert!(resumed.is_complete(), "{resumed:?}");
        assert_eq!((resumed.done, resumed.skipped), (5, 0), "{resumed:?}");
        let all = live.all();
        for key in ["grace", "Engineering"] {
            assert_eq!(
                all.iter().filter(|r| r.key == key).count(),
                1,
                "{key} is created once: {all:?}"
            );
        }
        assert!(
            plan_for(&snapshot(), &live, &options)
                .unwrap()
                .operations
                .is_empty()
        );
        let journalled = events(&store, &journal.dir).await;
        let ends: Vec<serde_json::Value> = ends_of(&plan, &journalled, "Engineering")
            .into_iter()
            .map(|e| e["result"].clone())
            .collect();
        assert_eq!(ends, ["skipped", "done"], "{journalled:?}");
        assert_eq!(
            ends_of(&plan, &journalled, "grace").len(),
            1,
            "grace's create ran once: {journalled:?}"
        );
    });
}

#[test]
fn a_skip_journalled_as_done_by_an_older_iamsnap_is_read_as_skipped() {
    let end: OpEnd = serde_json::from_value(json!({
        "result": "done",
        "outcome": {"outcome": "skipped", "reason": "declined"}
    }))
    .unwrap();
    let state = OpState {
        attempts: 1,
        end: Some(end),
    }
    .normalized();
    assert_eq!(
        state.end,
        Some(OpEnd::Skipped {
            reason: "declined".into()
        })
    );
    assert!(!state.is_done());
}
