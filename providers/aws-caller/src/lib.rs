//! What `iamsnap doctor` says of an AWS source's credentials, shared by the AWS connectors:
//! who they are (`sts:GetCallerIdentity`), how old an access key is or when a session ends
//! ([`credentials`]), and which of the writes a restore needs IAM's policy simulator says
//! they may make ([`restore_permissions`], `iam:SimulatePrincipalPolicy`). Nothing is changed.
//!
//! ```no_run
//! # async fn run(sdk: &aws_config::SdkConfig) {
//! let checks = iamsnap_aws_caller::credentials(sdk).await;
//! let writes = iamsnap_aws_caller::restore_permissions(sdk, &["iam:CreateUser"]).await;
//! # }
//! ```

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};
use chrono::{DateTime, Utc};
use iamsnap_provider::doctor::Check;

/// AWS recommends rotating an access key at least every 90 days (IAM best practices; the
/// Security Hub control IAM.3 flags older active keys).
pub const KEY_ROTATION_DAYS: i64 = 90;

/// Actions asked of the simulator per call: it takes a list, and a few calls keep each answer
/// small.
const ACTIONS_PER_CALL: usize = 40;

/// The credentials' identity and age: `identity` (the ARN they act as; the root user warns)
/// and `credential age` (an IAM user's access key older than [`KEY_ROTATION_DAYS`] warns; a
/// session says when it ends). Made after the reads passed, so a refusal here concerns only
/// the call it names.
pub async fn credentials(sdk: &SdkConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    let caller = match caller_arn(sdk).await {
        Ok(arn) => arn,
        Err(e) => {
            checks.push(Check::fail(
                "identity",
                format!("sts:GetCallerIdentity failed: {e}"),
            ));
            return checks;
        }
    };
    checks.push(if caller.ends_with(":root") {
        Check::warn(
            "identity",
            format!(
                "{caller}: the account's root user; AWS recommends never using it for automation: give iamsnap an IAM role (or user) with the policies in the documentation"
            ),
        )
    } else {
        Check::ok("identity", caller.clone())
    });
    let Some(provider) = sdk.credentials_provider() else {
        return checks;
    };
    let credentials = match provider.provide_credentials().await {
        Ok(credentials) => credentials,
        Err(e) => {
            checks.push(Check::fail("credential age", e.to_string()));
            return checks;
        }
    };
    checks.push(match (credentials.session_token(), credentials.expiry()) {
        (Some(_), Some(expiry)) => session_expiry(expiry, SystemTime::now()),
        (Some(_), None) => Check::note(
            "credential age",
            "temporary (session) credentials whose end AWS did not say",
        ),
        (None, _) => key_age(sdk, credentials.access_key_id()).await,
    });
    checks
}

/// When a session ends. The SDK renews role and SSO sessions by itself; the line is there so
/// that credentials pasted into the environment are seen to be temporary.
fn session_expiry(expiry: SystemTime, now: SystemTime) -> Check {
    let at = DateTime::<Utc>::from(expiry).format("%Y-%m-%d %H:%M UTC");
    let left = expiry
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        / 60;
    Check::ok(
        "credential age",
        format!(
            "temporary credentials, valid until {at} ({left} min left); roles and SSO sessions are renewed as they end, session keys set in the environment are not"
        ),
    )
}

/// The age of the long-term access key in use, from its user's list of keys
/// (`iam:GetAccessKeyLastUsed` names the user, `iam:ListAccessKeys` dates the key).
async fn key_age(sdk: &SdkConfig, access_key_id: &str) -> Check {
    let iam = iam_client(sdk);
    // Only the key's last four characters are shown: enough to find it in the console.
    let shown = format!(
        "…{}",
        &access_key_id[access_key_id.len().saturating_sub(4)..]
    );
    let cannot = |e: String| {
        Check::note(
            "credential age",
            format!(
                "not checked: the age of access key {shown} could not be read ({e}); allow iam:GetAccessKeyLastUsed and iam:ListAccessKeys on the user, or see the key's age in the IAM console"
            ),
        )
    };
    let user = match iam
        .get_access_key_last_used()
        .access_key_id(access_key_id)
        .send()
        .await
    {
        Ok(out) => match out.user_name {
            Some(user) => user,
            None => return cannot("IAM named no user for it".into()),
        },
        Err(e) => return cannot(error_text(&e)),
    };
    let keys = match iam.list_access_keys().user_name(&user).send().await {
        Ok(out) => out.access_key_metadata,
        Err(e) => return cannot(error_text(&e)),
    };
    let created = keys
        .iter()
        .find(|k| k.access_key_id() == Some(access_key_id))
        .and_then(|k| k.create_date())
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.secs(), 0));
    match created {
        Some(created) => key_age_check(&user, &shown, created, Utc::now()),
        None => cannot(format!("it is not among the keys of user {user}")),
    }
}

/// An access key `created` at that time, as of `now`.
fn key_age_check(user: &str, key: &str, created: DateTime<Utc>, now: DateTime<Utc>) -> Check {
    let days = (now - created).num_days();
    let what = format!(
        "access key {key} of IAM user {user}, created {} ({days} days ago)",
        created.format("%Y-%m-%d")
    );
    if days > KEY_ROTATION_DAYS {
        Check::warn(
            "credential age",
            format!(
                "{what}: AWS recommends rotating access keys every {KEY_ROTATION_DAYS} days; create a second key, switch iamsnap to it, then deactivate and delete this one (better still, use a role)"
            ),
        )
    } else {
        Check::ok("credential age", what)
    }
}

/// Whether the credentials may make each of `actions` (`iam:CreateUser`), asked of IAM's
/// policy simulator for the user or role they belong to. One line: `ok` when every action is
/// allowed, `fail` naming each one that is not and why; a note when the simulator cannot be
/// asked (a federated user, a simulator refused or not implemented by the endpoint), since
/// that says nothing about the restore itself.
pub async fn restore_permissions(sdk: &SdkConfig, actions: &[&str]) -> Vec<Check> {
    const CHECK: &str = "restore permissions";
    let cannot = |why: String| {
        vec![Check::note(
            CHECK,
            format!(
                "cannot check without writing: {why}; the actions a restore needs are listed in the documentation of this provider"
            ),
        )]
    };
    let caller = match caller_arn(sdk).await {
        Ok(arn) => arn,
        Err(e) => return cannot(format!("sts:GetCallerIdentity failed: {e}")),
    };
    let iam = iam_client(sdk);
    let source = match Principal::of(&caller) {
        Principal::Root => {
            return vec![Check::ok(
                CHECK,
                "the account's root user may make every write (but should not be used; see identity)",
            )];
        }
        Principal::User(arn) => arn,
        Principal::Role(name, guess) => match iam.get_role().role_name(&name).send().await {
            // The role's ARN with its path, which the session's ARN leaves out.
            Ok(out) => out.role.map(|r| r.arn).unwrap_or(guess),
            Err(_) => guess,
        },
        Principal::Other => {
            return cannot(format!(
                "{caller} is neither an IAM user nor a role session, and IAM's policy simulator takes only those"
            ));
        }
    };
    match simulate(&iam, &source, actions).await {
        Ok(results) => vec![judge(&source, actions.len(), &results)],
        Err(why) => cannot(why),
    }
}

/// IAM's decision on each of `actions` for principal `source`, every page of it; the error
/// says why the simulator could not be asked.
async fn simulate(
    iam: &aws_sdk_iam::Client,
    source: &str,
    actions: &[&str],
) -> Result<Vec<EvaluationResult>, String> {
    let mut results = Vec::new();
    for chunk in actions.chunks(ACTIONS_PER_CALL) {
        let mut marker = None;
        loop {
            let out = iam
                .simulate_principal_policy()
                .policy_source_arn(source)
                .set_action_names(Some(chunk.iter().map(|a| a.to_string()).collect()))
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| simulator_refusal(&e))?;
            results.extend(out.evaluation_results.unwrap_or_default());
            match out.marker {
                Some(next) if out.is_truncated => marker = Some(next),
                _ => break,
            }
        }
    }
    Ok(results)
}

/// What the simulator answered, as one line: every action allowed, or the ones that are not,
/// each with the reason IAM gives.
fn judge(source: &str, asked: usize, results: &[EvaluationResult]) -> Check {
    const CHECK: &str = "restore permissions";
    let mut denied: Vec<String> = results
        .iter()
        .filter(|r| r.eval_decision != PolicyEvaluationDecisionType::Allowed)
        .map(|r| format!("{} ({})", r.eval_action_name, why_denied(r)))
        .collect();
    denied.sort();
    denied.dedup();
    if denied.is_empty() {
        Check::ok(
            CHECK,
            format!("IAM's policy simulator allows {source} all {asked} actions a restore makes"),
        )
    } else {
        Check::fail(
            CHECK,
            format!(
                "IAM's policy simulator denies {source} {} of the {asked} actions a restore makes: {}; attach the restore policy in the documentation",
                denied.len(),
                denied.join(", ")
            ),
        )
    }
}

/// The reason of one denial, in IAM's terms.
fn why_denied(result: &EvaluationResult) -> String {
    let mut why = match &result.eval_decision {
        PolicyEvaluationDecisionType::ExplicitDeny => {
            "explicitDeny: a policy denies it".to_string()
        }
        PolicyEvaluationDecisionType::ImplicitDeny => {
            "implicitDeny: no policy allows it".to_string()
        }
        other => other.as_str().to_string(),
    };
    if result
        .organizations_decision_detail
        .as_ref()
        .is_some_and(|d| !d.allowed_by_organizations)
    {
        why.push_str("; an Organizations service control policy does not allow it");
    }
    if result
        .permissions_boundary_decision_detail
        .as_ref()
        .is_some_and(|d| !d.allowed_by_permissions_boundary)
    {
        why.push_str("; the permissions boundary does not allow it");
    }
    if let Some(missing) = result
        .missing_context_values
        .as_ref()
        .filter(|m| !m.is_empty())
    {
        why.push_str(&format!(
            "; a condition on {} decides it at run time",
            missing.join(", ")
        ));
    }
    why
}

/// Why the simulator could not be asked: refused to these credentials, or not offered by the
/// endpoint (an emulator, a partition without it).
fn simulator_refusal<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let not_offered = |what: String| {
        format!("the IAM endpoint does not implement SimulatePrincipalPolicy ({what})")
    };
    match error {
        SdkError::ServiceError(e) => match e.err().code() {
            Some("AccessDenied" | "AccessDeniedException") => {
                "these credentials may not call iam:SimulatePrincipalPolicy (allow it to let doctor ask)".into()
            }
            Some("NotImplemented" | "InvalidAction" | "UnsupportedOperation") => {
                not_offered(error_text(error))
            }
            // No IAM error document at all: moto, for one, answers an HTML page with status 500.
            None => not_offered(format!(
                "HTTP {} without an IAM error in the answer",
                e.raw().status().as_u16()
            )),
            Some(_) => format!("iam:SimulatePrincipalPolicy failed: {}", error_text(error)),
        },
        SdkError::ResponseError(e) => not_offered(format!(
            "HTTP {}, not an IAM answer",
            e.raw().status().as_u16()
        )),
        _ => format!("iam:SimulatePrincipalPolicy failed: {}", error_text(error)),
    }
}

/// The principal IAM's simulator is asked about, from the caller's ARN.
#[derive(Debug, PartialEq, Eq)]
enum Principal {
    Root,
    /// An IAM user's ARN.
    User(String),
    /// A role session: the role's name, and its ARN as if it had no path.
    Role(String, String),
    Other,
}

impl Principal {
    fn of(arn: &str) -> Principal {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, partition, service, _, account, resource] = parts.as_slice() else {
            return Principal::Other;
        };
        match (*service, resource.split_once('/')) {
            ("iam", None) if *resource == "root" => Principal::Root,
            ("iam", Some(("user", _))) => Principal::User(arn.to_string()),
            ("iam", Some(("role", path_and_name))) => {
                let name = path_and_name.rsplit('/').next().unwrap_or(path_and_name);
                Principal::Role(name.to_string(), arn.to_string())
            }
            ("sts", Some(("assumed-role", rest))) => {
                let name = rest.split('/').next().unwrap_or(rest);
                Principal::Role(
                    name.to_string(),
                    format!("arn:{partition}:iam::{account}:role/{name}"),
                )
            }
            _ => Principal::Other,
        }
    }
}

async fn caller_arn(sdk: &SdkConfig) -> Result<String, String> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| error_text(&e))?;
    out.arn.ok_or_else(|| "the answer has no Arn".to_string())
}

/// An IAM client for a handful of doctor's calls: few retries, so that an endpoint that
/// answers a call with an error page is reported at once.
fn iam_client(sdk: &SdkConfig) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::config::Builder::from(sdk)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

fn error_text<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(e) => {
            let e = e.err();
            format!(
                "{}: {}",
                e.code().unwrap_or("error"),
                e.message().unwrap_or("no message")
            )
        }
        other => aws_sdk_iam::error::DisplayErrorContext(other).to_string(),
    }
}

/// The actions of statement `sid` of a policy a documentation page shows: what each AWS
/// connector's test holds its list of restore actions to, so that doctor asks about the
/// policy the documentation tells operators to attach.
pub fn documented_actions<'a>(page: &'a str, sid: &str) -> Vec<&'a str> {
    let Some(start) = page.find(&format!("\"Sid\": \"{sid}\"")) else {
        return Vec::new();
    };
    let statement = &page[start..];
    let (Some(open), Some(close)) = (statement.find('['), statement.find(']')) else {
        return Vec::new();
    };
    statement[open + 1..close]
        .split(',')
        .map(|a| a.trim().trim_matches('"'))
        .filter(|a| !a.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
