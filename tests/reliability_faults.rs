//! Provider and storage faults, injected by a real TCP proxy between iamsnap and the emulated
//! Okta org, the emulated Entra tenant, or moto's S3: 429 storms with and without reset headers, 5xx answers, connection
//! resets, truncated bodies, slow answers and stalls. A backup either completes with exactly
//! the records of a clean run, or fails with exit 3 and publishes nothing.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use iamsnap_testkit::entra::EntraEmulator;
use iamsnap_testkit::faults::{Fault, RequestInfo};
use iamsnap_testkit::moto::MotoServer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reliability::*;
use support::*;

/// Faults the first `attempts` tries of about one request target in `one_in` (chosen by a
/// seeded draw per target), then lets it through: retries must cure every one of them.
fn transient(
    seed: u64,
    one_in: u32,
    attempts: u32,
    fault: impl Fn(&mut StdRng) -> Fault + Send + 'static,
) -> impl FnMut(&RequestInfo) -> Fault + Send + 'static {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seen: HashMap<String, (bool, u32)> = HashMap::new();
    move |req: &RequestInfo| {
        let key = format!("{} {}", req.method, req.target);
        let chosen = rng.gen_ratio(1, one_in);
        let entry = seen.entry(key).or_insert((chosen, 0));
        if entry.0 && entry.1 < attempts {
            entry.1 += 1;
            fault(&mut rng)
        } else {
            Fault::Pass
        }
    }
}

#[test]
fn provider_faults_give_the_clean_records_or_exit_3_with_nothing_published() {
    let org = Org::start(120, 12, 4);
    let proxy = Proxy::start(&org.url(), |_: &RequestInfo| Fault::Pass);
    let ws = Workspace::new(&proxy.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let clean = exported(&ws, "okta-test@latest", |a| ws.iamsnap(a));
    let requests = proxy.proxy.requests();
    assert!(requests > 20, "a backup takes {requests} requests");

    type Scenario = (&'static str, Box<dyn Fn(&mut StdRng) -> Fault + Send>, u32);
    let scenarios: Vec<Scenario> = vec![
        (
            "429 with X-Rate-Limit-Reset",
            Box::new(|_| Fault::RateLimitedWithReset),
            2,
        ),
        (
            "429 without reset headers",
            Box::new(|_| Fault::RateLimitedBare),
            3,
        ),
        (
            "500, 502 and 503",
            Box::new(|rng| Fault::Status([500, 502, 503][rng.gen_range(0..3)])),
            2,
        ),
        ("connection resets", Box::new(|_| Fault::Reset), 2),
        ("truncated bodies", Box::new(|_| Fault::Truncate), 2),
        (
            "slow answers",
            Box::new(|rng| Fault::Delay(Duration::from_millis(rng.gen_range(50..400)))),
            1,
        ),
    ];
    let mut injected = 0;
    let mut published = 1;
    for (seed, (name, fault, attempts)) in scenarios.into_iter().enumerate() {
        let before = proxy.proxy.injected();
        proxy
            .proxy
            .set_plan(transient(seed as u64, 4, attempts, fault));
        let out = ws.iamsnap(&["backup", "--all"]);
        let now = proxy.proxy.injected() - before;
        assert!(now > 0, "{name}: no fault was injected");
        injected += now;
        // Every fault here is transient: the retries must cure them all.
        assert_exit(&out, 0);
        published += 1;
        assert_eq!(ws.archives("okta-test").len(), published, "{name}");
        let records = exported(&ws, "okta-test@latest", |a| ws.iamsnap(a));
        assert_eq!(
            records, clean,
            "{name}: the records differ from a clean run"
        );
        assert!(!stderr(&out).contains(OKTA_TOKEN));
    }

    // A fault that never clears: one endpoint answers 502 every time, the rest keep working.
    let before = proxy.proxy.injected();
    proxy.proxy.set_plan(|req: &RequestInfo| {
        if req.target.starts_with("/api/v1/groups?") || req.target == "/api/v1/groups" {
            Fault::Status(502)
        } else {
            Fault::Pass
        }
    });
    let out = ws.iamsnap(&["backup", "--all", "--metrics-file", "metrics.prom"]);
    assert_exit(&out, 3);
    injected += proxy.proxy.injected() - before;
    assert!(stderr(&out).contains("502"), "{}", describe(&out));
    assert!(
        stderr(&out).contains("nothing was published"),
        "{}",
        describe(&out)
    );
    assert_eq!(ws.archives("okta-test").len(), published, "nothing new");
    let metrics = std::fs::read_to_string(ws.path("metrics.prom")).unwrap();
    assert!(
        metrics.contains("iamsnap_backup_success{source=\"okta-test\",provider=\"okta\"} 0"),
        "{metrics}"
    );
    let leftovers: Vec<_> = walk(&ws.path("repo"))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.ends_with(".iamsnap") && !name.ends_with(".iamsnap.minisig")
        })
        .collect();
    assert_eq!(leftovers, vec![ws.path("repo/iamsnap-repo.json")]);
    assert_exit(&ws.iamsnap(&["verify", "--all"]), 0);
    figure("faults_injected", injected);
}

#[test]
fn storage_faults_never_list_a_partial_snapshot() {
    let moto = MotoServer::start();
    create_bucket(&moto.endpoint, "faulty", false);
    let org = Org::start(40, 6, 2);
    let proxy = Proxy::start(&moto.endpoint, |_: &RequestInfo| Fault::Pass);
    let ws = Workspace::with_repository(&org.url(), &s3_repository(&proxy.url(), "faulty", None));
    assert_exit(&aws(&ws, &["init"]), 0);
    assert_exit(&aws(&ws, &["backup", "--all"]), 0);
    let clean = exported(&ws, "okta-test@latest", |a| aws(&ws, a));
    let mut expected = 1;
    let mut injected = 0;

    let is_put = |req: &RequestInfo| req.method == "PUT" && req.target.contains("/snapshots/");
    // Transient faults on the uploads, each cured by the SDK's retries: the backup succeeds
    // and the snapshot reads back whole.
    type Scenario = (&'static str, Fault);
    let transient: Vec<Scenario> = vec![
        ("503 on upload", Fault::Status(503)),
        ("500 on upload", Fault::Status(500)),
        ("reset during upload", Fault::Reset),
        (
            "upload stalled then cut",
            Fault::Stall(Duration::from_secs(2)),
        ),
        ("slow upload", Fault::Delay(Duration::from_millis(800))),
    ];
    for (name, fault) in transient {
        let before = proxy.proxy.injected();
        let mut faulted: BTreeMap<String, u32> = BTreeMap::new();
        proxy.proxy.set_plan(move |req: &RequestInfo| {
            if !is_put(req) {
                return Fault::Pass;
            }
            let tries = faulted.entry(req.target.clone()).or_insert(0);
            *tries += 1;
            if *tries == 1 {
                fault.clone()
            } else {
                Fault::Pass
            }
        });
        let out = aws(&ws, &["backup", "--all"]);
        let now = proxy.proxy.injected() - before;
        assert!(now >= 2, "{name}: {now} faults injected");
        injected += now;
        assert_exit(&out, 0);
        expected += 1;
        let list = aws(&ws, &["snapshots", "--json"]);
        assert_eq!(listed(&list).len(), expected, "{name}");
        assert_eq!(
            exported(&ws, "okta-test@latest", |a| aws(&ws, a)),
            clean,
            "{name}"
        );
    }

    // Uploads of the archive that fail every time: the backup fails with exit 3, and the
    // signature already written does not make a snapshot appear.
    for fault in [Fault::Status(503), Fault::Reset] {
        let before = proxy.proxy.injected();
        proxy.proxy.set_plan(move |req: &RequestInfo| {
            if is_put(req) && (req.target.ends_with(".iamsnap") || req.target.contains(".iamsnap?"))
            {
                fault.clone()
            } else {
                Fault::Pass
            }
        });
        let out = aws(&ws, &["backup", "--all"]);
        injected += proxy.proxy.injected() - before;
        assert_exit(&out, 3);
        let list = aws(&ws, &["snapshots", "--json"]);
        assert_eq!(listed(&list).len(), expected, "{}", describe(&out));
    }
    proxy.proxy.set_plan(|_: &RequestInfo| Fault::Pass);
    let verify = aws(&ws, &["verify", "--all"]);
    assert_exit(&verify, 0);
    figure("faults_injected", injected);
}

#[test]
fn entra_faults_give_the_clean_records() {
    const CLIENT_ID: &str = "5d1e2f3a-1111-4000-8000-00000000c11e";
    const SECRET: &str = "entra-secret-DO-NOT-LEAK-3c3c";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let entra = runtime
        .block_on(
            EntraEmulator::builder()
                .tenant("contoso-test")
                .client(CLIENT_ID, SECRET)
                .users(60)
                .groups(8)
                .apps(3)
                .seed(5)
                .start(),
        )
        .unwrap();
    let proxy = Proxy::start(entra.base_url(), |_: &RequestInfo| Fault::Pass);
    let ws = Workspace::new("http://unused.invalid");
    let config = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    let repository = &config[..config.find("[sources.").unwrap()];
    std::fs::write(
        ws.path("iamsnap.toml"),
        format!(
            "{repository}[sources.entra-test]\nprovider = \"entra\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"IAMSNAP_TEST_ENTRA_SECRET\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\n",
            entra.tenant_id(),
            url = proxy.url()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| iamsnap_env(&ws, args, &[("IAMSNAP_TEST_ENTRA_SECRET", SECRET)]);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let clean = exported(&ws, "entra-test@latest", run);
    let mut injected = 0;
    let scenarios: Vec<(&str, Fault)> = vec![
        ("429 with Retry-After", Fault::RetryAfter(1)),
        ("503", Fault::Status(503)),
        ("connection resets", Fault::Reset),
        ("truncated bodies", Fault::Truncate),
    ];
    for (seed, (name, fault)) in scenarios.into_iter().enumerate() {
        let before = proxy.proxy.injected();
        proxy
            .proxy
            .set_plan(transient(100 + seed as u64, 3, 1, move |_| fault.clone()));
        let out = run(&["backup", "--all"]);
        let now = proxy.proxy.injected() - before;
        assert!(now > 0, "{name}: no fault was injected");
        injected += now;
        assert_eq!(out.status.code(), Some(0), "{name}: {}", describe(&out));
        assert_eq!(exported(&ws, "entra-test@latest", run), clean, "{name}");
        assert!(!stderr(&out).contains(SECRET), "{}", describe(&out));
    }
    figure("faults_injected", injected);
}

#[test]
fn an_upload_that_never_answers_times_out_and_is_retried() {
    let moto = MotoServer::start();
    create_bucket(&moto.endpoint, "hung", false);
    let org = Org::start(20, 3, 1);
    let is_archive_put = |req: &RequestInfo| {
        req.method == "PUT"
            && req
                .target
                .split('?')
                .next()
                .is_some_and(|path| path.ends_with(".iamsnap"))
    };
    let mut stalled = 0;
    let proxy = Proxy::start(&moto.endpoint, move |req: &RequestInfo| {
        if is_archive_put(req) && stalled == 0 {
            stalled += 1;
            // Far longer than the test: only the client's timeout can end this attempt.
            Fault::Stall(Duration::from_secs(3600))
        } else {
            Fault::Pass
        }
    });
    let repository = format!(
        "{}\ntimeout_seconds = 2",
        s3_repository(&proxy.url(), "hung", None)
    );
    let ws = Workspace::with_repository(&org.url(), &repository);
    assert_exit(&aws(&ws, &["init"]), 0);
    let started = std::time::Instant::now();
    let out = aws(&ws, &["backup", "--all"]);
    assert_exit(&out, 0);
    assert_eq!(proxy.proxy.injected(), 1, "the archive upload stalled once");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the stall did not hang the backup"
    );
    assert_eq!(listed(&aws(&ws, &["snapshots", "--json"])).len(), 1);
    assert_exit(&aws(&ws, &["verify", "--all"]), 0);
    figure("faults_injected", 1);
}
