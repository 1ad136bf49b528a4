//! Listings past one page (Organizations pages OUs, accounts and policies at 20) are read to
//! the end, and `fetch` returns what the snapshot holds.

mod common;

use iamsnap_aws_organizations::{AwsOrganizationsConfig, AwsOrganizationsProvider, kinds};
use iamsnap_provider::{ConnectOptions, ReadProvider, Record};
use iamsnap_testkit::moto::MotoServer;

/// More than a page of each listing the read follows.
const MANY: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_read_and_fetch_agrees() {
    let moto = MotoServer::start();
    let org = common::client(&moto.endpoint);
    let seeded = common::seed(&org).await;
    for i in 0..MANY {
        org.create_organizational_unit()
            .parent_id(&seeded.root)
            .name(format!("team-{i:02}"))
            .send()
            .await
            .unwrap();
        org.create_account()
            .account_name(format!("member-{i:02}"))
            .email(format!("member-{i:02}@example.com"))
            .send()
            .await
            .unwrap();
        org.create_policy()
            .name(format!("scp-{i:02}"))
            .description("paged")
            .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
            .content(common::content(
                "SERVICE_CONTROL_POLICY",
                &format!("scp-{i:02}"),
            ))
            .send()
            .await
            .unwrap();
    }
    let cfg = AwsOrganizationsConfig {
        endpoint: Some(moto.endpoint.clone()),
        ..AwsOrganizationsConfig::default()
    };
    let provider = AwsOrganizationsProvider::with_sdk_config(
        "org-test",
        &cfg,
        &ConnectOptions::default(),
        common::sdk("testing", "testing"),
    )
    .unwrap();
    provider.healthcheck().await.unwrap();
    let (sink, mut rx) = tokio::sync::mpsc::channel(64);
    let collect = tokio::spawn(async move {
        let mut out: Vec<Record> = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out
    });
    provider.snapshot(sink).await.unwrap();
    let records = collect.await.unwrap();
    let count = |kind: &str| records.iter().filter(|r| r.kind == kind).count();
    assert_eq!(count(kinds::UNIT), common::UNITS.len() + MANY);
    // The management account, the seed's members and the new ones.
    assert_eq!(count(kinds::ACCOUNT), 1 + common::ACCOUNTS.len() + MANY);
    assert_eq!(count(kinds::POLICY), common::POLICIES.len() + MANY);
    assert!(provider.stats().requests > 0);

    for (kind, key) in [
        (kinds::UNIT, "team-24"),
        (kinds::UNIT, "Workloads/Prod/Payments"),
        (kinds::POLICY, "SERVICE_CONTROL_POLICY/scp-24"),
        (kinds::ROOT, kinds::ROOT_KEY),
    ] {
        let fetched = provider.fetch(kind, key).await.unwrap().unwrap();
        let read = records
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .unwrap();
        assert_eq!(&fetched, read);
    }
    assert_eq!(provider.fetch(kinds::UNIT, "Nowhere").await.unwrap(), None);
}
