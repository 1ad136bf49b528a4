//! Helpers of the reliability suite (`tests/reliability_*.rs`): a fault proxy on its own
//! runtime, moto buckets, exported records, repository listings, the Okta API through the
//! connector, and the figures each test prints for the README.
//!
//! Each test file includes it with `#[path = "support/reliability.rs"] mod reliability;`
//! after `mod support;`.

#![allow(dead_code)]

use std::collections::BTreeMap;

use std::process::Output;

use iamsnap_testkit::faults::{FaultPlan, FaultProxy};

use crate::support::{OKTA_TOKEN, Workspace, describe, s3_client, walk};

/// Prints one figure of the suite, as `reliability: <name> <n>`, for the README's section.
/// Run with `--nocapture` and sum the lines per name.
pub fn figure(name: &str, n: u64) {
    println!("reliability: {name} {n}");
}

/// A fault proxy on its own runtime thread, stopped when dropped.
pub struct Proxy {
    pub proxy: FaultProxy,
    runtime: tokio::runtime::Runtime,
}

impl Proxy {
    pub fn start(upstream: &str, plan: impl FaultPlan) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let proxy = runtime
            .block_on(FaultProxy::start(upstream, plan))
            .expect("the fault proxy starts");
        Proxy { proxy, runtime }
    }

    pub fn url(&self) -> String {
        self.proxy.url().to_string()
    }
}

/// `iamsnap ARGS` in the workspace, with extra environment (AWS credentials for moto).
pub fn iamsnap_env(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
    cmd.current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .env_remove("IAMSNAP_LOG")
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .args(args);
    cmd.output().unwrap()
}

/// moto's fixed test credentials.
pub const AWS_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
];

/// `iamsnap ARGS` against an S3 repository on moto.
pub fn aws(ws: &Workspace, args: &[&str]) -> Output {
    iamsnap_env(ws, args, AWS_ENV)
}

/// Creates `bucket` on moto, with Object Lock enabled when `object_lock`.
pub fn create_bucket(endpoint: &str, bucket: &str, object_lock: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = s3_client(endpoint);
    runtime
        .block_on(
            client
                .create_bucket()
                .bucket(bucket)
                .object_lock_enabled_for_bucket(object_lock)
                .send(),
        )
        .unwrap();
}

/// The `[repository]` lines of an S3 repository on moto (or a proxy in front of it).
pub fn s3_repository(endpoint: &str, bucket: &str, lock: Option<(&str, u32)>) -> String {
    let lock = lock
        .map(|(mode, days)| format!("\nobject_lock = {{ mode = \"{mode}\", days = {days} }}"))
        .unwrap_or_default();
    format!(
        "url = \"s3://{bucket}/nightly\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\npath_style = true{lock}"
    )
}

/// The names `snapshots --json` lists.
pub fn listed(output: &Output) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", describe(output)));
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// `export SNAP` into a fresh folder, read back as file name → contents (the records only:
/// the manifest holds times and request counts that differ between runs).
pub fn exported(
    ws: &Workspace,
    snap: &str,
    run: impl Fn(&[&str]) -> Output,
) -> BTreeMap<String, String> {
    let out_dir = ws.path(&format!("export-{}", rand::random::<u32>()));
    let out_arg = out_dir.to_string_lossy().into_owned();
    let export = run(&["export", snap, "--out", &out_arg]);
    assert_eq!(export.status.code(), Some(0), "{}", describe(&export));
    let mut files = BTreeMap::new();
    for path in walk(&out_dir.join("records")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        files.insert(name, std::fs::read_to_string(&path).unwrap());
    }
    std::fs::remove_dir_all(&out_dir).unwrap();
    assert!(!files.is_empty(), "the export holds records");
    files
}

/// Asserts that none of `secrets` appears in `text`, naming `what` it was.
#[track_caller]
pub fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{what} contains the secret {secret:?}:\n{text}"
        );
    }
}
