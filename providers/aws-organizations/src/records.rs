//! The organization as read → records: the pure mapping of the connector, no calls.

use std::collections::HashMap;

use iamsnap_provider::{Record, Ref};
use serde_json::json;

use crate::kinds::{self, Target};
use crate::read::{Account, Attachment, Org, Unit};

/// Every record of the organization. AWS-managed policies (`FullAWSAccess`) have no record:
/// they exist in every organization and cannot be made or changed, so only their attachments
/// are saved.
pub(crate) fn all(org: &Org) -> Vec<Record> {
    let mut out = vec![root(org)];
    out.extend(org.units.iter().map(|u| unit(u, &org.root.id)));
    out.extend(org.accounts.iter().map(account));
    let managed: HashMap<&str, bool> = org
        .policies
        .iter()
        .map(|p| (p.id.as_str(), p.content.is_none()))
        .collect();
    for p in &org.policies {
        let Some(content) = &p.content else { continue };
        out.push(Record::new(
            kinds::POLICY,
            &p.id,
            p.key(),
            json!({
                "name": p.name,
                "type": p.policy_type,
                "description": p.description,
                "content": content,
                "tags": p.tags,
            }),
            vec![],
        ));
    }
    out.extend(
        org.attachments
            .iter()
            .map(|a| attachment(a, managed.get(a.policy_id.as_str()).copied())),
    );
    for (account, service) in &org.delegated {
        let key = format!("{account}|{service}");
        out.push(Record::new(
            kinds::DELEGATED_ADMIN,
            &key,
            &key,
            json!({"account": account, "service": service}),
            vec![Ref::new("account", kinds::ACCOUNT, account)],
        ));
    }
    out
}

fn root(org: &Org) -> Record {
    Record::new(
        kinds::ROOT,
        &org.root.id,
        kinds::ROOT_KEY,
        json!({"policy_types": org.root.policy_types}),
        vec![],
    )
}

fn unit(u: &Unit, root_id: &str) -> Record {
    let parent = match &u.parent_id {
        Some(id) => Ref::new("parent", kinds::UNIT, id),
        None => Ref::new("parent", kinds::ROOT, root_id),
    };
    Record::new(
        kinds::UNIT,
        &u.id,
        &u.path,
        json!({"name": u.name, "tags": u.tags}),
        vec![parent],
    )
}

fn account(a: &Account) -> Record {
    let parent = match &a.parent {
        Target::Unit(_) => Ref::new("parent", kinds::UNIT, &a.parent_id),
        _ => Ref::new("parent", kinds::ROOT, &a.parent_id),
    };
    Record::new(
        kinds::ACCOUNT,
        &a.id,
        &a.id,
        json!({
            "name": a.name,
            "email": a.email,
            "status": a.status,
            "parent": a.parent.key(),
            "tags": a.tags,
        }),
        vec![parent],
    )
}

/// `managed`: whether the policy is AWS-managed, when the policy was read.
fn attachment(a: &Attachment, managed: Option<bool>) -> Record {
    let mut refs = vec![Ref::new("target", a.target.kind(), &a.target_id)];
    if managed == Some(false) {
        refs.push(Ref::new("policy", kinds::POLICY, &a.policy_id));
    }
    Record::new(
        kinds::ATTACHMENT,
        format!("{}|{}", a.target_id, a.policy_id),
        format!("{}|{}", a.target.key(), a.policy_key),
        json!({
            "target": a.target.key(),
            "policy": a.policy_key,
            "aws_managed": a.aws_managed,
        }),
        refs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Policy, Root};

    fn org() -> Org {
        Org {
            root: Root {
                id: "r-ab12".into(),
                policy_types: vec!["SERVICE_CONTROL_POLICY".into()],
            },
            units: vec![
                Unit {
                    id: "ou-1".into(),
                    name: "Workloads".into(),
                    path: "Workloads".into(),
                    parent_id: None,
                    tags: json!({}),
                },
                Unit {
                    id: "ou-2".into(),
                    name: "Prod".into(),
                    path: "Workloads/Prod".into(),
                    parent_id: Some("ou-1".into()),
                    tags: json!({"env": "prod"}),
                },
            ],
            accounts: vec![Account {
                id: "111111111111".into(),
                name: "app".into(),
                email: "app@example.com".into(),
                status: "ACTIVE".into(),
                parent: Target::Unit("Workloads/Prod".into()),
                parent_id: "ou-2".into(),
                tags: json!({}),
            }],
            policies: vec![
                Policy {
                    id: "p-full".into(),
                    policy_type: "SERVICE_CONTROL_POLICY".into(),
                    name: "FullAWSAccess".into(),
                    description: String::new(),
                    content: None,
                    tags: json!({}),
                },
                Policy {
                    id: "p-deny".into(),
                    policy_type: "SERVICE_CONTROL_POLICY".into(),
                    name: "DenyLeave".into(),
                    description: "no leaving".into(),
                    content: Some(json!({"Statement": []})),
                    tags: json!({}),
                },
            ],
            attachments: vec![
                Attachment {
                    target: Target::Root,
                    target_id: "r-ab12".into(),
                    policy_id: "p-full".into(),
                    policy_key: "SERVICE_CONTROL_POLICY/FullAWSAccess".into(),
                    aws_managed: true,
                },
                Attachment {
                    target: Target::Unit("Workloads/Prod".into()),
                    target_id: "ou-2".into(),
                    policy_id: "p-deny".into(),
                    policy_key: "SERVICE_CONTROL_POLICY/DenyLeave".into(),
                    aws_managed: false,
                },
            ],
            delegated: vec![("111111111111".into(), "guardduty.amazonaws.com".into())],
        }
    }

    #[test]
    fn keys_are_names_and_refs_are_ids() {
        let records = all(&org());
        let find = |kind: &str, key: &str| {
            records
                .iter()
                .find(|r| r.kind == kind && r.key == key)
                .unwrap_or_else(|| panic!("{kind} {key}: {records:#?}"))
        };
        assert_eq!(
            find(kinds::UNIT, "Workloads/Prod").refs,
            vec![Ref::new("parent", kinds::UNIT, "ou-1")]
        );
        assert_eq!(
            find(kinds::UNIT, "Workloads").refs,
            vec![Ref::new("parent", kinds::ROOT, "r-ab12")]
        );
        assert_eq!(
            find(kinds::ACCOUNT, "111111111111").attrs["parent"],
            "ou/Workloads/Prod"
        );
        let deny = find(
            kinds::ATTACHMENT,
            "ou/Workloads/Prod|SERVICE_CONTROL_POLICY/DenyLeave",
        );
        assert_eq!(deny.id, "ou-2|p-deny");
        assert!(
            deny.refs
                .contains(&Ref::new("policy", kinds::POLICY, "p-deny"))
        );
        let full = find(
            kinds::ATTACHMENT,
            "root|SERVICE_CONTROL_POLICY/FullAWSAccess",
        );
        assert_eq!(full.refs, vec![Ref::new("target", kinds::ROOT, "r-ab12")]);
        assert!(
            !records
                .iter()
                .any(|r| r.kind == kinds::POLICY && r.key.ends_with("FullAWSAccess")),
            "AWS-managed policies are referenced, not saved"
        );
        find(kinds::POLICY, "SERVICE_CONTROL_POLICY/DenyLeave");
        find(
            kinds::DELEGATED_ADMIN,
            "111111111111|guardduty.amazonaws.com",
        );
        assert_eq!(find(kinds::ROOT, "root").id, "r-ab12");
    }
}
