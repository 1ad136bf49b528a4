//! What restoring a record cannot give back, named for the record where it matters: the
//! operator's next step for each.

use iamsnap_provider::Record;

use super::apps;
use crate::kinds::*;
use crate::records::str_at;

/// What restoring `record` cannot give back, specific to the record where it matters.
pub(crate) fn cannot_restore(record: &Record) -> Vec<String> {
    let a = &record.attrs;
    let mut out = Vec::new();
    match record.kind.as_str() {
        USER => {
            out.push(USER_CANNOT_RESTORE.to_string());
            let provider = str_at(a, "/credentials/provider/type");
            if !provider.is_empty() && provider != "OKTA" {
                out.push(format!(
                    "mastered by {provider} ({}): comes back as an Okta-mastered user; re-import it from its source",
                    str_at(a, "/credentials/provider/name")
                ));
            }
            let status = str_at(a, "/status");
            if matches!(
                status,
                "SUSPENDED" | "LOCKED_OUT" | "RECOVERY" | "PASSWORD_EXPIRED"
            ) {
                out.push(format!(
                    "status {status} cannot be set on a user without credentials"
                ));
            }
        }
        GROUP if str_at(a, "/type") != "OKTA_GROUP" => {
            out.push(format!(
                "{} groups are owned by {}; they cannot be re-created through the API",
                str_at(a, "/type"),
                if str_at(a, "/type") == "APP_GROUP" {
                    "their app"
                } else {
                    "Okta"
                }
            ));
        }
        APP => {
            match str_at(a, "/signOnMode") {
                "OPENID_CONNECT" => out.push("client secret: a re-created OIDC app gets a new client_id and client_secret; update them in the application".into()),
                "SAML_2_0" => out.push("SAML signing key: a re-created SAML app signs with a new certificate; upload the new IdP metadata to the service provider".into()),
                "BROWSER_PLUGIN" | "AUTO_LOGIN" | "BASIC_AUTH" | "SECURE_PASSWORD_STORE" => out.push("shared or per-user SWA passwords are not backed up; people enter them again".into()),
                _ => {}
            }
            if apps::from_catalog(a).is_some() {
                out.push(format!("catalog app {}: add it again from the Okta catalog; its assignments are then restored", str_at(a, "/name")));
            }
        }
        POLICY | POLICY_RULE | NETWORK_ZONE if a["system"] == true => {
            out.push("Okta's own default object: it can be updated, never re-created".into());
        }
        ADMIN_ROLE if str_at(a, "/type") == "CUSTOM" && record.target("role").is_none() => {
            out.push(super::iam::OLD_CUSTOM_ASSIGNMENT.into());
        }
        AUTH_SERVER => {
            let name = &record.key;
            out.push(format!("signing keys of {name}: the re-created server signs with new keys; tokens it issued before no longer validate, and clients and APIs must fetch its JWKS again from the new issuer's /v1/keys"));
            out.push(format!("issuer of {name}: the re-created server has a new id and so a new issuer ({{org}}/oauth2/{{new id}}); update the issuer and metadata URL every client and API of {name} validates"));
        }
        IDP => match str_at(a, "/type") {
            "SAML2" => out.push(format!(
                "{}: a re-created SAML identity provider has a new id and so a new ACS URL ({{org}}/sso/saml2/{{new id}}); update the ACS URL in {}",
                record.key,
                str_at(a, "/protocol/credentials/trust/issuer")
            )),
            other => out.push(format!(
                "{}: the client secret of a {other} identity provider cannot be read; if it no longer exists, add it again in the Admin Console with its secret, then restore to bring back its settings",
                record.key
            )),
        },
        AUTH_SCOPE if a["system"] == true => {
            out.push("system scope: it comes with its authorization server and is updated, never re-created".into());
        }
        AUTHENTICATOR => {
            if let Some(why) = super::signin::authenticator_not_creatable(a) {
                out.push(format!("{}: if it no longer exists, {why}", record.key));
            }
        }
        GROUP_OWNER => {
            if let Some(why) = super::signin::owner_not_assignable(a) {
                out.push(format!("{}: {why}", record.key));
            }
        }
        EVENT_HOOK | INLINE_HOOK | LOG_STREAM => out.extend(super::hooks::cannot_restore(record)),
        BRAND | BRAND_THEME => out.extend(super::brands::cannot_restore(record)),
        GROUP_MEMBERSHIP | APP_GROUP | APP_USER | GROUP_RULE | USER_TYPE | USER_SCHEMA => {}
        _ => {}
    }
    out
}
