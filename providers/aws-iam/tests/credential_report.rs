//! The credential report answers for users' login profiles, MFA devices and access keys: the
//! records are the ones three calls per user give, for fewer requests.

mod common;

use common::{Moto, by_key, seed, snapshot};
use iamsnap_aws_iam::{AwsIamConfig, kinds};
use iamsnap_provider::ReadProvider;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_gives_the_same_records_with_fewer_requests() {
    let moto = Moto::start();
    let iam = moto.iam();
    seed::seed(&iam, seed::FULL).await;
    // A deactivated key is still a key the record must list.
    let key = iam
        .create_access_key()
        .user_name(seed::user_name(1))
        .send()
        .await
        .unwrap();
    iam.update_access_key()
        .user_name(seed::user_name(1))
        .access_key_id(key.access_key().unwrap().access_key_id())
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();

    let per_user = moto.provider_with(AwsIamConfig {
        credential_report: Some(false),
        ..AwsIamConfig::default()
    });
    let expected = by_key(&snapshot(&per_user).await);
    let with_report = moto.provider();
    let got = by_key(&snapshot(&with_report).await);
    assert_eq!(got, expected);
    let expected: Vec<_> = expected.into_values().collect();

    let users = expected.iter().filter(|r| r.kind == kinds::USER).count();
    let with_extras = expected
        .iter()
        .filter(|r| r.kind == kinds::USER)
        .filter(|r| {
            !r.attrs["access_keys"].as_array().unwrap().is_empty()
                || !r.attrs["mfa_devices"].as_array().unwrap().is_empty()
        })
        .count();
    let inactive = expected
        .iter()
        .find(|r| r.kind == kinds::USER && r.key == seed::user_name(1))
        .unwrap();
    assert_eq!(inactive.attrs["access_keys"][0]["status"], "Inactive");
    assert!(
        with_extras > 0 && with_extras < users,
        "{with_extras} of {users}"
    );
    // Per user, three calls become at most two (keys and MFA of the users that have them),
    // for two calls for the report itself.
    let (before, after) = (per_user.stats().requests, with_report.stats().requests);
    assert!(
        after + 3 * users as u64 - 2 * with_extras as u64 <= before + 2,
        "{after} requests with the report, {before} without, {users} users, {with_extras} with keys or MFA"
    );
}
