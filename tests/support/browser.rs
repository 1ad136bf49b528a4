//! Headless Chromium for the HTML report tests: find it, open a page, read the table back
//! from the DOM the page's script drew.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary, or `None` where none is installed. `scripts/test.sh` installs it and
/// sets `IAMSNAP_REQUIRE_BROWSER`, so there (and wherever `CI` is set) a missing browser
/// fails the test instead of skipping it.
pub fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        if found.is_some() {
            return found;
        }
    }
    assert!(
        std::env::var_os("CI").is_none() && std::env::var_os("IAMSNAP_REQUIRE_BROWSER").is_none(),
        "Chromium is not installed: scripts/test.sh installs it from apt"
    );
    None
}

/// Runs headless Chromium on `page` (with `fragment` as the address's `#…`) and returns
/// what it printed: the DOM after the page's script ran, or nothing with a screenshot.
pub fn browse(browser: &Path, page: &Path, fragment: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}#{fragment}", page.display());
    let output = Command::new(browser)
        .args([
            "--headless",
            // Root in a container has no user namespace to sandbox with.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--virtual-time-budget=5000",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(extra)
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text cells of each row of the table drawn in a dumped DOM, in order (the status
/// badge and the count of fields left out): kind, key, ids, then `who` when the report names
/// actors.
pub fn table_rows(dom: &str) -> Vec<Vec<String>> {
    dom.split("<div class=\"row")
        .skip(1)
        .map(|row| {
            row.split("<div class=\"cell\" role=\"cell\" title=\"")
                .skip(1)
                .map(|c| unescape(&c[..c.find('"').unwrap()]))
                .collect()
        })
        .collect()
}

/// The keys of the table's rows in a dumped DOM, in order.
pub fn row_keys(dom: &str) -> Vec<String> {
    table_rows(dom).into_iter().map(|r| r[1].clone()).collect()
}

/// An attribute's text as the DOM serializer escaped it.
fn unescape(attr: &str) -> String {
    attr.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}
