//! Claims-mapping and token-lifetime policies and the service principals they apply to. A
//! policy is a record keyed by display name; its assignment to a service principal is a
//! relationship `service principal|claimsMapping:policy` (or `tokenLifetime:`). Both are read
//! from one tenant-wide list per family with `$expand=appliesTo`, so that the backup makes no
//! request per service principal; Graph expands at most 20 objects, so a policy applied to more
//! has its `appliesTo` listed in full.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use crate::client::GraphClient;
use crate::kinds::*;
use crate::read::fetch::{eq, segment};
use crate::records::{Index, id_of, str_of};

/// How many objects Graph puts in an expanded directory relationship.
const EXPANDED: usize = 20;

/// A policy family: its kind, the segment Graph names it by, and the label of its end in an
/// assignment key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    pub kind: &'static str,
    pub segment: &'static str,
    pub label: &'static str,
}

pub(crate) const FAMILIES: [Family; 2] = [
    Family {
        kind: CLAIMS_MAPPING_POLICY,
        segment: "claimsMappingPolicies",
        label: "claimsMapping",
    },
    Family {
        kind: TOKEN_LIFETIME_POLICY,
        segment: "tokenLifetimePolicies",
        label: "tokenLifetime",
    },
];

impl Family {
    pub(crate) fn of_kind(kind: &str) -> Option<Family> {
        FAMILIES.into_iter().find(|f| f.kind == kind)
    }

    pub(crate) fn path(&self) -> String {
        format!("/policies/{}", self.segment)
    }
}

/// What Graph lets a client write of a policy.
pub(crate) const WRITABLE: [&str; 4] = [
    "displayName",
    "description",
    "definition",
    "isOrganizationDefault",
];

pub(crate) fn policy(family: Family, v: &Value) -> Record {
    let attrs: serde_json::Map<String, Value> = WRITABLE
        .iter()
        .map(|f| (f.to_string(), v[*f].clone()))
        .collect();
    Record::new(
        family.kind,
        id_of(v),
        str_of(v, "displayName"),
        Value::Object(attrs),
        Vec::new(),
    )
}

/// The assignment of the policy `v` to the service principal `sp` (id, key).
pub(crate) fn assignment(family: Family, v: &Value, sp: (&str, &str)) -> Record {
    let (sp_id, sp_key) = sp;
    let name = str_of(v, "displayName");
    let end = format!("{}:{name}", family.label);
    Record::new(
        SERVICE_PRINCIPAL_POLICY,
        format!("{sp_id}/{}", id_of(v)),
        format!("{sp_key}|{end}"),
        json!({"servicePrincipal": sp_key, "policy": end}),
        vec![
            Ref::new("servicePrincipal", SERVICE_PRINCIPAL, sp_id),
            Ref::new("policy", family.kind, id_of(v)),
        ],
    )
}

/// Splits an assignment key into the service principal's key, the family and the policy's name.
pub(crate) fn split_key(key: &str) -> Option<(&str, Family, &str)> {
    FAMILIES
        .iter()
        .filter_map(|f| {
            key.find(&format!("|{}:", f.label))
                .map(|at| (at, *f, &key[at + f.label.len() + 2..]))
        })
        .min_by_key(|(at, _, _)| *at)
        .map(|(at, f, name)| (&key[..at], f, name))
}

/// Every policy of `family`, with the ids of the objects it applies to.
pub(crate) async fn read(
    client: &GraphClient,
    family: Family,
) -> Result<Vec<(Value, Vec<String>)>, ProviderError> {
    let mut out = Vec::new();
    for mut v in client
        .all(&format!("{}?$expand=appliesTo", family.path()))
        .await?
    {
        let expanded = v
            .get_mut("appliesTo")
            .map(Value::take)
            .unwrap_or(Value::Null);
        let mut targets: Vec<String> = expanded
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| id_of(o).to_string())
            .collect();
        if targets.len() >= EXPANDED {
            targets = client
                .all(&format!(
                    "{}/{}/appliesTo?$select=id",
                    family.path(),
                    segment(id_of(&v))
                ))
                .await?
                .iter()
                .map(|o| id_of(o).to_string())
                .collect();
        }
        out.push((v, targets));
    }
    Ok(out)
}

/// The records of every policy of `family` and of its assignments to the service principals
/// the snapshot holds; objects of other kinds it applies to (applications) are left out.
pub(crate) async fn records(
    client: &GraphClient,
    family: Family,
    index: &Index,
) -> Result<Vec<Record>, ProviderError> {
    let mut out = Vec::new();
    for (v, targets) in read(client, family).await? {
        out.push(policy(family, &v));
        for id in targets {
            match index.by_id.get(&id) {
                Some((SERVICE_PRINCIPAL, key)) => out.push(assignment(family, &v, (&id, key))),
                _ => tracing::warn!(
                    policy = str_of(&v, "displayName"),
                    id,
                    "left out: the policy applies to an object that is not a service principal the snapshot read"
                ),
            }
        }
    }
    Ok(out)
}

/// The live policy of `family` named `name`.
pub(crate) async fn live(
    client: &GraphClient,
    family: Family,
    name: &str,
) -> Result<Option<Value>, ProviderError> {
    let url = client.url(&format!(
        "{}?$filter={}",
        family.path(),
        eq("displayName", name)
    ));
    let (items, _) = client.page(&url).await?;
    Ok(items.into_iter().find(|v| v["displayName"] == name))
}

/// One record read again: a policy by name, or an assignment from the service principal's list.
pub(crate) async fn fetch(
    client: &GraphClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    if let Some(family) = Family::of_kind(kind) {
        return Ok(live(client, family, key).await?.map(|v| policy(family, &v)));
    }
    let Some((sp_key, family, name)) = split_key(key) else {
        return Ok(None);
    };
    let Some(sp) = crate::read::fetch::object(client, SERVICE_PRINCIPAL, sp_key).await? else {
        return Ok(None);
    };
    let sp_id = id_of(&sp);
    let held = client
        .all(&format!(
            "/servicePrincipals/{}/{}",
            segment(sp_id),
            family.segment
        ))
        .await?;
    Ok(held
        .iter()
        .find(|v| v["displayName"] == name)
        .map(|v| assignment(family, v, (sp_id, sp_key))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_key_splits_at_the_first_family_label() {
        let (sp, family, name) = split_key("Payroll|api|tokenLifetime:Four hours").unwrap();
        assert_eq!(
            (sp, family.kind, name),
            ("Payroll|api", TOKEN_LIFETIME_POLICY, "Four hours")
        );
        assert!(split_key("Payroll|user:x").is_none());
    }
}
