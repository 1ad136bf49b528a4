//! The Entra ID record kinds, their restore order, capabilities and what they can never give back.

use iamsnap_provider::{Capabilities, KindInfo, Parent};

pub const USER: &str = "entra.user";
pub const USER_MANAGER: &str = "entra.user_manager";
pub const GROUP: &str = "entra.group";
pub const GROUP_MEMBER: &str = "entra.group_member";
pub const GROUP_OWNER: &str = "entra.group_owner";
pub const APPLICATION: &str = "entra.application";
pub const SERVICE_PRINCIPAL: &str = "entra.service_principal";
pub const APPLICATION_OWNER: &str = "entra.application_owner";
pub const SERVICE_PRINCIPAL_OWNER: &str = "entra.service_principal_owner";
pub const FEDERATED_CREDENTIAL: &str = "entra.federated_identity_credential";
pub const APP_ROLE_ASSIGNMENT: &str = "entra.app_role_assignment";
pub const OAUTH2_PERMISSION_GRANT: &str = "entra.oauth2_permission_grant";
pub const DIRECTORY_ROLE_ASSIGNMENT: &str = "entra.directory_role_assignment";
pub const ROLE_DEFINITION: &str = "entra.role_definition";
pub const ROLE_ELIGIBILITY: &str = "entra.role_eligibility";
pub const ROLE_ASSIGNMENT_SCHEDULE: &str = "entra.role_assignment_schedule";
pub const ADMINISTRATIVE_UNIT: &str = "entra.administrative_unit";
pub const ADMINISTRATIVE_UNIT_MEMBER: &str = "entra.administrative_unit_member";
pub const CONDITIONAL_ACCESS_POLICY: &str = "entra.conditional_access_policy";
pub const NAMED_LOCATION: &str = "entra.named_location";
pub const AUTHORIZATION_POLICY: &str = "entra.authorization_policy";
pub const AUTHENTICATION_STRENGTH: &str = "entra.authentication_strength";
pub const AUTHENTICATION_METHODS_POLICY: &str = "entra.authentication_methods_policy";
pub const CLAIMS_MAPPING_POLICY: &str = "entra.claims_mapping_policy";
pub const TOKEN_LIFETIME_POLICY: &str = "entra.token_lifetime_policy";
pub const SERVICE_PRINCIPAL_POLICY: &str = "entra.service_principal_policy";
pub const CROSS_TENANT_DEFAULT: &str = "entra.cross_tenant_access_default";
pub const CROSS_TENANT_PARTNER: &str = "entra.cross_tenant_access_partner";
pub const TERMS_OF_USE: &str = "entra.terms_of_use";
pub const ROLE_SETTING: &str = "entra.role_setting";

/// Devices and organisational contacts appear as members only: referenced by id, never
/// backed up or restored themselves.
pub const DEVICE: &str = "entra.device";
pub const ORG_CONTACT: &str = "entra.org_contact";

const UPDATE_ONLY: Capabilities = Capabilities {
    create: false,
    update: true,
    delete: false,
};

/// Settings that exist as long as their object does: "created" on the object Entra makes them
/// for (a re-created custom role's PIM policy), never deleted on their own.
const WITH_OBJECT: Capabilities = Capabilities {
    create: true,
    update: true,
    delete: false,
};

pub(crate) const USER_PASSWORD: &str = "password and authentication methods (MFA, passkeys, Authenticator): a user re-created from the snapshot gets a random temporary password that must be reset at first sign-in, and must register MFA again; a user restored from the recycle bin keeps them";
pub(crate) const APP_SECRETS: &str = "client secrets and certificates: a re-created application has none; add new ones and hand them to the software that signs in as the app";
pub(crate) const GUEST_GONE: &str = "a guest user deleted for good comes back only by being invited again: restore again with --invite-guests (no mail is sent; the guest then redeems the invitation), or invite them from the Entra admin center and restore again to bring back what needs them";
pub(crate) const GUEST_REINVITED: &str = "guest users deleted for good are invited again (--invite-guests, no mail is sent) and must redeem the invitation before they can sign in: send them https://myapps.microsoft.com/?tenantid=<tenant id>, or resend the invitation from the Entra admin center; a guest restored from the recycle bin keeps its redemption";
pub(crate) const SCHEDULE_RESTARTS: &str = "start date: a restored schedule starts when it is restored; it ends when the snapshot's did (or never, as it was)";
pub(crate) const SCHEDULE_EXPIRED: &str = "schedules that have ended by the time of the restore are not restored: assign the role again, with a new end date, if it is still needed";
pub(crate) const TERMS_FILE: &str = "a terms of use agreement deleted cannot be created again from a snapshot, which cannot hold its PDF (Graph does not give an agreement's file back): create it again in the Entra admin center (Identity Governance → Terms of use) with the same name and its PDF, then restore again to bring back its settings and the conditional access policies that require it";
pub(crate) const STS_POLICY_ID: &str = "original ids: a policy deleted is re-created with a new id; its assignments to service principals are made again with it";
pub(crate) const CA_UNKNOWN_IDS: &str = "ids that name nothing the snapshot holds (objects deleted before it, or of kinds not backed up) are written back as they were: check them in the policy";
pub(crate) const CA_REPORT_ONLY: &str = "state: a re-created or changed policy is saved in report-only mode (enabledForReportingButNotEnforced) unless the restore is told to restore policy states; enable it once the sign-in logs show it does what is intended";

pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: USER,
        description: "users: profile, account state, usage location",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            USER_PASSWORD,
            "original ids: a user deleted for good (purged from the recycle bin, or older than 30 days) is re-created with a new id; references are rewritten",
            GUEST_GONE,
            GUEST_REINVITED,
            "users synchronised from on-premises Active Directory come back from the next sync, not from here",
        ],
    },
    KindInfo {
        name: USER_MANAGER,
        description: "a user's manager (a relationship of its own, so that managers restore after every user exists)",
        depends_on: &[USER],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "user",
            members: "managers",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: GROUP,
        description: "groups: security, Microsoft 365, dynamic membership rules, role-assignable",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original ids: security groups are deleted for good at once (only Microsoft 365 groups go to the recycle bin); a re-created group gets a new id and references are rewritten",
            "Microsoft 365 group content (mailbox, SharePoint site, Teams) is not part of the directory and comes back only from the recycle bin",
        ],
    },
    KindInfo {
        name: ADMINISTRATIVE_UNIT,
        description: "administrative units",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: NAMED_LOCATION,
        description: "conditional access named locations (IP ranges, countries)",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: AUTHENTICATION_STRENGTH,
        description: "custom authentication strengths (policies/authenticationStrengthPolicies): the combinations of methods they allow; built-in ones are named by id, never backed up",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original ids: a custom authentication strength deleted is re-created with a new id; the conditional access policies that require it are rewritten",
        ],
    },
    KindInfo {
        name: APPLICATION,
        description: "app registrations (credential metadata only, never secrets)",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            APP_SECRETS,
            "original appId: an application deleted for good is re-created with a new application (client) id; configure it wherever the old one was used",
        ],
    },
    KindInfo {
        name: SERVICE_PRINCIPAL,
        description: "service principals (enterprise applications)",
        depends_on: &[APPLICATION],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "service principals of applications published by other organisations are re-created from the publisher's application, with the publisher's current settings",
        ],
    },
    KindInfo {
        name: GROUP_MEMBER,
        description: "membership of a user, group, service principal or device in a group (dynamic groups excluded: their rule decides)",
        depends_on: &[USER, GROUP, SERVICE_PRINCIPAL],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "group",
            members: "members",
        }),
        cannot_restore: &[
            "devices are referenced by id: a device deleted from the directory must join again",
        ],
    },
    KindInfo {
        name: GROUP_OWNER,
        description: "owners of groups",
        depends_on: &[USER, GROUP, SERVICE_PRINCIPAL],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "group",
            members: "owners",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: APPLICATION_OWNER,
        description: "owners of app registrations (users or service principals), who may manage them without an admin role",
        depends_on: &[USER, APPLICATION, SERVICE_PRINCIPAL],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "application",
            members: "owners",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: FEDERATED_CREDENTIAL,
        description: "federated identity credentials of app registrations: which external tokens (issuer, subject, audiences) the app accepts in place of a secret",
        depends_on: &[APPLICATION],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "application",
            members: "federated identity credentials",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: CLAIMS_MAPPING_POLICY,
        description: "claims-mapping policies (policies/claimsMappingPolicies): which claims the tokens of the applications they apply to carry",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[STS_POLICY_ID],
    },
    KindInfo {
        name: TOKEN_LIFETIME_POLICY,
        description: "token-lifetime policies (policies/tokenLifetimePolicies): how long the access, ID and SAML tokens of the applications they apply to last",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[STS_POLICY_ID],
    },
    KindInfo {
        name: SERVICE_PRINCIPAL_POLICY,
        description: "claims-mapping and token-lifetime policies assigned to service principals (at most one token-lifetime policy each)",
        depends_on: &[
            SERVICE_PRINCIPAL,
            CLAIMS_MAPPING_POLICY,
            TOKEN_LIFETIME_POLICY,
        ],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "service principal",
            members: "token policies",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: SERVICE_PRINCIPAL_OWNER,
        description: "owners of service principals (enterprise applications)",
        depends_on: &[USER, SERVICE_PRINCIPAL],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "service principal",
            members: "owners",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: ADMINISTRATIVE_UNIT_MEMBER,
        description: "members of administrative units",
        depends_on: &[USER, GROUP, ADMINISTRATIVE_UNIT],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "administrative unit",
            members: "members",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: APP_ROLE_ASSIGNMENT,
        description: "app roles assigned to users, groups and service principals (application permissions included)",
        depends_on: &[USER, GROUP, SERVICE_PRINCIPAL],
        capabilities: Capabilities::LINK,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: OAUTH2_PERMISSION_GRANT,
        description: "delegated permission grants (admin and user consent)",
        depends_on: &[USER, SERVICE_PRINCIPAL],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: ROLE_DEFINITION,
        description: "custom directory roles (roleManagement/directory/roleDefinitions that are not built in): permissions, enabled; built-in roles are named by template id, never backed up",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original ids: a custom role deleted is re-created with a new id; the assignments, eligibilities and conditional access policies that name it are rewritten",
        ],
    },
    KindInfo {
        name: DIRECTORY_ROLE_ASSIGNMENT,
        description: "permanent active directory role assignments (roleManagement/directory), tenant-wide or scoped to an administrative unit; time-bound ones are role assignment schedules",
        depends_on: &[
            USER,
            GROUP,
            SERVICE_PRINCIPAL,
            ADMINISTRATIVE_UNIT,
            ROLE_DEFINITION,
        ],
        capabilities: Capabilities::LINK,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: ROLE_SETTING,
        description: "PIM settings of each directory role (its role management policy's rules): how long an activation lasts, whether it needs MFA, a justification or approval, how long eligibilities and assignments may last",
        depends_on: &[ROLE_DEFINITION],
        capabilities: WITH_OBJECT,
        parent: None,
        cannot_restore: &[
            "approvers named in an approval rule are written back by the ids the snapshot holds: check them if they were deleted",
        ],
    },
    KindInfo {
        name: ROLE_ELIGIBILITY,
        description: "PIM eligible directory role assignments (roleEligibilitySchedules): who may activate which role, where, until when",
        depends_on: &[
            USER,
            GROUP,
            SERVICE_PRINCIPAL,
            ADMINISTRATIVE_UNIT,
            ROLE_DEFINITION,
        ],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[SCHEDULE_RESTARTS, SCHEDULE_EXPIRED],
    },
    KindInfo {
        name: ROLE_ASSIGNMENT_SCHEDULE,
        description: "PIM active directory role assignments that end on a date (roleAssignmentSchedules); activations of eligible roles are not kept",
        depends_on: &[
            USER,
            GROUP,
            SERVICE_PRINCIPAL,
            ADMINISTRATIVE_UNIT,
            ROLE_DEFINITION,
        ],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[SCHEDULE_RESTARTS, SCHEDULE_EXPIRED],
    },
    KindInfo {
        name: TERMS_OF_USE,
        description: "terms of use agreements (identityGovernance/termsOfUse/agreements): name, whether users must open them before accepting, per-device acceptance, re-acceptance frequency and expiration; not their PDF",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[TERMS_FILE],
    },
    KindInfo {
        name: CONDITIONAL_ACCESS_POLICY,
        description: "conditional access policies",
        depends_on: &[
            USER,
            GROUP,
            NAMED_LOCATION,
            SERVICE_PRINCIPAL,
            APPLICATION,
            ROLE_DEFINITION,
            AUTHENTICATION_STRENGTH,
            TERMS_OF_USE,
        ],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[CA_REPORT_ONLY, CA_UNKNOWN_IDS],
    },
    KindInfo {
        name: AUTHENTICATION_METHODS_POLICY,
        description: "the tenant's authentication methods policy and each method's configuration",
        depends_on: &[GROUP],
        capabilities: UPDATE_ONLY,
        parent: None,
        cannot_restore: &[
            "users' registered authentication methods are not part of the policy and cannot be restored",
        ],
    },
    KindInfo {
        name: CROSS_TENANT_DEFAULT,
        description: "the cross-tenant access policy's default settings: B2B collaboration and B2B direct connect, inbound and outbound; trust of other tenants' MFA and device claims; automatic consent; the identity providers guests redeem invitations with",
        depends_on: &[],
        capabilities: UPDATE_ONLY,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: CROSS_TENANT_PARTNER,
        description: "partner organisations of the cross-tenant access policy, by tenant id: the settings that replace the default for each",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "a partner's identity synchronization settings (cross-tenant sync) are not backed up",
        ],
    },
    KindInfo {
        name: AUTHORIZATION_POLICY,
        description: "the tenant's authorization policy: what users and guests may do by default (create apps, groups and tenants, read other users, consent), who may invite guests, the guests' role",
        depends_on: &[],
        capabilities: UPDATE_ONLY,
        parent: None,
        cannot_restore: &[],
    },
];
