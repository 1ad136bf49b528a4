//! `ReadProvider::fetch`: one record by kind and natural key, read live and built as the
//! snapshot builds it, each kind by the family that reads it ([`super::lookup`] for the
//! lookups they share).

use iamsnap_provider::{ProviderError, Record};

use super::lookup::{
    app, group, group_rule, idp, idp_key, is_member, policy, policy_rule, principal, schema_type,
    split_pair, trusted_origin, user, user_type, zone,
};
use super::role_records;
use crate::client::OktaClient;
use crate::kinds::*;
use crate::records::{self, AppHead, GroupHead, str_at};

/// One record by kind and natural key, read live.
pub(crate) async fn record(
    c: &OktaClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    match kind {
        USER => user(c, key).await?.map(records::user).transpose(),
        GROUP => group(c, key).await?.map(records::group).transpose(),
        GROUP_RULE => group_rule(c, key)
            .await?
            .map(records::group_rule)
            .transpose(),
        APP => app(c, key).await?.map(records::app).transpose(),
        POLICY => policy(c, key).await?.map(records::policy).transpose(),
        POLICY_RULE => match policy_rule(c, key).await? {
            Some((pid, rule)) => {
                let policy_key = key.rsplit_once('|').map_or("", |(p, _)| p);
                records::policy_rule(&pid, policy_key, rule).map(Some)
            }
            None => Ok(None),
        },
        NETWORK_ZONE => zone(c, key).await?.map(records::zone).transpose(),
        USER_TYPE => user_type(c, key).await?.map(records::user_type).transpose(),
        USER_SCHEMA => match schema_type(c, key).await? {
            Some(t) => {
                let schema = c.get(&c.url(&records::schema_path(&t), &[])).await?;
                Ok(Some(records::user_schema(&t, schema)))
            }
            None => Ok(None),
        },
        GROUP_MEMBERSHIP => {
            let (group_name, login) = split_pair(kind, key)?;
            let (Some(g), Some(u)) = (group(c, group_name).await?, user(c, login).await?) else {
                return Ok(None);
            };
            let head = GroupHead::of(&g);
            if !is_member(c, &head.id, str_at(&u, "/id")).await? {
                return Ok(None);
            }
            records::membership(&head, &records::Member::of(&u)).map(Some)
        }
        APP_USER => {
            let (label, login) = split_pair(kind, key)?;
            let (Some(a), Some(u)) = (app(c, label).await?, user(c, login).await?) else {
                return Ok(None);
            };
            let head = AppHead {
                id: str_at(&a, "/id").to_string(),
                label: label.to_string(),
            };
            let url = c.url(
                &format!("/api/v1/apps/{}/users/{}", head.id, str_at(&u, "/id")),
                &[("expand", "user")],
            );
            match c.get_opt(&url).await? {
                Some(v) => records::app_user(&head, v),
                None => Ok(None),
            }
        }
        APP_GROUP => {
            let (label, name) = split_pair(kind, key)?;
            let (Some(a), Some(g)) = (app(c, label).await?, group(c, name).await?) else {
                return Ok(None);
            };
            let head = AppHead {
                id: str_at(&a, "/id").to_string(),
                label: label.to_string(),
            };
            let url = c.url(
                &format!("/api/v1/apps/{}/groups/{}", head.id, str_at(&g, "/id")),
                &[],
            );
            match c.get_opt(&url).await? {
                Some(mut v) => {
                    v["_embedded"] = serde_json::json!({"group": g});
                    records::app_group(&head, v).map(Some)
                }
                None => Ok(None),
            }
        }
        ADMIN_ROLE => {
            let Some((p, _)) = principal(c, key).await? else {
                return Ok(None);
            };
            Ok(role_records(c, &p, &super::iam::Index::default())
                .await?
                .into_iter()
                .find(|r| r.key == key))
        }
        IDP => idp(c, key).await?.map(records::idps::idp).transpose(),
        IDP_KEY => idp_key(c, key)
            .await?
            .map(records::idps::idp_key)
            .transpose(),
        TRUSTED_ORIGIN => trusted_origin(c, key)
            .await?
            .map(records::trusted_origin)
            .transpose(),
        AUTH_SERVER | AUTH_SCOPE | AUTH_CLAIM | AUTH_POLICY | AUTH_RULE => {
            super::authz::record(c, kind, key).await
        }
        AUTHENTICATOR => super::signin::authenticator(c, key)
            .await?
            .map(records::signin::authenticator)
            .transpose(),
        BEHAVIOR => super::signin::behavior(c, key)
            .await?
            .map(records::signin::behavior)
            .transpose(),
        GROUP_OWNER => super::signin::group_owner(c, key).await,
        GROUP_SCHEMA => super::profiles::group_schema(c).await.map(Some),
        APP_USER_SCHEMA => super::profiles::app_user_schema(c, key).await,
        PROFILE_MAPPING => super::profiles::profile_mapping(c, key).await,
        CUSTOM_ROLE | RESOURCE_SET | RESOURCE_SET_BINDING => super::iam::record(c, kind, key).await,
        EVENT_HOOK | INLINE_HOOK | LOG_STREAM => super::hooks::record(c, kind, key).await,
        BRAND | BRAND_THEME | EMAIL_SETTINGS | EMAIL_CUSTOMIZATION => {
            super::brands::record(c, kind, key).await
        }
        other => Err(ProviderError::Unsupported {
            kind: other.to_string(),
            key: key.to_string(),
            action: "fetch".into(),
            reason: "the okta connector has no such kind".into(),
        }),
    }
}
