//! `[sources.NAME]` with `provider = "aws-identity-center"`.
//!
//! Credentials never appear here: they come from the standard AWS chain (environment,
//! `~/.aws/config` profiles, SSO, `credential_process`, container and instance roles), optionally
//! followed by one assumed role.

use iamsnap_provider::ProviderError;
use serde::Deserialize;

/// Requests in flight at once when `concurrency` is not set. Identity Center's control plane
/// allows about 20 requests a second per account; eight in flight stays well below it.
pub const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsIdentityCenterConfig {
    /// The region the Identity Center instance lives in (it is regional); default the chain's
    /// region, else `us-east-1`.
    pub region: Option<String>,
    /// Custom endpoint for both sso-admin and identitystore (`http://127.0.0.1:5000` for moto,
    /// or a VPC endpoint).
    pub endpoint: Option<String>,
    /// Named profile from `~/.aws/config` / `~/.aws/credentials`.
    pub profile: Option<String>,
    /// Role assumed with the chain's credentials before any call, e.g. a read-only backup role
    /// in the organization's management or delegated administrator account.
    pub assume_role_arn: Option<String>,
    /// The instance to back up (`arn:aws:sso:::instance/ssoins-…`). Default: the only one
    /// `ListInstances` returns; when there are several, this must name one.
    pub instance_arn: Option<String>,
    /// Requests in flight at once for per-object reads; default 8.
    pub concurrency: Option<usize>,
}

impl AwsIdentityCenterConfig {
    /// Requests in flight at once for per-object reads: `concurrency`, else the default.
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// Every check of the configuration, all made without calling AWS. Errors name the source:
    /// `sources.sso: concurrency must be at least 1`.
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
        if let Some(arn) = &self.instance_arn {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let is_instance = matches!(parts.as_slice(), ["arn", _, "sso", "", "", resource]
                if resource.starts_with("instance/ssoins-"));
            if !is_instance {
                return Some(format!(
                    "instance_arn {arn:?} is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…); `aws sso-admin list-instances` lists them"
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
        let cfg: AwsIdentityCenterConfig = toml::from_str(
            r#"
            endpoint = "http://127.0.0.1:5000"
            region = "eu-west-1"
            profile = "backup"
            assume_role_arn = "arn:aws:iam::123456789012:role/iamsnap-backup"
            instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
            concurrency = 4
            "#,
        )
        .unwrap();
        assert_eq!(cfg.concurrency(), 4);
        assert_eq!(cfg.region.as_deref(), Some("eu-west-1"));
        assert!(cfg.validate("sso").is_ok());

        let err =
            toml::from_str::<AwsIdentityCenterConfig>("secret_access_key = \"x\"").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        assert_eq!(
            AwsIdentityCenterConfig::default().concurrency(),
            DEFAULT_CONCURRENCY
        );
    }

    #[test]
    fn validation_names_the_source_and_the_problem() {
        let message = |toml: &str| match toml::from_str::<AwsIdentityCenterConfig>(toml)
            .unwrap()
            .validate("sso")
        {
            Err(ProviderError::Config(message)) => message,
            other => panic!("{toml}: {other:?}"),
        };
        assert_eq!(
            message("concurrency = 0"),
            "sources.sso: concurrency must be at least 1"
        );
        assert!(
            message(r#"assume_role_arn = "arn:aws:iam::123456789012:user/ada""#)
                .contains("is not a role ARN")
        );
        assert!(
            message(r#"instance_arn = "ssoins-1234""#)
                .contains("is not an Identity Center instance ARN")
        );
        assert!(message(r#"endpoint = "127.0.0.1:5000""#).contains("must start with https://"));
    }

    #[test]
    fn the_documented_example_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/aws-identity-center.toml"
        );
        let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut source = file["sources"]["aws-sso"].as_table().unwrap().clone();
        assert_eq!(
            source.remove("provider").unwrap().as_str(),
            Some("aws-identity-center")
        );
        let cfg: AwsIdentityCenterConfig = source.try_into().unwrap();
        assert!(cfg.assume_role_arn.as_deref().unwrap().contains(":role/"));
        assert!(cfg.validate("aws-sso").is_ok());
    }
}
