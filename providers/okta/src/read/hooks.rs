//! Event hooks (`/api/v1/eventHooks`), inline hooks (`/api/v1/inlineHooks`) and log
//! streams (`/api/v1/logStreams?limit=200`). The hook lists are whole in one answer; log
//! streams are paged with `Link` headers. An org without a feature, or a token that may not
//! read one, answers 401 or 403: that kind has no records, which is logged.

use iamsnap_http::status_of;
use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;

use super::Snapshot;
use crate::client::OktaClient;
use crate::records::{self, str_at};

pub(crate) const EVENT_HOOKS: &str = "/api/v1/eventHooks";
pub(crate) const INLINE_HOOKS: &str = "/api/v1/inlineHooks";
pub(crate) const LOG_STREAMS: &str = "/api/v1/logStreams";
const LOG_STREAMS_PAGE: &str = "200";

/// Every object of the list at `path`, or none (logged) when the org answers 401 or 403.
async fn listed(c: &OktaClient, path: &str, what: &str) -> Result<Vec<Value>, ProviderError> {
    let query: &[(&str, &str)] = if path == LOG_STREAMS {
        &[("limit", LOG_STREAMS_PAGE)]
    } else {
        &[]
    };
    match c.all(c.url(path, query)).await {
        Err(e) if matches!(status_of(&e), Some(401 | 403)) => {
            tracing::warn!(
                "the org answered {} to the list of {what} (the org lacks the feature, or the token may not read them): none backed up",
                status_of(&e).unwrap_or_default()
            );
            Ok(Vec::new())
        }
        other => other,
    }
}

impl Snapshot<'_> {
    pub(super) async fn hooks(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let (events, inline, streams) = tokio::try_join!(
            listed(c, EVENT_HOOKS, "event hooks"),
            listed(c, INLINE_HOOKS, "inline hooks"),
            listed(c, LOG_STREAMS, "log streams"),
        )?;
        for v in events {
            self.send(records::hooks::event_hook(v)?).await?;
        }
        for v in inline {
            self.send(records::hooks::inline_hook(v)?).await?;
        }
        for v in streams {
            self.send(records::hooks::log_stream(v)?).await?;
        }
        Ok(())
    }
}

/// The path of the objects of a hook kind.
pub(crate) fn base(kind: &str) -> &'static str {
    match kind {
        crate::kinds::EVENT_HOOK => EVENT_HOOKS,
        crate::kinds::INLINE_HOOK => INLINE_HOOKS,
        _ => LOG_STREAMS,
    }
}

/// An event hook, inline hook or log stream by name, as the API returns it.
pub(crate) async fn named(
    c: &OktaClient,
    kind: &str,
    name: &str,
) -> Result<Option<Value>, ProviderError> {
    let found = listed(c, base(kind), "them").await?;
    Ok(found.into_iter().find(|v| str_at(v, "/name") == name))
}

/// One record of the hook kinds by name, read live.
pub(crate) async fn record(
    c: &OktaClient,
    kind: &str,
    name: &str,
) -> Result<Option<Record>, ProviderError> {
    use crate::kinds::*;
    let Some(v) = named(c, kind, name).await? else {
        return Ok(None);
    };
    match kind {
        EVENT_HOOK => records::hooks::event_hook(v),
        INLINE_HOOK => records::hooks::inline_hook(v),
        _ => records::hooks::log_stream(v),
    }
    .map(Some)
}
