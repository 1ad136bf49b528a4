//! The conformance suite on the AWS IAM connector, against accounts emulated by moto.
//!
//! The command line takes the credentials from the environment, as the AWS chain does; the
//! suite's own connectors, built in this process whose environment a test does not change,
//! are given the same credentials through an SDK configuration instead.

#[path = "../providers/aws-iam/tests/common/mod.rs"]
mod common;

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use common::seed;
use iamsnap::registry::ConnectorConfig;
use iamsnap_aws_iam::AwsIamProvider;
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::moto::MotoServer;

const KEY_ID: &str = "AKIACONFORMANCE0001";
const SECRET: &str = "aws-conformance-secret-DO-NOT-LEAK-6e6e";

/// An AWS account emulated by moto, with AWS-managed policies loaded.
struct AwsAccount;

#[async_trait]
impl Subject for AwsAccount {
    type System = MotoServer;

    fn provider(&self) -> &'static str {
        "aws-iam"
    }

    async fn seeded(&self) -> Result<MotoServer, String> {
        let moto = MotoServer::start_with_managed_policies();
        seed::seed(&iam(&moto.endpoint), seed::SMALL).await;
        Ok(moto)
    }

    async fn empty(&self) -> Result<MotoServer, String> {
        Ok(MotoServer::start_with_managed_policies())
    }

    fn url(&self, moto: &MotoServer) -> String {
        moto.endpoint.clone()
    }

    fn source(&self, _: &MotoServer, url: &str, _: &Path) -> String {
        format!("provider = \"aws-iam\"\nendpoint = \"{url}\"\nregion = \"us-east-1\"\n")
    }

    fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    }

    fn secret(&self) -> String {
        SECRET.to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let config = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let ConnectorConfig::AwsIam(source) =
            &config.source(name).map_err(|e| e.to_string())?.connector
        else {
            return Err(format!("source {name} is not an aws-iam source"));
        };
        let provider =
            AwsIamProvider::with_sdk_config(name, source, &ConnectOptions::default(), sdk_config())
                .map_err(|e| e.to_string())?;
        Ok(Connector::read_write(provider))
    }

    async fn delete(&self, moto: &MotoServer, record: &Record) -> Result<(), String> {
        delete(&iam(&moto.endpoint), record).await
    }

    fn throttle(&self) -> Fault {
        Fault::AwsThrottling
    }
}

fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            KEY_ID,
            SECRET,
            None,
            None,
            "conformance",
        )))
        .build()
}

/// A plain IAM client of the account at `endpoint`.
fn iam(endpoint: &str) -> Client {
    let conf = aws_sdk_iam::config::Builder::from(&sdk_config())
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

/// `Ok` when the call succeeded or found its object gone already.
fn done<T, E, R>(result: Result<T, SdkError<E, R>>, call: &str) -> Result<(), String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(format!("{call}: {}", DisplayErrorContext(&e))),
    }
}

/// `PRINCIPAL/NAME|TARGET` split into its three parts.
fn relation(key: &str) -> Result<(&str, &str, &str), String> {
    let (who, target) = key.split_once('|').ok_or(format!("bad key {key}"))?;
    let (principal, name) = who.split_once('/').ok_or(format!("bad key {key}"))?;
    Ok((principal, name, target))
}

/// Deletes `record` as an administrator would through IAM: what IAM requires to go first
/// (attachments, inline policies, credentials, memberships) goes first.
async fn delete(iam: &Client, record: &Record) -> Result<(), String> {
    let key = record.key.as_str();
    match record.kind.as_str() {
        "aws.user" => delete_user(iam, key).await,
        "aws.group" => delete_group(iam, key).await,
        "aws.role" => delete_role(iam, key).await,
        "aws.policy" => {
            let path = record.attrs["path"].as_str().unwrap_or("/");
            delete_policy(
                iam,
                &format!("arn:aws:iam::{}:policy{path}{key}", seed::ACCOUNT),
            )
            .await
        }
        "aws.ssh_public_key" | "aws.signing_certificate" => {
            let (user, _) = key.split_once('|').ok_or(format!("bad key {key}"))?;
            let id = record.id.as_str();
            if record.kind == "aws.ssh_public_key" {
                let call = iam
                    .delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(id);
                done(call.send().await, "DeleteSSHPublicKey")
            } else {
                let call = iam
                    .delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(id);
                done(call.send().await, "DeleteSigningCertificate")
            }
        }
        "aws.server_certificate" => {
            let call = iam.delete_server_certificate().server_certificate_name(key);
            done(call.send().await, "DeleteServerCertificate")
        }
        "aws.virtual_mfa_device" => {
            if let Some(user) = record.attrs["user"].as_str() {
                let call = iam
                    .deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(&record.id);
                done(call.send().await, "DeactivateMFADevice")?;
            }
            let call = iam.delete_virtual_mfa_device().serial_number(&record.id);
            done(call.send().await, "DeleteVirtualMFADevice")
        }
        "aws.group_membership" => {
            let (group, user) = key.split_once('|').ok_or(format!("bad key {key}"))?;
            let call = iam
                .remove_user_from_group()
                .group_name(group)
                .user_name(user);
            done(call.send().await, "RemoveUserFromGroup")
        }
        "aws.policy_attachment" => {
            let (principal, name, arn) = relation(key)?;
            match principal {
                "user" => done(
                    iam.detach_user_policy()
                        .user_name(name)
                        .policy_arn(arn)
                        .send()
                        .await,
                    "DetachUserPolicy",
                ),
                "group" => done(
                    iam.detach_group_policy()
                        .group_name(name)
                        .policy_arn(arn)
                        .send()
                        .await,
                    "DetachGroupPolicy",
                ),
                _ => done(
                    iam.detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                        .await,
                    "DetachRolePolicy",
                ),
            }
        }
        "aws.inline_policy" => {
            let (principal, name, policy) = relation(key)?;
            match principal {
                "user" => done(
                    iam.delete_user_policy()
                        .user_name(name)
                        .policy_name(policy)
                        .send()
                        .await,
                    "DeleteUserPolicy",
                ),
                "group" => done(
                    iam.delete_group_policy()
                        .group_name(name)
                        .policy_name(policy)
                        .send()
                        .await,
                    "DeleteGroupPolicy",
                ),
                _ => done(
                    iam.delete_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .send()
                        .await,
                    "DeleteRolePolicy",
                ),
            }
        }
        "aws.instance_profile" => delete_instance_profile(iam, key).await,
        "aws.saml_provider" => done(
            iam.delete_saml_provider()
                .saml_provider_arn(&record.id)
                .send()
                .await,
            "DeleteSAMLProvider",
        ),
        "aws.oidc_provider" => done(
            iam.delete_open_id_connect_provider()
                .open_id_connect_provider_arn(&record.id)
                .send()
                .await,
            "DeleteOpenIDConnectProvider",
        ),
        "aws.password_policy" => done(
            iam.delete_account_password_policy().send().await,
            "DeleteAccountPasswordPolicy",
        ),
        "aws.account_alias" => done(
            iam.delete_account_alias().account_alias(key).send().await,
            "DeleteAccountAlias",
        ),
        other => Err(format!("no delete for kind {other}")),
    }
}

async fn delete_user(iam: &Client, user: &str) -> Result<(), String> {
    let failed = |call: &str, e: &dyn std::error::Error| format!("{call} {user}: {e}");
    let groups = iam.list_groups_for_user().user_name(user).send().await;
    for group in groups
        .map_err(|e| failed("ListGroupsForUser", &e))?
        .groups()
    {
        let call = iam
            .remove_user_from_group()
            .group_name(group.group_name())
            .user_name(user);
        done(call.send().await, "RemoveUserFromGroup")?;
    }
    let attached = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await;
    for policy in attached
        .map_err(|e| failed("ListAttachedUserPolicies", &e))?
        .attached_policies()
    {
        let call = iam
            .detach_user_policy()
            .user_name(user)
            .policy_arn(policy.policy_arn().unwrap_or_default());
        done(call.send().await, "DetachUserPolicy")?;
    }
    let inline = iam.list_user_policies().user_name(user).send().await;
    for name in inline
        .map_err(|e| failed("ListUserPolicies", &e))?
        .policy_names()
    {
        let call = iam.delete_user_policy().user_name(user).policy_name(name);
        done(call.send().await, "DeleteUserPolicy")?;
    }
    done(
        iam.delete_login_profile().user_name(user).send().await,
        "DeleteLoginProfile",
    )?;
    let keys = iam.list_access_keys().user_name(user).send().await;
    for key in keys
        .map_err(|e| failed("ListAccessKeys", &e))?
        .access_key_metadata()
    {
        let call = iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(key.access_key_id().unwrap_or_default());
        done(call.send().await, "DeleteAccessKey")?;
    }
    let devices = iam.list_mfa_devices().user_name(user).send().await;
    for device in devices
        .map_err(|e| failed("ListMFADevices", &e))?
        .mfa_devices()
    {
        let serial = device.serial_number();
        let call = iam
            .deactivate_mfa_device()
            .user_name(user)
            .serial_number(serial);
        done(call.send().await, "DeactivateMFADevice")?;
        let call = iam.delete_virtual_mfa_device().serial_number(serial);
        done(call.send().await, "DeleteVirtualMFADevice")?;
    }
    done(iam.delete_user().user_name(user).send().await, "DeleteUser")
}

async fn delete_group(iam: &Client, group: &str) -> Result<(), String> {
    let failed = |call: &str, e: &dyn std::error::Error| format!("{call} {group}: {e}");
    let members = iam.get_group().group_name(group).send().await;
    for user in members.map_err(|e| failed("GetGroup", &e))?.users() {
        let call = iam
            .remove_user_from_group()
            .group_name(group)
            .user_name(user.user_name());
        done(call.send().await, "RemoveUserFromGroup")?;
    }
    let attached = iam
        .list_attached_group_policies()
        .group_name(group)
        .send()
        .await;
    for policy in attached
        .map_err(|e| failed("ListAttachedGroupPolicies", &e))?
        .attached_policies()
    {
        let call = iam
            .detach_group_policy()
            .group_name(group)
            .policy_arn(policy.policy_arn().unwrap_or_default());
        done(call.send().await, "DetachGroupPolicy")?;
    }
    let inline = iam.list_group_policies().group_name(group).send().await;
    for name in inline
        .map_err(|e| failed("ListGroupPolicies", &e))?
        .policy_names()
    {
        let call = iam
            .delete_group_policy()
            .group_name(group)
            .policy_name(name);
        done(call.send().await, "DeleteGroupPolicy")?;
    }
    done(
        iam.delete_group().group_name(group).send().await,
        "DeleteGroup",
    )
}

async fn delete_role(iam: &Client, role: &str) -> Result<(), String> {
    let failed = |call: &str, e: &dyn std::error::Error| format!("{call} {role}: {e}");
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await;
    for policy in attached
        .map_err(|e| failed("ListAttachedRolePolicies", &e))?
        .attached_policies()
    {
        let call = iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy.policy_arn().unwrap_or_default());
        done(call.send().await, "DetachRolePolicy")?;
    }
    let inline = iam.list_role_policies().role_name(role).send().await;
    for name in inline
        .map_err(|e| failed("ListRolePolicies", &e))?
        .policy_names()
    {
        let call = iam.delete_role_policy().role_name(role).policy_name(name);
        done(call.send().await, "DeleteRolePolicy")?;
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(role)
        .send()
        .await;
    for profile in profiles
        .map_err(|e| failed("ListInstanceProfilesForRole", &e))?
        .instance_profiles()
    {
        let call = iam
            .remove_role_from_instance_profile()
            .instance_profile_name(profile.instance_profile_name())
            .role_name(role);
        done(call.send().await, "RemoveRoleFromInstanceProfile")?;
    }
    done(iam.delete_role().role_name(role).send().await, "DeleteRole")
}

async fn delete_policy(iam: &Client, arn: &str) -> Result<(), String> {
    let failed = |call: &str, e: &dyn std::error::Error| format!("{call} {arn}: {e}");
    let entities = iam.list_entities_for_policy().policy_arn(arn).send().await;
    let entities = entities.map_err(|e| failed("ListEntitiesForPolicy", &e))?;
    for user in entities.policy_users() {
        let call = iam
            .detach_user_policy()
            .user_name(user.user_name().unwrap_or_default())
            .policy_arn(arn);
        done(call.send().await, "DetachUserPolicy")?;
    }
    for group in entities.policy_groups() {
        let call = iam
            .detach_group_policy()
            .group_name(group.group_name().unwrap_or_default())
            .policy_arn(arn);
        done(call.send().await, "DetachGroupPolicy")?;
    }
    for role in entities.policy_roles() {
        let call = iam
            .detach_role_policy()
            .role_name(role.role_name().unwrap_or_default())
            .policy_arn(arn);
        done(call.send().await, "DetachRolePolicy")?;
    }
    let versions = iam.list_policy_versions().policy_arn(arn).send().await;
    for version in versions
        .map_err(|e| failed("ListPolicyVersions", &e))?
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
    {
        let call = iam
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version.version_id().unwrap_or_default());
        done(call.send().await, "DeletePolicyVersion")?;
    }
    done(
        iam.delete_policy().policy_arn(arn).send().await,
        "DeletePolicy",
    )
}

async fn delete_instance_profile(iam: &Client, name: &str) -> Result<(), String> {
    let profile = iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    let profile = profile.map_err(|e| format!("GetInstanceProfile {name}: {e}"))?;
    for role in profile
        .instance_profile()
        .map(|p| p.roles())
        .unwrap_or_default()
    {
        let call = iam
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(role.role_name());
        done(call.send().await, "RemoveRoleFromInstanceProfile")?;
    }
    done(
        iam.delete_instance_profile()
            .instance_profile_name(name)
            .send()
            .await,
        "DeleteInstanceProfile",
    )
}

#[test]
fn the_aws_iam_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report =
        conformance::run(&AwsAccount, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
