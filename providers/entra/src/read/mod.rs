//! Reads a whole tenant: top-level collections page by page at Graph's largest `$top`, the
//! independent ones concurrently; then per-object lists (members, owners, app role
//! assignments) through `$batch`; records stream to the engine as pages arrive. One object is
//! read again by [`fetch`].

pub(crate) mod fetch;
pub(crate) mod me;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use iamsnap_provider::{ProviderError, Record, RecordSink};
use serde_json::Value;

use crate::ca;
use crate::client::{GraphClient, MAX_BATCH};
use crate::kinds::*;
use crate::records::{self, Index, MEMBER_SELECT, id_of, select};
use crate::roles::{self, Roles};

/// Per-object lists sent through `$batch` before their records are written: bounds memory on
/// large tenants while keeping enough batches in flight.
const WINDOW: usize = 400;

/// Signs in and makes the first reads of a snapshot, one item each.
pub(crate) async fn healthcheck(client: &GraphClient) -> Result<(), ProviderError> {
    client.sign_in().await?;
    client.get(&client.url("/users?$top=1&$select=id")).await?;
    client.get(&client.url("/groups?$top=1&$select=id")).await?;
    Ok(())
}

pub(crate) struct Snapshot<'a> {
    pub client: &'a GraphClient,
    pub sink: RecordSink,
}

/// What [`Snapshot::policies`] read for the reads that need every object.
struct Policies {
    policies: Vec<Value>,
    locations: HashSet<String>,
    strengths: HashSet<String>,
    terms: HashSet<String>,
    definitions: Vec<Value>,
}

/// A group or unit whose members are read afterwards.
struct Parent {
    id: String,
    key: String,
    dynamic: bool,
}

impl Snapshot<'_> {
    pub(crate) async fn run(self) -> Result<(), ProviderError> {
        self.client.sign_in().await?;
        let index = Mutex::new(Index::default());
        // Members and owners, most of the requests, are read as soon as the groups and units
        // are known, beside the users' chain of pages: a rate limit's window is then never
        // left idle while the users are read one page after another.
        let users_read = AtomicBool::new(false);
        let links = async {
            let (groups, units) = futures::try_join!(self.groups(&index), self.units(&index))?;
            self.links(&groups, &units, &users_read).await
        };
        let sps = async {
            let users = async {
                self.users(&index).await?;
                users_read.store(true, Ordering::Relaxed);
                Ok(())
            };
            let ((), ()) = futures::try_join!(users, self.applications(&index))?;
            self.service_principals(&index).await
        };
        let ((), sps, policies) = futures::try_join!(links, sps, self.policies())?;
        let index = index.into_inner().unwrap_or_else(|e| e.into_inner());
        let roles = Roles::from_definitions(&policies.definitions);
        futures::try_join!(
            self.app_role_assignments(&sps, &index),
            self.app_owners(&index),
            self.federated_credentials(&index),
            self.token_policies(&index),
            self.grants(&index),
            self.roles(&index, &roles, &policies.definitions),
            self.conditional_access(&index, &roles, &policies),
        )?;
        Ok(())
    }

    async fn emit(&self, record: Record) -> Result<(), ProviderError> {
        self.sink
            .send(record)
            .await
            .map_err(|_| ProviderError::Cancelled)
    }

    /// Reads every page of `path`, handing each item to `each` as the page arrives.
    async fn each_item(
        &self,
        path: &str,
        mut each: impl FnMut(&Value) -> Option<Record>,
    ) -> Result<(), ProviderError> {
        let mut next = Some(self.client.url(path));
        while let Some(url) = next {
            let (items, following) = self.client.page(&url).await?;
            for item in &items {
                if let Some(record) = each(item) {
                    self.emit(record).await?;
                }
            }
            next = following;
        }
        Ok(())
    }

    async fn users(&self, index: &Mutex<Index>) -> Result<(), ProviderError> {
        let path = format!(
            "/users?$top=999&$select={}&{}",
            select(records::USER_SELECT),
            records::MANAGER_EXPAND
        );
        let mut page = Some(self.client.raw_page(self.client.url(&path)).await?);
        while let Some((raw, next)) = page.take() {
            // The users are one chain of pages, the longest of a tenant: the next page is on
            // its way while this one is decoded.
            let decode = async {
                tokio::task::spawn_blocking(move || raw.decode::<records::User>())
                    .await
                    .map_err(|e| ProviderError::Decode {
                        url: path.clone(),
                        message: format!("decoding a page of users stopped: {e}"),
                    })?
            };
            let fetch = async {
                match next {
                    Some(url) => self.client.raw_page(url).await.map(Some),
                    None => Ok(None),
                }
            };
            let (users, following) = futures::try_join!(decode, fetch)?;
            {
                let mut index = lock(index);
                for u in &users {
                    index.insert(USER, &u.id, u.key.clone());
                }
            }
            for u in users {
                let (user, manager) = records::user(u);
                self.emit(user).await?;
                if let Some(manager) = manager {
                    self.emit(manager).await?;
                }
            }
            page = following;
        }
        Ok(())
    }

    async fn groups(&self, index: &Mutex<Index>) -> Result<Vec<Parent>, ProviderError> {
        let mut parents = Vec::new();
        let path = format!("/groups?$top=999&$select={}", select(records::GROUP_SELECT));
        self.each_item(&path, |v| {
            lock(index).add(GROUP, v);
            let dynamic = v["groupTypes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "DynamicMembership"));
            parents.push(Parent {
                id: id_of(v).to_string(),
                key: records::key_of(GROUP, v),
                dynamic,
            });
            Some(records::simple(GROUP, v))
        })
        .await?;
        Ok(parents)
    }

    async fn units(&self, index: &Mutex<Index>) -> Result<Vec<Parent>, ProviderError> {
        let mut parents = Vec::new();
        let path = format!(
            "/administrativeUnits?$top=999&$select={}",
            select(records::UNIT_SELECT)
        );
        self.each_item(&path, |v| {
            lock(index).add(ADMINISTRATIVE_UNIT, v);
            parents.push(Parent {
                id: id_of(v).to_string(),
                key: records::key_of(ADMINISTRATIVE_UNIT, v),
                dynamic: v["membershipType"] == "Dynamic",
            });
            Some(records::simple(ADMINISTRATIVE_UNIT, v))
        })
        .await?;
        Ok(parents)
    }

    async fn applications(&self, index: &Mutex<Index>) -> Result<(), ProviderError> {
        let path = format!(
            "/applications?$top=999&$select={}",
            select(records::APPLICATION_SELECT)
        );
        self.each_item(&path, |v| {
            lock(index).add(APPLICATION, v);
            Some(records::application(v))
        })
        .await
    }

    async fn service_principals(&self, index: &Mutex<Index>) -> Result<Vec<String>, ProviderError> {
        let mut ids = Vec::new();
        let path = format!(
            "/servicePrincipals?$top=999&$select={}",
            select(records::SERVICE_PRINCIPAL_SELECT)
        );
        self.each_item(&path, |v| {
            let mut index = lock(index);
            index.add(SERVICE_PRINCIPAL, v);
            ids.push(id_of(v).to_string());
            Some(records::service_principal(v, &index))
        })
        .await?;
        Ok(ids)
    }

    /// Named locations, custom authentication strengths, the authentication methods policy and
    /// role definitions, emitted or kept as they come; conditional access policies are kept
    /// for [`Self::conditional_access`], which needs every object they may name.
    async fn policies(&self) -> Result<Policies, ProviderError> {
        let mut locations = HashSet::new();
        let locations_read = self.each_item("/identity/conditionalAccess/namedLocations", |v| {
            locations.insert(id_of(v).to_string());
            Some(records::simple(NAMED_LOCATION, v))
        });
        let mut strengths = HashSet::new();
        let strengths_read = self.each_item("/policies/authenticationStrengthPolicies", |v| {
            let r = ca::strength(v)?;
            strengths.insert(r.id.clone());
            Some(r)
        });
        let mut terms = HashSet::new();
        let terms_read = self.each_item(crate::terms::PATH, |v| {
            terms.insert(id_of(v).to_string());
            Some(crate::terms::agreement(v))
        });
        let methods = async {
            let policy = self
                .client
                .get(&self.client.url("/policies/authenticationMethodsPolicy"))
                .await?;
            self.emit(records::authentication_methods_policy(&policy))
                .await?;
            let policy = self
                .client
                .get(&self.client.url("/policies/authorizationPolicy"))
                .await?;
            self.emit(records::authorization_policy(&policy)).await?;
            for r in crate::cross_tenant::records(self.client).await? {
                self.emit(r).await?;
            }
            Ok(())
        };
        let (policies, definitions, (), (), (), ()) = futures::try_join!(
            self.client.all("/identity/conditionalAccess/policies"),
            definitions(self.client),
            locations_read,
            strengths_read,
            terms_read,
            methods,
        )?;
        Ok(Policies {
            policies,
            locations,
            strengths,
            terms,
            definitions,
        })
    }

    async fn conditional_access(
        &self,
        index: &Index,
        roles: &Roles,
        p: &Policies,
    ) -> Result<(), ProviderError> {
        let known = ca::Known {
            index,
            locations: &p.locations,
            strengths: &p.strengths,
            terms: &p.terms,
            roles,
        };
        for v in &p.policies {
            let record = ca::conditional_access_policy(v, &known);
            let unknown = ca::unknown_ids(&record, |id| roles.0.get(id).is_none_or(|r| r.built_in));
            if !unknown.is_empty() {
                tracing::warn!(policy = %record.key, ids = ?unknown, "the policy names ids that match nothing the snapshot holds; they are kept as they are");
            }
            self.emit(record).await?;
        }
        Ok(())
    }

    /// Members and owners of groups (members of dynamic groups left out: their rule decides)
    /// and members of administrative units.
    async fn links(
        &self,
        groups: &[Parent],
        units: &[Parent],
        users_read: &AtomicBool,
    ) -> Result<(), ProviderError> {
        let query = format!("$top=999&$select={}", select(MEMBER_SELECT));
        let mut wanted: Vec<(&'static str, &'static str, &Parent, String)> = Vec::new();
        for g in groups {
            if !g.dynamic {
                wanted.push((
                    GROUP_MEMBER,
                    GROUP,
                    g,
                    format!("/groups/{}/members?{query}", g.id),
                ));
            }
            wanted.push((
                GROUP_OWNER,
                GROUP,
                g,
                format!("/groups/{}/owners?{query}", g.id),
            ));
        }
        for u in units.iter().filter(|u| !u.dynamic) {
            wanted.push((
                ADMINISTRATIVE_UNIT_MEMBER,
                ADMINISTRATIVE_UNIT,
                u,
                format!("/administrativeUnits/{}/members?{query}", u.id),
            ));
        }
        // One stream of batches, each one's records written as it comes back, so that no batch
        // waits for the slowest of a group of them.
        let wanted = &wanted;
        let chunk = move |i: usize| &wanted[i * MAX_BATCH..((i + 1) * MAX_BATCH).min(wanted.len())];
        let send = move |i: usize| async move {
            let paths: Vec<String> = chunk(i).iter().map(|w| w.3.clone()).collect();
            let lists = self.client.batch::<records::Member>(&paths).await?;
            Ok::<_, ProviderError>((i, lists))
        };
        let chunks = wanted.len().div_ceil(MAX_BATCH);
        let mut sent = 0;
        let mut answers = FuturesOrdered::new();
        loop {
            // Once Graph throttles, and while the users' chain of pages is read (the longest
            // path of the snapshot), the batches keep to a quarter of the request slots, which
            // leaves the chain CPU and a share of each window of the rate limit; before the
            // first throttle and after the users, they take them all.
            let in_flight =
                if users_read.load(Ordering::Relaxed) || self.client.stats().throttled == 0 {
                    self.client.batches_in_flight()
                } else {
                    self.client.batches_in_flight().div_ceil(4)
                };
            while answers.len() < in_flight && sent < chunks {
                answers.push_back(send(sent));
                sent += 1;
            }
            let Some(answer) = answers.next().await else {
                break;
            };
            let (i, lists) = answer?;
            let chunk = chunk(i);
            for ((kind, parent_kind, parent, _), items) in chunk.iter().zip(lists) {
                for member in items.into_iter().flatten() {
                    if let Some(r) =
                        records::link(kind, (parent_kind, &parent.id, &parent.key), &member)
                    {
                        self.emit(r).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn app_role_assignments(
        &self,
        sps: &[String],
        index: &Index,
    ) -> Result<(), ProviderError> {
        for window in sps.chunks(WINDOW) {
            let paths: Vec<String> = window
                .iter()
                .map(|id| format!("/servicePrincipals/{id}/appRoleAssignedTo?$top=999"))
                .collect();
            for items in self.client.batch_lists::<Value>(&paths).await? {
                for v in items.into_iter().flatten() {
                    match records::app_role_assignment(&v, index) {
                        Some(r) => self.emit(r).await?,
                        None => orphan(APP_ROLE_ASSIGNMENT, &v),
                    }
                }
            }
        }
        Ok(())
    }

    /// Owners of applications and service principals: one list each, read once both
    /// collections are known (owners may be service principals).
    async fn app_owners(&self, index: &Index) -> Result<(), ProviderError> {
        let query = format!("$top=999&$select={}", select(MEMBER_SELECT));
        let wanted: Vec<(&'static str, &'static str, &str, &str, String)> = index
            .by_id
            .iter()
            .filter_map(|(id, (kind, key))| {
                let (owner_kind, collection) = match *kind {
                    APPLICATION => (APPLICATION_OWNER, "applications"),
                    SERVICE_PRINCIPAL => (SERVICE_PRINCIPAL_OWNER, "servicePrincipals"),
                    _ => return None,
                };
                Some((
                    owner_kind,
                    *kind,
                    id.as_str(),
                    key.as_str(),
                    format!("/{collection}/{id}/owners?{query}"),
                ))
            })
            .collect();
        for window in wanted.chunks(WINDOW) {
            let paths: Vec<String> = window.iter().map(|w| w.4.clone()).collect();
            let lists = self.client.batch_lists::<records::Member>(&paths).await?;
            for ((kind, parent_kind, id, key, _), items) in window.iter().zip(lists) {
                for owner in items.into_iter().flatten() {
                    if let Some(r) = records::link(kind, (parent_kind, id, key), &owner) {
                        self.emit(r).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Federated identity credentials: one list per application.
    async fn federated_credentials(&self, index: &Index) -> Result<(), ProviderError> {
        let apps: Vec<(&str, &str)> = index
            .by_id
            .iter()
            .filter(|(_, (kind, _))| *kind == APPLICATION)
            .map(|(id, (_, key))| (id.as_str(), key.as_str()))
            .collect();
        for window in apps.chunks(WINDOW) {
            let paths: Vec<String> = window
                .iter()
                .map(|(id, _)| format!("/applications/{id}/federatedIdentityCredentials"))
                .collect();
            let lists = self.client.batch_lists::<Value>(&paths).await?;
            for (app, items) in window.iter().zip(lists) {
                for v in items.into_iter().flatten() {
                    self.emit(records::federated_credential(&v, *app)).await?;
                }
            }
        }
        Ok(())
    }

    /// Claims-mapping and token-lifetime policies with the service principals they apply
    /// to: one list per family.
    async fn token_policies(&self, index: &Index) -> Result<(), ProviderError> {
        for family in crate::sts::FAMILIES {
            for r in crate::sts::records(self.client, family, index).await? {
                self.emit(r).await?;
            }
        }
        Ok(())
    }

    async fn grants(&self, index: &Index) -> Result<(), ProviderError> {
        for v in self.client.all("/oauth2PermissionGrants").await? {
            match records::grant(&v, index) {
                Some(r) => self.emit(r).await?,
                None => orphan(OAUTH2_PERMISSION_GRANT, &v),
            }
        }
        Ok(())
    }

    /// Custom role definitions, PIM eligibilities, time-bound active assignments and
    /// permanent role assignments: four collections, the last three read together once the
    /// roles are known. A role assignment that a time-bound schedule instantiates is that
    /// schedule's, not a record of its own.
    async fn roles(
        &self,
        index: &Index,
        roles: &Roles,
        definitions: &[Value],
    ) -> Result<(), ProviderError> {
        for v in definitions {
            if let Some(r) = roles::definition(v) {
                self.emit(r).await?;
            }
        }
        let (eligible, active, assigned, settings) = futures::try_join!(
            self.client
                .all("/roleManagement/directory/roleEligibilitySchedules"),
            self.client
                .all("/roleManagement/directory/roleAssignmentSchedules"),
            self.client.all("/roleManagement/directory/roleAssignments"),
            crate::role_settings::assignments(self.client, ""),
        )?;
        for a in &settings {
            if let Some(r) = crate::role_settings::record(a, roles) {
                self.emit(r).await?;
            }
        }
        for v in eligible.iter().filter(|v| roles::direct(v)) {
            match roles::schedule(ROLE_ELIGIBILITY, v, index, roles) {
                Some(r) => self.emit(r).await?,
                None => orphan(ROLE_ELIGIBILITY, v),
            }
        }
        for v in active.iter().filter(|v| roles::time_bound(v)) {
            match roles::schedule(ROLE_ASSIGNMENT_SCHEDULE, v, index, roles) {
                Some(r) => self.emit(r).await?,
                None => orphan(ROLE_ASSIGNMENT_SCHEDULE, v),
            }
        }
        let scheduled = roles::scheduled(&active);
        for v in assigned
            .iter()
            .filter(|v| !scheduled.contains(&roles::triple(v)))
        {
            match crate::roles::role_assignment(v, index, roles) {
                Some(r) => self.emit(r).await?,
                None => orphan(DIRECTORY_ROLE_ASSIGNMENT, v),
            }
        }
        Ok(())
    }
}

/// Every role definition, built-in and custom.
pub(crate) async fn definitions(client: &GraphClient) -> Result<Vec<Value>, ProviderError> {
    client
        .all(&format!(
            "/roleManagement/directory/roleDefinitions?$select={}",
            roles::DEFINITION_SELECT
        ))
        .await
}

/// Role definition ids → roles.
pub(crate) async fn role_names(client: &GraphClient) -> Result<Roles, ProviderError> {
    Ok(Roles::from_definitions(&definitions(client).await?))
}

/// An assignment whose principal or resource the snapshot did not read (a kind iamsnap does not
/// back up, or an object created while it ran): left out, and said so.
fn orphan(kind: &str, v: &Value) {
    tracing::warn!(
        kind,
        id = id_of(v),
        "left out: it refers to an object the snapshot did not read"
    );
}

fn lock(index: &Mutex<Index>) -> std::sync::MutexGuard<'_, Index> {
    index.lock().unwrap_or_else(|e| e.into_inner())
}
