//! Keys and configuration: an identity that does not open the archive gives exit 4; a
//! passphrase-protected identity, a missing or unusable recipient, malformed TOML, unknown
//! fields, a missing secret variable or key file give exit 2 with the file, field or variable
//! named.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::io::Write;

use reliability::*;
use support::*;

/// Runs `args` and asserts exit 2 with every one of `named` in stderr.
#[track_caller]
fn usage_error(ws: &Workspace, args: &[&str], named: &[&str]) {
    let out = ws.iamsnap(args);
    assert_exit(&out, 2);
    for name in named {
        assert!(
            stderr(&out).contains(name),
            "{name:?} is not named: {}",
            describe(&out)
        );
    }
}

/// Writes a key file as key tools do: readable by its owner only (iamsnap refuses others).
fn write_private(path: &std::path::Path, bytes: impl AsRef<[u8]>) {
    std::fs::write(path, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The workspace's identity file, encrypted with a passphrase as `age -p` (armored or not)
/// writes it.
fn protect_identity(ws: &Workspace, armored: bool) -> String {
    let identity = std::fs::read(ws.path("identity.txt")).unwrap();
    let encryptor = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(
        "correct horse battery staple".to_string(),
    ));
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(&identity).unwrap();
    writer.finish().unwrap();
    if armored {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&out);
        let mut text = String::from("-----BEGIN AGE ENCRYPTED FILE-----\n");
        for line in encoded.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(line).unwrap());
            text.push('\n');
        }
        text.push_str("-----END AGE ENCRYPTED FILE-----\n");
        out = text.into_bytes();
    }
    let name = if armored {
        "identity.age.asc"
    } else {
        "identity.age"
    };
    write_private(&ws.path(name), out);
    name.to_string()
}

#[test]
fn keys_and_configuration_errors_name_what_is_wrong() {
    let org = Org::start(20, 3, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let good = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    let mut tried = 0;

    // An identity that is not one of the archive's recipients: integrity, exit 4.
    run_in(ws.dir.path(), &["key", "generate", "--out", "other.txt"]);
    let out = ws.iamsnap(&["show", "okta-test@latest", "--identity", "other.txt"]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("identity does not match"),
        "{}",
        describe(&out)
    );
    tried += 1;

    // Passphrase-protected identities, binary and armored: iamsnap never prompts.
    for armored in [false, true] {
        let name = protect_identity(&ws, armored);
        for command in ["show", "verify", "export"] {
            let mut args = vec![command, "okta-test@latest", "--identity", name.as_str()];
            if command == "export" {
                args.extend(["--out", "plain"]);
            }
            usage_error(&ws, &args, &[name.as_str(), "passphrase"]);
            tried += 1;
        }
    }
    // An identity file that does not exist, or holds no key.
    usage_error(
        &ws,
        &["show", "okta-test@latest", "--identity", "missing.txt"],
        &["missing.txt"],
    );
    write_private(&ws.path("empty.txt"), "# nothing here\n");
    usage_error(
        &ws,
        &["show", "okta-test@latest", "--identity", "empty.txt"],
        &["empty.txt"],
    );
    tried += 2;

    let config = ws.path("iamsnap.toml");
    let config_name = config.to_string_lossy().into_owned();
    let with = |text: &str| std::fs::write(&config, text).unwrap();

    // No recipient, or an unusable one: backup refuses before reading the provider.
    let before = org.okta.requests("*");
    with(&good.replace(
        &format!("recipients = [\"{}\"]", ws.recipient),
        "recipients = []",
    ));
    usage_error(&ws, &["backup", "--all"], &["recipients"]);
    with(&good.replace(&ws.recipient, "age1notarecipient"));
    usage_error(
        &ws,
        &["backup", "--all"],
        &["age1notarecipient", "recipient"],
    );
    with(&good.replace(&format!("recipients = [\"{}\"]\n", ws.recipient), ""));
    usage_error(&ws, &["backup", "--all"], &["recipients"]);
    assert_eq!(
        org.okta.requests("*"),
        before,
        "no request with a bad configuration"
    );
    tried += 3;

    // Malformed TOML: the file and the line.
    with(&good.replace("[sources.okta-test]", "[sources.okta-test"));
    usage_error(&ws, &["snapshots"], &[&config_name, "line"]);
    with(&good.replace("url = \"repo\"", "url = \"repo"));
    usage_error(&ws, &["backup", "--all"], &[&config_name, "line"]);
    tried += 2;

    // Unknown fields, at the top, in the repository and in a source.
    with(&format!("{good}\n[telemetry]\nendpoint = \"x\"\n"));
    usage_error(&ws, &["snapshots"], &[&config_name, "telemetry"]);
    with(&good.replace("recipients =", "recipents ="));
    usage_error(&ws, &["snapshots"], &[&config_name, "recipents"]);
    with(&good.replace("token_env =", "token_variable ="));
    usage_error(&ws, &["backup", "--all"], &[&config_name, "token_variable"]);
    tried += 3;

    // A missing secret variable, a missing token file, a missing signing key.
    with(&good.replace("IAMSNAP_TEST_OKTA_TOKEN", "IAMSNAP_TEST_UNSET_TOKEN"));
    usage_error(&ws, &["backup", "--all"], &["IAMSNAP_TEST_UNSET_TOKEN"]);
    with(&good.replace(
        "token_env = \"IAMSNAP_TEST_OKTA_TOKEN\"",
        "token_file = \"no-such-token\"",
    ));
    usage_error(&ws, &["backup", "--all"], &["no-such-token"]);
    with(&good.replace("signing.key", "no-such-signing.key"));
    usage_error(&ws, &["backup", "--all"], &["no-such-signing.key"]);
    with(&good.replace(&ws.verify_key, "RWnotakey"));
    usage_error(
        &ws,
        &["verify", "okta-test@latest"],
        &[&config_name, "repository.verify_key"],
    );
    tried += 4;

    // No configuration at all.
    let out = assert_cmd::Command::cargo_bin("iamsnap")
        .unwrap()
        .current_dir(ws.dir.path())
        .env_remove("IAMSNAP_CONFIG")
        .args(["snapshots"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("IAMSNAP_CONFIG"),
        "{}",
        describe(&out)
    );
    tried += 1;

    with(&good);
    assert_eq!(
        ws.archives("okta-test").len(),
        1,
        "no failed run published anything"
    );
    assert_exit(&ws.iamsnap(&["verify", "--all"]), 0);
    figure("bad_inputs_tried", tried);
}
