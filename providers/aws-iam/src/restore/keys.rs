//! Restore of users' SSH public keys and signing certificates, found by content (fingerprint,
//! certificate digest) since a re-uploaded one gets a new id. Server certificates and virtual
//! MFA devices are only reported: IAM never gives back their private halves.

use aws_sdk_iam::types::{EncodingType, StatusType};

use super::*;
use crate::public_keys::certificate_digest;

/// The user and the content part of a key or certificate record's key.
fn owner_and_content(key: &str) -> Result<(&str, &str), ApiError> {
    key.split_once('|')
        .ok_or_else(|| ApiError::local("restore", "malformed key: expected USER|CONTENT"))
}

/// Why restore never creates a server certificate or a virtual MFA device.
pub(super) fn refuses(action: Action, record: &Record) -> Option<String> {
    if action != Action::Create {
        return None;
    }
    let key = &record.key;
    match record.kind.as_str() {
        kinds::SERVER_CERTIFICATE => Some(format!(
            "server certificate {key}: IAM never gives back its private key; upload it again with its key (aws iam upload-server-certificate --server-certificate-name {key}) and point its load balancers or distributions at it"
        )),
        kinds::VIRTUAL_MFA_DEVICE => Some(match record.attrs["user"].as_str() {
            Some(user) => format!(
                "virtual MFA device {key}: IAM never gives back its seed; user {user} registers a new device (aws iam create-virtual-mfa-device, then enable-mfa-device)"
            ),
            None => format!(
                "virtual MFA device {key}: IAM never gives back its seed; it was assigned to nobody, create a new one when it is needed"
            ),
        }),
        _ => None,
    }
}

/// The id and status of `user`'s SSH key with `fingerprint`, if it has one.
async fn find_ssh(
    ctx: &Ctx<'_>,
    user: &str,
    fingerprint: &str,
) -> Result<Option<(String, StatusType)>, ApiError> {
    let listed = ctx
        .client
        .list_ssh_public_keys()
        .user_name(user)
        .into_paginator()
        .send()
        .pages("ListSSHPublicKeys")
        .items(|o| o.ssh_public_keys.unwrap_or_default())
        .await?;
    for k in listed {
        let out = ctx
            .client
            .get_ssh_public_key()
            .user_name(user)
            .ssh_public_key_id(k.ssh_public_key_id())
            .encoding(EncodingType::Ssh)
            .send()
            .await
            .api("GetSSHPublicKey")?;
        if let Some(key) = out.ssh_public_key
            && key.fingerprint == fingerprint
        {
            return Ok(Some((key.ssh_public_key_id, key.status)));
        }
    }
    Ok(None)
}

pub(super) async fn converge_ssh_key(ctx: &Ctx<'_>, desired: &Record) -> Result<Done, ApiError> {
    let (user, fingerprint) = owner_and_content(&desired.key)?;
    let want = StatusType::from(str_attr(desired, "status"));
    let (id, have, created) = match find_ssh(ctx, user, fingerprint).await? {
        Some((id, status)) => (id, status, false),
        None => {
            let out = ctx
                .client
                .upload_ssh_public_key()
                .user_name(user)
                .ssh_public_key_body(str_attr(desired, "body"))
                .send()
                .await
                .api("UploadSSHPublicKey")?;
            let key = out.ssh_public_key.ok_or_else(|| {
                ApiError::local("UploadSSHPublicKey", "the answer has no SSHPublicKey")
            })?;
            (key.ssh_public_key_id, key.status, true)
        }
    };
    let restatus = have != want;
    if restatus {
        ctx.client
            .update_ssh_public_key()
            .user_name(user)
            .ssh_public_key_id(&id)
            .status(want)
            .send()
            .await
            .api("UpdateSSHPublicKey")?;
    }
    Ok(Done::changed_if(created || restatus, id))
}

pub(super) async fn delete_ssh_key(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
    let (user, fingerprint) = owner_and_content(key)?;
    let (id, _) = find_ssh(ctx, user, fingerprint)
        .await?
        .ok_or_else(|| ApiError::no_such_entity("DeleteSSHPublicKey", "no such key"))?;
    ctx.client
        .delete_ssh_public_key()
        .user_name(user)
        .ssh_public_key_id(id)
        .send()
        .await
        .api("DeleteSSHPublicKey")
        .map(drop)
}

/// The id and status of `user`'s signing certificate with body digest `digest`.
async fn find_certificate(
    ctx: &Ctx<'_>,
    user: &str,
    digest: &str,
) -> Result<Option<(String, StatusType)>, ApiError> {
    let listed = ctx
        .client
        .list_signing_certificates()
        .user_name(user)
        .into_paginator()
        .send()
        .pages("ListSigningCertificates")
        .items(|o| o.certificates)
        .await?;
    Ok(listed
        .into_iter()
        .find(|c| certificate_digest(&c.certificate_body) == digest)
        .map(|c| (c.certificate_id, c.status)))
}

pub(super) async fn converge_certificate(
    ctx: &Ctx<'_>,
    desired: &Record,
) -> Result<Done, ApiError> {
    let (user, digest) = owner_and_content(&desired.key)?;
    let want = StatusType::from(str_attr(desired, "status"));
    let (id, have, created) = match find_certificate(ctx, user, digest).await? {
        Some((id, status)) => (id, status, false),
        None => {
            let out = ctx
                .client
                .upload_signing_certificate()
                .user_name(user)
                .certificate_body(str_attr(desired, "body"))
                .send()
                .await
                .api("UploadSigningCertificate")?;
            let cert = out.certificate.ok_or_else(|| {
                ApiError::local("UploadSigningCertificate", "the answer has no Certificate")
            })?;
            (cert.certificate_id, cert.status, true)
        }
    };
    let restatus = have != want;
    if restatus {
        ctx.client
            .update_signing_certificate()
            .user_name(user)
            .certificate_id(&id)
            .status(want)
            .send()
            .await
            .api("UpdateSigningCertificate")?;
    }
    Ok(Done::changed_if(created || restatus, id))
}

pub(super) async fn delete_certificate(ctx: &Ctx<'_>, key: &str) -> Result<(), ApiError> {
    let (user, digest) = owner_and_content(key)?;
    let (id, _) = find_certificate(ctx, user, digest).await?.ok_or_else(|| {
        ApiError::no_such_entity("DeleteSigningCertificate", "no such certificate")
    })?;
    ctx.client
        .delete_signing_certificate()
        .user_name(user)
        .certificate_id(id)
        .send()
        .await
        .api("DeleteSigningCertificate")
        .map(drop)
}
