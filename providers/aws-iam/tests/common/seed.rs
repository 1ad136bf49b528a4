//! Seeds an account with every kind the connector reads.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use iamsnap_aws_iam::kinds;
use serde_json::json;

pub const ACCOUNT: &str = "123456789012";

/// How many objects of each kind to make.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub policies: usize,
    pub groups: usize,
    pub users: usize,
    pub roles: usize,
    pub instance_profiles: usize,
}

pub const FULL: Scale = Scale {
    policies: 20,
    groups: 10,
    users: 60,
    roles: 30,
    instance_profiles: 10,
};

pub const SMALL: Scale = Scale {
    policies: 3,
    groups: 2,
    users: 4,
    roles: 3,
    instance_profiles: 1,
};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

pub fn policy_doc(i: usize, version: usize) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": format!("S{version}"),
            "Effect": "Allow",
            "Action": ["s3:GetObject", format!("s3:List{version}*")],
            "Resource": format!("arn:aws:s3:::bucket-{i}/*"),
        }]
    })
    .to_string()
}

pub fn policy_name(i: usize) -> String {
    format!("policy-{i:02}")
}

pub fn policy_arn(i: usize) -> String {
    let path = if i.is_multiple_of(2) {
        "/"
    } else {
        "/team/ops/"
    };
    format!("arn:aws:iam::{ACCOUNT}:policy{path}{}", policy_name(i))
}

pub fn user_name(i: usize) -> String {
    format!("user-{i:02}")
}

pub fn user_arn(i: usize) -> String {
    let path = if i.is_multiple_of(3) { "/staff/" } else { "/" };
    format!("arn:aws:iam::{ACCOUNT}:user{path}{}", user_name(i))
}

pub fn role_name(i: usize) -> String {
    format!("role-{i:02}")
}

pub fn role_arn(i: usize) -> String {
    let path = if i % 4 == 1 { "/service-role/" } else { "/" };
    format!("arn:aws:iam::{ACCOUNT}:role{path}{}", role_name(i))
}

/// Role `i` trusts EC2, the previous role and a user; role 0 trusts the last role, so the
/// trust graph has a cycle that restore must break and close again.
pub fn trust_doc(i: usize, scale: Scale) -> String {
    let previous = if i == 0 { scale.roles - 1 } else { i - 1 };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {
                "Effect": "Allow",
                "Principal": {"AWS": [role_arn(previous), user_arn(i % scale.users)]},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            }
        ]
    })
    .to_string()
}

/// Creates the account's objects and returns how many records of each kind a snapshot must
/// hold.
pub async fn seed(iam: &Client, scale: Scale) -> BTreeMap<&'static str, usize> {
    let mut expected: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut count = |kind: &'static str, n: usize| *expected.entry(kind).or_default() += n;

    for i in 0..scale.policies {
        let path = if i % 2 == 0 { "/" } else { "/team/ops/" };
        iam.create_policy()
            .policy_name(policy_name(i))
            .path(path)
            .description(format!("Lecture seule — équipe {i} ✓"))
            .policy_document(policy_doc(i, 1))
            .tags(tag("owner", &format!("équipe-{i}")))
            .send()
            .await
            .unwrap();
        // Up to four more versions (five in all, IAM's limit); the default is not always the newest.
        for v in 2..=(1 + i % 5) {
            iam.create_policy_version()
                .policy_arn(policy_arn(i))
                .policy_document(policy_doc(i, v))
                .set_as_default(v == 2)
                .send()
                .await
                .unwrap();
        }
    }
    count(kinds::POLICY, scale.policies);

    for g in 0..scale.groups {
        let path = if g % 2 == 0 { "/" } else { "/division/" };
        iam.create_group()
            .group_name(format!("group-{g:02}"))
            .path(path)
            .send()
            .await
            .unwrap();
        iam.attach_group_policy()
            .group_name(format!("group-{g:02}"))
            .policy_arn(policy_arn(g % scale.policies))
            .send()
            .await
            .unwrap();
        iam.put_group_policy()
            .group_name(format!("group-{g:02}"))
            .policy_name("inline-deny")
            .policy_document(json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}}).to_string())
            .send()
            .await
            .unwrap();
    }
    count(kinds::GROUP, scale.groups);
    count(kinds::POLICY_ATTACHMENT, scale.groups);
    count(kinds::INLINE_POLICY, scale.groups);

    for u in 0..scale.users {
        let path = if u % 3 == 0 { "/staff/" } else { "/" };
        iam.create_user()
            .user_name(user_name(u))
            .path(path)
            .tags(tag("name", &format!("Zoë Ångström {u}")))
            .tags(tag("cost-center", "42"))
            .send()
            .await
            .unwrap();
        let groups: Vec<usize> = (0..1 + u % 3).map(|k| (u + k) % scale.groups).collect();
        let mut distinct = groups.clone();
        distinct.sort();
        distinct.dedup();
        for g in &distinct {
            iam.add_user_to_group()
                .group_name(format!("group-{g:02}"))
                .user_name(user_name(u))
                .send()
                .await
                .unwrap();
        }
        count(kinds::GROUP_MEMBERSHIP, distinct.len());
        if u % 4 == 0 {
            iam.create_login_profile()
                .user_name(user_name(u))
                .password("Initial-Passw0rd!")
                .send()
                .await
                .unwrap();
            iam.create_access_key()
                .user_name(user_name(u))
                .send()
                .await
                .unwrap();
        }
        if u % 10 == 0 {
            let device = iam
                .create_virtual_mfa_device()
                .virtual_mfa_device_name(format!("mfa-{u}"))
                .send()
                .await
                .unwrap();
            let serial = device
                .virtual_mfa_device()
                .unwrap()
                .serial_number()
                .to_string();
            iam.enable_mfa_device()
                .user_name(user_name(u))
                .serial_number(serial)
                .authentication_code1("123456")
                .authentication_code2("654321")
                .send()
                .await
                .unwrap();
        }
        if u % 5 == 0 {
            iam.attach_user_policy()
                .user_name(user_name(u))
                .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
                .send()
                .await
                .unwrap();
            iam.put_user_policy()
                .user_name(user_name(u))
                .policy_name("own-keys")
                .policy_document(policy_doc(u, 9))
                .send()
                .await
                .unwrap();
            count(kinds::POLICY_ATTACHMENT, 1);
            count(kinds::INLINE_POLICY, 1);
        }
    }
    count(kinds::USER, scale.users);
    count(kinds::VIRTUAL_MFA_DEVICE, scale.users.div_ceil(10));

    // SSH keys of every other user, one in four of them inactive; a signing certificate.
    for u in (0..scale.users).step_by(2) {
        let key = iam
            .upload_ssh_public_key()
            .user_name(user_name(u))
            .ssh_public_key_body(format!("{SSH_PUBLIC_KEY} {}", user_name(u)))
            .send()
            .await
            .unwrap();
        if u % 4 == 0 {
            iam.update_ssh_public_key()
                .user_name(user_name(u))
                .ssh_public_key_id(key.ssh_public_key().unwrap().ssh_public_key_id())
                .status(aws_sdk_iam::types::StatusType::Inactive)
                .send()
                .await
                .unwrap();
        }
    }
    count(kinds::SSH_PUBLIC_KEY, scale.users.div_ceil(2));
    iam.upload_signing_certificate()
        .user_name(user_name(1 % scale.users))
        .certificate_body(SIGNING_CERTIFICATE)
        .send()
        .await
        .unwrap();
    count(kinds::SIGNING_CERTIFICATE, 1);
    // A server certificate (moto checks neither body nor key) and an unassigned MFA device.
    iam.upload_server_certificate()
        .server_certificate_name("www-example-com")
        .path("/cloudfront/")
        .certificate_body(SIGNING_CERTIFICATE)
        .private_key("placeholder: the emulator keeps but never checks the key")
        .send()
        .await
        .unwrap();
    count(kinds::SERVER_CERTIFICATE, 1);
    iam.create_virtual_mfa_device()
        .virtual_mfa_device_name("spare-token")
        .send()
        .await
        .unwrap();
    count(kinds::VIRTUAL_MFA_DEVICE, 1);

    for r in 0..scale.roles {
        let path = if r % 4 == 1 { "/service-role/" } else { "/" };
        let mut create = iam
            .create_role()
            .role_name(role_name(r))
            .path(path)
            // Trust policies name other roles, which may not exist yet: start with EC2 only.
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string(),
            )
            .description(format!("Rôle de déploiement n°{r} 🚀"))
            .max_session_duration(3600 + 600 * (r as i32 % 4))
            .tags(tag("env", if r % 2 == 0 { "prod" } else { "staging" }));
        if r % 3 == 0 {
            create = create.permissions_boundary(policy_arn(0));
        }
        create.send().await.unwrap();
        iam.attach_role_policy()
            .role_name(role_name(r))
            .policy_arn(policy_arn(r % scale.policies))
            .send()
            .await
            .unwrap();
        iam.attach_role_policy()
            .role_name(role_name(r))
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(role_name(r))
            .policy_name("inline-logs")
            .policy_document(policy_doc(r, 7))
            .send()
            .await
            .unwrap();
    }
    for r in 0..scale.roles {
        iam.update_assume_role_policy()
            .role_name(role_name(r))
            .policy_document(trust_doc(r, scale))
            .send()
            .await
            .unwrap();
    }
    count(kinds::ROLE, scale.roles);
    count(kinds::POLICY_ATTACHMENT, 2 * scale.roles);
    count(kinds::INLINE_POLICY, scale.roles);

    for p in 0..scale.instance_profiles {
        iam.create_instance_profile()
            .instance_profile_name(format!("profile-{p:02}"))
            .path(if p % 2 == 0 { "/" } else { "/ec2/" })
            .tags(tag("purpose", "ordinateur de bord"))
            .send()
            .await
            .unwrap();
        // The last profile stays empty: ListInstanceProfiles, not the roles, must find it.
        if p + 1 < scale.instance_profiles {
            iam.add_role_to_instance_profile()
                .instance_profile_name(format!("profile-{p:02}"))
                .role_name(role_name(p % scale.roles))
                .send()
                .await
                .unwrap();
        }
    }
    count(kinds::INSTANCE_PROFILE, scale.instance_profiles);

    for name in ["okta", "adfs"] {
        iam.create_saml_provider()
            .name(name)
            .saml_metadata_document(saml_metadata(name))
            .send()
            .await
            .unwrap();
    }
    count(kinds::SAML_PROVIDER, 2);

    iam.create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .thumbprint_list("6938fd4d98bab03faadb97b34396831e3780aea1")
        .tags(tag("ci", "github"))
        .send()
        .await
        .unwrap();
    iam.create_open_id_connect_provider()
        .url("https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF")
        .client_id_list("sts.amazonaws.com")
        .client_id_list("kubernetes")
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .send()
        .await
        .unwrap();
    count(kinds::OIDC_PROVIDER, 2);

    iam.update_account_password_policy()
        .minimum_password_length(14)
        .require_symbols(true)
        .require_numbers(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .allow_users_to_change_password(true)
        .max_password_age(90)
        .password_reuse_prevention(24)
        .send()
        .await
        .unwrap();
    count(kinds::PASSWORD_POLICY, 1);

    iam.create_account_alias()
        .account_alias("acme-prod")
        .send()
        .await
        .unwrap();
    count(kinds::ACCOUNT_ALIAS, 1);
    expected
}

/// A real Ed25519 public key (its private half was thrown away); users' keys differ by comment.
pub const SSH_PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJXkZBvWW8ns6jU6JI8RvOBgGTIzVG2HlW7kEdPQCatk";

/// A self-signed X.509 certificate (its private key was thrown away), as IAM checks uploads.
pub const SIGNING_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIDITCCAgmgAwIBAgIUCIcsFwQg+gzzZuQCuGUrSFWgHV0wDQYJKoZIhvcNAQEL
BQAwHzEdMBsGA1UEAwwUaWFtc25hcC10ZXN0LXNpZ25pbmcwIBcNMjYxMjA2MDk0
MjI4WhgPMjEyNjExMTIwOTQyMjhaMB8xHTAbBgNVBAMMFGlhbXNuYXAtdGVzdC1z
aWduaW5nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1wlVYgLCawG
x1Lwhs3c33qDkcQOxEnrVhUkv3gIqRDeZ2oNhuj4i0yBv8i2nR4V/IR3PYNVUvGf
cqB59IFcCZm09E+OI5xXBFqGMaJgiLo7SzJV8gSzEEej5tr0GLxOr7bc1Qmn5KPf
+nSyc5XFxDrEYvvSrGH7vredoHrxQMEwZXwviwfL3zmkaL2Zxw6QbUYk/KqKZ144
vcwZdRXpGm0UHyqJKouqqGKPKQdOyHELhcnC3nh0XRiIuLu4hahsfL5K+mgWEpIt
EUH+H+GDBhzFP8hcsbrVXD+hHCTKkAP2SJ1DGC9IkQTvxO1rOmihxdYQEUgsJ9z7
DtvGKhuAQQIDAQABo1MwUTAdBgNVHQ4EFgQU5MQXSxDuHS0mjdUdlkTkrJ5n69Ew
HwYDVR0jBBgwFoAU5MQXSxDuHS0mjdUdlkTkrJ5n69EwDwYDVR0TAQH/BAUwAwEB
/zANBgkqhkiG9w0BAQsFAAOCAQEAR2JItIMPwY2+o5jOYyeD8wsQ2L2fEe8jFyGU
pR4vl+JgMq6Jf62fwNZjORwAJTIuAdG9xRqB3s9N0MuOTJpJjWmTVr4DY9+TxYgc
FFaMH1BYJzttpUb/4T/9345TAp06YmaL0WGg0jQZCoyhiqZRE7z5qxFjDYaPGLHx
Lvkfi8GV5pTufRPqlCimkFJ+6wohZ6NSiyoJ8dG/V5s6ZZ0r/MkAjwjYJLIbZ7eD
yVLFwQaRxA9EMVBH2Ot9JJBzvBgBZeo//51UMc+3GXxUhoH+b8bseVnBjwAA0rwH
rx7coF6iOBTskVwp1F9gzAQD9SpgYtmJkRfJENe3cUUPc5l+QA==
-----END CERTIFICATE-----
";

pub fn saml_metadata(name: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://{name}.example.com/saml"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://{name}.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>"#
    )
}
