//! The Entra incident an administrator fears most, in one run: a guest who is a group member
//! and someone's manager deleted for good, a custom role deleted with its eligible assignments,
//! every eligibility of a built-in role removed, an authentication strength that a conditional
//! access policy requires deleted, an application's owner and federated credential deleted and
//! the authorization policy changed. `restore --apply` brings back everything that can be
//! re-created and lists the guest with what needs it under `cannot_restore`; with
//! `--invite-guests` the guest is invited again and the tenant is as the snapshot has it.

mod support;

use support::entra::*;
use support::*;

#[test]
fn the_privileged_access_incident_is_restored_in_one_run() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    let guest = Guest::with_dependents(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 0);

    guest.delete_for_good(&tenant);
    let role = DeletedRole::delete(&tenant);
    let built_in = RemovedEligibilities::remove(&tenant);
    let strength = DeletedStrength::delete(&tenant);
    let links = DeletedAppLinks::delete(&tenant);
    let authorization = ChangedAuthorization::change(&tenant);
    assert_exit(&ws.iamsnap(&["diff", "entra-test@latest", "live"]), 1);

    // Without --invite-guests: everything but the guest and what needs it is back, the run
    // exits 0 and the next plan has nothing left to do.
    let report = restore_applied(&ws, &[]);
    guest.assert_left_out(&tenant, &report);
    role.assert_back(&tenant);
    built_in.assert_back(&tenant);
    strength.assert_back(&tenant);
    links.assert_back(&tenant);
    authorization.assert_back(&tenant);
    let plan = nothing_planned(&ws, &[]);
    let left_out = plan["skipped"].as_array().unwrap();
    assert!(
        !left_out.is_empty()
            && left_out
                .iter()
                .all(|s| s["key"].as_str().unwrap().contains(&guest.upn)),
        "only the guest and what needs it are left out: {plan:#}"
    );

    // With --invite-guests: the guest is invited again and what needs it follows.
    let report = restore_applied(&ws, &["--invite-guests"]);
    guest.assert_invited(&tenant, &report);
    assert_nothing_planned(&ws, &["--invite-guests"]);
    assert_nothing_planned(&ws, &[]);
    let diff = ws.iamsnap(&["diff", "entra-test@latest", "live"]);
    assert_exit(&diff, 0);
    assert!(!stdout(&backup).contains(SECRET) && !stderr(&backup).contains(SECRET));
}
