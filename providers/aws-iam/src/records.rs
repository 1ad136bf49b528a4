//! IAM answers → records: the pure mapping of the AWS IAM connector, no calls.
//!
//! One function per entity gives every record that entity carries (a user gives its user record,
//! memberships, inline policies and attachments). Refs point by id, and the answers that carry a
//! relation often name the other end by name or ARN only: the lookups here ([`PolicyIds`],
//! [`GroupIds`], [`Principals`], [`RoleHead`]) turn those into ids. They are filled by the read
//! from the families read before, and hold names, ARNs and ids only.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_iam::types::{
    AttachedPolicy, GroupDetail, InstanceProfile, ManagedPolicyDetail, PasswordPolicy,
    PolicyDetail, RoleDetail, Tag, UserDetail,
};
use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use crate::kinds::{self, Principal};

/// Customer-managed policy ids by ARN: the target of attachment and boundary refs, which
/// name policies by ARN.
pub(crate) type PolicyIds = HashMap<String, String>;

/// Group ids by name: the target of membership refs, as a user's details name its groups.
pub(crate) type GroupIds = HashMap<String, String>;

/// What a user has beyond `GetAccountAuthorizationDetails`.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserExtras {
    pub console_password: bool,
    pub mfa_serials: Vec<String>,
    pub access_keys: Vec<(String, String)>,
}

/// A role as `ListRoles` gives it: the fields `GetAccountAuthorizationDetails` lacks
/// (description, max session duration), and the id and ARN that refs to the role need.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleHead {
    pub id: String,
    pub arn: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
}

/// The users and roles of the account, which trust policies name by ARN or by unique id.
#[derive(Debug, Default)]
pub(crate) struct Principals {
    by_arn: HashMap<String, (&'static str, String)>,
    kind_of_id: HashMap<String, &'static str>,
}

impl Principals {
    /// Adds a user or role (`kind`) with its ARN, when it has one.
    pub fn add(&mut self, kind: &'static str, arn: Option<&str>, id: &str) {
        self.kind_of_id.insert(id.to_string(), kind);
        if let Some(arn) = arn {
            self.by_arn.insert(arn.to_string(), (kind, id.to_string()));
        }
    }

    /// Refs to the users and roles of this snapshot that a trust policy names, by ARN or by
    /// unique id.
    fn trust_refs(&self, doc: &Value) -> Vec<Ref> {
        let mut refs = Vec::new();
        for principal in aws_principals(doc) {
            if let Some((kind, id)) = self.by_arn.get(principal.as_str()) {
                refs.push(Ref::new("trusts", *kind, id));
            } else if let Some(kind) = self.kind_of_id.get(principal.as_str()) {
                refs.push(Ref::new("trusts", *kind, principal));
            }
        }
        refs
    }
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

/// A policy's unique id. Some emulators leave `PolicyId` (and `PolicyName`) out of
/// `GetAccountAuthorizationDetails`; the ARN, also unique, stands in then.
pub(crate) fn policy_id(p: &ManagedPolicyDetail) -> Option<&str> {
    p.policy_id().or(p.arn())
}

/// A customer-managed policy with every version; `None` without an ARN. `tags` are `{}` when
/// they were not read.
pub(crate) fn policy(
    p: &ManagedPolicyDetail,
    tags: Option<&[Tag]>,
) -> Result<Option<Record>, ProviderError> {
    let Some(arn) = p.arn() else {
        return Ok(None);
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
    Ok(Some(Record::new(
        kinds::POLICY,
        id,
        name,
        json!({
            "path": p.path().unwrap_or("/"),
            "description": p.description().filter(|d| !d.is_empty()),
            "tags": tags.map(tags_json).unwrap_or_else(|| json!({})),
            "versions": versions,
        }),
        vec![],
    )))
}

/// A group with its inline policies and attachments; nothing without a name and id.
pub(crate) fn group(g: &GroupDetail, policies: &PolicyIds) -> Result<Vec<Record>, ProviderError> {
    let (Some(name), Some(id)) = (g.group_name(), g.group_id()) else {
        return Ok(Vec::new());
    };
    let mut out = vec![Record::new(
        kinds::GROUP,
        id,
        name,
        json!({"path": g.path().unwrap_or("/")}),
        vec![],
    )];
    principal_policies(
        &mut out,
        policies,
        Principal::Group,
        name,
        id,
        g.group_policy_list(),
        g.attached_managed_policies(),
    )?;
    Ok(out)
}

/// A user with its memberships, inline policies and attachments; nothing without a name and id.
pub(crate) fn user(
    u: &UserDetail,
    extras: &UserExtras,
    policies: &PolicyIds,
    groups: &GroupIds,
) -> Result<Vec<Record>, ProviderError> {
    let (Some(name), Some(id)) = (u.user_name(), u.user_id()) else {
        return Ok(Vec::new());
    };
    let boundary = u
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn());
    let refs = boundary
        .and_then(|arn| policy_ref(policies, "boundary", arn))
        .into_iter()
        .collect();
    let keys: Vec<Value> = extras
        .access_keys
        .iter()
        .map(|(id, status)| json!({"id": id, "status": status}))
        .collect();
    let mut out = vec![Record::new(
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
    )];
    let member_of: BTreeSet<&str> = u.group_list().iter().map(String::as_str).collect();
    for group in member_of {
        let group_id = groups.get(group).map_or(group, String::as_str);
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
        policies,
        Principal::User,
        name,
        id,
        u.user_policy_list(),
        u.attached_managed_policies(),
    )?;
    Ok(out)
}

/// A role with its inline policies and attachments; nothing without a name and id. `head` is
/// the role as `ListRoles` gave it, when it did.
pub(crate) fn role(
    r: &RoleDetail,
    head: Option<&RoleHead>,
    principals: &Principals,
    policies: &PolicyIds,
) -> Result<Vec<Record>, ProviderError> {
    let (Some(name), Some(id)) = (r.role_name(), r.role_id()) else {
        return Ok(Vec::new());
    };
    let trust = document(kinds::ROLE, name, r.assume_role_policy_document())?;
    let boundary = r
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn());
    let mut refs = principals.trust_refs(&trust);
    refs.extend(boundary.and_then(|arn| policy_ref(policies, "boundary", arn)));
    let mut out = vec![Record::new(
        kinds::ROLE,
        id,
        name,
        json!({
            "path": r.path().unwrap_or("/"),
            "trust_policy": trust,
            "description": head.and_then(|h| h.description.clone()),
            "max_session_duration": head.and_then(|h| h.max_session_duration).unwrap_or(3600),
            "tags": tags_json(r.tags()),
            "permissions_boundary": boundary,
        }),
        refs,
    )];
    principal_policies(
        &mut out,
        policies,
        Principal::Role,
        name,
        id,
        r.role_policy_list(),
        r.attached_managed_policies(),
    )?;
    Ok(out)
}

/// An instance profile as `GetInstanceProfile` gives it (with tags); `roles` are the roles of
/// the snapshot by name, when they were read.
pub(crate) fn instance_profile(
    profile: &InstanceProfile,
    roles: &HashMap<String, RoleHead>,
) -> Record {
    let mut names: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
    names.sort();
    let refs = profile
        .roles()
        .iter()
        .map(|r| {
            let id = roles
                .get(r.role_name())
                .map_or(r.role_id(), |h| h.id.as_str());
            Ref::new("role", kinds::ROLE, id)
        })
        .collect();
    Record::new(
        kinds::INSTANCE_PROFILE,
        profile.instance_profile_id(),
        profile.instance_profile_name(),
        json!({"path": profile.path(), "roles": names, "tags": tags_json(profile.tags())}),
        refs,
    )
}

pub(crate) fn saml_provider(p: &SamlProvider) -> Record {
    let name = kinds::arn_name(&p.arn);
    Record::new(
        kinds::SAML_PROVIDER,
        &p.arn,
        name,
        json!({"name": name, "metadata_document": p.metadata, "tags": tags_json(&p.tags)}),
        vec![],
    )
}

pub(crate) fn oidc_provider(p: &OidcProvider) -> Record {
    let url = p.url.trim_start_matches("https://");
    let mut client_ids = p.client_ids.clone();
    client_ids.sort();
    let mut thumbprints: Vec<String> = p.thumbprints.iter().map(|t| t.to_lowercase()).collect();
    thumbprints.sort();
    Record::new(
        kinds::OIDC_PROVIDER,
        &p.arn,
        url,
        json!({"url": url, "client_ids": client_ids, "thumbprints": thumbprints, "tags": tags_json(&p.tags)}),
        vec![],
    )
}

pub(crate) fn password_policy(p: &PasswordPolicy) -> Record {
    Record::new(
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
    )
}

pub(crate) fn account_alias(alias: &str) -> Record {
    Record::new(
        kinds::ACCOUNT_ALIAS,
        alias,
        alias,
        json!({"alias": alias}),
        vec![],
    )
}

/// The inline policies and managed-policy attachments of one principal.
fn principal_policies(
    out: &mut Vec<Record>,
    policies: &PolicyIds,
    principal: Principal,
    name: &str,
    id: &str,
    inline: &[PolicyDetail],
    attached: &[AttachedPolicy],
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
        refs.extend(policy_ref(policies, "policy", arn));
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

/// A ref to the customer-managed policy `arn` of this snapshot; none for AWS-managed policies.
fn policy_ref(policies: &PolicyIds, rel: &str, arn: &str) -> Option<Ref> {
    policies.get(arn).map(|id| Ref::new(rel, kinds::POLICY, id))
}

/// Every `Principal.AWS` value of a policy document (strings or arrays, any statement).
fn aws_principals(doc: &Value) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail, PolicyVersion};

    fn find<'a>(records: &'a [Record], kind: &str, key: &str) -> &'a Record {
        records
            .iter()
            .find(|r| r.kind == kind && r.key == key)
            .unwrap_or_else(|| panic!("{kind} {key} in {records:#?}"))
    }

    fn managed_policy() -> ManagedPolicyDetail {
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
            .build()
    }

    fn user_detail() -> UserDetail {
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
            .build()
    }

    fn policy_ids() -> PolicyIds {
        let p = managed_policy();
        PolicyIds::from([(p.arn().unwrap().into(), policy_id(&p).unwrap().into())])
    }

    #[test]
    fn policy_versions_are_sorted_by_content_with_the_default_marked() {
        let policy = policy(&managed_policy(), None).unwrap().unwrap();
        assert_eq!((policy.id.as_str(), policy.key.as_str()), ("ANPA1", "p"));
        assert_eq!(
            policy.attrs["versions"],
            json!([
                {"document": {"a": 1}, "default": false},
                {"document": {"b": 2}, "default": true},
            ])
        );
        assert_eq!(policy.attrs["tags"], json!({}));
        let no_id = ManagedPolicyDetail::builder()
            .arn("arn:aws:iam::1:policy/team/q")
            .build();
        let q = super::policy(&no_id, Some(&[])).unwrap().unwrap();
        assert_eq!(
            (q.id.as_str(), q.key.as_str()),
            ("arn:aws:iam::1:policy/team/q", "q")
        );
    }

    #[test]
    fn users_give_one_membership_per_group_and_attachments_by_policy_id() {
        let groups = GroupIds::from([("g".into(), "AGPA1".into())]);
        let records = user(
            &user_detail(),
            &UserExtras::default(),
            &policy_ids(),
            &groups,
        )
        .unwrap();
        assert_eq!(
            find(&records, kinds::USER, "u").attrs["console_password"],
            false
        );
        let memberships: Vec<&Record> = records
            .iter()
            .filter(|r| r.kind == kinds::GROUP_MEMBERSHIP)
            .collect();
        assert_eq!(memberships.len(), 1);
        assert_eq!(memberships[0].id, "AGPA1|AIDA1");
        let attachment = find(
            &records,
            kinds::POLICY_ATTACHMENT,
            "user/u|arn:aws:iam::1:policy/p",
        );
        assert!(
            attachment
                .refs
                .contains(&Ref::new("policy", kinds::POLICY, "ANPA1"))
        );
        // Without the groups read, a membership names its group by name.
        let alone = user(
            &user_detail(),
            &UserExtras::default(),
            &PolicyIds::new(),
            &GroupIds::new(),
        )
        .unwrap();
        assert_eq!(find(&alone, kinds::GROUP_MEMBERSHIP, "g|u").id, "g|AIDA1");
    }

    #[test]
    fn roles_ref_the_principals_their_trust_policy_names() {
        let trust = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:role/a","arn:aws:iam::1:user/ops/u","AIDA2"]},"Action":"sts:AssumeRole"}]}"#;
        let detail = RoleDetail::builder()
            .role_name("a")
            .role_id("AROA1")
            .arn("arn:aws:iam::1:role/a")
            .assume_role_policy_document(
                percent_encoding::utf8_percent_encode(trust, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            )
            .role_policy_list(
                PolicyDetail::builder()
                    .policy_name("inline")
                    .policy_document("{\"Version\":\"2012-10-17\"}")
                    .build(),
            )
            .build();
        let mut principals = Principals::default();
        principals.add(kinds::USER, Some("arn:aws:iam::1:user/ops/u"), "AIDA1");
        principals.add(kinds::USER, None, "AIDA2");
        principals.add(kinds::ROLE, Some("arn:aws:iam::1:role/a"), "AROA1");
        let records = role(&detail, None, &principals, &PolicyIds::new()).unwrap();
        let role = find(&records, kinds::ROLE, "a");
        assert_eq!(
            role.attrs["trust_policy"]["Statement"][0]["Action"],
            "sts:AssumeRole"
        );
        assert_eq!(
            role.refs,
            vec![
                Ref::new("trusts", kinds::ROLE, "AROA1"),
                Ref::new("trusts", kinds::USER, "AIDA1"),
                Ref::new("trusts", kinds::USER, "AIDA2"),
            ]
        );
        assert_eq!(role.attrs["max_session_duration"], 3600);
        assert_eq!(role.attrs["description"], Value::Null);
        find(&records, kinds::INLINE_POLICY, "role/a|inline");

        let head = RoleHead {
            description: Some("deploys".into()),
            max_session_duration: Some(7200),
            ..RoleHead::default()
        };
        let records = super::role(&detail, Some(&head), &principals, &PolicyIds::new()).unwrap();
        let role = find(&records, kinds::ROLE, "a");
        assert_eq!(role.attrs["description"], "deploys");
        assert_eq!(role.attrs["max_session_duration"], 7200);
    }
}
