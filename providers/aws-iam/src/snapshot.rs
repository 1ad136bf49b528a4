//! Backup: reads an account with `GetAccountAuthorizationDetails` (one paged stream per entity
//! filter, run concurrently) plus the calls it lacks, and turns the answers into records.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{
    EntityType, GroupDetail, InstanceProfile, ManagedPolicyDetail, PasswordPolicy, RoleDetail,
    StatusType, Tag, UserDetail,
};
use futures::{StreamExt, TryStreamExt};
use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use crate::client::{Api, ApiError, Page, all_pages};
use crate::kinds::{self, Principal};

/// Reads every page of an IAM listing whose output has `IsTruncated`/`Marker`.
macro_rules! paged {
    ($op:literal, $request:expr, $items:ident) => {
        all_pages($op, |marker| {
            let request = $request.set_marker(marker);
            async move {
                let out = request.send().await.api($op)?;
                Ok(Page {
                    items: out.$items().to_vec(),
                    is_truncated: out.is_truncated(),
                    marker: out.marker().map(str::to_string),
                })
            }
        })
    };
}

/// Which parts of the account to read: everything for a snapshot, the parts one kind needs
/// for a fetch.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope {
    pub users: bool,
    /// Login profile, MFA devices and access keys: three calls per user, needed only for
    /// `aws.user` records themselves.
    pub user_extras: bool,
    pub groups: bool,
    pub roles: bool,
    pub policies: bool,
    /// One call per policy, needed only for `aws.policy` records themselves.
    pub policy_tags: bool,
    pub instance_profiles: bool,
    pub saml: bool,
    pub oidc: bool,
    pub password_policy: bool,
    pub alias: bool,
}

impl Scope {
    pub const ALL: Scope = Scope {
        users: true,
        user_extras: true,
        policy_tags: true,
        groups: true,
        roles: true,
        policies: true,
        instance_profiles: true,
        saml: true,
        oidc: true,
        password_policy: true,
        alias: true,
    };

    /// The reads that produce records of `kind` with their refs.
    pub fn for_kind(kind: &str) -> Option<Scope> {
        let none = Scope::default();
        Some(match kind {
            kinds::USER => Scope {
                users: true,
                user_extras: true,
                policies: true,
                ..none
            },
            kinds::GROUP => Scope {
                groups: true,
                ..none
            },
            kinds::GROUP_MEMBERSHIP => Scope {
                users: true,
                groups: true,
                ..none
            },
            kinds::ROLE => Scope {
                roles: true,
                users: true,
                policies: true,
                ..none
            },
            kinds::POLICY => Scope {
                policies: true,
                policy_tags: true,
                ..none
            },
            kinds::POLICY_ATTACHMENT | kinds::INLINE_POLICY => Scope {
                users: true,
                groups: true,
                roles: true,
                policies: true,
                ..none
            },
            kinds::INSTANCE_PROFILE => Scope {
                instance_profiles: true,
                ..none
            },
            kinds::SAML_PROVIDER => Scope { saml: true, ..none },
            kinds::OIDC_PROVIDER => Scope { oidc: true, ..none },
            kinds::PASSWORD_POLICY => Scope {
                password_policy: true,
                ..none
            },
            kinds::ACCOUNT_ALIAS => Scope {
                alias: true,
                ..none
            },
            _ => return None,
        })
    }
}

/// What a user has beyond `GetAccountAuthorizationDetails`.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserExtras {
    pub console_password: bool,
    pub mfa_serials: Vec<String>,
    pub access_keys: Vec<(String, String)>,
}

/// A role's fields that `GetAccountAuthorizationDetails` lacks (from `ListRoles`).
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleExtras {
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
}

#[derive(Debug, Clone)]
pub(crate) struct SamlProvider {
    pub arn: String,
    pub metadata: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub(crate) struct OidcProvider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Vec<Tag>,
}

/// Everything read from the account, before it becomes records.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub users: Vec<UserDetail>,
    pub user_extras: HashMap<String, UserExtras>,
    pub groups: Vec<GroupDetail>,
    pub roles: Vec<RoleDetail>,
    pub role_extras: HashMap<String, RoleExtras>,
    pub policies: Vec<ManagedPolicyDetail>,
    pub policy_tags: HashMap<String, Vec<Tag>>,
    pub instance_profiles: Vec<(InstanceProfile, Vec<Tag>)>,
    pub saml: Vec<SamlProvider>,
    pub oidc: Vec<OidcProvider>,
    pub password_policy: Option<PasswordPolicy>,
    pub aliases: Vec<String>,
}

/// Reads the parts of the account in `scope`, concurrently.
pub(crate) async fn read(
    client: &Client,
    scope: Scope,
    concurrency: usize,
) -> Result<Account, ProviderError> {
    let (users, groups, roles, policies) = tokio::try_join!(
        read_if(
            scope.users,
            read_users(client, concurrency, scope.user_extras)
        ),
        read_if(
            scope.groups,
            details(client, EntityType::Group, "filter Group")
        ),
        read_if(scope.roles, read_roles(client)),
        read_if(
            scope.policies,
            read_policies(client, concurrency, scope.policy_tags)
        ),
    )?;
    let (instance_profiles, saml, oidc, password_policy, aliases) = tokio::try_join!(
        read_if(
            scope.instance_profiles,
            read_instance_profiles(client, concurrency)
        ),
        read_if(scope.saml, read_saml(client, concurrency)),
        read_if(scope.oidc, read_oidc(client, concurrency)),
        read_if(scope.password_policy, read_password_policy(client)),
        read_if(scope.alias, async {
            paged!(
                "ListAccountAliases",
                client.list_account_aliases(),
                account_aliases
            )
            .await
            .map_err(|e| e.context("account aliases"))
        }),
    )?;
    let (users, user_extras) = users.unwrap_or_default();
    let (roles, role_extras) = roles.unwrap_or_default();
    let (policies, policy_tags) = policies.unwrap_or_default();
    Ok(Account {
        users,
        user_extras,
        groups: groups.map(|d| d.groups).unwrap_or_default(),
        roles,
        role_extras,
        policies,
        policy_tags,
        instance_profiles: instance_profiles.unwrap_or_default(),
        saml: saml.unwrap_or_default(),
        oidc: oidc.unwrap_or_default(),
        password_policy: password_policy.flatten(),
        aliases: aliases.unwrap_or_default(),
    })
}

async fn read_if<T>(
    wanted: bool,
    read: impl Future<Output = Result<T, ProviderError>>,
) -> Result<Option<T>, ProviderError> {
    if wanted {
        read.await.map(Some)
    } else {
        Ok(None)
    }
}

#[derive(Default)]
struct Details {
    users: Vec<UserDetail>,
    groups: Vec<GroupDetail>,
    roles: Vec<RoleDetail>,
    policies: Vec<ManagedPolicyDetail>,
}

/// Every page of `GetAccountAuthorizationDetails` for one entity filter.
async fn details(
    client: &Client,
    filter: EntityType,
    what: &str,
) -> Result<Details, ProviderError> {
    let pages = all_pages("GetAccountAuthorizationDetails", |marker| {
        let request = client
            .get_account_authorization_details()
            .filter(filter.clone())
            .set_marker(marker);
        async move {
            let out = request.send().await.api("GetAccountAuthorizationDetails")?;
            Ok(Page {
                is_truncated: out.is_truncated(),
                marker: out.marker().map(str::to_string),
                items: vec![out],
            })
        }
    })
    .await
    .map_err(|e| e.context(what))?;
    let mut all = Details::default();
    for page in pages {
        all.users.extend_from_slice(page.user_detail_list());
        all.groups.extend_from_slice(page.group_detail_list());
        all.roles.extend_from_slice(page.role_detail_list());
        all.policies.extend_from_slice(page.policies());
    }
    Ok(all)
}

async fn read_users(
    client: &Client,
    concurrency: usize,
    with_extras: bool,
) -> Result<(Vec<UserDetail>, HashMap<String, UserExtras>), ProviderError> {
    let users = details(client, EntityType::User, "filter User")
        .await?
        .users;
    if !with_extras {
        return Ok((users, HashMap::new()));
    }
    let names: Vec<String> = users
        .iter()
        .filter_map(|u| u.user_name().map(str::to_string))
        .collect();
    let extras = futures::stream::iter(names)
        .map(|name| async move {
            let extras = user_extras(client, &name)
                .await
                .map_err(|e| e.context(&format!("user {name}")))?;
            Ok::<_, ProviderError>((name, extras))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok((users, extras))
}

/// Whether a console password exists, the MFA serials and the access key ids of one user.
pub(crate) async fn user_extras(client: &Client, name: &str) -> Result<UserExtras, ApiError> {
    let console_password = match client
        .get_login_profile()
        .user_name(name)
        .send()
        .await
        .api("GetLoginProfile")
    {
        Ok(_) => true,
        Err(e) if e.is("NoSuchEntity") => false,
        Err(e) => return Err(e),
    };
    let mut mfa_serials: Vec<String> = paged!(
        "ListMFADevices",
        client.list_mfa_devices().user_name(name),
        mfa_devices
    )
    .await?
    .into_iter()
    .map(|d| d.serial_number().to_string())
    .collect();
    mfa_serials.sort();
    let mut access_keys: Vec<(String, String)> = paged!(
        "ListAccessKeys",
        client.list_access_keys().user_name(name),
        access_key_metadata
    )
    .await?
    .into_iter()
    .filter_map(|k| {
        let status = k.status().map(StatusType::as_str).unwrap_or("Unknown");
        Some((k.access_key_id()?.to_string(), status.to_string()))
    })
    .collect();
    access_keys.sort();
    Ok(UserExtras {
        console_password,
        mfa_serials,
        access_keys,
    })
}

async fn read_roles(
    client: &Client,
) -> Result<(Vec<RoleDetail>, HashMap<String, RoleExtras>), ProviderError> {
    let (details, listed) =
        tokio::try_join!(details(client, EntityType::Role, "filter Role"), async {
            paged!("ListRoles", client.list_roles(), roles)
                .await
                .map_err(|e| e.context("roles"))
        })?;
    let extras = listed
        .into_iter()
        .map(|r| {
            (
                r.role_name().to_string(),
                RoleExtras {
                    description: r
                        .description()
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                    max_session_duration: r.max_session_duration(),
                },
            )
        })
        .collect();
    Ok((details.roles, extras))
}

async fn read_policies(
    client: &Client,
    concurrency: usize,
    with_tags: bool,
) -> Result<(Vec<ManagedPolicyDetail>, HashMap<String, Vec<Tag>>), ProviderError> {
    let policies = details(
        client,
        EntityType::LocalManagedPolicy,
        "filter LocalManagedPolicy",
    )
    .await?
    .policies;
    let mut policies = policies;
    if policies.iter().any(|p| p.policy_id().is_none()) {
        // Some emulators leave PolicyId out of the authorization details; ListPolicies has it,
        // and ids must be the same whichever call a record was read with.
        let listed = paged!(
            "ListPolicies",
            client
                .list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local),
            policies
        )
        .await
        .map_err(|e| e.context("customer-managed policies"))?;
        let ids: HashMap<String, String> = listed
            .into_iter()
            .filter_map(|p| Some((p.arn?, p.policy_id?)))
            .collect();
        for policy in &mut policies {
            if policy.policy_id.is_none() {
                policy.policy_id = policy.arn().and_then(|arn| ids.get(arn).cloned());
            }
        }
    }
    if !with_tags {
        return Ok((policies, HashMap::new()));
    }
    let arns: Vec<String> = policies
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect();
    let tags = futures::stream::iter(arns)
        .map(|arn| async move {
            let tags = paged!(
                "ListPolicyTags",
                client.list_policy_tags().policy_arn(&arn),
                tags
            )
            .await
            .map_err(|e| e.context(&format!("policy {arn}")))?;
            Ok::<_, ProviderError>((arn, tags))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok((policies, tags))
}

async fn read_instance_profiles(
    client: &Client,
    concurrency: usize,
) -> Result<Vec<(InstanceProfile, Vec<Tag>)>, ProviderError> {
    let profiles = paged!(
        "ListInstanceProfiles",
        client.list_instance_profiles(),
        instance_profiles
    )
    .await
    .map_err(|e| e.context("instance profiles"))?;
    let names: Vec<String> = profiles
        .iter()
        .map(|p| p.instance_profile_name().to_string())
        .collect();
    // ListInstanceProfiles leaves tags out; GetInstanceProfile has them.
    futures::stream::iter(names)
        .map(|name| async move {
            let out = client
                .get_instance_profile()
                .instance_profile_name(&name)
                .send()
                .await
                .api("GetInstanceProfile")
                .map_err(|e| e.context(&format!("instance profile {name}")))?;
            let profile = out
                .instance_profile()
                .cloned()
                .ok_or_else(|| ProviderError::Decode {
                    url: format!("iam:GetInstanceProfile instance profile {name}"),
                    message: "the answer has no InstanceProfile".into(),
                })?;
            let tags = profile.tags().to_vec();
            Ok::<_, ProviderError>((profile, tags))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await
}

async fn read_saml(
    client: &Client,
    concurrency: usize,
) -> Result<Vec<SamlProvider>, ProviderError> {
    let list = client
        .list_saml_providers()
        .send()
        .await
        .api("ListSAMLProviders")
        .map_err(|e| e.context("SAML providers"))?;
    let arns: Vec<String> = list
        .saml_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect();
    futures::stream::iter(arns)
        .map(|arn| async move {
            let out = client
                .get_saml_provider()
                .saml_provider_arn(&arn)
                .send()
                .await
                .api("GetSAMLProvider")
                .map_err(|e| e.context(&format!("SAML provider {arn}")))?;
            Ok::<_, ProviderError>(SamlProvider {
                metadata: out.saml_metadata_document().unwrap_or_default().to_string(),
                tags: out.tags().to_vec(),
                arn,
            })
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await
}

async fn read_oidc(
    client: &Client,
    concurrency: usize,
) -> Result<Vec<OidcProvider>, ProviderError> {
    let list = client
        .list_open_id_connect_providers()
        .send()
        .await
        .api("ListOpenIDConnectProviders")
        .map_err(|e| e.context("OIDC providers"))?;
    let arns: Vec<String> = list
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn().map(str::to_string))
        .collect();
    futures::stream::iter(arns)
        .map(|arn| async move {
            let out = client
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
                .api("GetOpenIDConnectProvider")
                .map_err(|e| e.context(&format!("OIDC provider {arn}")))?;
            Ok::<_, ProviderError>(OidcProvider {
                url: out.url().unwrap_or_default().to_string(),
                client_ids: out.client_id_list().to_vec(),
                thumbprints: out.thumbprint_list().to_vec(),
                tags: out.tags().to_vec(),
                arn,
            })
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await
}

async fn read_password_policy(client: &Client) -> Result<Option<PasswordPolicy>, ProviderError> {
    match client
        .get_account_password_policy()
        .send()
        .await
        .api("GetAccountPasswordPolicy")
    {
        Ok(out) => Ok(out.password_policy().cloned()),
        Err(e) if e.is("NoSuchEntity") => Ok(None),
        Err(e) => Err(e.context("account password policy")),
    }
}

/// Indexes used to turn names and ARNs into the ids that refs point at.
struct Index<'a> {
    user_by_name: HashMap<&'a str, &'a str>,
    user_by_arn: HashMap<&'a str, &'a str>,
    group_by_name: HashMap<&'a str, &'a str>,
    role_by_name: HashMap<&'a str, &'a str>,
    role_by_arn: HashMap<&'a str, &'a str>,
    policy_by_arn: HashMap<&'a str, &'a str>,
    unique_ids: HashMap<&'a str, &'static str>,
}

impl<'a> Index<'a> {
    fn new(account: &'a Account) -> Self {
        let mut index = Index {
            user_by_name: HashMap::new(),
            user_by_arn: HashMap::new(),
            group_by_name: HashMap::new(),
            role_by_name: HashMap::new(),
            role_by_arn: HashMap::new(),
            policy_by_arn: HashMap::new(),
            unique_ids: HashMap::new(),
        };
        for u in &account.users {
            if let (Some(name), Some(id)) = (u.user_name(), u.user_id()) {
                index.user_by_name.insert(name, id);
                index.unique_ids.insert(id, kinds::USER);
                if let Some(arn) = u.arn() {
                    index.user_by_arn.insert(arn, id);
                }
            }
        }
        for g in &account.groups {
            if let (Some(name), Some(id)) = (g.group_name(), g.group_id()) {
                index.group_by_name.insert(name, id);
            }
        }
        for r in &account.roles {
            if let (Some(name), Some(id)) = (r.role_name(), r.role_id()) {
                index.role_by_name.insert(name, id);
                index.unique_ids.insert(id, kinds::ROLE);
                if let Some(arn) = r.arn() {
                    index.role_by_arn.insert(arn, id);
                }
            }
        }
        for p in &account.policies {
            if let Some(arn) = p.arn() {
                index.policy_by_arn.insert(arn, policy_id(p).unwrap_or(arn));
            }
        }
        index
    }

    fn policy_ref(&self, rel: &str, arn: &str) -> Option<Ref> {
        self.policy_by_arn
            .get(arn)
            .map(|id| Ref::new(rel, kinds::POLICY, *id))
    }

    /// Refs to the users and roles of this snapshot that a trust policy names, by ARN or by
    /// unique id.
    fn trust_refs(&self, doc: &Value) -> Vec<Ref> {
        let mut refs = Vec::new();
        for principal in aws_principals(doc) {
            if let Some(id) = self.role_by_arn.get(principal.as_str()) {
                refs.push(Ref::new("trusts", kinds::ROLE, *id));
            } else if let Some(id) = self.user_by_arn.get(principal.as_str()) {
                refs.push(Ref::new("trusts", kinds::USER, *id));
            } else if let Some(kind) = self.unique_ids.get(principal.as_str()) {
                refs.push(Ref::new("trusts", *kind, principal));
            }
        }
        refs
    }
}

/// Every `Principal.AWS` value of a policy document (strings or arrays, any statement).
pub(crate) fn aws_principals(doc: &Value) -> Vec<String> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for statement in statements {
        match statement.get("Principal").and_then(|p| p.get("AWS")) {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(list)) => {
                out.extend(list.iter().filter_map(Value::as_str).map(str::to_string))
            }
            _ => {}
        }
    }
    out
}

fn tags_json(tags: &[Tag]) -> Value {
    kinds::tags_value(tags.iter().map(|t| (t.key(), t.value())))
}

fn document(kind: &str, key: &str, text: Option<&str>) -> Result<Value, ProviderError> {
    kinds::parse_document(text.unwrap_or_default()).map_err(|message| ProviderError::Decode {
        url: format!("{kind} {key}"),
        message,
    })
}

/// A policy's unique id. Some emulators leave `PolicyId` (and `PolicyName`) out of
/// `GetAccountAuthorizationDetails`; the ARN, also unique, stands in then.
fn policy_id(p: &ManagedPolicyDetail) -> Option<&str> {
    p.policy_id().or(p.arn())
}

/// Turns what was read into records. Pure: no calls.
pub(crate) fn records(account: &Account) -> Result<Vec<Record>, ProviderError> {
    let index = Index::new(account);
    let mut out = Vec::new();

    for p in &account.policies {
        let Some(arn) = p.arn() else {
            continue;
        };
        let name = p.policy_name().unwrap_or_else(|| kinds::arn_name(arn));
        let id = policy_id(p).unwrap_or(arn);
        let mut versions = Vec::new();
        for v in p.policy_version_list() {
            let doc = document(kinds::POLICY, name, v.document())?;
            versions.push(json!({"document": doc, "default": v.is_default_version()}));
        }
        // Version ids are AWS's numbering, which a re-created policy cannot keep: versions are
        // compared by content, so they are sorted by it.
        versions.sort_by_cached_key(|v| iamsnap_provider::canonical::to_string(&v["document"]));
        let tags = account
            .policy_tags
            .get(arn)
            .map(|t| tags_json(t))
            .unwrap_or_else(|| json!({}));
        out.push(Record::new(
            kinds::POLICY,
            id,
            name,
            json!({
                "path": p.path().unwrap_or("/"),
                "description": p.description().filter(|d| !d.is_empty()),
                "tags": tags,
                "versions": versions,
            }),
            vec![],
        ));
    }

    for g in &account.groups {
        let (Some(name), Some(id)) = (g.group_name(), g.group_id()) else {
            continue;
        };
        out.push(Record::new(
            kinds::GROUP,
            id,
            name,
            json!({"path": g.path().unwrap_or("/")}),
            vec![],
        ));
        principal_policies(
            &mut out,
            &index,
            Principal::Group,
            name,
            id,
            g.group_policy_list(),
            g.attached_managed_policies(),
        )?;
    }

    for u in &account.users {
        let (Some(name), Some(id)) = (u.user_name(), u.user_id()) else {
            continue;
        };
        let extras = account.user_extras.get(name).cloned().unwrap_or_default();
        let boundary = u
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn());
        let refs = boundary
            .and_then(|arn| index.policy_ref("boundary", arn))
            .into_iter()
            .collect();
        let keys: Vec<Value> = extras
            .access_keys
            .iter()
            .map(|(id, status)| json!({"id": id, "status": status}))
            .collect();
        out.push(Record::new(
            kinds::USER,
            id,
            name,
            json!({
                "path": u.path().unwrap_or("/"),
                "tags": tags_json(u.tags()),
                "permissions_boundary": boundary,
                "console_password": extras.console_password,
                "mfa_devices": extras.mfa_serials,
                "access_keys": keys,
            }),
            refs,
        ));
        let groups: BTreeSet<&str> = u.group_list().iter().map(String::as_str).collect();
        for group in groups {
            let group_id = index.group_by_name.get(group).copied().unwrap_or(group);
            out.push(Record::new(
                kinds::GROUP_MEMBERSHIP,
                format!("{group_id}|{id}"),
                format!("{group}|{name}"),
                json!({"group": group, "user": name}),
                vec![
                    Ref::new("group", kinds::GROUP, group_id),
                    Ref::new("member", kinds::USER, id),
                ],
            ));
        }
        principal_policies(
            &mut out,
            &index,
            Principal::User,
            name,
            id,
            u.user_policy_list(),
            u.attached_managed_policies(),
        )?;
    }

    for r in &account.roles {
        let (Some(name), Some(id)) = (r.role_name(), r.role_id()) else {
            continue;
        };
        let trust = document(kinds::ROLE, name, r.assume_role_policy_document())?;
        let extras = account.role_extras.get(name).cloned().unwrap_or_default();
        let boundary = r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn());
        let mut refs = index.trust_refs(&trust);
        refs.extend(boundary.and_then(|arn| index.policy_ref("boundary", arn)));
        out.push(Record::new(
            kinds::ROLE,
            id,
            name,
            json!({
                "path": r.path().unwrap_or("/"),
                "trust_policy": trust,
                "description": extras.description,
                "max_session_duration": extras.max_session_duration.unwrap_or(3600),
                "tags": tags_json(r.tags()),
                "permissions_boundary": boundary,
            }),
            refs,
        ));
        principal_policies(
            &mut out,
            &index,
            Principal::Role,
            name,
            id,
            r.role_policy_list(),
            r.attached_managed_policies(),
        )?;
    }

    for (profile, tags) in &account.instance_profiles {
        let mut roles: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
        roles.sort();
        let refs = profile
            .roles()
            .iter()
            .map(|r| {
                let id = index
                    .role_by_name
                    .get(r.role_name())
                    .copied()
                    .unwrap_or(r.role_id());
                Ref::new("role", kinds::ROLE, id)
            })
            .collect();
        out.push(Record::new(
            kinds::INSTANCE_PROFILE,
            profile.instance_profile_id(),
            profile.instance_profile_name(),
            json!({"path": profile.path(), "roles": roles, "tags": tags_json(tags)}),
            refs,
        ));
    }

    for p in &account.saml {
        let name = kinds::arn_name(&p.arn);
        out.push(Record::new(
            kinds::SAML_PROVIDER,
            &p.arn,
            name,
            json!({"name": name, "metadata_document": p.metadata, "tags": tags_json(&p.tags)}),
            vec![],
        ));
    }

    for p in &account.oidc {
        let url = p.url.trim_start_matches("https://");
        let mut client_ids = p.client_ids.clone();
        client_ids.sort();
        let mut thumbprints: Vec<String> = p.thumbprints.iter().map(|t| t.to_lowercase()).collect();
        thumbprints.sort();
        out.push(Record::new(
            kinds::OIDC_PROVIDER,
            &p.arn,
            url,
            json!({"url": url, "client_ids": client_ids, "thumbprints": thumbprints, "tags": tags_json(&p.tags)}),
            vec![],
        ));
    }

    if let Some(p) = &account.password_policy {
        out.push(Record::new(
            kinds::PASSWORD_POLICY,
            kinds::PASSWORD_POLICY_KEY,
            kinds::PASSWORD_POLICY_KEY,
            json!({
                "minimum_password_length": p.minimum_password_length(),
                "require_symbols": p.require_symbols(),
                "require_numbers": p.require_numbers(),
                "require_uppercase_characters": p.require_uppercase_characters(),
                "require_lowercase_characters": p.require_lowercase_characters(),
                "allow_users_to_change_password": p.allow_users_to_change_password(),
                "max_password_age": p.max_password_age().filter(|d| *d > 0),
                "password_reuse_prevention": p.password_reuse_prevention().filter(|n| *n > 0),
                "hard_expiry": p.hard_expiry().unwrap_or(false),
            }),
            vec![],
        ));
    }

    for alias in &account.aliases {
        out.push(Record::new(
            kinds::ACCOUNT_ALIAS,
            alias,
            alias,
            json!({"alias": alias}),
            vec![],
        ));
    }
    Ok(out)
}

/// The inline policies and managed-policy attachments of one principal.
fn principal_policies(
    out: &mut Vec<Record>,
    index: &Index<'_>,
    principal: Principal,
    name: &str,
    id: &str,
    inline: &[aws_sdk_iam::types::PolicyDetail],
    attached: &[aws_sdk_iam::types::AttachedPolicy],
) -> Result<(), ProviderError> {
    for policy in inline {
        let Some(policy_name) = policy.policy_name() else {
            continue;
        };
        let key = kinds::relation_key(principal, name, policy_name);
        let doc = document(kinds::INLINE_POLICY, &key, policy.policy_document())?;
        out.push(Record::new(
            kinds::INLINE_POLICY,
            format!("{id}|{policy_name}"),
            key,
            json!({
                "principal_type": principal.as_str(),
                "principal_name": name,
                "policy_name": policy_name,
                "document": doc,
            }),
            vec![Ref::new("principal", principal.kind(), id)],
        ));
    }
    for policy in attached {
        let Some(arn) = policy.policy_arn() else {
            continue;
        };
        let mut refs = vec![Ref::new("principal", principal.kind(), id)];
        refs.extend(index.policy_ref("policy", arn));
        out.push(Record::new(
            kinds::POLICY_ATTACHMENT,
            format!("{id}|{arn}"),
            kinds::relation_key(principal, name, arn),
            json!({"principal_type": principal.as_str(), "principal_name": name, "policy_arn": arn}),
            refs,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail, PolicyVersion};

    fn account() -> Account {
        let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:role/a","arn:aws:iam::1:user/ops/u"]},"Action":"sts:AssumeRole"}]}"#;
        Account {
            users: vec![
                UserDetail::builder()
                    .user_name("u")
                    .user_id("AIDA1")
                    .arn("arn:aws:iam::1:user/ops/u")
                    .path("/ops/")
                    .group_list("g")
                    .group_list("g")
                    .attached_managed_policies(
                        AttachedPolicy::builder()
                            .policy_arn("arn:aws:iam::1:policy/p")
                            .policy_name("p")
                            .build(),
                    )
                    .build(),
            ],
            groups: vec![
                GroupDetail::builder()
                    .group_name("g")
                    .group_id("AGPA1")
                    .path("/")
                    .build(),
            ],
            roles: vec![
                RoleDetail::builder()
                    .role_name("a")
                    .role_id("AROA1")
                    .arn("arn:aws:iam::1:role/a")
                    .assume_role_policy_document(
                        percent_encoding::utf8_percent_encode(
                            trust,
                            percent_encoding::NON_ALPHANUMERIC,
                        )
                        .to_string(),
                    )
                    .role_policy_list(
                        PolicyDetail::builder()
                            .policy_name("inline")
                            .policy_document("{\"Version\":\"2012-10-17\"}")
                            .build(),
                    )
                    .build(),
            ],
            policies: vec![
                ManagedPolicyDetail::builder()
                    .policy_name("p")
                    .policy_id("ANPA1")
                    .arn("arn:aws:iam::1:policy/p")
                    .policy_version_list(
                        PolicyVersion::builder()
                            .version_id("v2")
                            .document("{\"b\":2}")
                            .is_default_version(true)
                            .build(),
                    )
                    .policy_version_list(
                        PolicyVersion::builder()
                            .version_id("v1")
                            .document("{\"a\":1}")
                            .build(),
                    )
                    .build(),
            ],
            ..Account::default()
        }
    }

    #[test]
    fn builds_records_with_refs_by_id() {
        let records = records(&account()).unwrap();
        let find = |kind: &str, key: &str| {
            records
                .iter()
                .find(|r| r.kind == kind && r.key == key)
                .unwrap_or_else(|| panic!("{kind} {key} in {records:#?}"))
        };

        let role = find(kinds::ROLE, "a");
        assert_eq!(
            role.attrs["trust_policy"]["Statement"][0]["Action"],
            "sts:AssumeRole"
        );
        assert_eq!(
            role.refs,
            vec![
                Ref::new("trusts", kinds::ROLE, "AROA1"),
                Ref::new("trusts", kinds::USER, "AIDA1")
            ]
        );
        assert_eq!(role.attrs["max_session_duration"], 3600);

        let membership = find(kinds::GROUP_MEMBERSHIP, "g|u");
        assert_eq!(membership.id, "AGPA1|AIDA1");
        assert_eq!(
            records
                .iter()
                .filter(|r| r.kind == kinds::GROUP_MEMBERSHIP)
                .count(),
            1
        );

        let attachment = find(kinds::POLICY_ATTACHMENT, "user/u|arn:aws:iam::1:policy/p");
        assert!(
            attachment
                .refs
                .contains(&Ref::new("policy", kinds::POLICY, "ANPA1"))
        );

        let policy = find(kinds::POLICY, "p");
        assert_eq!(
            policy.attrs["versions"][0],
            json!({"document": {"a": 1}, "default": false})
        );
        assert_eq!(
            policy.attrs["versions"][1],
            json!({"document": {"b": 2}, "default": true})
        );

        find(kinds::INLINE_POLICY, "role/a|inline");
        assert_eq!(find(kinds::USER, "u").attrs["console_password"], false);
    }
}
