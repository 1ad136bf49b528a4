//! The Microsoft identity platform's token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client
//! credentials grant) and the application permissions each Graph request needs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;

/// A registered client: its secret and the application permissions granted to it.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub secret: String,
    pub permissions: Vec<String>,
}

/// An access token the emulator issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub expires: Instant,
    pub client_id: String,
}

pub(crate) fn oauth_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: String,
) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: 3c7f1a2e-0000-4000-8000-000000000000\r\nCorrelation ID: 5d1e2f3a-0000-4000-8000-000000000000\r\nTimestamp: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ")),
        "error_codes": [code],
        "timestamp": chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": "3c7f1a2e-0000-4000-8000-000000000000",
        "correlation_id": "5d1e2f3a-0000-4000-8000-000000000000",
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    shared.count("token");
    if !tenant.eq_ignore_ascii_case(&shared.tenant_id) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.".into(),
        );
    }
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let Some(client) = shared.clients.get(&client_id) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        );
    };
    if form.get("client_secret") != Some(&client.secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.".into(),
        );
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    if !scope.ends_with("/.default") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let lifetime = shared.token_lifetime;
    let resource = scope.trim_end_matches("/.default");
    let access = access_token(
        &shared.tenant_id,
        &client_id,
        resource,
        &client.permissions,
        lifetime,
        shared.next_token_serial(),
    );
    shared
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            access.clone(),
            Issued {
                expires: Instant::now() + lifetime,
                client_id,
            },
        );
    let secs = lifetime.as_secs();
    axum::Json(json!({
        "token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": access,
    }))
    .into_response()
}

/// An app-only access token as the v2.0 endpoint issues one to a confidential client: a JWT
/// whose payload carries the tenant, the application, the resource, its lifetime and, in
/// `roles`, the application permissions granted to the client (the claim is left out when
/// none is granted, as Microsoft leaves it out). The signature is made up: nothing here checks
/// it, and clients must not either (Graph's tokens are opaque to them).
fn access_token(
    tenant: &str,
    client_id: &str,
    resource: &str,
    permissions: &[String],
    lifetime: Duration,
    serial: u64,
) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = chrono::Utc::now().timestamp();
    let issuer = format!("https://sts.windows.net/{tenant}/");
    let mut claims = json!({
        "aud": resource, "iss": issuer, "iat": now, "nbf": now,
        "exp": now + lifetime.as_secs() as i64,
        "app_displayname": client_id, "appid": client_id, "appidacr": "1", "idp": issuer,
        "idtyp": "app", "oid": client_id, "sub": client_id, "tid": tenant,
        "uti": format!("{serial:016x}"), "ver": "1.0",
    });
    if !permissions.is_empty() {
        claims["roles"] = json!(permissions);
    }
    format!(
        "{}.{}.{}",
        b64.encode(br#"{"typ":"JWT","alg":"RS256","kid":"emulated"}"#),
        b64.encode(claims.to_string()),
        b64.encode(format!("{serial:016x}{}", hex(client_id))),
    )
}

pub(crate) fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Default lifetime of issued tokens, as Entra ID issues them.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(3599);

/// Every application permission the emulator knows, all granted unless the builder narrows them.
pub const ALL_PERMISSIONS: &[&str] = &[
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
    "User.Invite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "AdministrativeUnit.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.AuthenticationMethod",
    "Policy.ReadWrite.Authorization",
    "Policy.ReadWrite.ApplicationConfiguration",
    "Policy.ReadWrite.CrossTenantAccess",
    "Agreement.ReadWrite.All",
    "RoleManagementPolicy.ReadWrite.Directory",
    "Device.Read.All",
    "AuditLog.Read.All",
];

/// The permissions any one of which allows `method path` (Graph's "least privileged" tables).
pub(crate) fn required(method: &str, segments: &[String]) -> &'static [&'static str] {
    let read = method == "GET";
    let first = segments.first().map(String::as_str).unwrap_or("");
    let second = segments.get(1).map(String::as_str).unwrap_or("");
    let relation = segments.get(2).map(String::as_str).unwrap_or("");
    match (first, read) {
        ("users", true) => &[
            "User.Read.All",
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("users", false) => &["User.ReadWrite.All", "Directory.ReadWrite.All"],
        ("invitations", false) => &[
            "User.Invite.All",
            "User.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
        ("groups", true) => &[
            "GroupMember.Read.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("groups", false) if matches!(relation, "members" | "owners") => &[
            "GroupMember.ReadWrite.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
        ("groups", false) => &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
        ("applications", true) => &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("applications", false) => &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
        ("servicePrincipals", true) => &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("servicePrincipals", false) if relation == "appRoleAssignedTo" => {
            &["AppRoleAssignment.ReadWrite.All"]
        }
        ("servicePrincipals", false) => &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
        ("oauth2PermissionGrants", true) => &[
            "DelegatedPermissionGrant.Read.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("oauth2PermissionGrants", false) => &["DelegatedPermissionGrant.ReadWrite.All"],
        ("roleManagement", true) if relation.starts_with("roleEligibilitySchedule") => &[
            "RoleEligibilitySchedule.Read.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
        ],
        ("roleManagement", true) if relation.starts_with("roleAssignmentSchedule") => &[
            "RoleAssignmentSchedule.Read.Directory",
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
        ],
        ("roleManagement", true) => &[
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
            "Directory.Read.All",
        ],
        ("roleManagement", false) if relation == "roleEligibilityScheduleRequests" => &[
            "RoleEligibilitySchedule.ReadWrite.Directory",
            "RoleManagement.ReadWrite.Directory",
        ],
        ("roleManagement", false) if relation == "roleAssignmentScheduleRequests" => &[
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleManagement.ReadWrite.Directory",
        ],
        ("roleManagement", false) => &["RoleManagement.ReadWrite.Directory"],
        ("administrativeUnits", true) => &[
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("administrativeUnits", false) => &[
            "AdministrativeUnit.ReadWrite.All",
            "Directory.ReadWrite.All",
        ],
        ("identity", true) => &["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"],
        ("identity", false) => &["Policy.ReadWrite.ConditionalAccess"],
        ("policies", true) if second.starts_with("roleManagementPolic") => &[
            "RoleManagementPolicy.Read.Directory",
            "RoleManagementPolicy.ReadWrite.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
        ],
        ("policies", true) => &["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"],
        ("policies", false) if second == "authorizationPolicy" => {
            &["Policy.ReadWrite.Authorization"]
        }
        ("policies", false) if second == "roleManagementPolicies" => &[
            "RoleManagementPolicy.ReadWrite.Directory",
            "RoleManagement.ReadWrite.Directory",
        ],
        ("policies", false) if second == "crossTenantAccessPolicy" => {
            &["Policy.ReadWrite.CrossTenantAccess"]
        }
        ("policies", false)
            if matches!(second, "claimsMappingPolicies" | "tokenLifetimePolicies") =>
        {
            &["Policy.ReadWrite.ApplicationConfiguration"]
        }
        ("policies", false) => &["Policy.ReadWrite.AuthenticationMethod"],
        ("identityGovernance", true) if second == "termsOfUse" => {
            &["Agreement.Read.All", "Agreement.ReadWrite.All"]
        }
        ("identityGovernance", false) if second == "termsOfUse" => &["Agreement.ReadWrite.All"],
        ("devices", true) => &[
            "Device.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        ("directoryObjects", _) => &[
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "User.Read.All",
            "User.ReadWrite.All",
        ],
        ("directory", true) if second == "deletedItems" => &[
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "User.Read.All",
            "User.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Application.Read.All",
            "Application.ReadWrite.All",
        ],
        ("auditLogs", true) => &["AuditLog.Read.All"],
        ("directory", false) => &[
            "Directory.ReadWrite.All",
            "User.ReadWrite.All",
            "Group.ReadWrite.All",
            "Application.ReadWrite.All",
        ],
        _ => &["Directory.ReadWrite.All"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn claims(token: &str) -> serde_json::Value {
        let payload = token.split('.').nth(1).expect("a JWT has three parts");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url without padding");
        serde_json::from_slice(&bytes).expect("the payload is JSON")
    }

    #[test]
    fn an_app_only_token_carries_the_granted_permissions_in_roles() {
        let granted = vec!["User.Read.All".to_string(), "Policy.Read.All".to_string()];
        let token = access_token(
            "contoso",
            "app-1",
            "https://graph.microsoft.com",
            &granted,
            Duration::from_secs(3599),
            7,
        );
        assert_eq!(token.split('.').count(), 3);
        let c = claims(&token);
        assert_eq!(c["roles"], json!(granted));
        assert_eq!(c["appid"], "app-1");
        assert_eq!(c["idtyp"], "app");
        assert_eq!(c["aud"], "https://graph.microsoft.com");
        assert_eq!(c["iss"], "https://sts.windows.net/contoso/");
        let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
        assert_eq!(exp - iat, 3599);
    }

    #[test]
    fn without_a_granted_permission_the_roles_claim_is_left_out() {
        let token = access_token(
            "t",
            "app",
            "https://graph.microsoft.com",
            &[],
            DEFAULT_LIFETIME,
            1,
        );
        assert!(claims(&token).get("roles").is_none());
        let other = access_token(
            "t",
            "app",
            "https://graph.microsoft.com",
            &[],
            DEFAULT_LIFETIME,
            2,
        );
        assert_ne!(token, other, "every token issued is a new one");
    }
}
