//! The read of public material: each user's SSH public keys and signing certificates, the
//! account's server certificates and virtual MFA devices.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{AssignmentStatusType, EncodingType};
use futures::{StreamExt, TryStreamExt};
use iamsnap_provider::ProviderError;

use super::Read;
use crate::client::{Api, ApiError, Paginated};
use crate::public_keys::{self, SigningCertificate, SshKey, UserKeys};

/// One user's SSH public keys and signing certificates: `ListSSHPublicKeys` and
/// `ListSigningCertificates` side by side, then `GetSSHPublicKey` per key (the listing has no
/// key body), `concurrency` at a time. `ssh` false skips the SSH keys (the source excludes
/// them); `certificates` is what the credential report says: `Some(false)` spares the
/// certificate listing of a user who has none.
pub(super) async fn user_keys(
    client: &Client,
    name: &str,
    ssh: bool,
    certificates: Option<bool>,
    concurrency: usize,
) -> Result<UserKeys, ApiError> {
    let ssh = async {
        if !ssh {
            return Ok(Vec::new());
        }
        let listed = client
            .list_ssh_public_keys()
            .user_name(name)
            .into_paginator()
            .send()
            .pages("ListSSHPublicKeys")
            .items(|o| o.ssh_public_keys.unwrap_or_default())
            .await?;
        futures::stream::iter(listed)
            .map(|k| async move {
                let out = client
                    .get_ssh_public_key()
                    .user_name(name)
                    .ssh_public_key_id(k.ssh_public_key_id())
                    .encoding(EncodingType::Ssh)
                    .send()
                    .await
                    .api("GetSSHPublicKey")?;
                let key = out.ssh_public_key.ok_or_else(|| {
                    ApiError::local("GetSSHPublicKey", "the answer has no SSHPublicKey")
                })?;
                Ok::<_, ApiError>(SshKey {
                    id: key.ssh_public_key_id,
                    fingerprint: key.fingerprint,
                    body: key.ssh_public_key_body,
                    status: key.status.as_str().to_string(),
                })
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<_>>()
            .await
    };
    let certificates = async {
        if certificates == Some(false) {
            return Ok(Vec::new());
        }
        let listed = client
            .list_signing_certificates()
            .user_name(name)
            .into_paginator()
            .send()
            .pages("ListSigningCertificates")
            .items(|o| o.certificates)
            .await?;
        Ok::<_, ApiError>(
            listed
                .into_iter()
                .map(|c| SigningCertificate {
                    id: c.certificate_id,
                    body: c.certificate_body,
                    status: c.status.as_str().to_string(),
                })
                .collect::<Vec<_>>(),
        )
    };
    let (mut ssh, mut certificates) = tokio::try_join!(ssh, certificates)?;
    ssh.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    certificates.sort_by(|a, b| a.body.cmp(&b.body));
    Ok(UserKeys { ssh, certificates })
}

impl Read<'_> {
    /// Server certificates, from their listing: name, path and expiry.
    pub(super) async fn server_certificates(&self) -> Result<(), ProviderError> {
        if !self.scope.server_certificates {
            return Ok(());
        }
        let listed = self
            .client
            .list_server_certificates()
            .into_paginator()
            .send()
            .pages("ListServerCertificates")
            .items(|o| o.server_certificate_metadata_list)
            .await
            .map_err(|e| e.context("server certificates"))?;
        for c in listed {
            self.send(public_keys::server_certificate(
                c.server_certificate_id(),
                c.server_certificate_name(),
                c.path(),
                c.expiration().map(|t| t.to_string()),
            ))
            .await?;
        }
        Ok(())
    }

    /// Virtual MFA devices, assigned or not, with their user.
    pub(super) async fn virtual_mfa_devices(&self) -> Result<(), ProviderError> {
        if !self.scope.mfa_devices {
            return Ok(());
        }
        let listed = self
            .client
            .list_virtual_mfa_devices()
            .assignment_status(AssignmentStatusType::Any)
            .into_paginator()
            .send()
            .pages("ListVirtualMFADevices")
            .items(|o| o.virtual_mfa_devices)
            .await
            .map_err(|e| e.context("virtual MFA devices"))?;
        for d in listed {
            let user = d.user().map(|u| (u.user_name(), u.user_id()));
            self.send(public_keys::virtual_mfa_device(d.serial_number(), user))
                .await?;
        }
        Ok(())
    }
}
