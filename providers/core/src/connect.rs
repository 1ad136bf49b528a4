//! What the engine holds of a connector once it is built: [`Connector`], and the
//! [`ConnectOptions`] fixed when it is built.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::{ReadProvider, WriteProvider};

/// Options a command fixes when it builds a connector. Most matter only to restores, and only
/// to some providers: the registry refuses a switch the provider has no use for rather than
/// ignore it (see [`Switch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Activate re-created users that were active in the snapshot (the provider emails them).
    pub activate_users: bool,
    /// Write access policies in the state the snapshot had (enabled, disabled) instead of
    /// report-only.
    pub restore_policy_state: bool,
    /// Re-create guest users deleted for good by inviting them again, without sending them
    /// mail; they redeem the invitation before they can sign in.
    pub invite_guests: bool,
    /// Create custom roles deleted for good, whose id the provider still holds, again under a
    /// suffixed id, and grant their members that role instead.
    pub rename_deleted_roles: bool,
    /// Requests or operations in flight, instead of the source's configured `concurrency`.
    pub concurrency: Option<usize>,
    /// Kinds the source leaves out (`exclude_kinds`): a connector skips the requests that
    /// read only them. The registry also wraps the connector in [`crate::ExcludeKinds`], which
    /// drops what a connector sends of them anyway and reports the kinds it reads.
    pub exclude_kinds: BTreeSet<String>,
}

/// A switch of [`ConnectOptions`] that only some providers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// [`ConnectOptions::activate_users`].
    ActivateUsers,
    /// [`ConnectOptions::restore_policy_state`].
    RestorePolicyState,
    /// [`ConnectOptions::invite_guests`].
    InviteGuests,
    /// [`ConnectOptions::rename_deleted_roles`].
    RenameDeletedRoles,
}

impl Switch {
    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Switch::ActivateUsers => "--activate-users",
            Switch::RestorePolicyState => "--restore-policy-state",
            Switch::InviteGuests => "--invite-guests",
            Switch::RenameDeletedRoles => "--rename-deleted-roles",
        }
    }
}

impl ConnectOptions {
    /// The provider-specific switches that are on.
    pub fn switches(&self) -> Vec<Switch> {
        let mut on = Vec::new();
        if self.activate_users {
            on.push(Switch::ActivateUsers);
        }
        if self.restore_policy_state {
            on.push(Switch::RestorePolicyState);
        }
        if self.invite_guests {
            on.push(Switch::InviteGuests);
        }
        if self.rename_deleted_roles {
            on.push(Switch::RenameDeletedRoles);
        }
        on
    }
}

/// A built connector: always its reading half, and its writing half when it has one.
#[derive(Clone)]
pub struct Connector {
    read: Arc<dyn ReadProvider>,
    write: Option<Arc<dyn WriteProvider>>,
}

impl Connector {
    /// A connector that can only be read (backup, diff, the live side of a plan).
    pub fn read_only(provider: impl ReadProvider + 'static) -> Self {
        Connector {
            read: Arc::new(provider),
            write: None,
        }
    }

    /// A connector that can also be restored into.
    pub fn read_write(provider: impl WriteProvider + 'static) -> Self {
        let provider = Arc::new(provider);
        Connector {
            read: provider.clone(),
            write: Some(provider),
        }
    }

    /// The reading half.
    pub fn reader(&self) -> &dyn ReadProvider {
        self.read.as_ref()
    }

    /// The writing half, if the connector has one.
    pub fn writer(&self) -> Option<&dyn WriteProvider> {
        self.write.as_deref()
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("provider", &self.read.provider_type())
            .field("writable", &self.write.is_some())
            .finish()
    }
}
