//! The credential report: one CSV for the whole account that says, per user, whether a console
//! password, MFA devices and access keys exist. A backup reads it once and then asks only the
//! users that have MFA devices or access keys for their serials and key ids, where it would
//! otherwise make three calls per user.
//!
//! IAM regenerates the report at most every four hours, so its facts may be that old. A user
//! the report does not list, or lists with another creation time (deleted and created again
//! since), is read one call at a time as before. Restore's reads never use the report.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::ReportStateType;

use crate::client::Api;

/// How long a backup waits for IAM to finish generating the report before reading every user
/// one by one instead.
const GENERATION_TIMEOUT: Duration = Duration::from_secs(120);
/// The first wait before asking again, doubled each time up to [`MAX_POLL_INTERVAL`]: a small
/// account's report is ready within a second, a large one's takes longer.
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(100);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What the report says about one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub console_password: bool,
    pub mfa: bool,
    pub access_keys: bool,
    pub signing_certificates: bool,
}

/// The report's rows by user name, with the creation time (Unix seconds) each row was
/// written for.
#[derive(Debug, Default)]
pub(crate) struct CredentialReport {
    users: HashMap<String, (Option<i64>, Credentials)>,
}

impl CredentialReport {
    /// What the report says about user `name` created at `created` (Unix seconds), when it
    /// lists that same user: the report and the authorization details write creation times
    /// with different precision, so they are compared to the second.
    pub fn get(&self, name: &str, created: Option<i64>) -> Option<Credentials> {
        let (at, credentials) = self.users.get(name)?;
        let same = created.is_some() && *at == created;
        same.then_some(*credentials)
    }

    /// Parses the report's CSV. Rows without a user name (the account root) are skipped.
    pub fn parse(csv: &[u8]) -> Result<Self, String> {
        let mut reader = csv::Reader::from_reader(csv);
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format!("the credential report has no column {name}"))
        };
        let user = column("user")?;
        let created = column("user_creation_time")?;
        let password = column("password_enabled")?;
        let mfa = column("mfa_active")?;
        // A key that exists has a rotation time, active or not.
        let keys = [
            column("access_key_1_last_rotated")?,
            column("access_key_2_last_rotated")?,
        ];
        // A certificate that exists is active or has a rotation time (moto writes only the
        // first).
        let certificates = [
            column("cert_1_active")?,
            column("cert_1_last_rotated")?,
            column("cert_2_active")?,
            column("cert_2_last_rotated")?,
        ];
        let mut users = HashMap::new();
        for row in reader.records() {
            let row = row.map_err(|e| e.to_string())?;
            let field = |i: usize| row.get(i).unwrap_or_default();
            let name = field(user);
            if name.is_empty() || name == "<root_account>" {
                continue;
            }
            let credentials = Credentials {
                console_password: field(password) == "true",
                mfa: field(mfa) == "true",
                access_keys: keys.iter().any(|&k| !matches!(field(k), "N/A" | "")),
                signing_certificates: certificates
                    .iter()
                    .any(|&c| !matches!(field(c), "N/A" | "" | "false")),
            };
            let at = chrono::DateTime::parse_from_rfc3339(field(created))
                .ok()
                .map(|t| t.timestamp());
            users.insert(name.to_string(), (at, credentials));
        }
        Ok(CredentialReport { users })
    }
}

/// The account's credential report, generated if IAM has none recent. `None`, with a warning
/// naming the cause, when it cannot be had: the backup then reads every user one by one.
pub(crate) async fn read(client: &Client) -> Option<CredentialReport> {
    match fetch(client).await {
        Ok(report) => Some(report),
        Err(e) => {
            tracing::warn!(
                "credential report unavailable ({e}); reading each user's login profile, MFA \
                 devices and access keys one by one (allow iam:GenerateCredentialReport and \
                 iam:GetCredentialReport to avoid three calls per user)"
            );
            None
        }
    }
}

async fn fetch(client: &Client) -> Result<CredentialReport, String> {
    let started = tokio::time::Instant::now();
    let mut interval = FIRST_POLL_INTERVAL;
    loop {
        let state = client
            .generate_credential_report()
            .send()
            .await
            .api("GenerateCredentialReport")
            .map_err(|e| e.context("the account").to_string())?;
        if state.state() == Some(&ReportStateType::Complete) {
            break;
        }
        if started.elapsed() >= GENERATION_TIMEOUT {
            return Err(format!(
                "still being generated after {} s",
                GENERATION_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(MAX_POLL_INTERVAL);
    }
    let report = client
        .get_credential_report()
        .send()
        .await
        .api("GetCredentialReport")
        .map_err(|e| e.context("the account").to_string())?;
    let content = report
        .content()
        .ok_or("GetCredentialReport answered without content")?;
    CredentialReport::parse(content.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn at(time: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(time)
            .unwrap()
            .timestamp()
    }

    fn report() -> CredentialReport {
        let rows = [
            "<root_account>,arn:aws:iam::1:root,2020-01-01T00:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            "ada,arn:aws:iam::1:user/ada,2026-01-02T03:04:05+00:00,true,N/A,2026-01-02T03:04:05+00:00,N/A,true,false,2026-02-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            "bob,arn:aws:iam::1:user/bob,2026-01-02T03:04:05+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,true,2026-03-01T00:00:00+00:00,N/A,N/A,N/A,false,2026-04-01T00:00:00+00:00,false,N/A",
            "eve,arn:aws:iam::1:user/eve,2026-01-02T03:04:05+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ];
        CredentialReport::parse(format!("{HEADER}\n{}\n", rows.join("\n")).as_bytes()).unwrap()
    }

    #[test]
    fn an_inactive_key_still_counts_and_the_root_row_is_skipped() {
        let report = report();
        let created = Some(at("2026-01-02T03:04:05Z"));
        let ada = report.get("ada", created).unwrap();
        assert_eq!(
            ada,
            Credentials {
                console_password: true,
                mfa: true,
                access_keys: true,
                signing_certificates: false,
            }
        );
        assert!(report.get("bob", created).unwrap().access_keys);
        // An inactive signing certificate still has its rotation time.
        assert!(report.get("bob", created).unwrap().signing_certificates);
        assert_eq!(
            report.get("eve", created).unwrap(),
            Credentials {
                console_password: false,
                mfa: false,
                access_keys: false,
                signing_certificates: false,
            }
        );
        assert_eq!(report.get("<root_account>", created), None);
    }

    #[test]
    fn a_user_created_again_since_the_report_is_not_answered_from_it() {
        let report = report();
        assert!(
            report
                .get("ada", Some(at("2026-01-02T05:04:05+02:00")))
                .is_some()
        );
        assert_eq!(report.get("ada", Some(at("2026-05-02T03:04:05Z"))), None);
        assert_eq!(report.get("ada", None), None);
        assert_eq!(report.get("zed", Some(at("2026-01-02T03:04:05Z"))), None);
    }

    #[test]
    fn a_report_without_the_expected_columns_is_an_error() {
        let err = CredentialReport::parse(b"user,arn\nada,x\n").unwrap_err();
        assert!(err.contains("user_creation_time"), "{err}");
    }
}
