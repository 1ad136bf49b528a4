//! Restore of directory objects: users, groups, applications, service principals and
//! administrative units. A deleted object is looked for in the recycle bin first
//! (`directory/deletedItems/{id}/restore`), which gives it back with its original id, links and
//! credentials; only what is gone for good is created again, then brought to the snapshot's
//! properties like any live object.

use iamsnap_http::status_of;
use iamsnap_provider::{Outcome, ProviderError, Record};
use rand::Rng;
use rand::distributions::Alphanumeric;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Restore, precondition, rewrite_within, same, writable};
use crate::kinds::*;
use crate::read::fetch::{self, collection};
use crate::records::id_of;

impl Restore<'_> {
    pub(super) async fn existing(&self, record: &Record) -> Result<Value, ProviderError> {
        fetch::object(self.client, &record.kind, &record.key)
            .await?
            .ok_or_else(|| {
                precondition(
                    record,
                    "does not exist in the live tenant; restore it with a create",
                )
            })
    }

    pub(super) async fn create_object(&self, record: &Record) -> Result<Outcome, ProviderError> {
        if let Some(live) = fetch::object(self.client, &record.kind, &record.key).await? {
            return Ok(Outcome::AlreadyDone {
                id: id_of(&live).to_string(),
            });
        }
        // The recycle bin first: the object comes back with its id, memberships and secrets.
        let restore_url = self.client.url(&format!(
            "/directory/deletedItems/{}/restore",
            fetch::segment(&record.id)
        ));
        match self
            .client
            .send(Method::POST, &restore_url, Some(&json!({})))
            .await
        {
            Ok(_) => {
                let live = self.existing(record).await?;
                self.update_object(record, &live).await?;
                tracing::info!(kind = %record.kind, key = %record.key, id = %record.id, "restored from the recycle bin");
                return Ok(Outcome::Applied {
                    id: record.id.clone(),
                });
            }
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(e),
        }
        let body = self.create_body(record).await?;
        let Some(body) = body else {
            return match self.invite_redirect_url {
                Some(redirect) => self.invite(record, redirect).await,
                // Purged between the plan and now: the plan left it in, thinking it in the
                // recycle bin.
                None => Ok(Outcome::Skipped {
                    reason: super::GUEST_GONE.into(),
                }),
            };
        };
        let collection = collection(&record.kind);
        let created = self
            .client
            .send(
                Method::POST,
                &self.client.url(&format!("/{collection}")),
                Some(&body),
            )
            .await?
            .unwrap_or(Value::Null);
        let id = id_of(&created).to_string();
        if id.is_empty() {
            return Err(ProviderError::Decode {
                url: self.client.url(&format!("/{collection}")).to_string(),
                message: "the created object has no id".into(),
            });
        }
        let live = self.existing(record).await?;
        // What creation cannot set in one go: rewritten identifier URIs, service principal
        // settings.
        self.update_object(record, &live).await?;
        Ok(Outcome::Applied { id })
    }

    /// Invites the guest user `record` again without mailing them (`POST /invitations`), which
    /// creates its user object, then brings that user to the snapshot's properties (its
    /// userPrincipalName included). The guest redeems the invitation before signing in.
    async fn invite(&self, record: &Record, redirect: &str) -> Result<Outcome, ProviderError> {
        let email = guest_email(record).ok_or_else(|| {
            precondition(
                record,
                "the guest has no mail address to invite (mail, otherMails and userPrincipalName name none); invite them by hand",
            )
        })?;
        let body = json!({
            "invitedUserEmailAddress": email,
            "invitedUserDisplayName": record.attrs["displayName"],
            "invitedUserType": "Guest",
            "inviteRedirectUrl": redirect,
            "sendInvitationMessage": false,
        });
        let url = self.client.url("/invitations");
        let invitation = self
            .client
            .send(Method::POST, &url, Some(&body))
            .await?
            .unwrap_or(Value::Null);
        let id = invitation["invitedUser"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if id.is_empty() {
            return Err(ProviderError::Decode {
                url: url.to_string(),
                message: "the invitation names no invited user".into(),
            });
        }
        let live = fetch::object(self.client, USER, &id)
            .await?
            .ok_or_else(|| precondition(record, "the invited guest user cannot be read back"))?;
        self.update_object(record, &live).await?;
        tracing::info!(key = %record.key, id = %id, "guest user invited again; it must redeem the invitation");
        Ok(Outcome::Applied { id })
    }

    /// The body that creates `record`, `None` for a guest user (who must be invited instead).
    async fn create_body(&self, record: &Record) -> Result<Option<Value>, ProviderError> {
        let mut body = writable(&record.kind, &record.attrs, true);
        match record.kind.as_str() {
            USER => {
                if record.attrs["userType"] == "Guest" {
                    return Ok(None);
                }
                body.insert(
                    "passwordProfile".into(),
                    json!({"forceChangePasswordNextSignIn": true, "password": temporary_password()}),
                );
            }
            APPLICATION => {
                // api://<old appId> names the old application; it is set again once the new
                // appId is known.
                let old = record.attrs["appId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some(Value::Array(uris)) = body.get_mut("identifierUris") {
                    uris.retain(|u| {
                        old.is_empty() || !u.as_str().unwrap_or_default().contains(&old)
                    });
                }
            }
            SERVICE_PRINCIPAL => {
                let app_id = self.application_id(record).await?;
                return Ok(Some(json!({ "appId": app_id })));
            }
            _ => {}
        }
        Ok(Some(Value::Object(body)))
    }

    /// The live appId a service principal is for: its application's (re-created applications
    /// have a new one), or the snapshot's for applications of other organisations.
    async fn application_id(&self, record: &Record) -> Result<String, ProviderError> {
        if let Some(app) = record.target("application") {
            let url = self.client.url(&format!(
                "/applications/{}?$select=appId",
                fetch::segment(&app.id)
            ));
            if let Some(live) = self.client.get_opt(&url).await? {
                return Ok(live["appId"].as_str().unwrap_or_default().to_string());
            }
            return Err(precondition(
                record,
                "its application does not exist in the live tenant; restore the application first",
            ));
        }
        Ok(record.attrs["appId"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Brings a live object to the snapshot's properties; `AlreadyDone` when it has them.
    pub(super) async fn update_object(
        &self,
        record: &Record,
        live: &Value,
    ) -> Result<Outcome, ProviderError> {
        let id = id_of(live).to_string();
        let mut desired = writable(&record.kind, &record.attrs, false);
        if record.kind == APPLICATION {
            let (old, new) = (
                record.attrs["appId"].as_str().unwrap_or_default(),
                live["appId"].as_str().unwrap_or_default(),
            );
            if !old.is_empty()
                && old != new
                && let Some(uris) = desired.get_mut("identifierUris")
            {
                rewrite_within(uris, old, new);
            }
        }
        let patch: Map<String, Value> = desired
            .into_iter()
            .filter(|(k, v)| !same(v, &live[k.as_str()]))
            .collect();
        let mut changed = false;
        let collection = collection(&record.kind);
        if !patch.is_empty() {
            let url = self.client.url(&format!("/{collection}/{id}"));
            self.client
                .send(Method::PATCH, &url, Some(&Value::Object(patch)))
                .await?;
            changed = true;
        }
        Ok(if changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }

    pub(super) async fn delete_object(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let id = match fetch::object(self.client, &record.kind, &record.key).await? {
            Some(live) => id_of(&live).to_string(),
            None => {
                return Ok(Outcome::AlreadyDone {
                    id: record.id.clone(),
                });
            }
        };
        let url = self
            .client
            .url(&format!("/{}/{id}", collection(&record.kind)));
        match self.client.send(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }
}

/// The address a guest user was invited at: its mail, another mail, or the one its
/// `#EXT#` userPrincipalName spells (`ada_fabrikam.com#EXT#@contoso.onmicrosoft.com`).
fn guest_email(record: &Record) -> Option<String> {
    let attrs = &record.attrs;
    let given = attrs["mail"]
        .as_str()
        .or_else(|| attrs["otherMails"].get(0).and_then(Value::as_str))
        .filter(|m| m.contains('@'));
    if let Some(mail) = given {
        return Some(mail.to_string());
    }
    let (local, _) = record.key.split_once("#EXT#")?;
    let (name, domain) = local.rsplit_once('_')?;
    (!name.is_empty() && !domain.is_empty()).then(|| format!("{name}@{domain}"))
}

/// A random password meeting Entra's complexity rules. It is sent once and never kept or
/// shown: the user (or an administrator) resets it.
fn temporary_password() -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("Rst-{random}-9a!")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn email(key: &str, attrs: Value) -> Option<String> {
        guest_email(&Record::new(USER, "1", key, attrs, vec![]))
    }

    #[test]
    fn a_guest_is_invited_at_its_mail_or_the_address_its_upn_spells() {
        let upn = "ada_fabrikam.com#EXT#@contoso.onmicrosoft.com";
        assert_eq!(
            email(upn, json!({"mail": "ada@fabrikam.com"})).as_deref(),
            Some("ada@fabrikam.com")
        );
        let other = json!({"mail": null, "otherMails": ["a.l@fabrikam.com"]});
        assert_eq!(email(upn, other).as_deref(), Some("a.l@fabrikam.com"));
        let spelled = "ada_lovelace_fabrikam.com#EXT#@contoso.onmicrosoft.com";
        assert_eq!(
            email(spelled, json!({"mail": null})).as_deref(),
            Some("ada_lovelace@fabrikam.com")
        );
        assert_eq!(email("ada@contoso.com", json!({})), None);
    }
}
