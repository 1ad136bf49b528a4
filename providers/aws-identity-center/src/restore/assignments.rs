//! Account assignments: the permission set found by name, the principal by user name or group
//! display name; created or deleted, then waited for until Identity Center says it is done.

use aws_sdk_ssoadmin::types::{AccountAssignmentOperationStatus, PrincipalType, TargetType};
use iamsnap_provider::Record;

use super::wait::{self, Status};
use super::{Ctx, Done, principal_id, sets, str_attr};
use crate::client::{Api, ApiError};
use crate::kinds::Principal;
use crate::read::pages;

/// The live ids an assignment record names: permission set ARN, account, principal type and id.
struct Target {
    set_arn: String,
    account: String,
    principal: Principal,
    principal_id: String,
}

fn not_found(op: &'static str, message: String) -> ApiError {
    ApiError {
        code: Some("ResourceNotFoundException".into()),
        ..ApiError::local(op, message)
    }
}

async fn target(ctx: &Ctx<'_>, record: &Record, op: &'static str) -> Result<Target, ApiError> {
    let set = str_attr(record, "PermissionSet").unwrap_or_default();
    let account = str_attr(record, "AccountId")
        .unwrap_or_default()
        .to_string();
    let principal = str_attr(record, "PrincipalType")
        .and_then(Principal::from_api)
        .ok_or_else(|| ApiError::local(op, "the record names no principal type"))?;
    let name = str_attr(record, "Principal").unwrap_or_default();
    let set_arn = sets::arn_of(ctx, set)
        .await?
        .ok_or_else(|| not_found(op, format!("no permission set {set}")))?;
    let principal_id = principal_id(ctx, principal, name).await?.ok_or_else(|| {
        not_found(
            op,
            format!("no {} {name} in the Identity Store", principal.word()),
        )
    })?;
    Ok(Target {
        set_arn,
        account,
        principal,
        principal_id,
    })
}

fn api_type(p: Principal) -> PrincipalType {
    match p {
        Principal::User => PrincipalType::User,
        Principal::Group => PrincipalType::Group,
    }
}

fn status(s: Option<AccountAssignmentOperationStatus>) -> (Status, Option<String>) {
    let request = s.as_ref().and_then(|s| s.request_id.clone());
    (
        Status {
            status: s.as_ref().and_then(|s| s.status.clone()),
            failure: s.and_then(|s| s.failure_reason),
        },
        request,
    )
}

async fn exists(ctx: &Ctx<'_>, t: &Target) -> Result<bool, ApiError> {
    let listed = pages!(
        ctx.clients
            .sso
            .list_account_assignments()
            .instance_arn(&ctx.instance.arn)
            .account_id(&t.account)
            .permission_set_arn(&t.set_arn),
        "sso:ListAccountAssignments",
        account_assignments
    )?;
    Ok(listed.iter().any(|a| {
        a.principal_id() == Some(t.principal_id.as_str())
            && a.principal_type().map(|p| p.as_str()) == Some(t.principal.as_api())
    }))
}

/// Assigns the permission set, unless it is assigned already.
pub(crate) async fn create(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    const OP: &str = "sso:CreateAccountAssignment";
    let t = target(ctx, desired, OP).await?;
    let id = crate::kinds::assignment_id(&t.set_arn, &t.account, t.principal, &t.principal_id);
    if exists(ctx, &t).await? {
        return Ok(Done::Unchanged(id));
    }
    let sso = &ctx.clients.sso;
    let out = sso
        .create_account_assignment()
        .instance_arn(&ctx.instance.arn)
        .target_id(&t.account)
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&t.set_arn)
        .principal_type(api_type(t.principal))
        .principal_id(&t.principal_id)
        .send()
        .await
        .api(OP)?;
    let (first, request) = status(out.account_assignment_creation_status);
    wait::until_done(
        "sso:DescribeAccountAssignmentCreationStatus",
        first,
        || async {
            let out = sso
                .describe_account_assignment_creation_status()
                .instance_arn(&ctx.instance.arn)
                .set_account_assignment_creation_request_id(request.clone())
                .send()
                .await
                .api("sso:DescribeAccountAssignmentCreationStatus")?;
            Ok(status(out.account_assignment_creation_status).0)
        },
    )
    .await?;
    Ok(Done::Changed(id))
}

/// Removes the assignment `live` (a live record, whose refs carry live ids).
pub(crate) async fn delete(ctx: &Ctx<'_>, live: &Record) -> Result<(), ApiError> {
    const OP: &str = "sso:DeleteAccountAssignment";
    let t = Target {
        set_arn: live
            .target("permission_set")
            .map(|r| r.id.clone())
            .unwrap_or_default(),
        account: str_attr(live, "AccountId").unwrap_or_default().to_string(),
        principal: str_attr(live, "PrincipalType")
            .and_then(Principal::from_api)
            .ok_or_else(|| ApiError::local(OP, "the record names no principal type"))?,
        principal_id: live
            .target("principal")
            .map(|r| r.id.clone())
            .unwrap_or_default(),
    };
    let sso = &ctx.clients.sso;
    let out = sso
        .delete_account_assignment()
        .instance_arn(&ctx.instance.arn)
        .target_id(&t.account)
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&t.set_arn)
        .principal_type(api_type(t.principal))
        .principal_id(&t.principal_id)
        .send()
        .await
        .api(OP)?;
    let (first, request) = status(out.account_assignment_deletion_status);
    wait::until_done(
        "sso:DescribeAccountAssignmentDeletionStatus",
        first,
        || async {
            let out = sso
                .describe_account_assignment_deletion_status()
                .instance_arn(&ctx.instance.arn)
                .set_account_assignment_deletion_request_id(request.clone())
                .send()
                .await
                .api("sso:DescribeAccountAssignmentDeletionStatus")?;
            Ok(status(out.account_assignment_deletion_status).0)
        },
    )
    .await
}
