//! Restore operations on Azure RBAC: custom roles first (the kind order), then role
//! assignments (new GUIDs, the role definition id rewritten to the live role's), then locks.

mod assignments;
mod eligibilities;
mod locks;
mod roles;

use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};

use crate::client::ArmClient;
use crate::directory::{Directory, Principal};
use crate::kinds::{LOCK, ROLE_ASSIGNMENT, ROLE_DEFINITION, ROLE_ELIGIBILITY};
use crate::read::Reader;

pub(crate) use eligibilities::ended;

pub(crate) struct Restore<'a> {
    pub client: &'a ArmClient,
    pub directory: Option<&'a Directory>,
    pub ids: &'a dyn IdMap,
    pub subscriptions: Option<&'a [String]>,
    pub management_groups: bool,
}

/// Why an assignment or eligibility whose principal the directory read before the plan does
/// not hold is left out: the principal must come back first.
pub(crate) fn principal_missing(directory: &Directory, record: &Record) -> Option<String> {
    if record.kind != ROLE_ASSIGNMENT && record.kind != ROLE_ELIGIBILITY {
        return None;
    }
    let principal = Principal::from_attrs(&record.attrs["principal"])?;
    (directory.holds(&principal) == Some(false)).then(|| {
        format!(
            "{} is not in the directory: restore source {} first (it re-creates the principal, under a new id if it was deleted for good), then run this restore again; it then assigns {} at {} to the principal's id at that time",
            principal.describe(),
            directory.source(),
            text(record, "roleName"),
            text(record, "scope"),
        )
    })
}

impl Restore<'_> {
    pub(crate) fn reader(&self) -> Reader<'_> {
        Reader {
            client: self.client,
            directory: self.directory,
            subscriptions: self.subscriptions,
            management_groups: self.management_groups,
        }
    }

    /// The object id to write for `record`'s principal: the live id of the principal it names
    /// by its name in the directory, or the object id it was recorded with. `Err` with the
    /// reason to skip when the directory does not hold the named principal.
    pub(crate) async fn principal_id(
        &self,
        record: &Record,
    ) -> Result<Result<String, String>, ProviderError> {
        let named = Principal::from_attrs(&record.attrs["principal"]);
        match (named, self.directory) {
            (Some(principal), Some(directory)) => Ok(match directory.resolve(&principal).await? {
                Some(id) => Ok(id),
                None => Err(format!(
                    "{} is not in the directory: restore source {} first, then run this restore again",
                    principal.describe(),
                    directory.source()
                )),
            }),
            (Some(principal), None) => Ok(Err(format!(
                "the snapshot names {} by its name in the directory, but this source has no entra_source to find it in: set entra_source to the Entra source of the same tenant",
                principal.describe()
            ))),
            (None, _) => Ok(Ok(text(record, "principalId").to_string())),
        }
    }

    pub(crate) async fn apply(&self, op: &Operation) -> Result<Outcome, ProviderError> {
        let unsupported = || ProviderError::Unsupported {
            kind: op.kind.clone(),
            key: op.key.clone(),
            action: format!("{:?}", op.action).to_lowercase(),
            reason: "not a kind of the azure-rbac connector".into(),
        };
        match (op.kind.as_str(), op.action) {
            (ROLE_DEFINITION, Action::Create) => roles::create(self, desired(op)?).await,
            (ROLE_DEFINITION, Action::Update) => {
                roles::update(self, desired(op)?, current(op)?).await
            }
            (ROLE_DEFINITION, Action::Delete) => roles::delete(self, current(op)?).await,
            (ROLE_ASSIGNMENT, Action::Create) => assignments::create(self, desired(op)?).await,
            (ROLE_ASSIGNMENT, Action::Update) => {
                assignments::update(self, desired(op)?, current(op)?).await
            }
            (ROLE_ASSIGNMENT, Action::Delete) => assignments::delete(self, current(op)?).await,
            (ROLE_ELIGIBILITY, Action::Create) => eligibilities::create(self, desired(op)?).await,
            (ROLE_ELIGIBILITY, Action::Update) => eligibilities::update(self, desired(op)?).await,
            (ROLE_ELIGIBILITY, Action::Delete) => eligibilities::delete(self, current(op)?).await,
            (LOCK, Action::Create | Action::Update) => locks::put(self, desired(op)?).await,
            (LOCK, Action::Delete) => locks::delete(self, current(op)?).await,
            _ => Err(unsupported()),
        }
    }
}

fn desired(op: &Operation) -> Result<&Record, ProviderError> {
    op.desired.as_ref().ok_or_else(|| missing(op, "snapshot"))
}

fn current(op: &Operation) -> Result<&Record, ProviderError> {
    op.current.as_ref().ok_or_else(|| missing(op, "live"))
}

fn missing(op: &Operation, which: &str) -> ProviderError {
    ProviderError::Precondition {
        kind: op.kind.clone(),
        key: op.key.clone(),
        message: format!("the operation carries no {which} record"),
    }
}

/// A new GUID for an object ARM names by one the client chooses.
pub(crate) fn new_guid() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// `attrs[field]` as a string, empty when absent.
pub(crate) fn text<'a>(record: &'a Record, field: &str) -> &'a str {
    record.attrs[field].as_str().unwrap_or_default()
}
