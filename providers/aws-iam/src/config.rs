//! `[sources.NAME]` with `provider = "aws-iam"`.
//!
//! Credentials never appear here: they come from the standard AWS chain (environment,
//! `~/.aws/config` profiles, SSO, `credential_process`, container and instance roles), optionally
//! followed by one assumed role.

use iamsnap_provider::ProviderError;
use serde::Deserialize;

/// Requests in flight at once when `concurrency` is not set.
pub const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsIamConfig {
    /// Custom IAM endpoint (`http://127.0.0.1:5000` for moto, or a VPC endpoint).
    pub endpoint: Option<String>,
    /// Signing region. IAM is global; the default is the chain's region, else `us-east-1`
    /// (use `cn-north-1` or `us-gov-west-1` for those partitions).
    pub region: Option<String>,
    /// Named profile from `~/.aws/config` / `~/.aws/credentials`.
    pub profile: Option<String>,
    /// Role assumed with the chain's credentials before any IAM call, e.g. a read-only backup
    /// role in the account being backed up.
    pub assume_role_arn: Option<String>,
    /// Requests in flight at once for per-object reads (tags, login profiles, keys); default 8.
    pub concurrency: Option<usize>,
    /// Whether a backup learns which users have a console password, MFA devices and access
    /// keys from the account's credential report (one call, at most four hours old, as IAM
    /// regenerates it no more often) instead of three calls per user; default true. Set false
    /// for facts as of the backup itself.
    pub credential_report: Option<bool>,
}

impl AwsIamConfig {
    /// Requests in flight at once for per-object reads: `concurrency`, else the default.
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// Whether a backup may use the credential report: `credential_report`, else true.
    pub fn credential_report(&self) -> bool {
        self.credential_report.unwrap_or(true)
    }

    /// Every check of the configuration, all made without calling AWS. Errors name the source:
    /// `sources.aws-prod: concurrency must be at least 1`.
    pub fn validate(&self, source_name: &str) -> Result<(), ProviderError> {
        self.problem().map_or(Ok(()), |e| {
            Err(ProviderError::Config(format!("sources.{source_name}: {e}")))
        })
    }

    fn problem(&self) -> Option<String> {
        if self.concurrency == Some(0) {
            return Some("concurrency must be at least 1".into());
        }
        if let Some(arn) = &self.assume_role_arn {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let is_role = matches!(parts.as_slice(), ["arn", _, "iam", "", account, resource]
                if account.len() == 12 && resource.starts_with("role/"));
            if !is_role {
                return Some(format!(
                    "assume_role_arn {arn:?} is not a role ARN (arn:aws:iam::123456789012:role/NAME)"
                ));
            }
        }
        if let Some(endpoint) = &self.endpoint
            && !endpoint.starts_with("https://")
            && !endpoint.starts_with("http://")
        {
            return Some(format!(
                "endpoint {endpoint:?} must start with https:// or http://"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field_and_rejects_unknown_ones() {
        let cfg: AwsIamConfig = toml::from_str(
            r#"
            endpoint = "http://127.0.0.1:5000"
            region = "us-east-1"
            profile = "backup"
            assume_role_arn = "arn:aws:iam::123456789012:role/iamsnap-backup"
            concurrency = 4
            credential_report = false
            "#,
        )
        .unwrap();
        assert_eq!(cfg.concurrency(), 4);
        assert!(!cfg.credential_report());
        assert!(AwsIamConfig::default().credential_report());
        assert_eq!(cfg.profile.as_deref(), Some("backup"));

        let err = toml::from_str::<AwsIamConfig>("secret_access_key = \"x\"").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert_eq!(AwsIamConfig::default().concurrency(), DEFAULT_CONCURRENCY);
    }

    #[test]
    fn validation_names_the_source_and_the_problem() {
        let message = |toml: &str| match toml::from_str::<AwsIamConfig>(toml)
            .unwrap()
            .validate("aws-prod")
        {
            Err(ProviderError::Config(message)) => message,
            other => panic!("{toml}: {other:?}"),
        };
        assert_eq!(
            message("concurrency = 0"),
            "sources.aws-prod: concurrency must be at least 1"
        );
        assert_eq!(
            message(r#"assume_role_arn = "arn:aws:iam::123456789012:user/ada""#),
            r#"sources.aws-prod: assume_role_arn "arn:aws:iam::123456789012:user/ada" is not a role ARN (arn:aws:iam::123456789012:role/NAME)"#
        );
        assert_eq!(
            message(r#"endpoint = "127.0.0.1:5000""#),
            r#"sources.aws-prod: endpoint "127.0.0.1:5000" must start with https:// or http://"#
        );
    }

    #[test]
    fn the_documented_example_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/aws-iam.toml");
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut source = file["sources"]["aws-prod"].as_table().unwrap().clone();
        assert_eq!(source.remove("provider").unwrap().as_str(), Some("aws-iam"));
        let cfg: AwsIamConfig = source.try_into().unwrap();
        assert!(cfg.assume_role_arn.as_deref().unwrap().contains(":role/"));
        assert!(cfg.validate("aws-prod").is_ok());
    }
}
