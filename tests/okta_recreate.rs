//! End to end: a seeded Okta org (users of every status, some mastered by Active Directory)
//! restored into an empty org; planning the same restore again finds nothing to do.

mod support;

use iamsnap_testkit::okta::{OktaEmulator, RunningOkta};
use serde_json::Value;
use support::*;

const STATUSES: [&str; 7] = [
    "ACTIVE",
    "STAGED",
    "PROVISIONED",
    "SUSPENDED",
    "DEPROVISIONED",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
];

fn start(runtime: &tokio::runtime::Runtime, users: usize, groups: usize) -> RunningOkta {
    // One seed for both orgs, as a drill that restores into a second emulated org may have:
    // the ids the empty org gives what the restore creates must still be its own.
    runtime
        .block_on(
            OktaEmulator::builder()
                .users(users)
                .groups(groups)
                .apps(0)
                .seed(1)
                .token(OKTA_TOKEN)
                .consistency_delay(OKTA_CONSISTENCY_DELAY)
                .start(),
        )
        .expect("the Okta emulator starts")
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

#[test]
fn a_restore_into_an_empty_org_leaves_nothing_to_do() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let prod = start(&runtime, 400, 12);
    let empty = start(&runtime, 0, 1);
    // What makes the restore hard is there: users of every status, some mastered by AD.
    let (statuses, ad_mastered) = prod.with_org(|o| {
        let ids = STATUSES.map(|s| o.user_ids_with_status(s));
        let ad_mastered = ids
            .iter()
            .flatten()
            .filter_map(|id| o.user_json(id))
            .filter(|u| u["credentials"]["provider"]["type"] == "ACTIVE_DIRECTORY")
            .count();
        (ids.map(|ids| ids.len()), ad_mastered)
    });
    assert!(
        statuses.iter().all(|n| *n > 0),
        "{STATUSES:?}: {statuses:?}"
    );
    assert!(ad_mastered > 0);

    let ws = Workspace::new(prod.base_url());
    ws.add_okta_source("okta-dr", empty.base_url(), "concurrency = 16\n");
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-test"]), 0);

    let restore = [
        "restore",
        "okta-test@latest",
        "--target",
        "okta-dr",
        "--kinds",
        "user,group,group_membership",
    ];
    let applied = ws.iamsnap(&[&restore[..], &["--apply", "--yes", "--format", "json"]].concat());
    let report = json(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let live_users = empty.with_org(|o| o.counts().users);
    assert_eq!(live_users, prod.with_org(|o| o.counts().users));

    let again = ws.iamsnap(&restore);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("Nothing to do"),
        "{}",
        describe(&again)
    );
}
