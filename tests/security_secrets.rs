//! Secrets echoed back by a gateway: a proxy between iamsnap and the provider answers with the
//! request itself (its `Authorization` header, and a token request's form body with the
//! client secret), as an HTML page (retried as a 5xx) and as a JSON error body (an error
//! summary). Through the command line, for Okta and Entra ID, at `-vvv` in both log formats,
//! neither the API token, the access tokens issued nor the client secret appear in stdout or
//! stderr, while the rest of the gateway's answer does, with `[redacted]` in their place.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::collections::HashMap;
use std::process::Output;

use iamsnap_testkit::entra::{EntraEmulator, RunningEntra};
use iamsnap_testkit::faults::{Fault, RequestInfo};
use reliability::*;
use support::*;

/// The first two attempts of each request get an HTML page echoing it (502, retried), the
/// third a JSON error summary echoing it (400, which ends the run): retries are logged at debug
/// level, the last error on stderr. `echoes` says which requests are echoed at all.
fn gateway(echoes: fn(&RequestInfo) -> bool) -> impl FnMut(&RequestInfo) -> Fault + Send {
    let mut seen: HashMap<String, u32> = HashMap::new();
    move |request: &RequestInfo| {
        if !echoes(request) {
            return Fault::Pass;
        }
        let attempts = seen.entry(request.target.clone()).or_default();
        *attempts += 1;
        match attempts {
            1 | 2 => Fault::Echo {
                status: 502,
                json: false,
            },
            _ => Fault::Echo {
                status: 400,
                json: true,
            },
        }
    }
}

/// Every output of `runs` is a failure that shows the gateway's answer, scrubbed of `secrets`.
#[track_caller]
fn assert_scrubbed(runs: &[(&str, Output)], secrets: &[&str]) {
    for (what, output) in runs {
        assert_exit(output, 3);
        let text = format!("{}{}", stdout(output), stderr(output));
        assert_clean(what, &text, secrets);
        assert!(
            text.contains("[redacted]"),
            "{what}: the echoed request is shown, scrubbed: {}",
            describe(output)
        );
        assert!(
            text.contains("retrying"),
            "{what}: the 502s are retried and logged: {}",
            describe(output)
        );
    }
}

#[test]
fn okta_tokens_echoed_by_a_gateway_never_reach_the_output() {
    let org = Org::start(20, 4, 1);
    let proxy = Proxy::start(&org.url(), gateway(|_| true));
    let ws = Workspace::new(&proxy.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let mut runs = Vec::new();
    for format in ["text", "json"] {
        proxy.proxy.set_plan(gateway(|_| true));
        let args = ["backup", "--all", "-vvv", "--log-format", format];
        runs.push((format, ws.iamsnap(&args)));
    }
    assert_scrubbed(&runs, &[OKTA_TOKEN, &OKTA_TOKEN[10..]]);
    assert!(proxy.proxy.counts()["echo"] >= 6);
}

const CLIENT_ID: &str = "0b7c1d2e-3333-4000-8000-0000000c11e1";
const SECRET: &str = "entra-secret-NEVER-ECHOED-9191";

fn entra() -> (RunningEntra, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let entra = runtime
        .block_on(
            EntraEmulator::builder()
                .tenant("contoso-echo")
                .client(CLIENT_ID, SECRET)
                .users(20)
                .groups(4)
                .apps(2)
                .policies(1)
                .seed(3)
                .start(),
        )
        .expect("the Entra emulator starts");
    (entra, runtime)
}

/// A workspace whose only source signs in and reads Graph through `url`.
fn entra_workspace(entra: &RunningEntra, url: &str) -> Workspace {
    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(ws.path("entra.secret"), SECRET).unwrap();
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.entra-test]\nprovider = \"entra\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"entra.secret\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\n",
        ws.recipient,
        ws.verify_key,
        entra.tenant_id(),
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    ws
}

#[test]
fn entra_tokens_and_client_secrets_echoed_by_a_gateway_never_reach_the_output() {
    let (entra, _runtime) = entra();

    // Graph requests echoed, with the bearer token in their Authorization header.
    let proxy = Proxy::start(
        entra.base_url(),
        gateway(|r| !r.target.contains("/oauth2/")),
    );
    let ws = entra_workspace(&entra, &proxy.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let mut runs = Vec::new();
    for format in ["text", "json"] {
        proxy
            .proxy
            .set_plan(gateway(|r| !r.target.contains("/oauth2/")));
        let args = ["backup", "--all", "-vvv", "--log-format", format];
        runs.push((format, ws.iamsnap(&args)));
    }
    let issued = entra.issued_tokens();
    assert!(!issued.is_empty(), "tokens were issued");
    let mut secrets: Vec<&str> = issued.iter().map(String::as_str).collect();
    secrets.push(SECRET);
    // The part of a token after its fixed header, in case it is cut.
    let tails: Vec<String> = issued.iter().map(|t| t[40..].to_string()).collect();
    secrets.extend(tails.iter().map(String::as_str));
    assert_scrubbed(&runs, &secrets);

    // Token requests echoed, with the client secret in their form body.
    let proxy = Proxy::start(entra.base_url(), gateway(|r| r.target.contains("/oauth2/")));
    let ws = entra_workspace(&entra, &proxy.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let mut runs = Vec::new();
    for format in ["text", "json"] {
        proxy
            .proxy
            .set_plan(gateway(|r| r.target.contains("/oauth2/")));
        let args = ["backup", "--all", "-vvv", "--log-format", format];
        runs.push((format, ws.iamsnap(&args)));
    }
    for (what, output) in &runs {
        assert_exit(output, 3);
        let text = format!("{}{}", stdout(output), stderr(output));
        assert_clean(what, &text, &[SECRET, &SECRET[8..]]);
        assert!(
            text.contains("grant_type=client"),
            "{what}: the echoed token request is shown: {}",
            describe(output)
        );
    }
}
