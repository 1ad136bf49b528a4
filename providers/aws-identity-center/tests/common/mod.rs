//! Shared helpers of the Identity Center tests: clients of a moto server, a seed through the
//! AWS SDK, and deletes as an administrator makes them.

#![allow(dead_code)]

use aws_sdk_identitystore::types::{Address, Email, MemberId, Name, PhoneNumber};
use aws_sdk_ssoadmin::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_ssoadmin::types::{
    CustomerManagedPolicyReference, PermissionsBoundary, PrincipalType, Tag, TargetType,
};
use std::collections::BTreeMap;

use iamsnap_aws_identity_center::{AwsIdentityCenterConfig, AwsIdentityCenterProvider};
use iamsnap_provider::{ConnectOptions, ReadProvider, Record};
use serde_json::Value;

pub const KEY_ID: &str = "AKIAIDENTITYCENTER01";
pub const SECRET: &str = "aws-ic-secret-DO-NOT-LEAK-41c2";

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub users: usize,
    pub groups: usize,
    pub sets: usize,
    pub assignments: usize,
}

pub const SMALL: Size = Size {
    users: 4,
    groups: 2,
    sets: 2,
    assignments: 6,
};

/// The incident scenario's instance: 50 users, 10 groups, 8 permission sets, 40 assignments.
pub const INCIDENT: Size = Size {
    users: 50,
    groups: 10,
    sets: 8,
    assignments: 40,
};

/// Accounts of the organization that permission sets are assigned on.
pub const ACCOUNTS: [&str; 3] = ["123456789012", "111111111111", "222222222222"];

pub fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            KEY_ID, SECRET, None, None, "tests",
        )))
        .build()
}

pub struct Clients {
    pub sso: aws_sdk_ssoadmin::Client,
    pub store: aws_sdk_identitystore::Client,
    pub instance: String,
    pub store_id: String,
}

pub async fn clients(endpoint: &str) -> Clients {
    let sdk = sdk_config();
    let sso = aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .build(),
    );
    let store = aws_sdk_identitystore::Client::from_conf(
        aws_sdk_identitystore::config::Builder::from(&sdk)
            .endpoint_url(endpoint)
            .build(),
    );
    let instances = sso.list_instances().send().await.unwrap();
    let instance = &instances.instances()[0];
    Clients {
        instance: instance.instance_arn().unwrap().to_string(),
        store_id: instance.identity_store_id().unwrap().to_string(),
        sso,
        store,
    }
}

/// Seeds the instance at `endpoint` with users (every attribute moto keeps), groups,
/// memberships, permission sets with AWS managed, customer managed and inline policies (the
/// first with a boundary and tags) and assignments to users and groups on several accounts.
pub async fn seed(endpoint: &str, size: Size) {
    let c = clients(endpoint).await;
    let mut users = Vec::new();
    for i in 0..size.users {
        let out = c
            .store
            .create_user()
            .identity_store_id(&c.store_id)
            .user_name(format!("user{i:03}"))
            .display_name(format!("User {i}"))
            .name(
                Name::builder()
                    .given_name("User")
                    .family_name(format!("N{i}"))
                    .build(),
            )
            .emails(
                Email::builder()
                    .value(format!("user{i}@example.com"))
                    .r#type("work")
                    .primary(true)
                    .build(),
            )
            .phone_numbers(
                PhoneNumber::builder()
                    .value(format!("+1 555 01{i:02}"))
                    .r#type("work")
                    .build(),
            )
            .addresses(
                Address::builder()
                    .street_address("1 Main St")
                    .locality("Springfield")
                    .country("US")
                    .r#type("work")
                    .build(),
            )
            .title(if i % 2 == 0 { "Engineer" } else { "Analyst" })
            .locale("en-US")
            .timezone("America/New_York")
            .website(format!("https://example.com/~user{i}"))
            .extensions(
                iamsnap_aws_identity_center::kinds::ENTERPRISE,
                enterprise(i),
            )
            .send()
            .await
            .unwrap();
        users.push(out.user_id);
    }
    let mut groups = Vec::new();
    for g in 0..size.groups {
        let out = c
            .store
            .create_group()
            .identity_store_id(&c.store_id)
            .display_name(format!("team-{g:02}"))
            .description(format!("Team {g}"))
            .send()
            .await
            .unwrap();
        groups.push(out.group_id);
    }
    for (i, user) in users.iter().enumerate() {
        if groups.is_empty() {
            break;
        }
        for group in [&groups[i % groups.len()], &groups[(i + 1) % groups.len()]] {
            c.store
                .create_group_membership()
                .identity_store_id(&c.store_id)
                .group_id(group)
                .member_id(MemberId::UserId(user.clone()))
                .send()
                .await
                .unwrap();
        }
    }
    let mut sets = Vec::new();
    for s in 0..size.sets {
        let out = c
            .sso
            .create_permission_set()
            .instance_arn(&c.instance)
            .name(format!("Set{s}"))
            .description(format!("Permission set {s}"))
            .session_duration("PT4H")
            .relay_state("https://console.aws.amazon.com/")
            .tags(
                Tag::builder()
                    .key("team")
                    .value(format!("t{s}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let arn = out
            .permission_set()
            .unwrap()
            .permission_set_arn()
            .unwrap()
            .to_string();
        let sso = &c.sso;
        sso.attach_managed_policy_to_permission_set()
            .instance_arn(&c.instance)
            .permission_set_arn(&arn)
            .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await
            .unwrap();
        sso.attach_customer_managed_policy_reference_to_permission_set()
            .instance_arn(&c.instance)
            .permission_set_arn(&arn)
            .customer_managed_policy_reference(
                CustomerManagedPolicyReference::builder()
                    .name(format!("app-{s}"))
                    .path("/teams/")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        sso.put_inline_policy_to_permission_set()
            .instance_arn(&c.instance)
            .permission_set_arn(&arn)
            .inline_policy(format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{s}/*"}}]}}"#))
            .send()
            .await
            .unwrap();
        if s == 0 {
            sso.put_permissions_boundary_to_permission_set()
                .instance_arn(&c.instance)
                .permission_set_arn(&arn)
                .permissions_boundary(
                    PermissionsBoundary::builder()
                        .managed_policy_arn("arn:aws:iam::aws:policy/PowerUserAccess")
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        sets.push(arn);
    }
    for a in 0..size.assignments {
        let set = &sets[a % sets.len()];
        let account = ACCOUNTS[(a / sets.len()) % ACCOUNTS.len()];
        // Every fifth assignment is a group's, the others a user's.
        let (kind, principal) = if a % 5 == 4 && !groups.is_empty() {
            (PrincipalType::Group, &groups[a % groups.len()])
        } else {
            (PrincipalType::User, &users[a % users.len()])
        };
        c.sso
            .create_account_assignment()
            .instance_arn(&c.instance)
            .permission_set_arn(set)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap();
    }
}

/// The enterprise fields of user `i`, as the `aws:identitystore:enterprise` extension
/// carries them.
pub fn enterprise(i: usize) -> aws_smithy_types::Document {
    use aws_smithy_types::Document;
    Document::Object(
        [
            ("employeeNumber", format!("E{i:04}")),
            ("costCenter", format!("CC{}", i % 3)),
            ("department", format!("Dept {}", i % 4)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Document::String(v)))
        .collect(),
    )
}

/// Removes what names `principal` (memberships, assignments), as an administrator does before
/// deleting a user or group.
async fn unlink(c: &Clients, principal: &str, kind: PrincipalType) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let assigned = c
        .sso
        .list_account_assignments_for_principal()
        .instance_arn(&c.instance)
        .principal_id(principal)
        .principal_type(kind.clone())
        .send()
        .await
        .map_err(|e| err(&aws_sdk_ssoadmin::error::DisplayErrorContext(e)))?;
    for a in assigned.account_assignments() {
        c.sso
            .delete_account_assignment()
            .instance_arn(&c.instance)
            .target_id(a.account_id().unwrap())
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(a.permission_set_arn().unwrap())
            .principal_type(kind.clone())
            .principal_id(principal)
            .send()
            .await
            .map_err(|e| err(&aws_sdk_ssoadmin::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// Deletes `record` (with live ids) through the APIs, what must go first going first.
pub async fn delete(endpoint: &str, record: &Record) -> Result<(), String> {
    let c = clients(endpoint).await;
    let show = |e: &dyn std::fmt::Debug| format!("{} {}: {e:?}", record.kind, record.key);
    match record.kind.as_str() {
        "sso.user" | "sso.group" => {
            let user = record.kind == "sso.user";
            let kind = if user {
                PrincipalType::User
            } else {
                PrincipalType::Group
            };
            unlink(&c, &record.id, kind).await?;
            if user {
                let groups = c
                    .store
                    .list_groups()
                    .identity_store_id(&c.store_id)
                    .send()
                    .await
                    .map_err(|e| show(&e))?;
                for g in groups.groups() {
                    let members = c
                        .store
                        .list_group_memberships()
                        .identity_store_id(&c.store_id)
                        .group_id(g.group_id())
                        .send()
                        .await
                        .map_err(|e| show(&e))?;
                    for m in members.group_memberships() {
                        if m.member_id().and_then(|m| m.as_user_id().ok()) == Some(&record.id) {
                            c.store
                                .delete_group_membership()
                                .identity_store_id(&c.store_id)
                                .membership_id(m.membership_id().unwrap())
                                .send()
                                .await
                                .map_err(|e| show(&e))?;
                        }
                    }
                }
                c.store
                    .delete_user()
                    .identity_store_id(&c.store_id)
                    .user_id(&record.id)
                    .send()
                    .await
                    .map_err(|e| show(&e))?;
            } else {
                let members = c
                    .store
                    .list_group_memberships()
                    .identity_store_id(&c.store_id)
                    .group_id(&record.id)
                    .send()
                    .await
                    .map_err(|e| show(&e))?;
                for m in members.group_memberships() {
                    c.store
                        .delete_group_membership()
                        .identity_store_id(&c.store_id)
                        .membership_id(m.membership_id().unwrap())
                        .send()
                        .await
                        .map_err(|e| show(&e))?;
                }
                c.store
                    .delete_group()
                    .identity_store_id(&c.store_id)
                    .group_id(&record.id)
                    .send()
                    .await
                    .map_err(|e| show(&e))?;
            }
            Ok(())
        }
        "sso.group_membership" => c
            .store
            .delete_group_membership()
            .identity_store_id(&c.store_id)
            .membership_id(&record.id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| show(&e)),
        "sso.permission_set" => {
            let accounts = c
                .sso
                .list_accounts_for_provisioned_permission_set()
                .instance_arn(&c.instance)
                .permission_set_arn(&record.id)
                .send()
                .await
                .map_err(|e| show(&e))?;
            for account in accounts.account_ids() {
                let listed = c
                    .sso
                    .list_account_assignments()
                    .instance_arn(&c.instance)
                    .permission_set_arn(&record.id)
                    .account_id(account)
                    .send()
                    .await
                    .map_err(|e| show(&e))?;
                for a in listed.account_assignments() {
                    c.sso
                        .delete_account_assignment()
                        .instance_arn(&c.instance)
                        .target_id(account)
                        .target_type(TargetType::AwsAccount)
                        .permission_set_arn(&record.id)
                        .principal_type(a.principal_type().unwrap().clone())
                        .principal_id(a.principal_id().unwrap())
                        .send()
                        .await
                        .map_err(|e| show(&e))?;
                }
            }
            c.sso
                .delete_permission_set()
                .instance_arn(&c.instance)
                .permission_set_arn(&record.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| show(&e))
        }
        "sso.account_assignment" => {
            let set = record
                .refs
                .iter()
                .find(|r| r.rel == "permission_set")
                .unwrap();
            let principal = record.refs.iter().find(|r| r.rel == "principal").unwrap();
            let kind = PrincipalType::from(record.attrs["PrincipalType"].as_str().unwrap());
            c.sso
                .delete_account_assignment()
                .instance_arn(&c.instance)
                .target_id(record.attrs["AccountId"].as_str().unwrap())
                .target_type(TargetType::AwsAccount)
                .permission_set_arn(&set.id)
                .principal_type(kind)
                .principal_id(&principal.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| show(&e))
        }
        other => Err(format!("no delete for kind {other}")),
    }
}

/// Every record of the live instance, read by the connector itself.
pub async fn live(endpoint: &str) -> Vec<Record> {
    let cfg = AwsIdentityCenterConfig {
        endpoint: Some(endpoint.to_string()),
        ..AwsIdentityCenterConfig::default()
    };
    let provider = AwsIdentityCenterProvider::with_sdk_config(
        "aws-sso",
        &cfg,
        &ConnectOptions::default(),
        sdk_config(),
    )
    .unwrap();
    let (sink, mut rx) = tokio::sync::mpsc::channel(1024);
    let collect = async {
        let mut all = Vec::new();
        while let Some(r) = rx.recv().await {
            all.push(r);
        }
        all
    };
    let (done, all) = tokio::join!(provider.snapshot(sink), collect);
    done.unwrap();
    all
}

/// The facts of an instance: every record's attributes by kind and key, ids left out (the keys
/// of memberships and assignments name both ends).
pub fn facts(records: &[Record]) -> BTreeMap<(String, String), Value> {
    records
        .iter()
        .map(|r| ((r.kind.clone(), r.key.clone()), r.attrs.clone()))
        .collect()
}

pub fn count(records: &[Record], kind: &str) -> usize {
    records.iter().filter(|r| r.kind == kind).count()
}
