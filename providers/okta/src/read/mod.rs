//! Reading a whole org: independent lists run concurrently, each streamed page by page to the
//! sink, so memory holds a few pages, never the org. [`fetch`] reads one object again.

pub(crate) mod authz;
pub(crate) mod brands;
pub(crate) mod fetch;
pub(crate) mod hooks;
pub(crate) mod iam;
pub(crate) mod lookup;
pub(crate) mod me;
pub(crate) mod policies;
pub(crate) mod profiles;
pub(crate) mod signin;

use futures::{StreamExt, TryStreamExt};
use iamsnap_provider::{ProviderError, Record, RecordSink};
use serde_json::Value;

use crate::client::{OktaClient, Pages};
use crate::records::{self, AppHead, GroupHead, Principal, str_at};

/// Page sizes: each list endpoint's documented maximum.
pub(crate) mod limits {
    pub const USERS: &str = "200";
    pub const GROUPS: &str = "10000";
    pub const GROUP_MEMBERS: &str = "1000";
    pub const GROUP_RULES: &str = "200";
    pub const APPS: &str = "200";
    pub const APP_USERS: &str = "500";
    pub const APP_GROUPS: &str = "200";
    pub const POLICIES: &str = "200";
    pub const POLICY_RULES: &str = "200";
    pub const ZONES: &str = "200";
    pub const ROLE_ASSIGNEES: &str = "100";
    pub const ROLE_TARGETS: &str = "100";
    pub const AUTH_SERVERS: &str = "200";
    pub const AUTH_SCOPES: &str = "200";
    pub const TRUSTED_ORIGINS: &str = "200";
    pub const IDPS: &str = "200";
    pub const IDP_KEYS: &str = "200";
    pub const GROUP_OWNERS: &str = "1000";
    pub const MAPPINGS: &str = "200";
}

pub(crate) struct Snapshot<'a> {
    pub client: &'a OktaClient,
    pub sink: RecordSink,
    /// Lists of children (members of each group, assignments of each app) read at once.
    pub fan_out: usize,
    /// The resource sets, read once for the IAM kinds and custom role assignments.
    pub iam_index: iam::Index,
}

/// One item of the users list and one of the groups list: the reads a snapshot starts with,
/// nothing broader.
pub(crate) async fn healthcheck(c: &OktaClient) -> Result<(), ProviderError> {
    c.get(&c.url("/api/v1/users", &[("limit", "1")])).await?;
    c.get(&c.url("/api/v1/groups", &[("limit", "1")])).await?;
    Ok(())
}

impl Snapshot<'_> {
    async fn send(&self, record: Record) -> Result<(), ProviderError> {
        self.sink
            .send(record)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    async fn drain(
        &self,
        mut pages: Pages<'_>,
        build: impl Fn(Value) -> Result<Option<Record>, ProviderError>,
    ) -> Result<(), ProviderError> {
        while let Some(items) = pages.next().await? {
            for item in items {
                if let Some(record) = build(item)? {
                    self.send(record).await?;
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn run(&self) -> Result<(), ProviderError> {
        // Every list and every family of per-object reads starts at once. The client gives each
        // endpoint (rate-limit bucket) its own requests in flight: the user list's chain of
        // pages, the longest of the read, never waits behind the lists fanned out over groups
        // and apps, and the members, owners and roles of groups (three endpoints of about as
        // many requests each) each go at their own endpoint's rate.
        let census = policies::Census::default();
        tokio::try_join!(
            self.users(),
            self.groups(),
            self.group_rules(),
            self.apps(&census),
            self.policies(&census),
            self.zones(),
            self.meta(),
            self.user_roles(),
            self.authorization_servers(),
            self.trusted_origins(),
            self.identity_providers(),
            self.authenticators(),
            self.behaviors(),
            self.group_schema(),
            self.profile_mappings(),
            self.iam(),
            self.hooks(),
            self.brands(),
        )?;
        self.unlisted_policies(&census).await
    }

    async fn users(&self) -> Result<(), ProviderError> {
        let c = self.client;
        // The plain list leaves deprovisioned users out; a search brings them.
        let active = c.url("/api/v1/users", &[("limit", limits::USERS)]);
        let deprovisioned = c.url(
            "/api/v1/users",
            &[
                ("search", "status eq \"DEPROVISIONED\""),
                ("limit", limits::USERS),
            ],
        );
        tokio::try_join!(
            self.drain(c.pages_ahead(active), |v| records::user(v).map(Some)),
            self.drain(c.pages_ahead(deprovisioned), |v| records::user(v).map(Some)),
        )?;
        Ok(())
    }

    async fn groups(&self) -> Result<(), ProviderError> {
        let c = self.client;
        // Group heads (id, name, type) are kept to read each group's members and roles.
        let mut heads: Vec<GroupHead> = Vec::new();
        let mut pages = c.pages(c.url("/api/v1/groups", &[("limit", limits::GROUPS)]));
        while let Some(items) = pages.next().await? {
            for item in items {
                heads.push(GroupHead::of(&item));
                self.send(records::group(item)?).await?;
            }
        }
        // Members, roles and owners are three endpoints with three rate-limit budgets: read
        // apart, so that groups waiting for one window never hold up requests another could
        // still send.
        tokio::try_join!(
            self.members(c, &heads),
            self.group_roles(c, &heads),
            self.group_owners(c, &heads),
        )?;
        Ok(())
    }

    /// Every group's members (Everyone's are every user: implied, not recorded).
    async fn members(&self, c: &OktaClient, heads: &[GroupHead]) -> Result<(), ProviderError> {
        let listed = heads.iter().filter(|h| h.group_type != "BUILT_IN");
        futures::stream::iter(listed.map(Ok))
            .try_for_each_concurrent(self.fan_out, |head| async move {
                let path = format!("/api/v1/groups/{}/users", head.id);
                let url = c.url(&path, &[("limit", limits::GROUP_MEMBERS)]);
                let mut pages = c.pages_ahead::<records::Member>(url);
                while let Some(members) = pages.next().await? {
                    for member in members {
                        self.send(records::membership(head, &member)?).await?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// The roles of every `OKTA_GROUP` (Okta lists no group role assignments as a whole).
    async fn group_roles(&self, c: &OktaClient, heads: &[GroupHead]) -> Result<(), ProviderError> {
        let okta_groups = heads.iter().filter(|h| h.group_type == "OKTA_GROUP");
        futures::stream::iter(okta_groups.map(Ok))
            .try_for_each_concurrent(self.fan_out, |head| async move {
                let principal = Principal::Group {
                    id: head.id.clone(),
                    name: head.name.clone(),
                };
                for record in role_records(c, &principal, &self.iam_index).await? {
                    self.send(record).await?;
                }
                Ok(())
            })
            .await
    }

    async fn group_rules(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let url = c.url("/api/v1/groups/rules", &[("limit", limits::GROUP_RULES)]);
        self.drain(c.pages(url), |v| records::group_rule(v).map(Some))
            .await
    }

    async fn apps(&self, census: &policies::Census) -> Result<(), ProviderError> {
        let c = self.client;
        let mut heads: Vec<AppHead> = Vec::new();
        let mut pages = c.pages(c.url("/api/v1/apps", &[("limit", limits::APPS)]));
        while let Some(items) = pages.next().await? {
            for item in items {
                heads.push(AppHead {
                    id: str_at(&item, "/id").to_string(),
                    label: str_at(&item, "/label").to_string(),
                });
                let app = records::app(item)?;
                if let Some(policy) = app.target("access_policy") {
                    census.bound(&policy.id);
                }
                self.send(app).await?;
            }
        }
        // Three reads per app at once, each on an endpoint of its own.
        futures::stream::iter(heads.iter().map(Ok))
            .try_for_each_concurrent((self.fan_out / 2).max(1), |app| async move {
                let users = c.url(
                    &format!("/api/v1/apps/{}/users", app.id),
                    &[("limit", limits::APP_USERS), ("expand", "user")],
                );
                let groups = c.url(
                    &format!("/api/v1/apps/{}/groups", app.id),
                    &[("limit", limits::APP_GROUPS), ("expand", "group")],
                );
                tokio::try_join!(
                    self.drain(c.pages(users), |v| records::app_user(app, v)),
                    self.drain(c.pages(groups), |v| records::app_group(app, v).map(Some)),
                    self.app_user_schema(c, app),
                )?;
                Ok(())
            })
            .await
    }

    async fn zones(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let url = c.url("/api/v1/zones", &[("limit", limits::ZONES)]);
        self.drain(c.pages(url), |v| records::zone(v).map(Some))
            .await
    }

    async fn trusted_origins(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let url = c.url(
            "/api/v1/trustedOrigins",
            &[("limit", limits::TRUSTED_ORIGINS)],
        );
        self.drain(c.pages(url), |v| records::trusted_origin(v).map(Some))
            .await
    }

    async fn identity_providers(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let idps = c.url("/api/v1/idps", &[("limit", limits::IDPS)]);
        let keys = c.url(
            "/api/v1/idps/credentials/keys",
            &[("limit", limits::IDP_KEYS)],
        );
        tokio::try_join!(
            self.drain(c.pages(idps), |v| records::idps::idp(v).map(Some)),
            self.drain(c.pages(keys), |v| records::idps::idp_key(v).map(Some)),
        )?;
        Ok(())
    }

    async fn meta(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let types = c.get(&c.url("/api/v1/meta/types/user", &[])).await?;
        // Each user type has its own profile schema.
        for t in types.as_array().cloned().unwrap_or_default() {
            let schema = c.get(&c.url(&records::schema_path(&t), &[])).await?;
            self.send(records::user_schema(&t, schema)).await?;
            self.send(records::user_type(t)?).await?;
        }
        Ok(())
    }

    /// Users holding roles, found through the IAM assignees list (paged in its JSON body).
    async fn user_roles(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let mut next = Some(c.url(
            "/api/v1/iam/assignees/users",
            &[("limit", limits::ROLE_ASSIGNEES)],
        ));
        while let Some(url) = next.take() {
            let body = c.get(&url).await?;
            let ids: Vec<String> = body["value"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|u| str_at(u, "/id").to_string())
                        .filter(|id| !id.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            futures::stream::iter(ids.into_iter().map(Ok))
                .try_for_each_concurrent(self.fan_out, |id| async move {
                    let user = c.get(&c.url(&format!("/api/v1/users/{id}"), &[])).await?;
                    let principal = Principal::User {
                        login: str_at(&user, "/profile/login").to_string(),
                        id,
                    };
                    self.roles_of(&principal).await
                })
                .await?;
            next = body
                .pointer("/_links/next/href")
                .and_then(Value::as_str)
                .and_then(|href| url.join(href).ok())
                .filter(|n| n.origin() == url.origin() && *n != url);
        }
        Ok(())
    }

    async fn roles_of(&self, principal: &Principal) -> Result<(), ProviderError> {
        for record in role_records(self.client, principal, &self.iam_index).await? {
            self.send(record).await?;
        }
        Ok(())
    }
}

/// The role assignments of one user or group, each with its targets (a custom role's with
/// the label of its resource set, from `index`).
pub(crate) async fn role_records(
    c: &OktaClient,
    principal: &Principal,
    index: &iam::Index,
) -> Result<Vec<Record>, ProviderError> {
    let roles = c.get(&c.url(&principal.path(), &[])).await?;
    let roles = roles.as_array().cloned().unwrap_or_default();
    futures::stream::iter(roles)
        .then(|role| async move {
            let set_label = match str_at(&role, "/type") {
                "CUSTOM" => index.set_label(c, str_at(&role, "/resource-set")).await?,
                _ => String::new(),
            };
            let base = format!("{}/{}/targets", principal.path(), str_at(&role, "/id"));
            let (groups, apps) = match str_at(&role, "/type") {
                "USER_ADMIN" | "HELP_DESK_ADMIN" | "GROUP_MEMBERSHIP_ADMIN" => {
                    let url = c.url(
                        &format!("{base}/groups"),
                        &[("limit", limits::ROLE_TARGETS)],
                    );
                    (c.all(url).await?, Vec::new())
                }
                "APP_ADMIN" => {
                    let url = c.url(
                        &format!("{base}/catalog/apps"),
                        &[("limit", limits::ROLE_TARGETS)],
                    );
                    (Vec::new(), c.all(url).await?)
                }
                _ => (Vec::new(), Vec::new()),
            };
            records::admin_role(principal, &role, &set_label, &groups, &apps)
        })
        .try_collect()
        .await
}
