//! Check 6: backups of the seeded system through a fault proxy, one clean and one through a
//! burst of "too many requests" in the provider's own style followed by scattered 5xx
//! answers, hold exactly the same records.

use iamsnap_provider::Record;

use crate::faults::{Fault, FaultProxy, RequestInfo};

use super::records::{by_key, difference, sorted};
use super::{Checked, Subject, Suite, THROTTLED, fail, verdict};

/// The burst: requests `BURST_FROM..BURST_FROM + BURST` of the backup are throttled, retries
/// included.
const BURST_FROM: u64 = 1;
const BURST: u64 = 6;
/// Then one request in `ERROR_EVERY` gets a server error, `ERRORS` in all.
const ERROR_EVERY: u64 = 3;
const ERRORS: u64 = 4;

impl<S: Subject> Suite<'_, S> {
    pub(super) fn throttling_and_errors(&mut self) -> Checked {
        let subject = self.subject;
        if !subject.speaks_http() {
            return Err(super::Stop::NotRun(format!(
                "the {} system does not speak HTTP, the only protocol the fault proxy injects faults into",
                subject.provider()
            )));
        }
        let proxy = self
            .runtime
            .block_on(FaultProxy::start(
                &subject.url(&self.seeded),
                |_: &RequestInfo| Fault::Pass,
            ))
            .map_err(|e| fail(format!("the fault proxy did not start: {e}")))?;
        self.add_source(THROTTLED, proxy.url());
        let clean = self.backup_records(THROTTLED, "a clean backup through the proxy")?;

        let throttle = subject.throttle();
        let start = proxy.requests();
        proxy.set_plan(storm(start, throttle.clone()));
        let stormy = self.backup_records(THROTTLED, "the backup through the storm")?;
        let counts = proxy.counts();
        let throttled = counts.get(throttle.name()).copied().unwrap_or(0);
        let errors = counts.get("5xx").copied().unwrap_or(0);
        let requests = proxy.requests() - start;
        let mut problems = Vec::new();
        if throttled == 0 || errors == 0 {
            problems.push(format!(
                "the proxy injected {throttled} throttle(s) and {errors} server error(s) in the {requests} requests of the backup; the check needs both"
            ));
        }
        problems.extend(differences(&clean, &stormy));
        verdict(
            problems,
            format!(
                "{} records through {throttled} throttles and {errors} server errors in {requests} requests",
                stormy.len()
            ),
        )
    }

    /// Backs source `name` up with a fresh connector and reads the snapshot back.
    fn backup_records(&self, name: &str, what: &str) -> Result<Vec<Record>, super::Stop> {
        let connector = self.connect(name)?;
        let ws = &self.ws;
        self.runtime
            .block_on(async {
                let snapshot = ws.backup(name, connector.reader()).await?;
                ws.records(&snapshot).await
            })
            .map(sorted)
            .map_err(|e| fail(format!("{what} failed: {e}")))
    }
}

/// The burst of `throttle` from the `BURST_FROM`th request after `start`, then a server error
/// every `ERROR_EVERY` requests until `ERRORS` were sent.
fn storm(start: u64, throttle: Fault) -> impl FnMut(&RequestInfo) -> Fault + Send + 'static {
    let mut errors = 0;
    move |req: &RequestInfo| {
        let n = req.index.saturating_sub(start);
        if (BURST_FROM..BURST_FROM + BURST).contains(&n) {
            return throttle.clone();
        }
        let after = n.saturating_sub(BURST_FROM + BURST);
        if n >= BURST_FROM + BURST && after % ERROR_EVERY == 1 && errors < ERRORS {
            errors += 1;
            return Fault::Status([500, 502, 503, 504][(errors % 4) as usize]);
        }
        Fault::Pass
    }
}

/// What `stormy` holds that `clean` does not, and the reverse, by kind and key.
fn differences(clean: &[Record], stormy: &[Record]) -> Vec<String> {
    let (clean_keys, stormy_keys) = (by_key(clean), by_key(stormy));
    let mut problems = Vec::new();
    for ((kind, key), records) in &clean_keys {
        match stormy_keys.get(&(*kind, *key)) {
            None => problems.push(format!(
                "{kind} {key}: in the clean backup, missing from the one through the storm"
            )),
            Some(found) if found.len() != records.len() => problems.push(format!(
                "{kind} {key}: {} record(s) in the clean backup, {} through the storm",
                records.len(),
                found.len()
            )),
            Some(found) => {
                for (a, b) in records.iter().zip(found) {
                    if a != b {
                        problems.push(format!(
                            "{kind} {key}: differs through the storm (clean → stormy): {}",
                            difference(a, b)
                        ));
                    }
                }
            }
        }
    }
    for (kind, key) in stormy_keys.keys() {
        if !clean_keys.contains_key(&(*kind, *key)) {
            problems.push(format!(
                "{kind} {key}: only in the backup through the storm"
            ));
        }
    }
    problems
}
