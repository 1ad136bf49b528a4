//! Workspaces whose sources are AWS connectors pointed at one moto server, for the CLI tests
//! of aws-iam, aws-identity-center and aws-organizations.

use std::process::Output;

use serde_json::Value;

use super::{Workspace, describe};

/// A workspace whose sources are `(name, provider)` connectors of the moto server at
/// `endpoint`, and a runner of `iamsnap` in it with the access key `credentials`.
pub fn workspace(
    endpoint: &str,
    sources: &[(&str, &str)],
    credentials: (&str, &str),
) -> (Workspace, impl Fn(&[&str]) -> Output + use<>) {
    let ws = Workspace::new("http://127.0.0.1:9");
    let mut text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n",
        ws.recipient, ws.verify_key
    );
    for (name, provider) in sources {
        text.push_str(&format!(
            "\n[sources.{name}]\nprovider = \"{provider}\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n"
        ));
    }
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    let (config, identity, dir) = (
        ws.path("iamsnap.toml"),
        ws.path("identity.txt"),
        ws.dir.path().to_path_buf(),
    );
    let (key_id, secret) = (credentials.0.to_string(), credentials.1.to_string());
    let run = move |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(&dir)
            .env("IAMSNAP_CONFIG", &config)
            .env("IAMSNAP_IDENTITY", &identity)
            .env("AWS_ACCESS_KEY_ID", &key_id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
    (ws, run)
}

/// moto's default test credentials.
pub const MOTO_CREDENTIALS: (&str, &str) = ("testing", "testing");

/// The JSON an `iamsnap … --format json` printed, or a panic showing what it printed instead.
pub fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}
