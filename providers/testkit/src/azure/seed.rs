//! A deterministic tenant: subscriptions, resource groups with a storage account each, the
//! directory's principals, built-in and custom roles, role assignments (some with
//! conditions) and management locks.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::model::{
    Arm, DenyAssignment, Eligibility, Lock, ManagementGroup, Permission, ResourceGroup,
    RoleAssignment, RoleDefinition, Subscription,
};

/// What to seed.
#[derive(Debug, Clone)]
pub(crate) struct SeedSpec {
    pub tenant: String,
    pub subscriptions: usize,
    pub resource_groups: usize,
    pub assignments: usize,
    pub custom_roles: usize,
    pub locks: usize,
    pub seed: u64,
    /// The object id of the client's service principal, given User Access Administrator on
    /// every subscription.
    pub client_oid: String,
    /// Management groups below the tenant root group (none: no root group either), the
    /// subscriptions spread over them, each with a role assignment, and a custom role
    /// assignable at the first.
    pub management_groups: usize,
    /// The principals of a linked Entra tenant, (object id, type): the assignments name them
    /// instead of principals of the emulator's own.
    pub directory: Option<Vec<(String, String)>>,
}

/// Owner.
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// User Access Administrator.
pub const USER_ACCESS_ADMINISTRATOR: &str = "18d7d88d-d35e-4fb5-a5c3-7773c4a72d9d";
/// Storage Blob Data Reader, a role whose assignments take conditions.
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

/// Built-in roles: (GUID, name, actions, data actions).
const BUILT_IN: &[(&str, &str, &[&str], &[&str])] = &[
    (OWNER, "Owner", &["*"], &[]),
    (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        &["*"],
        &[],
    ),
    (
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Reader",
        &["*/read"],
        &[],
    ),
    (
        USER_ACCESS_ADMINISTRATOR,
        "User Access Administrator",
        &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        &[],
    ),
    (
        BLOB_READER,
        "Storage Blob Data Reader",
        &["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
        &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    ),
    (
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
        &[],
        &["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
    ),
];

/// A GUID drawn from `rng`.
pub(crate) fn guid(rng: &mut impl Rng) -> String {
    let b: [u8; 16] = rng.r#gen();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// A deterministic subscription id, the same for a seeded and an empty tenant of one seed.
fn subscription_id(seed: u64, n: usize) -> String {
    guid(&mut StdRng::seed_from_u64(seed ^ (0x5b5c_0000 + n as u64)))
}

pub(crate) fn seed(spec: &SeedSpec) -> Arm {
    let mut arm = Arm {
        tenant_id: spec.tenant.clone(),
        ..Arm::default()
    };
    for (id, name, actions, data) in BUILT_IN {
        let strings = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        arm.role_definitions.insert(
            id.to_string(),
            RoleDefinition {
                name: id.to_string(),
                role_name: name.to_string(),
                description: format!("Built-in role {name}."),
                custom: false,
                permissions: vec![Permission {
                    actions: strings(actions),
                    data_actions: strings(data),
                    ..Permission::default()
                }],
                assignable_scopes: vec!["/".into()],
                updated_on: "2021-11-11T20:13:47.8628684Z".into(),
            },
        );
    }
    // The containers and the directory are the same for every tenant of one seed, so that
    // a restore into an emptied tenant finds the scopes and principals it names.
    let mut rng = StdRng::seed_from_u64(spec.seed);
    for n in 0..spec.subscriptions {
        arm.subscriptions.push(Subscription {
            id: subscription_id(spec.seed, n),
            name: format!("sub-{:02}", n + 1),
        });
    }
    let locations = ["westeurope", "northeurope", "eastus", "swedencentral"];
    for n in 0..spec
        .resource_groups
        .max(usize::from(spec.subscriptions > 0))
    {
        let Some(sub) = arm.subscriptions.get(n % spec.subscriptions.max(1)) else {
            break;
        };
        let rg = ResourceGroup {
            subscription: sub.id.clone(),
            name: format!("rg-{:03}", n + 1),
            location: locations[n % locations.len()].into(),
        };
        arm.resources.push(format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/st{:03}data",
            rg.subscription,
            rg.name,
            n + 1
        ));
        arm.resource_groups.push(rg);
    }
    let principals = (spec.assignments / 4).clamp(12, 400);
    let mut people = Vec::new();
    match &spec.directory {
        Some(directory) => {
            for (id, kind) in directory {
                arm.principals.insert(id.clone(), kind.clone());
                people.push(id.clone());
            }
        }
        None => {
            for n in 0..principals {
                let kind = match n % 5 {
                    0..=2 => "User",
                    3 => "Group",
                    _ => "ServicePrincipal",
                };
                let id = guid(&mut rng);
                arm.principals.insert(id.clone(), kind.into());
                people.push(id);
            }
        }
    }
    arm.principals
        .insert(spec.client_oid.clone(), "ServicePrincipal".into());
    let subs: Vec<String> = arm.subscriptions.iter().map(|s| s.id.clone()).collect();
    for sub in &subs {
        let name = guid(&mut rng);
        arm.role_assignments.insert(
            name.clone(),
            RoleAssignment {
                name,
                scope: format!("/subscriptions/{sub}"),
                role: USER_ACCESS_ADMINISTRATOR.into(),
                principal_id: spec.client_oid.clone(),
                principal_type: "ServicePrincipal".into(),
                description: Some("iamsnap backup and restore".into()),
                condition: None,
                condition_version: None,
                created_on: "2024-03-01T08:00:00.0000000Z".into(),
            },
        );
    }
    if subs.is_empty() || people.is_empty() {
        return arm;
    }
    seed_authorization(
        &mut arm,
        spec,
        &mut StdRng::seed_from_u64(spec.seed ^ 0xa2a2),
        &people,
    );
    seed_management_groups(&mut arm, spec, &people);
    arm
}

/// The tenant root group, `spec.management_groups` groups below it holding the
/// subscriptions, a Reader assignment on each, and a custom role assignable at the first,
/// assigned there. Drawn from a generator of their own: the rest of the seed is unchanged.
fn seed_management_groups(arm: &mut Arm, spec: &SeedSpec, people: &[String]) {
    if spec.management_groups == 0 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x3a3a);
    let root = spec.tenant.clone();
    arm.management_groups.push(ManagementGroup {
        name: root.clone(),
        display_name: "Tenant Root Group".into(),
        parent: None,
        subscriptions: Vec::new(),
    });
    for n in 0..spec.management_groups {
        let subscriptions = arm
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(i, _)| i % spec.management_groups == n)
            .map(|(_, s)| s.id.clone())
            .collect();
        arm.management_groups.push(ManagementGroup {
            name: format!("mg-{:02}", n + 1),
            display_name: format!("Landing zone {:02}", n + 1),
            parent: Some(root.clone()),
            subscriptions,
        });
    }
    // An empty tenant of the seed has the same groups, without what is granted on them.
    if spec.assignments == 0 {
        return;
    }
    let reader = BUILT_IN[2].0;
    let first = arm.management_groups[1].id();
    let auditor = guid(&mut rng);
    arm.role_definitions.insert(
        auditor.clone(),
        RoleDefinition {
            name: auditor.clone(),
            role_name: "Contoso Platform Auditor".into(),
            description: "Reads the landing zone's policies and activity.".into(),
            custom: true,
            permissions: vec![Permission {
                actions: vec![
                    "Microsoft.Authorization/policyAssignments/read".into(),
                    "Microsoft.Insights/eventtypes/*".into(),
                ],
                ..Permission::default()
            }],
            assignable_scopes: vec![first.clone()],
            updated_on: "2024-05-06T07:08:09.0000000Z".into(),
        },
    );
    let groups: Vec<String> = arm.management_groups[1..].iter().map(|g| g.id()).collect();
    let mut grants: Vec<(String, String)> = groups
        .iter()
        .map(|g| (g.clone(), reader.to_string()))
        .collect();
    grants.push((first, auditor));
    for (n, (scope, role)) in grants.into_iter().enumerate() {
        let principal = people[rng.gen_range(0..people.len())].clone();
        let name = guid(&mut rng);
        arm.role_assignments.insert(
            name.clone(),
            RoleAssignment {
                name,
                scope,
                role,
                principal_type: arm.principals[&principal].clone(),
                principal_id: principal,
                description: (n == 0).then(|| "Platform team reads every landing zone".into()),
                condition: None,
                condition_version: None,
                created_on: "2024-06-01T09:00:00.0000000Z".into(),
            },
        );
    }
}

/// Custom roles, role assignments and locks: what a backup holds and an incident removes.
fn seed_authorization(arm: &mut Arm, spec: &SeedSpec, rng: &mut StdRng, people: &[String]) {
    let subs: Vec<String> = arm.subscriptions.iter().map(|s| s.id.clone()).collect();
    let verbs = [
        "Microsoft.Compute/virtualMachines/read",
        "Microsoft.Compute/virtualMachines/start/action",
        "Microsoft.Compute/virtualMachines/restart/action",
        "Microsoft.Network/*/read",
        "Microsoft.Storage/storageAccounts/listKeys/action",
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        "Microsoft.Insights/alertRules/*",
        "Microsoft.Support/*",
    ];
    let mut customs = Vec::new();
    for n in 0..spec.custom_roles {
        let name = guid(rng);
        let take = 1 + n % 4;
        let actions: Vec<String> = (0..take)
            .map(|k| verbs[(n + k * 3) % verbs.len()].to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let scopes: Vec<String> = if n % 3 == 0 {
            subs.iter().map(|s| format!("/subscriptions/{s}")).collect()
        } else {
            vec![format!("/subscriptions/{}", subs[n % subs.len()])]
        };
        arm.role_definitions.insert(
            name.clone(),
            RoleDefinition {
                name: name.clone(),
                role_name: format!("Contoso Operator {:02}", n + 1),
                description: format!("Operates workloads of team {}.", n + 1),
                custom: true,
                permissions: vec![Permission {
                    actions,
                    not_actions: if n % 2 == 0 {
                        vec!["Microsoft.Authorization/*/write".into()]
                    } else {
                        Vec::new()
                    },
                    data_actions: if n % 4 == 1 {
                        vec![
                            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
                                .into(),
                        ]
                    } else {
                        Vec::new()
                    },
                    not_data_actions: Vec::new(),
                }],
                assignable_scopes: scopes.clone(),
                updated_on: "2024-05-06T07:08:09.0000000Z".into(),
            },
        );
        customs.push((name, scopes));
    }
    let built_in: Vec<&str> = BUILT_IN
        .iter()
        .map(|b| b.0)
        .filter(|g| *g != USER_ACCESS_ADMINISTRATOR)
        .collect();
    let mut taken: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut made = 0;
    let mut tries = 0;
    while made < spec.assignments && tries < spec.assignments * 20 {
        tries += 1;
        let rg = &arm.resource_groups[rng.gen_range(0..arm.resource_groups.len())];
        let scope = match rng.gen_range(0..10) {
            0..=1 => format!("/subscriptions/{}", rg.subscription),
            2..=6 => format!(
                "/subscriptions/{}/resourceGroups/{}",
                rg.subscription, rg.name
            ),
            _ => {
                let prefix = format!(
                    "/subscriptions/{}/resourceGroups/{}/",
                    rg.subscription, rg.name
                );
                match arm.resources.iter().find(|r| r.starts_with(&prefix)) {
                    Some(r) => r.clone(),
                    None => continue,
                }
            }
        };
        let usable: Vec<&(String, Vec<String>)> = customs
            .iter()
            .filter(|(_, scopes)| scopes.iter().any(|s| super::model::contains(s, &scope)))
            .collect();
        let role = if !usable.is_empty() && rng.gen_range(0..4) == 0 {
            usable[rng.gen_range(0..usable.len())].0.clone()
        } else {
            built_in[rng.gen_range(0..built_in.len())].to_string()
        };
        let principal = people[rng.gen_range(0..people.len())].clone();
        if !taken.insert((scope.to_ascii_lowercase(), role.clone(), principal.clone())) {
            continue;
        }
        let (condition, condition_version) = if role == BLOB_READER && made % 2 == 0 {
            (
                Some(format!(
                    "((!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'}})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'team-{:02}'))",
                    made % 17
                )),
                Some("2.0".to_string()),
            )
        } else {
            (None, None)
        };
        let name = guid(rng);
        arm.role_assignments.insert(
            name.clone(),
            RoleAssignment {
                name,
                scope,
                role,
                principal_type: arm.principals[&principal].clone(),
                principal_id: principal,
                description: (made % 3 == 0).then(|| format!("Ticket CHG-{:05}", 1000 + made)),
                condition,
                condition_version,
                created_on: "2024-06-01T09:00:00.0000000Z".into(),
            },
        );
        made += 1;
    }
    // PIM eligibilities, one for every ten assignments, some ending on a date.
    let mut pim = StdRng::seed_from_u64(spec.seed ^ 0x9111);
    let eligible: Vec<RoleAssignment> = arm.role_assignments.values().step_by(7).cloned().collect();
    for (n, a) in eligible.iter().take(spec.assignments / 10).enumerate() {
        let principal = people[pim.gen_range(0..people.len())].clone();
        let name = guid(&mut pim);
        let taken = arm
            .eligibilities
            .values()
            .any(|e| e.scope == a.scope && e.role == a.role && e.principal_id == principal);
        if taken {
            continue;
        }
        arm.eligibilities.insert(
            name.clone(),
            Eligibility {
                name,
                scope: a.scope.clone(),
                role: a.role.clone(),
                principal_type: arm.principals[&principal].clone(),
                principal_id: principal,
                start: "2024-06-01T09:00:00.000Z".into(),
                end: (n % 2 == 0).then(|| "2031-01-01T00:00:00.000Z".to_string()),
                condition: None,
                condition_version: None,
            },
        );
    }
    // A managed application's deny assignment on its resource group, as its publisher makes
    // one: everyone denied writes, the application's own identity excepted.
    if let Some(rg) = arm.resource_groups.first() {
        let name = guid(&mut StdRng::seed_from_u64(spec.seed ^ 0xde77));
        let deny = DenyAssignment {
            name: name.clone(),
            deny_assignment_name: "Deny assignment for managed application".into(),
            description: "Created by the managed application's publisher.".into(),
            scope: format!(
                "/subscriptions/{}/resourceGroups/{}",
                rg.subscription, rg.name
            ),
            permissions: vec![Permission {
                actions: vec!["*".into()],
                not_actions: vec!["*/read".into()],
                ..Permission::default()
            }],
            principals: vec![(
                "00000000-0000-0000-0000-000000000000".into(),
                "SystemDefined".into(),
            )],
            exclude_principals: vec![(people[0].clone(), arm.principals[&people[0]].clone())],
            do_not_apply_to_child_scopes: false,
        };
        arm.deny_assignments.insert(name, deny);
    }
    let mut scopes: Vec<String> = subs.iter().map(|s| format!("/subscriptions/{s}")).collect();
    scopes.extend(arm.resource_groups.iter().map(|g| {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            g.subscription, g.name
        )
    }));
    scopes.extend(arm.resources.iter().cloned());
    for n in 0..spec.locks.min(scopes.len()) {
        let scope = scopes[(n * 7) % scopes.len()].clone();
        let (name, level) = if n % 3 == 2 {
            (format!("freeze-{:02}", n + 1), "ReadOnly")
        } else {
            (format!("no-delete-{:02}", n + 1), "CanNotDelete")
        };
        let lock = Lock {
            scope,
            name,
            level: level.into(),
            notes: (n % 2 == 0).then(|| format!("Production: change CHG-{:05} required", 2000 + n)),
        };
        arm.locks.insert(super::model::norm(&lock.id()), lock);
    }
}
