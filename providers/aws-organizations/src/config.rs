//! `[sources.NAME]` with `provider = "aws-organizations"`.
//!
//! Credentials never appear here: they come from the standard AWS chain (environment,
//! `~/.aws/config` profiles, SSO, `credential_process`, container and instance roles), optionally
//! followed by one assumed role.

use iamsnap_provider::ProviderError;
use serde::Deserialize;

/// Requests in flight at once when `concurrency` is not set.
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsOrganizationsConfig {
    /// Custom Organizations endpoint (`http://127.0.0.1:5000` for moto).
    pub endpoint: Option<String>,
    /// Signing region. Organizations is global, served from `us-east-1` (`cn-northwest-1`,
    /// `us-gov-west-1` in those partitions); the default is the chain's region, else `us-east-1`.
    pub region: Option<String>,
    /// Named profile from `~/.aws/config` / `~/.aws/credentials`.
    pub profile: Option<String>,
    /// Role assumed with the chain's credentials before any call, e.g. a read-only backup role
    /// in the organization's management account (or its delegated administrator account).
    pub assume_role_arn: Option<String>,
    /// Requests in flight at once for per-object reads (tags, policy contents, the accounts of
    /// each organizational unit); default 4.
    pub concurrency: Option<usize>,
}

impl AwsOrganizationsConfig {
    /// Requests in flight at once for per-object reads: `concurrency`, else the default.
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// Every check of the configuration, all made without calling AWS. Errors name the source:
    /// `sources.org-prod: concurrency must be at least 1`.
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
        let cfg: AwsOrganizationsConfig = toml::from_str(
            r#"
            endpoint = "http://127.0.0.1:5000"
            region = "us-east-1"
            profile = "backup"
            assume_role_arn = "arn:aws:iam::123456789012:role/iamsnap-org-backup"
            concurrency = 4
            "#,
        )
        .unwrap();
        assert_eq!(cfg.concurrency(), 4);
        assert_eq!(cfg.profile.as_deref(), Some("backup"));

        let err =
            toml::from_str::<AwsOrganizationsConfig>("secret_access_key = \"x\"").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert_eq!(
            AwsOrganizationsConfig::default().concurrency(),
            DEFAULT_CONCURRENCY
        );
    }

    #[test]
    fn validation_names_the_source_and_the_problem() {
        let message = |toml: &str| match toml::from_str::<AwsOrganizationsConfig>(toml)
            .unwrap()
            .validate("org-prod")
        {
            Err(ProviderError::Config(message)) => message,
            other => panic!("{toml}: {other:?}"),
        };
        assert_eq!(
            message("concurrency = 0"),
            "sources.org-prod: concurrency must be at least 1"
        );
        assert_eq!(
            message(r#"assume_role_arn = "arn:aws:iam::123456789012:user/ada""#),
            r#"sources.org-prod: assume_role_arn "arn:aws:iam::123456789012:user/ada" is not a role ARN (arn:aws:iam::123456789012:role/NAME)"#
        );
        assert_eq!(
            message(r#"endpoint = "127.0.0.1:5000""#),
            r#"sources.org-prod: endpoint "127.0.0.1:5000" must start with https:// or http://"#
        );
    }

    #[test]
    fn the_documented_example_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/aws-organizations.toml"
        );
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut source = file["sources"]["org-prod"].as_table().unwrap().clone();
        assert_eq!(
            source.remove("provider").unwrap().as_str(),
            Some("aws-organizations")
        );
        let cfg: AwsOrganizationsConfig = source.try_into().unwrap();
        assert!(cfg.assume_role_arn.as_deref().unwrap().contains(":role/"));
        assert!(cfg.validate("org-prod").is_ok());
    }
}
