//! End to end: `diff --format html` and `restore --format html` write one page that a real
//! browser (headless Chromium) shows as expected: the table holds the changed objects, a
//! search typed into the box narrows it, and a display name holding markup stays text.

mod support;

use std::path::Path;

use serde_json::json;
use support::browser::{browse, chromium, row_keys};
use support::*;

/// Markup in a field anyone who can edit a profile controls. Had it run, the page's title
/// would change; had it become an element, the DOM would hold an `<img>`.
const HOSTILE: &str = "<script>document.title='pwned'</script></script><img src=x onerror=\"document.title='pwned'\">";

#[test]
fn html_reports_open_in_a_browser_and_filter() {
    let org = Org::start(40, 6, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let (hostile, titled, removed) = org.okta.with_org(|o| {
        let users = o.user_ids_with_status("ACTIVE");
        let (group, _) = o.largest_group().unwrap();
        let removed = users
            .iter()
            .find(|u| o.remove_member(&group, u))
            .unwrap()
            .clone();
        let others: Vec<&String> = users.iter().filter(|u| **u != removed).collect();
        assert!(o.set_profile_field(others[0], "displayName", json!(HOSTILE)));
        assert!(o.set_profile_field(others[1], "title", json!("Chief Diff Officer")));
        (
            o.login_of(others[0]).unwrap(),
            o.login_of(others[1]).unwrap(),
            o.login_of(&removed).unwrap(),
        )
    });
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    let refused = ws.iamsnap(&[
        "diff",
        "okta-test@latest~1",
        "okta-test@latest",
        "--format",
        "html",
    ]);
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("pass --out FILE"),
        "{}",
        describe(&refused)
    );

    let diff = ws.iamsnap(&[
        "diff",
        "okta-test@latest~1",
        "okta-test@latest",
        "--format",
        "html",
        "--out",
        "report.html",
    ]);
    assert_exit(&diff, 1);
    assert_eq!(stdout(&diff), "");
    let page = ws.path("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("3 differences: "), "{html}");
    assert!(html.contains("signature verified"), "{html}");
    assert_eq!(
        html.matches("<script").count(),
        3,
        "a value became an element"
    );

    let plan = ws.iamsnap(&[
        "restore",
        "okta-test@latest~1",
        "--format",
        "html",
        "--out",
        "plan.html",
    ]);
    assert_exit(&plan, 1);
    let plan_html = std::fs::read_to_string(ws.path("plan.html")).unwrap();
    assert!(plan_html.contains("3 operations: "), "{plan_html}");
    assert!(
        plan_html.contains("additive: nothing is deleted"),
        "{plan_html}"
    );

    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED the browser half of this test: no chromium on PATH (scripts/test.sh installs it with apt)"
        );
        return;
    };
    let dom = browse(&browser, &page, "", &["--dump-dom"]);
    assert!(dom.contains("showing 3 of 3"), "{dom}");
    let mut keys = row_keys(&dom);
    keys.sort();
    let membership = keys
        .iter()
        .find(|k| k.ends_with(&format!("|{removed}")))
        .unwrap_or_else(|| panic!("the removed membership in {keys:?}"));
    assert!(
        keys.contains(&hostile) && keys.contains(&titled),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 3, "{keys:?}");
    // The hostile display name is text in the side-by-side field diff, and never ran.
    assert!(dom.contains("<title>iamsnap diff: "), "{dom}");
    assert!(!dom.contains("pwned</title>"), "{dom}");
    assert!(!dom.contains("<img"), "{dom}");

    // Typed into the search box (through the address, which fills the box): one row left.
    let dom = browse(&browser, &page, "q=chief%20diff", &["--dump-dom"]);
    assert!(dom.contains("showing 1 of 3"), "{dom}");
    assert_eq!(row_keys(&dom), vec![titled.clone()]);
    assert!(
        dom.contains("/attrs/profile/title"),
        "the field diff is shown: {dom}"
    );
    let dom = browse(&browser, &page, "action=removed", &["--dump-dom"]);
    assert_eq!(row_keys(&dom), vec![membership.clone()]);
    let dom = browse(&browser, &page, "q=pwned", &["--dump-dom"]);
    assert!(dom.contains("showing 1 of 3"), "{dom}");
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "the display name shows as text: {dom}"
    );

    let shot = ws.path("report.png");
    browse(
        &browser,
        &page,
        "",
        &[&format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    // The picture in docs/reports.md: `IAMSNAP_REPORT_SCREENSHOT=docs/report-diff.png`.
    if let Some(keep) = std::env::var_os("IAMSNAP_REPORT_SCREENSHOT") {
        std::fs::write(&keep, &png).unwrap();
        std::fs::copy(&page, Path::new(&keep).with_extension("html")).unwrap();
    }

    let dom = browse(&browser, &ws.path("plan.html"), "q=chief", &["--dump-dom"]);
    assert!(dom.contains("showing 1 of 3"), "{dom}");
}
