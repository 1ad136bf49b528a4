//! Records of the public material IAM holds beside users: SSH public keys and signing
//! certificates (restored), server certificates and virtual MFA devices (listed only: their
//! private halves never leave IAM). Pure, no calls.

use iamsnap_provider::{Record, Ref};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::kinds;

/// An SSH public key as `GetSSHPublicKey` (encoding `SSH`) gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshKey {
    pub id: String,
    pub fingerprint: String,
    pub body: String,
    pub status: String,
}

/// A signing certificate as `ListSigningCertificates` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigningCertificate {
    pub id: String,
    pub body: String,
    pub status: String,
}

/// What a user holds of both.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserKeys {
    pub ssh: Vec<SshKey>,
    pub certificates: Vec<SigningCertificate>,
}

/// The part of a signing certificate's key after the user: its body's SHA-256, which IAM's
/// generated id is not (a re-uploaded certificate gets a new one).
pub(crate) fn certificate_digest(body: &str) -> String {
    hex::encode(&Sha256::digest(body.trim().as_bytes())[..8])
}

/// The records of one user's SSH keys and signing certificates.
pub(crate) fn user_keys(user: &str, user_id: &str, keys: &UserKeys) -> Vec<Record> {
    let owner = || vec![Ref::new("user", kinds::USER, user_id)];
    let mut out = Vec::new();
    for k in &keys.ssh {
        out.push(Record::new(
            kinds::SSH_PUBLIC_KEY,
            &k.id,
            format!("{user}|{}", k.fingerprint),
            json!({"user": user, "body": k.body, "status": k.status}),
            owner(),
        ));
    }
    for c in &keys.certificates {
        out.push(Record::new(
            kinds::SIGNING_CERTIFICATE,
            &c.id,
            format!("{user}|{}", certificate_digest(&c.body)),
            json!({"user": user, "body": c.body, "status": c.status}),
            owner(),
        ));
    }
    out
}

/// A server certificate's metadata, as `ListServerCertificates` gives it.
pub(crate) fn server_certificate(
    id: &str,
    name: &str,
    path: &str,
    expiration: Option<String>,
) -> Record {
    Record::new(
        kinds::SERVER_CERTIFICATE,
        id,
        name,
        json!({"path": path, "expiration": expiration}),
        vec![],
    )
}

/// A virtual MFA device and the user it is assigned to (`user`: name and id).
pub(crate) fn virtual_mfa_device(serial: &str, user: Option<(&str, &str)>) -> Record {
    let name = serial.split_once(":mfa/").map_or(serial, |(_, name)| name);
    Record::new(
        kinds::VIRTUAL_MFA_DEVICE,
        serial,
        name,
        json!({"user": user.map(|(name, _)| name)}),
        user.map(|(_, id)| Ref::new("user", kinds::USER, id))
            .into_iter()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_re_upload() {
        let keys = UserKeys {
            ssh: vec![SshKey {
                id: "APKA1".into(),
                fingerprint: "ab:cd".into(),
                body: "ssh-ed25519 AAAA ada\n".into(),
                status: "Active".into(),
            }],
            certificates: vec![SigningCertificate {
                id: "CERT1".into(),
                body: "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n".into(),
                status: "Inactive".into(),
            }],
        };
        let records = user_keys("ada", "AIDA1", &keys);
        assert_eq!(records[0].key, "ada|ab:cd");
        // Kept as uploaded: an upload of the same bytes gives the same fingerprint.
        assert_eq!(records[0].attrs["body"], "ssh-ed25519 AAAA ada\n");
        let cert = &records[1];
        assert_eq!(
            cert.key,
            format!(
                "ada|{}",
                certificate_digest("-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----")
            )
        );
        assert_eq!(cert.key.len(), "ada|".len() + 16);
        assert_eq!(cert.refs, vec![Ref::new("user", kinds::USER, "AIDA1")]);
    }

    #[test]
    fn virtual_mfa_devices_are_keyed_by_name() {
        let d = virtual_mfa_device(
            "arn:aws:iam::123456789012:mfa/ops/ada-phone",
            Some(("ada", "AIDA1")),
        );
        assert_eq!(d.key, "ops/ada-phone");
        assert_eq!(d.attrs["user"], "ada");
        let spare = virtual_mfa_device("arn:aws:iam::123456789012:mfa/spare", None);
        assert!(spare.refs.is_empty());
    }
}
