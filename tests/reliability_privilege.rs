//! Least privilege: a token that may read but not write backs up and plans fine, and a restore
//! with it stops at the first refused write with exit 3, naming the missing permission, with
//! nothing changed in the org; the same restore then resumes with a token that may write.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use iamsnap_testkit::okta::OktaEmulator;
use reliability::*;
use support::okta_api::Api;
use support::*;

const READ_ONLY_TOKEN: &str = "okta-readonly-DO-NOT-LEAK-0e0e";

#[test]
fn a_read_only_token_restores_nothing_and_says_which_permission_is_missing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let okta = runtime
        .block_on(
            OktaEmulator::builder()
                .users(60)
                .groups(10)
                .apps(2)
                .seed(11)
                .token(OKTA_TOKEN)
                .read_only_token(READ_ONLY_TOKEN)
                .start(),
        )
        .unwrap();
    let ws = Workspace::new(okta.base_url());
    let read_only = [("IAMSNAP_TEST_OKTA_TOKEN", READ_ONLY_TOKEN)];
    assert_exit(&ws.iamsnap(&["init"]), 0);
    // Reading needs no write permission.
    assert_exit(&iamsnap_env(&ws, &["backup", "--all"], &read_only), 0);

    let api = Api::new(&ws, okta.base_url());
    api.delete_groups(3);
    let damaged = api.counts();
    let plan = iamsnap_env(&ws, &["restore", "okta-test@latest"], &read_only);
    assert_exit(&plan, 1);

    let out = iamsnap_env(
        &ws,
        &["restore", "okta-test@latest", "--apply", "--yes"],
        &read_only,
    );
    assert_exit(&out, 3);
    let message = stderr(&out);
    assert!(message.contains("permission denied"), "{}", describe(&out));
    assert!(message.contains("okta.groups.manage"), "{}", describe(&out));
    assert!(!message.contains(READ_ONLY_TOKEN) && !stdout(&out).contains(READ_ONLY_TOKEN));
    assert_eq!(api.counts(), damaged, "a refused restore changed the org");
    // It stopped after the first refused level instead of trying every operation.
    let total = serde_json::from_slice::<serde_json::Value>(
        &iamsnap_env(
            &ws,
            &["restore", "okta-test@latest", "--format", "json"],
            &read_only,
        )
        .stdout,
    )
    .unwrap()["operations"]
        .as_array()
        .unwrap()
        .len();
    let ended = journal_ends(&ws, &ws.path("repo/journals"));
    assert!(
        ended > 0 && ended < total,
        "{ended} of {total} operations tried"
    );

    // With a token that may write, the interrupted restore resumes and completes.
    let resumed = ws.iamsnap(&["restore", "okta-test@latest", "--resume", "--yes"]);
    assert_exit(&resumed, 0);
    assert_ne!(api.counts(), damaged);
    assert!(api.duplicates().is_empty());
    figure("bad_inputs_tried", 1);
}
