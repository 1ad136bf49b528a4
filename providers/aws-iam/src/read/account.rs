//! The read of what belongs to the account rather than to a user, group or role: instance
//! profiles, SAML and OIDC providers, the password policy and the alias.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use iamsnap_provider::ProviderError;

use super::Read;
use crate::client::{Api, Paginated};
use crate::records::{self, OidcProvider, RoleHead, SamlProvider};

impl Read<'_> {
    /// Instance profiles, each read again for its tags, which `ListInstanceProfiles` leaves
    /// out. `roles` gives the ids of their roles.
    pub(super) async fn instance_profiles(
        &self,
        roles: &HashMap<String, RoleHead>,
    ) -> Result<(), ProviderError> {
        if !self.scope.instance_profiles {
            return Ok(());
        }
        let client = self.client;
        let mut pages = client
            .list_instance_profiles()
            .into_paginator()
            .send()
            .pages("ListInstanceProfiles");
        while let Some(page) = pages
            .next()
            .await
            .map_err(|e| e.context("instance profiles"))?
        {
            let mut read = futures::stream::iter(page.instance_profiles)
                .map(|listed| async move {
                    let name = listed.instance_profile_name();
                    let out = client
                        .get_instance_profile()
                        .instance_profile_name(name)
                        .send()
                        .await
                        .api("GetInstanceProfile")
                        .map_err(|e| e.context(&format!("instance profile {name}")))?;
                    out.instance_profile.ok_or_else(|| ProviderError::Decode {
                        url: format!("iam:GetInstanceProfile instance profile {name}"),
                        message: "the answer has no InstanceProfile".into(),
                    })
                })
                .buffer_unordered(self.concurrency);
            while let Some(profile) = read.try_next().await? {
                self.send(records::instance_profile(&profile, roles))
                    .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn saml_providers(&self) -> Result<(), ProviderError> {
        if !self.scope.saml {
            return Ok(());
        }
        let client = self.client;
        let list = client
            .list_saml_providers()
            .send()
            .await
            .api("ListSAMLProviders")
            .map_err(|e| e.context("SAML providers"))?;
        let arns = list
            .saml_provider_list
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.arn);
        let mut read = futures::stream::iter(arns)
            .map(|arn| async move {
                let out = client
                    .get_saml_provider()
                    .saml_provider_arn(&arn)
                    .send()
                    .await
                    .api("GetSAMLProvider")
                    .map_err(|e| e.context(&format!("SAML provider {arn}")))?;
                Ok::<_, ProviderError>(SamlProvider {
                    metadata: out.saml_metadata_document.unwrap_or_default(),
                    tags: out.tags.unwrap_or_default(),
                    arn,
                })
            })
            .buffer_unordered(self.concurrency);
        while let Some(provider) = read.try_next().await? {
            self.send(records::saml_provider(&provider)).await?;
        }
        Ok(())
    }

    pub(super) async fn oidc_providers(&self) -> Result<(), ProviderError> {
        if !self.scope.oidc {
            return Ok(());
        }
        let client = self.client;
        let list = client
            .list_open_id_connect_providers()
            .send()
            .await
            .api("ListOpenIDConnectProviders")
            .map_err(|e| e.context("OIDC providers"))?;
        let arns = list
            .open_id_connect_provider_list
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.arn);
        let mut read = futures::stream::iter(arns)
            .map(|arn| async move {
                let out = client
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(&arn)
                    .send()
                    .await
                    .api("GetOpenIDConnectProvider")
                    .map_err(|e| e.context(&format!("OIDC provider {arn}")))?;
                Ok::<_, ProviderError>(OidcProvider {
                    url: out.url.unwrap_or_default(),
                    client_ids: out.client_id_list.unwrap_or_default(),
                    thumbprints: out.thumbprint_list.unwrap_or_default(),
                    tags: out.tags.unwrap_or_default(),
                    arn,
                })
            })
            .buffer_unordered(self.concurrency);
        while let Some(provider) = read.try_next().await? {
            self.send(records::oidc_provider(&provider)).await?;
        }
        Ok(())
    }

    pub(super) async fn password_policy(&self) -> Result<(), ProviderError> {
        if !self.scope.password_policy {
            return Ok(());
        }
        match self
            .client
            .get_account_password_policy()
            .send()
            .await
            .api("GetAccountPasswordPolicy")
        {
            Ok(out) => match out.password_policy {
                Some(policy) => self.send(records::password_policy(&policy)).await,
                None => Ok(()),
            },
            Err(e) if e.is("NoSuchEntity") => Ok(()),
            Err(e) => Err(e.context("account password policy")),
        }
    }

    pub(super) async fn aliases(&self) -> Result<(), ProviderError> {
        if !self.scope.alias {
            return Ok(());
        }
        let mut pages = self
            .client
            .list_account_aliases()
            .into_paginator()
            .send()
            .pages("ListAccountAliases");
        while let Some(page) = pages
            .next()
            .await
            .map_err(|e| e.context("account aliases"))?
        {
            for alias in page.account_aliases {
                self.send(records::account_alias(&alias)).await?;
            }
        }
        Ok(())
    }
}
