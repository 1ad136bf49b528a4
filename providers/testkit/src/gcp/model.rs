//! The organization's resources and their IAM policies, with Resource Manager's rules for
//! etags and policy versions.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::api::GcpError;

/// Organization, folder or project.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `organizations/123`, `folders/456`, `projects/789`.
    pub name: String,
    pub parent: Option<String>,
    pub display_name: String,
    /// The project id (`acme-prod-001`) of a project.
    pub project_id: Option<String>,
    pub policy: Policy,
}

/// An IAM policy as stored: bindings and audit configs kept as sent, byte for byte.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub version: i64,
    pub bindings: Vec<Value>,
    pub audit_configs: Vec<Value>,
    /// Bumped on every write; the etag is derived from it.
    pub serial: u64,
}

impl Policy {
    pub fn etag(&self) -> String {
        STANDARD.encode(format!("BwX{:08}", self.serial))
    }

    fn has_conditions(&self) -> bool {
        self.bindings.iter().any(|b| b.get("condition").is_some())
    }

    /// The policy as `getIamPolicy` answers it at `requested` version. Below version 3 a
    /// conditional binding is shown without its condition, its role named
    /// `ROLE_withcond_HASH`, as IAM does (its "withcond" troubleshooting page): a client that
    /// forgets the version sees that something is hidden, and cannot write it back.
    pub fn read(&self, requested: i64) -> Result<Value, GcpError> {
        if !matches!(requested, 0 | 1 | 3) {
            return Err(GcpError::invalid(format!(
                "Invalid requested policy version {requested}: must be 0, 1 or 3."
            )));
        }
        let full = requested == 3 && self.has_conditions();
        let mut out = json!({ "version": if full { 3 } else { 1 }, "etag": self.etag() });
        let bindings: Vec<Value> = if full || !self.has_conditions() {
            self.bindings.clone()
        } else {
            self.bindings.iter().map(withcond).collect()
        };
        if !bindings.is_empty() {
            out["bindings"] = Value::Array(bindings);
        }
        if !self.audit_configs.is_empty() {
            out["auditConfigs"] = Value::Array(self.audit_configs.clone());
        }
        Ok(out)
    }

    /// `setIamPolicy`: the etag must be the current one when given; conditions need version 3.
    pub fn write(&mut self, body: &Value) -> Result<Value, GcpError> {
        let policy = &body["policy"];
        if !policy.is_object() {
            return Err(GcpError::invalid(
                "Request contains an invalid argument: policy is required.",
            ));
        }
        if let Some(etag) = policy["etag"].as_str()
            && etag != self.etag()
        {
            return Err(GcpError::new(
                409,
                "ABORTED",
                "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
            ));
        }
        let version = policy["version"].as_i64().unwrap_or(1);
        if !matches!(version, 0 | 1 | 3) {
            return Err(GcpError::invalid(format!(
                "Invalid policy version {version}: must be 0, 1 or 3."
            )));
        }
        let bindings: Vec<Value> = policy["bindings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()))
            .collect();
        for b in &bindings {
            if b["role"].as_str().is_none_or(|r| {
                (!r.starts_with("roles/") && !r.contains("/roles/")) || r.contains("_withcond_")
            }) {
                return Err(GcpError::invalid(format!(
                    "Role {} is not a valid role name.",
                    b["role"]
                )));
            }
            if b.get("condition").is_some() && version < 3 {
                return Err(GcpError::invalid(
                    "Request contains an invalid argument: conditions require policy version 3 or greater.",
                ));
            }
        }
        // Without a mask Google writes the bindings (and etag) only.
        let mask = body["updateMask"].as_str().unwrap_or("bindings,etag");
        if mask.contains("bindings") {
            self.bindings = bindings;
        }
        if mask.contains("auditConfigs") {
            self.audit_configs = policy["auditConfigs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        self.version = if self.has_conditions() { 3 } else { 1 };
        self.serial += 1;
        self.read(3)
    }
}

/// A conditional binding as a version 1 read shows it: no condition, and the role named
/// `ROLE_withcond_` and 20 hex digits of a hash of the condition.
fn withcond(binding: &Value) -> Value {
    let Some(condition) = binding.get("condition") else {
        return binding.clone();
    };
    let hash = ring::digest::digest(&ring::digest::SHA256, condition.to_string().as_bytes());
    let hex: String = hash.as_ref()[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    json!({
        "role": format!("{}_withcond_{hex}", binding["role"].as_str().unwrap_or_default()),
        "members": binding["members"],
    })
}

/// The organization and everything under it.
#[derive(Debug, Clone, Default)]
pub struct Org {
    pub id: String,
    /// By name.
    pub resources: BTreeMap<String, Resource>,
    /// Service accounts, deleted ones included, by unique id.
    pub accounts: BTreeMap<String, super::accounts::Account>,
    /// Custom roles, deleted ones included until they are deleted for good, by name.
    pub roles: BTreeMap<String, super::roles::Role>,
    /// Names of custom roles deleted for good, with when they were deleted: their ids cannot
    /// be used again yet.
    pub reserved_roles: BTreeMap<String, std::time::SystemTime>,
    /// When the next deleted role is due to go for good or to free its id (see
    /// [`super::roles::expire`]); `None` while no role is deleted.
    pub next_expiry: Option<std::time::SystemTime>,
    /// IAM v2 deny policies and the operations that wrote them.
    pub deny: super::deny::DenyPolicies,
}

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    pub org: String,
    pub folders: usize,
    pub projects: usize,
    pub service_accounts: usize,
    pub custom_roles: usize,
    pub deny_policies: usize,
    pub seed: u64,
}

fn binding(role: &str, members: Vec<String>) -> Value {
    json!({ "role": role, "members": members })
}

/// A deterministic organization: folders under the organization, projects spread over the
/// folders, service accounts spread over the projects and named in their bindings, and a
/// conditional binding in every folder and every third project.
pub fn seed(spec: &SeedSpec) -> Org {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut org = Org {
        id: spec.org.clone(),
        ..Default::default()
    };
    let org_name = format!("organizations/{}", spec.org);
    let mut org_policy = Policy {
        bindings: vec![
            binding(
                "roles/resourcemanager.organizationAdmin",
                vec![
                    "group:gcp-admins@example.com".into(),
                    "user:alice@example.com".into(),
                ],
            ),
            binding("roles/browser", vec!["domain:example.com".into()]),
            binding(
                "roles/iam.securityReviewer",
                vec!["group:security@example.com".into()],
            ),
        ],
        audit_configs: vec![
            json!({"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}, {"logType": "DATA_READ", "exemptedMembers": ["user:alice@example.com"]}]}),
        ],
        ..Default::default()
    };
    org_policy.version = 1;
    org.resources.insert(
        org_name.clone(),
        Resource {
            name: org_name.clone(),
            parent: None,
            display_name: "example.com".into(),
            project_id: None,
            policy: org_policy,
        },
    );
    let folders: Vec<String> = (0..spec.folders)
        .map(|i| format!("folders/{}", 300_000_000_000u64 + i as u64))
        .collect();
    for (i, name) in folders.iter().enumerate() {
        let policy = Policy {
            version: 3,
            bindings: vec![
                binding("roles/viewer", vec![format!("group:team-{i}@example.com")]),
                binding(
                    "roles/resourcemanager.folderAdmin",
                    vec![format!("user:lead-{i}@example.com")],
                ),
                json!({
                    "role": "roles/storage.objectViewer",
                    "members": [format!("group:contractors-{i}@example.com")],
                    "condition": {
                        "title": "until end of contract",
                        "description": "Access ends with the contract",
                        "expression": "request.time < timestamp(\"2030-01-01T00:00:00Z\")"
                    }
                }),
            ],
            ..Default::default()
        };
        org.resources.insert(
            name.clone(),
            Resource {
                name: name.clone(),
                parent: Some(org_name.clone()),
                display_name: format!("Team {i}"),
                project_id: None,
                policy,
            },
        );
    }
    let mut projects = Vec::new();
    for i in 0..spec.projects {
        let name = format!("projects/{}", 100_000_000_000u64 + i as u64);
        let parent = if folders.is_empty() {
            org_name.clone()
        } else {
            folders[i % folders.len()].clone()
        };
        let project_id = format!("acme-{:03}-{}", i, ["prod", "stage", "dev"][i % 3]);
        let mut bindings = vec![
            binding(
                "roles/owner",
                vec![format!("user:owner-{}@example.com", i % 7)],
            ),
            binding(
                "roles/viewer",
                vec![
                    "group:auditors@example.com".into(),
                    format!("user:dev-{}@example.com", rng.gen_range(0..50)),
                ],
            ),
        ];
        if i % 3 == 0 {
            bindings.push(json!({
                "role": "roles/compute.instanceAdmin.v1",
                "members": [format!("user:oncall-{i}@example.com")],
                "condition": {
                    "title": "prod-only",
                    "expression": format!("resource.name.startsWith(\"projects/{project_id}/zones/europe-west1-b\") && request.time.getHours(\"Europe/Paris\") >= 8")
                }
            }));
        }
        org.resources.insert(
            name.clone(),
            Resource {
                name: name.clone(),
                parent: Some(parent),
                display_name: project_id.clone(),
                project_id: Some(project_id),
                policy: Policy {
                    version: 3,
                    bindings,
                    ..Default::default()
                },
            },
        );
        projects.push(name);
    }
    // Service accounts live in projects and are granted roles there.
    let mut previous: Option<String> = None;
    for n in 0..spec.service_accounts {
        if projects.is_empty() {
            break;
        }
        let project = &projects[n % projects.len()];
        let resource = org.resources.get_mut(project).expect("seeded above");
        let email = format!(
            "sa-{n:04}@{}.iam.gserviceaccount.com",
            resource.project_id.as_deref().unwrap_or("p")
        );
        let role = [
            "roles/editor",
            "roles/storage.admin",
            "roles/pubsub.publisher",
        ][n % 3];
        let member = format!("serviceAccount:{email}");
        let policy = account_policy(n, previous.replace(email.clone()).as_deref());
        let project_id = resource.project_id.clone().unwrap_or_default();
        let unique_id = format!("1{:020}", 7_000_000 + n as u64 * 7919);
        org.accounts.insert(
            unique_id.clone(),
            super::accounts::Account {
                project_id,
                email: email.clone(),
                unique_id,
                display_name: format!("Service account {n}"),
                description: if n % 2 == 0 {
                    format!("Runs job {n}")
                } else {
                    String::new()
                },
                disabled: n % 10 == 9,
                deleted_at: None,
                policy,
                keys: account_keys(n),
            },
        );
        let resource = org.resources.get_mut(project).expect("seeded above");
        match resource
            .policy
            .bindings
            .iter_mut()
            .find(|b| b["role"] == role && b.get("condition").is_none())
        {
            Some(b) => b["members"]
                .as_array_mut()
                .expect("members")
                .push(member.into()),
            None => resource.policy.bindings.push(binding(role, vec![member])),
        }
    }
    seed_roles(&mut org, &org_name, &projects, spec.custom_roles);
    super::deny::seed(&mut org, spec.deny_policies);
    for r in org.resources.values_mut() {
        for b in &mut r.policy.bindings {
            if let Some(m) = b["members"].as_array_mut() {
                m.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
        r.policy.serial = 1;
    }
    org
}

/// A service account's own policy: deployers who may act as every fourth account, the account
/// before it allowed to mint its tokens (so that deleting one account marks members of another
/// account's policy deleted), and a conditional grant on every eighth.
fn account_policy(n: usize, previous: Option<&str>) -> Policy {
    let mut bindings = Vec::new();
    if n.is_multiple_of(4) {
        bindings.push(binding(
            "roles/iam.serviceAccountUser",
            vec![format!("group:deployers-{}@example.com", n % 5)],
        ));
    }
    if n % 4 == 1
        && let Some(previous) = previous
    {
        bindings.push(binding(
            "roles/iam.serviceAccountTokenCreator",
            vec![format!("serviceAccount:{previous}")],
        ));
    }
    if n.is_multiple_of(8) {
        bindings.push(json!({
            "role": "roles/iam.serviceAccountTokenCreator",
            "members": [format!("user:oncall-{}@example.com", n % 3)],
            "condition": {
                "title": "break glass",
                "description": "Incident response only",
                "expression": "request.time < timestamp(\"2031-06-30T00:00:00Z\")"
            }
        }));
    }
    Policy {
        version: if n.is_multiple_of(8) { 3 } else { 1 },
        bindings,
        serial: 1,
        ..Default::default()
    }
}

/// A user-managed key on every third account, one in three of them disabled.
fn account_keys(n: usize) -> Vec<super::keys::Key> {
    if !n.is_multiple_of(3) {
        return Vec::new();
    }
    vec![super::keys::Key {
        id: format!("{:040x}", 0x5eed_0000_u64 + n as u64 * 7_919),
        valid_after: format!("2025-{:02}-01T08:00:00Z", 1 + n % 12),
        valid_before: "9999-12-31T23:59:59Z".into(),
        disabled: n.is_multiple_of(9),
    }]
}

/// Permissions the seeded custom roles grant.
const PERMISSIONS: &[&str] = &[
    "compute.instances.get",
    "compute.instances.list",
    "compute.instances.start",
    "compute.instances.stop",
    "storage.buckets.get",
    "storage.buckets.list",
    "storage.objects.get",
    "storage.objects.list",
    "logging.logEntries.list",
    "monitoring.timeSeries.list",
    "pubsub.topics.publish",
    "iam.serviceAccounts.actAs",
];

/// Custom roles: every fifth in the organization, the others spread over the projects, each
/// granted to a group in the policy of where it is defined.
fn seed_roles(org: &mut Org, org_name: &str, projects: &[String], n: usize) {
    for i in 0..n {
        let (parent, policy_of) = if i % 5 == 0 || projects.is_empty() {
            (org_name.to_string(), org_name.to_string())
        } else {
            let project = &projects[i % projects.len()];
            let id = org.resources[project]
                .project_id
                .clone()
                .unwrap_or_default();
            (format!("projects/{id}"), project.clone())
        };
        let name = format!("{parent}/roles/custom.role{i:03}");
        let permissions: Vec<String> = (0..3)
            .map(|k| PERMISSIONS[(i * 5 + k * 3) % PERMISSIONS.len()].to_string())
            .collect();
        org.roles.insert(
            name.clone(),
            super::roles::Role {
                name: name.clone(),
                title: format!("Custom role {i}"),
                description: if i % 2 == 0 {
                    format!("Operators of service {i}")
                } else {
                    String::new()
                },
                permissions,
                stage: ["GA", "BETA", "ALPHA"][i % 3].to_string(),
                deleted_at: None,
                serial: 1,
            },
        );
        let policy = &mut org
            .resources
            .get_mut(&policy_of)
            .expect("seeded above")
            .policy;
        policy.bindings.push(binding(
            &name,
            vec![format!("group:custom-{i}@example.com")],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditional() -> Policy {
        Policy {
            version: 3,
            serial: 1,
            bindings: vec![
                json!({"role": "roles/viewer", "members": ["user:a@example.com"],
                "condition": {"title": "t", "expression": "request.time < timestamp(\"2030-01-01T00:00:00Z\")"}}),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_conditional_policy_read_below_version_3_hides_its_conditions_and_cannot_be_written_back() {
        let mut policy = conditional();
        assert_eq!(policy.read(3).unwrap()["version"], 3);
        assert_eq!(policy.read(2).unwrap_err().status, "INVALID_ARGUMENT");
        let v1 = policy.read(1).unwrap();
        assert_eq!(v1["version"], 1);
        let role = v1["bindings"][0]["role"].as_str().unwrap();
        assert!(
            role.starts_with("roles/viewer_withcond_") && role.len() == 42,
            "{role}"
        );
        assert!(v1["bindings"][0].get("condition").is_none());
        let refused = policy.write(&json!({"policy": v1})).unwrap_err();
        assert_eq!(refused.status, "INVALID_ARGUMENT");
    }

    #[test]
    fn a_stale_etag_is_refused_and_every_write_moves_the_etag() {
        let mut policy = conditional();
        let read = policy.read(3).unwrap();
        let written = policy.write(&json!({"policy": read.clone()})).unwrap();
        assert_ne!(written["etag"], read["etag"]);
        let stale = policy.write(&json!({"policy": read})).unwrap_err();
        assert_eq!((stale.code, stale.status), (409, "ABORTED"));
    }

    #[test]
    fn conditions_need_policy_version_3() {
        let mut policy = conditional();
        let mut read = policy.read(3).unwrap();
        read["version"] = json!(1);
        assert_eq!(
            policy
                .write(&json!({"policy": read.clone()}))
                .unwrap_err()
                .status,
            "INVALID_ARGUMENT"
        );
        read["version"] = json!(2);
        assert_eq!(
            policy.write(&json!({"policy": read})).unwrap_err().status,
            "INVALID_ARGUMENT",
            "only 0, 1 and 3 are versions"
        );
    }
}
