//! PIM eligibility schedules for Azure resources, written through
//! `roleEligibilityScheduleRequests`: `AdminAssign` (starting now, ending when the snapshot's
//! did), `AdminUpdate` and `AdminRemove`, each a request under a new GUID.

use std::time::{Duration, Instant};

use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::assignments::{PRINCIPAL_REPLICATION, ROLE_REPLICATION, definition_id, principal_gone};
use super::{Restore, new_guid, text};
use crate::client::{PIM_API, arm_code};
use crate::read::fetch;

/// Why an eligibility cannot be made again: it has ended.
pub(crate) fn ended(record: &Record) -> Option<String> {
    let end = record.attrs["endDateTime"].as_str()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    (rfc3339_seconds(end)? <= now).then(|| {
        format!("the eligibility ended on {end}: make the principal eligible again, with a new end date, if it still needs the role")
    })
}

/// Seconds since the epoch of `2031-01-01T00:00:00Z` (fractions and offsets of UTC only).
fn rfc3339_seconds(text: &str) -> Option<u64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.trim_end_matches('Z').split(':');
    let (h, min) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let s = t.next()?.split('.').next()?.parse::<i64>().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3_600 + min * 60 + s).ok()
}

async fn send(
    restore: &Restore<'_>,
    record: &Record,
    request_type: &str,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let principal = match restore.principal_id(record).await? {
        Ok(id) => id,
        // Nothing to remove for a principal that is gone.
        Err(_) if request_type == "AdminRemove" => {
            return Ok(Outcome::AlreadyDone {
                id: record.id.clone(),
            });
        }
        Err(reason) => return Ok(Outcome::Skipped { reason }),
    };
    let mut properties = Map::new();
    properties.insert("requestType".into(), json!(request_type));
    properties.insert(
        "roleDefinitionId".into(),
        json!(definition_id(restore, record).await?),
    );
    properties.insert("principalId".into(), json!(principal));
    for field in ["condition", "conditionVersion"] {
        if let Some(v) = record.attrs.get(field) {
            properties.insert(field.into(), v.clone());
        }
    }
    properties.insert(
        "justification".into(),
        json!("Restored by iamsnap from a backup"),
    );
    let expiration = match record.attrs["endDateTime"].as_str() {
        Some(end) => json!({"type": "AfterDateTime", "endDateTime": end}),
        None => json!({"type": "NoExpiration"}),
    };
    properties.insert("scheduleInfo".into(), json!({"expiration": expiration}));
    let body = json!({"properties": Value::Object(properties)});
    let url = client.url(
        &format!(
            "{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{}",
            text(record, "scope"),
            new_guid()
        ),
        PIM_API,
        &[],
    );
    let started = Instant::now();
    let mut wait = Duration::from_millis(500);
    loop {
        let error = match client.send(Method::PUT, &url, Some(&body)).await {
            Ok(answer) => {
                let id = answer
                    .as_ref()
                    .and_then(|a| a["properties"]["targetRoleEligibilityScheduleId"].as_str())
                    .unwrap_or_default()
                    .to_string();
                return Ok(Outcome::Applied { id });
            }
            Err(e) => e,
        };
        if request_type == "AdminAssign" && arm_code(&error, 409) == Some("RoleAssignmentExists") {
            let live = fetch::eligibility(&restore.reader(), &record.key).await?;
            return match live {
                Some(live) => Ok(Outcome::AlreadyDone { id: live.id }),
                None => Err(error),
            };
        }
        if request_type == "AdminRemove"
            && arm_code(&error, 400) == Some("RoleAssignmentDoesNotExist")
        {
            return Ok(Outcome::AlreadyDone {
                id: record.id.clone(),
            });
        }
        let window = match arm_code(&error, 400) {
            Some("RoleDefinitionDoesNotExist") => ROLE_REPLICATION,
            Some("PrincipalNotFound") => PRINCIPAL_REPLICATION,
            _ => Duration::ZERO,
        };
        if started.elapsed() + wait > window {
            if arm_code(&error, 400) == Some("PrincipalNotFound") {
                return Ok(Outcome::Skipped {
                    reason: principal_gone(record),
                });
            }
            return Err(error);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

pub(super) async fn create(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<Outcome, ProviderError> {
    send(restore, desired, "AdminAssign").await
}

pub(super) async fn update(
    restore: &Restore<'_>,
    desired: &Record,
) -> Result<Outcome, ProviderError> {
    send(restore, desired, "AdminUpdate").await
}

pub(super) async fn delete(
    restore: &Restore<'_>,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    send(restore, current, "AdminRemove").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_seconds_since_the_epoch() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_seconds("2031-01-01T00:00:00.000Z"),
            Some(1_924_992_000)
        );
        assert_eq!(
            rfc3339_seconds("2024-02-29T12:30:15.5Z"),
            Some(1_709_209_815)
        );
        assert_eq!(rfc3339_seconds("yesterday"), None);
    }
}
