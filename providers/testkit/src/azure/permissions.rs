//! `GET {scope}/providers/Microsoft.Authorization/permissions` (api-version 2022-04-01):
//! every permission the caller holds at a scope, as ARM's Permissions reference lists them: one
//! entry (`actions`, `notActions`, `dataActions`, `notDataActions`) per permission set of each
//! role assigned to the caller at the scope or above it. Roles reaching the caller through a
//! group are not counted (the emulator does not know the caller's groups), nor are deny
//! assignments, which ARM does not subtract here either.

use serde_json::{Value, json};

use super::arm::{ArmAnswer, ArmRequest, page};
use super::model::{Arm, contains};

pub(crate) fn list(arm: &Arm, req: &ArmRequest, scope: &str) -> ArmAnswer {
    let items: Vec<Value> = arm
        .role_assignments
        .values()
        .filter(|a| a.principal_id.eq_ignore_ascii_case(&req.caller) && contains(&a.scope, scope))
        .filter_map(|a| arm.role_definitions.get(&a.role.to_ascii_lowercase()))
        .flat_map(|d| d.permissions.iter())
        .map(|p| {
            json!({"actions": p.actions, "notActions": p.not_actions,
                   "dataActions": p.data_actions, "notDataActions": p.not_data_actions})
        })
        .collect();
    page(req, items)
}
