//! Privileged Identity Management for Azure resources: `roleEligibilitySchedules` (listed)
//! and `roleEligibilityScheduleRequests` (`AdminAssign`, `AdminUpdate`, `AdminRemove`), as
//! Microsoft's ARM reference (api-version 2020-10-01) describes them.

use serde_json::{Value, json};

use super::arm::{ArmAnswer, ArmRequest, SETTLE, error, page_by};
use super::model::{Arm, Eligibility, contains, norm};

pub(crate) fn list(
    arm: &Arm,
    req: &ArmRequest,
    scope: &str,
    filter: Result<(bool, Option<String>), ArmAnswer>,
) -> ArmAnswer {
    let (at_scope, principal) = match filter {
        Ok(f) => f,
        Err(e) => return e,
    };
    let items = arm
        .eligibilities
        .values()
        .filter(|e| contains(&e.scope, scope) || (!at_scope && contains(scope, &e.scope)))
        .filter(|e| {
            principal
                .as_ref()
                .is_none_or(|p| p.eq_ignore_ascii_case(&e.principal_id))
        })
        .collect::<Vec<&Eligibility>>();
    page_by(req, &items, |e| e.to_json())
}

pub(crate) fn request(arm: &mut Arm, req: &ArmRequest, scope: &str, name: &str) -> ArmAnswer {
    let props = req
        .body
        .as_ref()
        .map(|b| &b["properties"])
        .cloned()
        .unwrap_or(Value::Null);
    let text = |f: &str| {
        props[f]
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    let (Some(kind), Some(definition), Some(principal)) = (
        text("requestType"),
        text("roleDefinitionId"),
        text("principalId"),
    ) else {
        return error(
            400,
            "InvalidRoleEligibilityScheduleRequest",
            "requestType, roleDefinitionId and principalId are required.",
        );
    };
    let role = definition
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let principal = principal.to_ascii_lowercase();
    let settling = arm
        .settling
        .get(&role)
        .is_some_and(|t| t.elapsed() < SETTLE);
    if settling || !arm.role_definitions.contains_key(&role) {
        return error(
            400,
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role}' does not exist."),
        );
    }
    let Some(principal_type) = arm.principals.get(&principal).cloned() else {
        return error(
            400,
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {}.",
                principal.replace('-', ""),
                arm.tenant_id
            ),
        );
    };
    let existing = arm
        .eligibilities
        .values()
        .find(|e| norm(&e.scope) == norm(scope) && e.role == role && e.principal_id == principal)
        .map(|e| e.name.clone());
    let expiration = &props["scheduleInfo"]["expiration"];
    let end = match expiration["type"].as_str().unwrap_or("NoExpiration") {
        "NoExpiration" => None,
        "AfterDateTime" => match expiration["endDateTime"].as_str() {
            Some(end) => Some(end.to_string()),
            None => {
                return error(
                    400,
                    "InvalidScheduleInfo",
                    "An AfterDateTime expiration needs an endDateTime.",
                );
            }
        },
        other => {
            return error(
                400,
                "InvalidScheduleInfo",
                format!("The expiration type '{other}' is not supported here."),
            );
        }
    };
    let target = match (kind.as_str(), existing) {
        ("AdminAssign", Some(_)) => {
            return error(
                409,
                "RoleAssignmentExists",
                "The Role assignment already exists.",
            );
        }
        ("AdminAssign", None) => {
            let schedule = super::seed::guid(&mut rand::thread_rng());
            arm.eligibilities.insert(
                schedule.clone(),
                Eligibility {
                    name: schedule.clone(),
                    scope: scope.to_string(),
                    role: role.clone(),
                    principal_id: principal.clone(),
                    principal_type,
                    start: chrono::Utc::now()
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        .to_string(),
                    end,
                    condition: text("condition"),
                    condition_version: text("conditionVersion"),
                },
            );
            schedule
        }
        ("AdminUpdate" | "AdminRemove", None) => {
            return error(
                400,
                "RoleAssignmentDoesNotExist",
                "The Role assignment does not exist.",
            );
        }
        ("AdminUpdate", Some(schedule)) => {
            let e = arm.eligibilities.get_mut(&schedule).expect("found above");
            e.end = end;
            e.condition = text("condition");
            e.condition_version = text("conditionVersion");
            schedule
        }
        ("AdminRemove", Some(schedule)) => {
            arm.eligibilities.remove(&schedule);
            schedule
        }
        (other, _) => {
            return error(
                400,
                "InvalidRequestType",
                format!("The request type '{other}' is not supported for an administrator."),
            );
        }
    };
    let mut answer = json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{name}"),
        "name": name,
        "type": "Microsoft.Authorization/roleEligibilityScheduleRequests",
        "properties": props,
    });
    answer["properties"]["status"] = json!(if kind == "AdminRemove" {
        "Revoked"
    } else {
        "Provisioned"
    });
    answer["properties"]["targetRoleEligibilityScheduleId"] = json!(format!(
        "{scope}/providers/Microsoft.Authorization/roleEligibilitySchedules/{target}"
    ));
    ArmAnswer::json(201, answer)
}
