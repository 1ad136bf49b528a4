//! The Azure RBAC record kinds, their restore order, capabilities and what they can never
//! give back.

use iamsnap_provider::{Capabilities, KindInfo, Parent};

pub const ROLE_DEFINITION: &str = "azure.role_definition";
pub const ROLE_ASSIGNMENT: &str = "azure.role_assignment";
pub const LOCK: &str = "azure.lock";
pub const ROLE_ELIGIBILITY: &str = "azure.role_eligibility";
pub const DENY_ASSIGNMENT: &str = "azure.deny_assignment";

/// What a principal is to its grants in [`iamsnap_provider::SelfIdentity`]: the object id of
/// the service principal iamsnap signs in as.
pub const PRINCIPAL: &str = "azure.principal";

pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: ROLE_DEFINITION,
        description: "custom role definitions: actions, not-actions, data actions, not-data actions, assignable scopes",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: ROLE_ASSIGNMENT,
        description: "role assignments at management group, subscription, resource group and resource scope: principal, role, condition, description",
        depends_on: &[ROLE_DEFINITION],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "scope and role",
            members: "assignees",
        }),
        cannot_restore: &[
            "the assignment's GUID and creation date: a re-created assignment gets a new GUID; templates and scripts that name the old one (deployments with fixed assignment names) must be updated",
        ],
    },
    KindInfo {
        name: ROLE_ELIGIBILITY,
        description: "PIM eligibility schedules for Azure resources: who may activate which role at which scope, until when",
        depends_on: &[ROLE_DEFINITION],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "scope and role",
            members: "eligible principals",
        }),
        cannot_restore: &[
            "start date: a restored eligibility starts when it is restored; it ends when the snapshot's did (or never, as it was)",
            "eligibilities that have ended by the time of the restore are not restored: make the principal eligible again, with a new end date, if it still needs the role",
        ],
    },
    KindInfo {
        name: DENY_ASSIGNMENT,
        description: "deny assignments (read only): the actions denied, to whom, with whom excepted, at which scope",
        depends_on: &[],
        capabilities: Capabilities::NONE,
        parent: None,
        cannot_restore: &[
            "the deny assignment itself: only the service that owns it (Azure Blueprints, a managed application, a deployment stack with deny settings) creates, changes or removes it; redeploy that blueprint, managed application or deployment stack to bring it back",
        ],
    },
    // Locks come after the assignments: a ReadOnly lock refuses role assignment writes below it.
    KindInfo {
        name: LOCK,
        description: "management locks (CanNotDelete, ReadOnly) on subscriptions, resource groups and resources, with their notes",
        depends_on: &[ROLE_ASSIGNMENT],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
];
