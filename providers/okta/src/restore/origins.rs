//! Trusted origins: created (then deactivated if the snapshot has them inactive), replaced,
//! deleted. Their status is set only through the lifecycle operations.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;

use super::{LiveId, Restore, created_id, done, without};
use crate::read::lookup as fetch;
use crate::records::str_at;

const BASE: &str = "/api/v1/trustedOrigins";

impl Restore<'_> {
    pub(super) async fn create_trusted_origin(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::trusted_origin(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("{BASE}/{id}"), &live, attrs)
                .await?;
            return Ok(done(&live));
        }
        let body = without(attrs, &["status"]);
        let live = c
            .send(Method::POST, &c.url(BASE, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        let id = created_id(op, Some(live.clone()))?;
        self.converge_status(&format!("{BASE}/{id}"), &live, attrs)
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_trusted_origin(
        &self,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{BASE}/{id}");
        let body = without(&desired.attrs, &["status"]);
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_trusted_origin(&self, id: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{BASE}/{id}"), id).await
    }
}
