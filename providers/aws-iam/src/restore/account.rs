//! Restore of instance profiles, identity providers and account settings.

use super::*;

// ---- instance profiles -------------------------------------------------------------------------

pub(super) async fn converge_instance_profile(
    ctx: &Ctx<'_>,
    desired: &Record,
) -> Result<Done, ApiError> {
    let name = &desired.key;
    let c = ctx.client;
    let created = c
        .create_instance_profile()
        .instance_profile_name(name)
        .path(path_of(desired))
        .set_tags(tag_list(&tags_of(&desired.attrs)))
        .send()
        .await
        .api("CreateInstanceProfile");
    let (id, live_roles, mut changed) = match created {
        Ok(out) => {
            let id = out
                .instance_profile()
                .map(|p| p.instance_profile_id().to_string())
                .unwrap_or_default();
            (id, Vec::new(), true)
        }
        Err(e) if e.is("EntityAlreadyExists") => {
            let out = c
                .get_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .api("GetInstanceProfile")?;
            let profile = out.instance_profile().ok_or_else(|| {
                ApiError::local("GetInstanceProfile", "the answer has no InstanceProfile")
            })?;
            let changed = converge_tags(
                profile.tags(),
                &desired.attrs,
                |add| async {
                    c.tag_instance_profile()
                        .instance_profile_name(name)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagInstanceProfile")
                        .map(drop)
                },
                |remove| async {
                    c.untag_instance_profile()
                        .instance_profile_name(name)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagInstanceProfile")
                        .map(drop)
                },
            )
            .await?;
            let roles: Vec<String> = profile
                .roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect();
            (profile.instance_profile_id().to_string(), roles, changed)
        }
        Err(e) => return Err(e),
    };
    let wanted: Vec<&str> = desired.attrs["roles"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for role in &live_roles {
        if !wanted.contains(&role.as_str()) {
            c.remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await
                .api("RemoveRoleFromInstanceProfile")?;
            changed = true;
        }
    }
    for role in wanted {
        if !live_roles.iter().any(|r| r == role) {
            c.add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
                .await
                .api("AddRoleToInstanceProfile")?;
            changed = true;
        }
    }
    Ok(Done::changed_if(changed, id))
}

pub(super) async fn delete_instance_profile(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let c = ctx.client;
    let out = c
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .api("GetInstanceProfile")?;
    for role in out
        .instance_profile()
        .map(|p| p.roles())
        .unwrap_or_default()
    {
        c.remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(role.role_name())
            .send()
            .await
            .api("RemoveRoleFromInstanceProfile")?;
    }
    c.delete_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .api("DeleteInstanceProfile")
        .map(drop)
}

// ---- identity providers ----------------------------------------------------------------------

pub(super) async fn converge_saml(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let name = &desired.key;
    let metadata = str_attr(desired, "metadata_document");
    let c = ctx.client;
    let arn = ctx.caller.arn("saml-provider", "/", name);
    match c
        .get_saml_provider()
        .saml_provider_arn(&arn)
        .send()
        .await
        .api("GetSAMLProvider")
    {
        Ok(live) => {
            let mut changed = false;
            if live.saml_metadata_document().unwrap_or_default() != metadata {
                c.update_saml_provider()
                    .saml_provider_arn(&arn)
                    .saml_metadata_document(metadata)
                    .send()
                    .await
                    .api("UpdateSAMLProvider")?;
                changed = true;
            }
            changed |= converge_tags(
                live.tags(),
                &desired.attrs,
                |add| async {
                    c.tag_saml_provider()
                        .saml_provider_arn(&arn)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagSAMLProvider")
                        .map(drop)
                },
                |remove| async {
                    c.untag_saml_provider()
                        .saml_provider_arn(&arn)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagSAMLProvider")
                        .map(drop)
                },
            )
            .await?;
            Ok(Done::changed_if(changed, arn))
        }
        Err(e) if e.is("NoSuchEntity") => {
            let out = c
                .create_saml_provider()
                .name(name)
                .saml_metadata_document(metadata)
                .set_tags(tag_list(&tags_of(&desired.attrs)))
                .send()
                .await
                .api("CreateSAMLProvider")?;
            Ok(Done::Changed(
                out.saml_provider_arn().unwrap_or(&arn).to_string(),
            ))
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn delete_saml(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let arn = ctx.caller.arn("saml-provider", "/", name);
    ctx.client
        .delete_saml_provider()
        .saml_provider_arn(arn)
        .send()
        .await
        .api("DeleteSAMLProvider")
        .map(drop)
}

pub(super) async fn converge_oidc(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let url = &desired.key;
    let strings = |name: &str| -> Vec<String> {
        desired.attrs[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (client_ids, thumbprints) = (strings("client_ids"), strings("thumbprints"));
    let c = ctx.client;
    let arn = ctx.caller.arn("oidc-provider", "/", url);
    match c
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .api("GetOpenIDConnectProvider")
    {
        Ok(live) => {
            let mut changed = false;
            let mut live_thumbs: Vec<String> = live
                .thumbprint_list()
                .iter()
                .map(|t| t.to_lowercase())
                .collect();
            live_thumbs.sort();
            if live_thumbs != thumbprints {
                c.update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(&arn)
                    .set_thumbprint_list(Some(thumbprints.clone()))
                    .send()
                    .await
                    .api("UpdateOpenIDConnectProviderThumbprint")?;
                changed = true;
            }
            for id in live.client_id_list() {
                if !client_ids.contains(id) {
                    c.remove_client_id_from_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .client_id(id)
                        .send()
                        .await
                        .api("RemoveClientIDFromOpenIDConnectProvider")?;
                    changed = true;
                }
            }
            for id in &client_ids {
                if !live.client_id_list().contains(id) {
                    c.add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .client_id(id)
                        .send()
                        .await
                        .api("AddClientIDToOpenIDConnectProvider")?;
                    changed = true;
                }
            }
            changed |= converge_tags(
                live.tags(),
                &desired.attrs,
                |add| async {
                    c.tag_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .set_tags(Some(add))
                        .send()
                        .await
                        .api("TagOpenIDConnectProvider")
                        .map(drop)
                },
                |remove| async {
                    c.untag_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .set_tag_keys(Some(remove))
                        .send()
                        .await
                        .api("UntagOpenIDConnectProvider")
                        .map(drop)
                },
            )
            .await?;
            Ok(Done::changed_if(changed, arn))
        }
        Err(e) if e.is("NoSuchEntity") => {
            let out = c
                .create_open_id_connect_provider()
                .url(format!("https://{url}"))
                .set_client_id_list(Some(client_ids))
                .set_thumbprint_list(Some(thumbprints))
                .set_tags(tag_list(&tags_of(&desired.attrs)))
                .send()
                .await
                .api("CreateOpenIDConnectProvider")?;
            Ok(Done::Changed(
                out.open_id_connect_provider_arn()
                    .unwrap_or(&arn)
                    .to_string(),
            ))
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn delete_oidc(ctx: &Ctx<'_>, url: &str) -> Result<(), ApiError> {
    let arn = ctx.caller.arn("oidc-provider", "/", url);
    ctx.client
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .api("DeleteOpenIDConnectProvider")
        .map(drop)
}

// ---- account settings --------------------------------------------------------------------------

pub(super) async fn converge_password_policy(
    ctx: &Ctx<'_>,
    desired: &Record,
) -> Result<Done, ApiError> {
    let id = kinds::PASSWORD_POLICY_KEY.to_string();
    let live = match ctx
        .client
        .get_account_password_policy()
        .send()
        .await
        .api("GetAccountPasswordPolicy")
    {
        Ok(out) => out.password_policy().cloned(),
        Err(e) if e.is("NoSuchEntity") => None,
        Err(e) => return Err(e),
    };
    let a = &desired.attrs;
    let int = |name: &str| a[name].as_i64().map(|n| n as i32);
    let flag = |name: &str| a[name].as_bool().unwrap_or(false);
    if let Some(p) = &live {
        let same = p.minimum_password_length() == int("minimum_password_length")
            && p.require_symbols() == flag("require_symbols")
            && p.require_numbers() == flag("require_numbers")
            && p.require_uppercase_characters() == flag("require_uppercase_characters")
            && p.require_lowercase_characters() == flag("require_lowercase_characters")
            && p.allow_users_to_change_password() == flag("allow_users_to_change_password")
            && p.max_password_age().filter(|n| *n > 0) == int("max_password_age")
            && p.password_reuse_prevention().filter(|n| *n > 0) == int("password_reuse_prevention")
            && p.hard_expiry().unwrap_or(false) == flag("hard_expiry");
        if same {
            return Ok(Done::Unchanged(id));
        }
    }
    ctx.client
        .update_account_password_policy()
        .set_minimum_password_length(int("minimum_password_length"))
        .require_symbols(flag("require_symbols"))
        .require_numbers(flag("require_numbers"))
        .require_uppercase_characters(flag("require_uppercase_characters"))
        .require_lowercase_characters(flag("require_lowercase_characters"))
        .allow_users_to_change_password(flag("allow_users_to_change_password"))
        .set_max_password_age(int("max_password_age"))
        .set_password_reuse_prevention(int("password_reuse_prevention"))
        .hard_expiry(flag("hard_expiry"))
        .send()
        .await
        .api("UpdateAccountPasswordPolicy")?;
    Ok(Done::Changed(id))
}

pub(super) async fn delete_password_policy(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    ctx.client
        .delete_account_password_policy()
        .send()
        .await
        .api("DeleteAccountPasswordPolicy")
        .map(drop)
}

pub(super) async fn create_alias(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let alias = &desired.key;
    let live = ctx
        .client
        .list_account_aliases()
        .into_paginator()
        .send()
        .pages("ListAccountAliases")
        .items(|o| o.account_aliases)
        .await?;
    if live.contains(alias) {
        return Ok(Done::Unchanged(alias.clone()));
    }
    ctx.client
        .create_account_alias()
        .account_alias(alias)
        .send()
        .await
        .api("CreateAccountAlias")?;
    Ok(Done::Changed(alias.clone()))
}

pub(super) async fn delete_alias(ctx: &Ctx<'_>, alias: &str) -> Result<(), ApiError> {
    ctx.client
        .delete_account_alias()
        .account_alias(alias)
        .send()
        .await
        .api("DeleteAccountAlias")
        .map(drop)
}
