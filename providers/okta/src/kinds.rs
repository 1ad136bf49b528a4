//! The Okta record kinds, their restore order, capabilities and what they can never give back.

use iamsnap_provider::{Capabilities, KindInfo, Parent};

pub const USER_SCHEMA: &str = "okta.user_schema";
pub const USER_TYPE: &str = "okta.user_type";
pub const USER: &str = "okta.user";
pub const GROUP: &str = "okta.group";
pub const GROUP_MEMBERSHIP: &str = "okta.group_membership";
pub const GROUP_RULE: &str = "okta.group_rule";
pub const APP: &str = "okta.app";
pub const APP_USER: &str = "okta.app_user_assignment";
pub const APP_GROUP: &str = "okta.app_group_assignment";
pub const NETWORK_ZONE: &str = "okta.network_zone";
pub const POLICY: &str = "okta.policy";
pub const POLICY_RULE: &str = "okta.policy_rule";
pub const ADMIN_ROLE: &str = "okta.admin_role_assignment";
pub const AUTH_SERVER: &str = "okta.authorization_server";
pub const AUTH_SCOPE: &str = "okta.auth_server_scope";
pub const AUTH_CLAIM: &str = "okta.auth_server_claim";
pub const AUTH_POLICY: &str = "okta.auth_server_policy";
pub const AUTH_RULE: &str = "okta.auth_server_rule";
pub const TRUSTED_ORIGIN: &str = "okta.trusted_origin";
pub const IDP: &str = "okta.identity_provider";
pub const IDP_KEY: &str = "okta.idp_key";
pub const AUTHENTICATOR: &str = "okta.authenticator";
pub const BEHAVIOR: &str = "okta.behavior";
pub const GROUP_OWNER: &str = "okta.group_owner";
pub const GROUP_SCHEMA: &str = "okta.group_schema";
pub const APP_USER_SCHEMA: &str = "okta.app_user_schema";
pub const PROFILE_MAPPING: &str = "okta.profile_mapping";
pub const CUSTOM_ROLE: &str = "okta.custom_role";
pub const RESOURCE_SET: &str = "okta.resource_set";
pub const RESOURCE_SET_BINDING: &str = "okta.resource_set_binding";
pub const EVENT_HOOK: &str = "okta.event_hook";
pub const INLINE_HOOK: &str = "okta.inline_hook";
pub const LOG_STREAM: &str = "okta.log_stream";
pub const BRAND: &str = "okta.brand";
pub const BRAND_THEME: &str = "okta.brand_theme";
pub const EMAIL_SETTINGS: &str = "okta.email_template_settings";
pub const EMAIL_CUSTOMIZATION: &str = "okta.email_customization";

/// A user type's schema comes and goes with its type: "creating" one updates the schema a
/// re-created type comes with; it is never deleted on its own.
const WITH_ITS_TYPE: Capabilities = Capabilities {
    create: true,
    update: true,
    delete: false,
};

pub(crate) const AUTH_SERVER_KEYS: &str = "signing keys: a re-created authorization server signs tokens with new keys; tokens issued before no longer validate, and clients and APIs that cache its JWKS must fetch it again from ISSUER/v1/keys";
pub(crate) const AUTH_SERVER_ISSUER: &str = "issuer and metadata URLs: a re-created authorization server has a new id, so its issuer ({org}/oauth2/{new id}) and its /.well-known/oauth-authorization-server change; update the issuer every client and API validates";

pub(crate) const IDP_SAML_IDS: &str = "a re-created SAML identity provider has a new id and so a new ACS URL ({org}/sso/saml2/{new id}); update the ACS URL in the external identity provider";
pub(crate) const IDP_OIDC_SECRET: &str = "client secrets of OIDC and social identity providers cannot be read: one that no longer exists must be added again in the Admin Console with its secret (a restore then brings back its settings and the rules that use it)";

/// Authenticators exist once per key: a missing one is created (where the API allows it), a
/// changed one updated, and none is ever deleted.
const AUTHENTICATORS: Capabilities = Capabilities {
    create: true,
    update: true,
    delete: false,
};

pub(crate) const AUTHENTICATOR_SECRETS: &str = "provider secrets (Duo's secret key, a RADIUS or RSA shared secret) cannot be read: an authenticator that needs one (duo, onprem_mfa, rsa_token, symantec_vip, yubikey_token, custom_app, smart_card_idp) and no longer exists must be added again in the Admin Console with its secret; a restore then brings back its settings and status";
pub(crate) const AUTHENTICATOR_NOT_DELETED: &str = "authenticators are never deleted through the API: one the snapshot lacks is left as it is (deactivate it in the Admin Console if it should not be used), and Okta's password authenticator is updated, never created";
pub(crate) const GROUP_OWNER_FROM_APP: &str = "owners an app imports with its groups (originType APPLICATION, such as Active Directory's managedBy) come back by importing the app's groups again";

pub(crate) const PROFILE_MAPPING_MISSING: &str = "profile mappings are created by Okta with their app (or identity provider) and cannot be created through the API: a mapping whose app is not restored (a catalog app to add again from the catalog) comes back once the app is added again, then a restore brings back its properties";
pub(crate) const IAM_OTHER_RESOURCES: &str = "resources of a resource set that name objects iamsnap does not back up by id (a delegated flow, a realm) are restored as they were named; if such an object was re-created, add the new one to the resource set in the Admin Console";

pub(crate) const HOOK_SECRET: &str = "secrets: the value of a hook's auth header cannot be read; a re-created hook comes back INACTIVE without it until it is entered in the Admin Console (Workflow → Event Hooks or Inline Hooks → Edit) and the hook activated";
pub(crate) const EVENT_HOOK_VERIFY: &str = "verification: a re-created event hook is UNVERIFIED and receives no event until it is verified (Verify in the Admin Console, or POST /api/v1/eventHooks/{id}/lifecycle/verify) and activated";
pub(crate) const INLINE_HOOK_OAUTH: &str = "an inline hook that authenticates with an OAuth client secret cannot be created without it: add it again in the Admin Console, then restore its settings";
pub(crate) const LOG_STREAM_NEXT: &str = "a re-created AWS EventBridge log stream is INACTIVE with a new partner event source to associate with an event bus in AWS before it is activated; a Splunk Cloud stream needs its HEC token, which cannot be read: add it again in the Admin Console, then restore its settings";

pub(crate) const BRAND_DOMAINS: &str = "a brand's email domain, custom domains and sign-in and error pages are not backed up: set them again in the Admin Console (Customizations → Brands)";
pub(crate) const THEME_IMAGES: &str = "theme images (logo, favicon, background image): the API gives only the URL of the hosted file, and a restore cannot upload it; download each from its URL and upload it again (Customizations → Brands → the brand → Theme)";

pub(crate) const USER_CANNOT_RESTORE: &str = "password and MFA factors: a re-created user has no credentials; it comes back STAGED (or PROVISIONED with --activate-users, which emails an activation link), so the person needs activation or a password reset and must enrol MFA again";

pub static KINDS: &[KindInfo] = &[
    KindInfo {
        name: USER_SCHEMA,
        description: "the profile schema of each user type (custom attributes), keyed by the type's name",
        depends_on: &[USER_TYPE],
        capabilities: WITH_ITS_TYPE,
        parent: None,
        cannot_restore: &[
            "base attributes' definitions are fixed by Okta; only custom attributes are restored",
        ],
    },
    KindInfo {
        name: USER_TYPE,
        description: "user types",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &["original ids: a re-created user type gets a new id"],
    },
    KindInfo {
        name: USER,
        description: "users: profile (custom attributes included), status, type, credential provider",
        depends_on: &[USER_SCHEMA, USER_TYPE],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            USER_CANNOT_RESTORE,
            "original ids: a re-created user gets a new id (references are rewritten)",
            "users mastered by a directory (Active Directory, LDAP) or an identity provider come back as Okta-mastered; re-import them from their source",
            "status SUSPENDED, LOCKED_OUT, RECOVERY and PASSWORD_EXPIRED cannot be set on a user without credentials",
        ],
    },
    KindInfo {
        name: GROUP,
        description: "groups (OKTA_GROUP, APP_GROUP and the built-in Everyone)",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original ids: a re-created group gets a new id (references are rewritten)",
            "APP_GROUP and BUILT_IN groups are owned by their app or by Okta; re-import app groups from the app",
        ],
    },
    KindInfo {
        name: GROUP_MEMBERSHIP,
        description: "membership of a user in a group (Everyone's implicit members excluded)",
        depends_on: &[USER, GROUP],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "group",
            members: "members",
        }),
        cannot_restore: &[
            "members of APP_GROUP groups are managed by their app; re-import them from the app",
        ],
    },
    KindInfo {
        name: GROUP_RULE,
        description: "group rules (expression and target groups)",
        depends_on: &[GROUP, USER],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &["original ids: a re-created rule gets a new id"],
    },
    KindInfo {
        name: APP,
        description: "app integrations: sign-on mode, settings, credentials without secrets, the app sign-in policy they are bound to",
        depends_on: &[POLICY],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "app secrets: OIDC client secrets and SAML signing keys are new on a re-created app; update the client secret and the IdP certificate/metadata in the service provider",
            "catalog (OIN) apps other than bookmark, SWA, basic auth and secure password store templates, and their provisioning settings, must be added again from the catalog",
            "original ids: a re-created app gets a new id and a new client_id",
        ],
    },
    KindInfo {
        name: APP_USER,
        description: "direct assignment of a user to an app, with its app profile",
        depends_on: &[APP, USER],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "app",
            members: "user assignments",
        }),
        cannot_restore: &["app passwords stored for SWA apps: the person enters them again"],
    },
    KindInfo {
        name: APP_GROUP,
        description: "assignment of a group to an app, with priority and profile",
        depends_on: &[APP, GROUP],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "app",
            members: "group assignments",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: NETWORK_ZONE,
        description: "network zones (IP and dynamic)",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "system zones (LegacyIpZone, BlockedIpZone) can be updated but never re-created",
        ],
    },
    KindInfo {
        name: POLICY,
        description: "policies of every type (sign-on, password, MFA enrollment, IdP discovery, access, profile enrollment, …)",
        depends_on: &[GROUP, USER, USER_TYPE, NETWORK_ZONE, AUTHENTICATOR],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &["default (system) policies can be updated but never re-created"],
    },
    KindInfo {
        name: POLICY_RULE,
        description: "rules of each policy (IdP discovery rules name their identity providers)",
        depends_on: &[
            POLICY,
            GROUP,
            USER,
            USER_TYPE,
            NETWORK_ZONE,
            IDP,
            AUTHENTICATOR,
            BEHAVIOR,
        ],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "policy",
            members: "rules",
        }),
        cannot_restore: &["default (system) rules can be updated but never re-created"],
    },
    KindInfo {
        name: ADMIN_ROLE,
        description: "admin role assignments to users and groups: standard roles with their group and app targets, custom roles with their resource set",
        depends_on: &[
            USER,
            GROUP,
            APP,
            CUSTOM_ROLE,
            RESOURCE_SET,
            RESOURCE_SET_BINDING,
        ],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "a custom role assignment taken by iamsnap before custom roles were backed up names no role or resource set: assign it again in the Admin Console",
        ],
    },
    KindInfo {
        name: AUTH_SERVER,
        description: "custom authorization servers: audiences, issuer mode, status, signing key rotation mode",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[AUTH_SERVER_KEYS, AUTH_SERVER_ISSUER],
    },
    KindInfo {
        name: AUTH_SCOPE,
        description: "scopes of each authorization server (its system scopes included)",
        depends_on: &[AUTH_SERVER],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "authorization server",
            members: "scopes",
        }),
        cannot_restore: &[
            "system scopes (openid, profile, …) come with their server: they are updated, never re-created or deleted",
        ],
    },
    KindInfo {
        name: AUTH_CLAIM,
        description: "claims of each authorization server, keyed SERVER|RESOURCE:name (access token) or SERVER|IDENTITY:name (ID token)",
        depends_on: &[AUTH_SERVER, AUTH_SCOPE],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "authorization server",
            members: "claims",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: AUTH_POLICY,
        description: "access policies of each authorization server and the client apps they apply to",
        depends_on: &[AUTH_SERVER, APP],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "authorization server",
            members: "access policies",
        }),
        cannot_restore: &[
            "a re-created OIDC client app has a new client_id: the policy names the new one",
        ],
    },
    KindInfo {
        name: AUTH_RULE,
        description: "rules of each access policy: groups, users, grant types, scopes, token lifetimes, the token inline hook",
        depends_on: &[AUTH_POLICY, AUTH_SCOPE, GROUP, USER, INLINE_HOOK],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "access policy",
            members: "rules",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: TRUSTED_ORIGIN,
        description: "trusted origins: the URLs sign-in may redirect to, call the API from (CORS) or embed Okta in (iframe), keyed by origin",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[],
    },
    KindInfo {
        name: IDP_KEY,
        description: "identity providers' signing certificates (public keys), keyed by their SHA-256 thumbprint",
        depends_on: &[],
        capabilities: Capabilities {
            create: true,
            update: false,
            delete: true,
        },
        parent: None,
        cannot_restore: &[
            "the key id (kid): a re-uploaded certificate gets a new one, and the identity providers using it are pointed at it",
        ],
    },
    KindInfo {
        name: IDP,
        description: "identity providers (SAML 2.0, OIDC): protocol, endpoints, signing certificate, provisioning, account linking and subject matching",
        depends_on: &[IDP_KEY, GROUP],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[IDP_SAML_IDS, IDP_OIDC_SECRET],
    },
    KindInfo {
        name: AUTHENTICATOR,
        description: "authenticators (password, email, phone, Okta Verify, WebAuthn, security question, Duo, …), keyed by their key: status, settings, provider configuration without secrets",
        depends_on: &[IDP],
        capabilities: AUTHENTICATORS,
        parent: None,
        cannot_restore: &[AUTHENTICATOR_SECRETS, AUTHENTICATOR_NOT_DELETED],
    },
    KindInfo {
        name: BEHAVIOR,
        description: "behavior detection rules (new country, city, device or IP, velocity), keyed by name, as global session policy rules name them",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original ids: a re-created rule gets a new id (policies name behaviors by name)",
        ],
    },
    KindInfo {
        name: GROUP_OWNER,
        description: "owners of each group (users and groups), keyed GROUP|user:LOGIN or GROUP|group:NAME",
        depends_on: &[GROUP, USER],
        capabilities: Capabilities::LINK,
        parent: Some(Parent {
            noun: "group",
            members: "owners",
        }),
        cannot_restore: &[GROUP_OWNER_FROM_APP],
    },
    KindInfo {
        name: GROUP_SCHEMA,
        description: "the group profile schema (custom attributes), one per org, keyed default",
        depends_on: &[],
        capabilities: WITH_ITS_TYPE,
        parent: None,
        cannot_restore: &[
            "base attributes' definitions are fixed by Okta; only custom attributes are restored",
        ],
    },
    KindInfo {
        name: APP_USER_SCHEMA,
        description: "each app's user schema (custom attributes of its app user profiles), keyed APP LABEL|default",
        depends_on: &[APP],
        capabilities: WITH_ITS_TYPE,
        parent: Some(Parent {
            noun: "app",
            members: "user schemas",
        }),
        cannot_restore: &["base attributes are the app's own; only custom attributes are restored"],
    },
    KindInfo {
        name: PROFILE_MAPPING,
        description: "profile mappings between Okta user profiles and app user profiles (attribute expressions, push status), keyed by their two sides: user:TYPE -> app:LABEL",
        depends_on: &[APP, APP_USER_SCHEMA, USER_SCHEMA, USER_TYPE],
        capabilities: WITH_ITS_TYPE,
        parent: None,
        cannot_restore: &[PROFILE_MAPPING_MISSING],
    },
    KindInfo {
        name: CUSTOM_ROLE,
        description: "custom admin roles: label, description and permissions with their conditions, keyed by label",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[
            "original ids: a re-created custom role gets a new id (bindings and role assignments are pointed at it)",
        ],
    },
    KindInfo {
        name: RESOURCE_SET,
        description: "resource sets: label, description and resources (groups, the users of a group, users, apps and authorization servers as references; whole collections and other ORNs as they are), keyed by label",
        depends_on: &[GROUP, USER, APP, AUTH_SERVER],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[IAM_OTHER_RESOURCES],
    },
    KindInfo {
        name: RESOURCE_SET_BINDING,
        description: "bindings of a custom role to a resource set with their members (users and groups), keyed RESOURCE SET|ROLE",
        depends_on: &[RESOURCE_SET, CUSTOM_ROLE, USER, GROUP],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "resource set",
            members: "bindings",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: EVENT_HOOK,
        description: "event hooks: the events they subscribe to (and their filter), the endpoint, headers and auth header name, status and verification, keyed by name; never the auth header's secret",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[HOOK_SECRET, EVENT_HOOK_VERIFY],
    },
    KindInfo {
        name: INLINE_HOOK,
        description: "inline hooks: type, endpoint, headers, auth header name or OAuth settings, status, keyed by name; never a secret",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[HOOK_SECRET, INLINE_HOOK_OAUTH],
    },
    KindInfo {
        name: LOG_STREAM,
        description: "log streams (AWS EventBridge, Splunk Cloud): settings and status, keyed by name; never the Splunk token",
        depends_on: &[],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[LOG_STREAM_NEXT],
    },
    KindInfo {
        name: BRAND,
        description: "brands: name, locale, privacy policy, 'powered by Okta', the default app, keyed by name",
        depends_on: &[APP],
        capabilities: Capabilities::ALL,
        parent: None,
        cannot_restore: &[BRAND_DOMAINS],
    },
    KindInfo {
        name: BRAND_THEME,
        description: "the theme of each brand: colors and page variants, and the URLs of its logo, favicon and background image, keyed by brand name",
        depends_on: &[BRAND],
        capabilities: WITH_ITS_TYPE,
        parent: None,
        cannot_restore: &[THEME_IMAGES],
    },
    KindInfo {
        name: EMAIL_SETTINGS,
        description: "who receives each email template of a brand (all users, admins only, no one), keyed BRAND|TEMPLATE",
        depends_on: &[BRAND],
        capabilities: WITH_ITS_TYPE,
        parent: Some(Parent {
            noun: "brand",
            members: "email template settings",
        }),
        cannot_restore: &[],
    },
    KindInfo {
        name: EMAIL_CUSTOMIZATION,
        description: "customized email templates of each brand: subject and body per language, the default one, keyed BRAND|TEMPLATE|LANGUAGE",
        depends_on: &[BRAND],
        capabilities: Capabilities::ALL,
        parent: Some(Parent {
            noun: "email template",
            members: "customizations",
        }),
        cannot_restore: &[],
    },
];
