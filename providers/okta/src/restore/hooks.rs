//! Event hooks, inline hooks and log streams. Their secrets cannot be read: a missing one is
//! re-created without its secret and left INACTIVE (Okta creates them active: it is
//! deactivated at once) until an operator sets the secret and activates it, which
//! `cannot_restore` tells per object. An existing one gets the snapshot's settings and status
//! (an event hook is verified again when the snapshot has it verified), its secret left as
//! Okta holds it: the value is never sent. An inline hook that authenticates with an OAuth
//! client secret and a Splunk log stream need their secret to be created at all: the plan
//! refuses them ([`not_creatable`]).

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::Value;

use super::{LiveId, Restore, created_id, done, without};
use crate::kinds::*;
use crate::read::hooks::{self as fetch, base};
use crate::records::str_at;

/// Why an object of a hook kind cannot be created through the API, if it cannot.
pub(super) fn not_creatable(kind: &str, attrs: &Value) -> Option<String> {
    match kind {
        INLINE_HOOK if str_at(attrs, "/channel/config/authType") == "client_secret_post" => Some(
            "an inline hook that authenticates with an OAuth client secret needs that secret, which the API never returns: add it again in the Admin Console (Workflow → Inline Hooks) with its secret, then restore to bring back its settings".into(),
        ),
        LOG_STREAM if str_at(attrs, "/type") == "splunk_cloud_logstreaming" => Some(
            "a Splunk Cloud log stream needs its HEC token, which the API never returns: add it again in the Admin Console (Reports → Log Streaming) with its token, then restore to bring back its settings".into(),
        ),
        _ => None,
    }
}

/// Whether `live` is another object than the one the snapshot holds: Okta made it at another
/// time, so a restore re-created it, without its secret.
fn recreated(desired: &Record, live: &Record) -> bool {
    desired
        .attrs
        .get("created")
        .is_some_and(|c| live.attrs.get("created") != Some(c))
}

/// Copies the field at `path` (top-level names) of `from` into `to`, or removes it there.
fn take_from(to: &mut Value, from: &Value, path: &[&str]) {
    let (last, parents) = path.split_last().expect("a path");
    let mut here = to;
    let mut there = Some(from);
    for p in parents {
        there = there.and_then(|v| v.get(*p));
        match here.get_mut(*p) {
            Some(next) => here = next,
            None => return,
        }
    }
    let Some(map) = here.as_object_mut() else {
        return;
    };
    match there.and_then(|v| v.get(*last)) {
        Some(v) => map.insert(last.to_string(), v.clone()),
        None => map.remove(*last),
    };
}

/// `desired` trimmed to what a restore can reach from `live`: a re-created object keeps the
/// creation time, status, verification and auth scheme it has live (it waits, inactive, for
/// its secret); an event hook is never made unverified.
pub(super) fn reachable(mut desired: Record, live: &Record) -> Record {
    if recreated(&desired, live) {
        for path in [
            &["created"][..],
            &["status"],
            &["verificationStatus"],
            &["channel", "config", "authScheme"],
        ] {
            take_from(&mut desired.attrs, &live.attrs, path);
        }
    } else if desired.attrs["verificationStatus"] == "UNVERIFIED" {
        take_from(&mut desired.attrs, &live.attrs, &["verificationStatus"]);
    }
    desired
}

/// The body of a create or replace: what Okta sets itself left out, and no auth scheme on a
/// create (there is no secret to give it).
fn body(kind: &str, attrs: &Value, creating: bool) -> Value {
    let mut body = without(attrs, &["status", "verificationStatus", "created"]);
    if creating
        && kind != LOG_STREAM
        && let Some(config) = body
            .pointer_mut("/channel/config")
            .and_then(Value::as_object_mut)
    {
        config.remove("authScheme");
    }
    body
}

impl Restore<'_> {
    pub(super) async fn create_hook(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let path = base(&op.kind);
        if let Some(live) = fetch::named(c, &op.kind, &op.key).await? {
            // The original (same creation time) gets its status back; one a restore made
            // stays as it is until its secret is set.
            if live.get("created") == desired.attrs.get("created") {
                let id = str_at(&live, "/id");
                self.converge_status(&format!("{path}/{id}"), &live, &desired.attrs)
                    .await?;
            }
            return Ok(done(&live));
        }
        if let Some(why) = not_creatable(&op.kind, &desired.attrs) {
            return Err(super::unsupported(op, &why));
        }
        let body = body(&op.kind, &desired.attrs, true);
        let live = c
            .send(Method::POST, &c.url(path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        let id = created_id(op, Some(live.clone()))?;
        if live["status"] != "INACTIVE" {
            self.lifecycle(&format!("{path}/{id}"), false).await?;
        }
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_hook(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{}/{id}", base(&op.kind));
        let before = c.get(&c.url(&path, &[])).await?;
        let original = before.get("created") == desired.attrs.get("created");
        let mut body = body(&op.kind, &desired.attrs, false);
        if !original {
            // A re-created hook keeps the auth scheme it has (none until its secret is set).
            take_from(&mut body, &before, &["channel", "config", "authScheme"]);
        }
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or(before);
        if original {
            if desired.attrs["verificationStatus"] == "VERIFIED"
                && live["verificationStatus"] == "UNVERIFIED"
            {
                let url = c.url(&format!("{path}/lifecycle/verify"), &[]);
                c.send(Method::POST, &url, None).await?;
            }
            self.converge_status(&path, &live, &desired.attrs).await?;
        }
        Ok(Outcome::Applied { id })
    }

    /// Deactivated first (Okta deletes only inactive hooks), then deleted.
    pub(super) async fn delete_hook(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let path = format!("{}/{id}", base(&op.kind));
        if let Some(live) = c.get_opt(&c.url(&path, &[])).await?
            && live["status"] == "ACTIVE"
        {
            self.lifecycle(&path, false).await?;
        }
        self.delete_at(&path, id).await
    }
}

/// What restoring a hook or log stream cannot give back, with the operator's next step.
pub(super) fn cannot_restore(record: &Record) -> Vec<String> {
    let a = &record.attrs;
    let name = &record.key;
    let key = str_at(a, "/channel/config/authScheme/key");
    match record.kind.as_str() {
        EVENT_HOOK => {
            let secret = if key.is_empty() {
                String::new()
            } else {
                format!(
                    "the secret Okta sends in its {key} header cannot be read, so it is re-created without it; "
                )
            };
            vec![format!(
                "event hook {name}: {secret}it is re-created INACTIVE and UNVERIFIED and delivers no event until it is verified and active. Next: in the Admin Console (Workflow → Event Hooks → {name} → Edit){} then Verify (your endpoint must answer Okta's one-time verification request) and Activate; or with the API: {}POST /api/v1/eventHooks/{{id}}/lifecycle/verify, then POST /api/v1/eventHooks/{{id}}/lifecycle/activate",
                if key.is_empty() {
                    String::new()
                } else {
                    format!(" enter the value of the {key} header,")
                },
                if key.is_empty() {
                    String::new()
                } else {
                    "PUT /api/v1/eventHooks/{id} with channel.config.authScheme (type, key and value), ".to_string()
                },
            )]
        }
        INLINE_HOOK => match not_creatable(INLINE_HOOK, a) {
            Some(why) => vec![format!("inline hook {name}: {why}")],
            None => {
                let secret = if key.is_empty() {
                    String::new()
                } else {
                    format!("the secret of its {key} header cannot be read, so ")
                };
                vec![format!(
                    "inline hook {name}: {secret}it is re-created INACTIVE{}. Next: in the Admin Console (Workflow → Inline Hooks → {name} → Edit){} then Activate it; or with the API: {}POST /api/v1/inlineHooks/{{id}}/lifecycle/activate",
                    if key.is_empty() { "" } else { " without it" },
                    if key.is_empty() {
                        String::new()
                    } else {
                        format!(" enter the Authentication secret of the {key} header,")
                    },
                    if key.is_empty() {
                        String::new()
                    } else {
                        "PUT /api/v1/inlineHooks/{id} with channel.config.authScheme (type, key and value), ".to_string()
                    },
                )]
            }
        },
        LOG_STREAM => match not_creatable(LOG_STREAM, a) {
            Some(why) => vec![format!("log stream {name}: {why}")],
            None => vec![format!(
                "log stream {name}: it is re-created INACTIVE, and Okta makes a new partner event source {} in AWS account {} ({}). Next: in the AWS EventBridge console associate that event source with an event bus, then activate the stream in the Admin Console (Reports → Log Streaming → {name} → Activate) or with POST /api/v1/logStreams/{{id}}/lifecycle/activate",
                str_at(a, "/settings/eventSourceName"),
                str_at(a, "/settings/accountId"),
                str_at(a, "/settings/region"),
            )],
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(created: &str, status: &str, auth: bool) -> Record {
        let mut attrs = json!({"name": "SIEM", "created": created, "status": status,
            "verificationStatus": "VERIFIED",
            "channel": {"type": "HTTP", "config": {"uri": "https://siem.example.com"}}});
        if auth {
            attrs["channel"]["config"]["authScheme"] =
                json!({"type": "HEADER", "key": "Authorization"});
        } else {
            attrs["verificationStatus"] = json!("UNVERIFIED");
        }
        Record::new(EVENT_HOOK, "who1", "SIEM", attrs, vec![])
    }

    #[test]
    fn a_recreated_hook_waits_inactive_for_its_secret_and_an_original_gets_its_status() {
        let snapshot = hook("2025-01-01", "ACTIVE", true);
        let recreated = hook("2026-06-01", "INACTIVE", false);
        assert_eq!(reachable(snapshot.clone(), &recreated), recreated);
        let deactivated = hook("2025-01-01", "INACTIVE", true);
        assert_eq!(
            reachable(snapshot.clone(), &deactivated).attrs["status"],
            "ACTIVE"
        );
        let text = cannot_restore(&snapshot).join(" ");
        assert!(text.contains("event hook SIEM") && text.contains("Authorization header"));
        assert!(
            text.contains("Verify") && text.contains("Activate"),
            "{text}"
        );
        let body = body(EVENT_HOOK, &snapshot.attrs, true);
        assert!(body["channel"]["config"].get("authScheme").is_none());
        assert!(body.get("status").is_none() && body.get("created").is_none());
    }

    #[test]
    fn hooks_that_need_their_secret_to_exist_are_not_created() {
        let oauth =
            json!({"channel": {"type": "OAUTH", "config": {"authType": "client_secret_post"}}});
        assert!(not_creatable(INLINE_HOOK, &oauth).is_some());
        let splunk = json!({"type": "splunk_cloud_logstreaming"});
        assert!(not_creatable(LOG_STREAM, &splunk).is_some());
        let aws = json!({"type": "aws_eventbridge"});
        assert!(not_creatable(LOG_STREAM, &aws).is_none());
    }
}
