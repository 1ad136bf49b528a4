//! End to end: `diff --format html` and `restore --format html` write one page that a real
//! browser (headless Chromium) shows as expected: the table holds the changed objects, a
//! search typed into the box narrows it, and a display name holding markup stays text. The
//! quickstart's incident, run through `diff --who --format html`, names the actor of every
//! deletion, in the page and in the table the browser draws.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::browser::{browse, chromium, row_keys, table_rows};
use support::okta_api::Api;
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

    let dom = browse(&browser, &ws.path("plan.html"), "q=chief", &["--dump-dom"]);
    assert!(dom.contains("showing 1 of 3"), "{dom}");
}

/// The objects of a page: its `rows` data block (JSON whose `<`, `>`, `&` are escaped).
fn page_rows(html: &str) -> Vec<Value> {
    let open = "<script type=\"application/json\" id=\"rows\">";
    let start = html.find(open).expect("the data block") + open.len();
    let len = html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..start + len]).unwrap()
}

#[test]
fn the_quickstart_incident_names_the_actor_of_every_deletion_in_the_browser() {
    let org = Org::start(200, 40, 8);
    let ws = Workspace::new(&org.url());
    ws.add_okta_source("okta-demo", &org.url(), "");
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-demo"]), 0);
    let api = Api::new(&ws, &org.url());
    let admin = api.self_login();
    let did = okta_incident(&org.url());
    assert!(
        did.contains("deleted group") && did.contains("deleted user"),
        "{did}"
    );
    let deleted_user = did
        .lines()
        .find_map(|l| l.strip_prefix("deleted user "))
        .unwrap()
        .to_string();
    // Then a second administrator, whose first name holds markup, edits her own title.
    let mallory = org.okta.with_org(|o| {
        let touched = serde_json::to_string(&o.log_events()).unwrap();
        let id = o
            .user_ids_with_status("ACTIVE")
            .into_iter()
            .find(|u| u != o.token_owner() && !touched.contains(u.as_str()))
            .unwrap();
        assert!(o.set_profile_field(&id, "firstName", json!(HOSTILE)));
        assert!(o.set_token_owner(&id));
        id
    });
    let record = api
        .records()
        .into_iter()
        .find(|r| r.kind == "okta.user" && r.id == mallory)
        .unwrap();
    let mut retitled = record.clone();
    retitled.attrs["profile"]["title"] = json!("Chief Incident Officer");
    api.update(&record, retitled);
    let mallory = record.key;

    let diff = ws.iamsnap(&[
        "diff",
        "okta-demo@latest",
        "live",
        "--who",
        "--format",
        "html",
        "--out",
        "report.html",
    ]);
    assert_exit(&diff, 1);
    let page = ws.path("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("<script").count(),
        3,
        "a value became an element"
    );
    assert!(html.contains(" audit events of okta-demo from "), "{html}");

    // In the page's data, every deletion names the administrator who made it.
    let rows = page_rows(&html);
    let removed: Vec<&Value> = rows.iter().filter(|r| r["status"] == "removed").collect();
    assert!(removed.len() > 10, "{rows:#?}");
    for row in &removed {
        let events = row["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events for the removed {} {}", row["kind"], row["key"]));
        assert!(
            events
                .iter()
                .any(|e| e["actor"]["name"] == admin.as_str() && e["destructive"] == "deletion"),
            "{row:#}"
        );
    }
    let by_mallory: Vec<&Value> = rows
        .iter()
        .filter(|r| r["events"].to_string().contains(&format!("\"{mallory}\"")))
        .collect();
    assert_eq!(by_mallory.len(), 1, "{by_mallory:#?}");
    assert_eq!(by_mallory[0]["key"], mallory.as_str());

    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED the browser half of this test: no chromium on PATH (scripts/test.sh installs it with apt)"
        );
        return;
    };
    let all = rows.len();
    // The removed objects, each row with its actor in the `who` column.
    let dom = browse(&browser, &page, "action=removed", &["--dump-dom"]);
    assert!(dom.contains(">who</button>"), "{dom}");
    assert!(
        dom.contains(&format!("showing {} of {all}", removed.len())),
        "{dom}"
    );
    let drawn = table_rows(&dom);
    assert!(drawn.len() > 10, "{drawn:?}");
    for cells in &drawn {
        assert_eq!(cells.len(), 4, "kind, key, ids, who: {cells:?}");
        assert_eq!(cells[3], admin, "{cells:?}");
    }
    // A deleted user's login typed into the search box: that user and what went with it.
    let dom = browse(
        &browser,
        &page,
        &format!("q={deleted_user}"),
        &["--dump-dom"],
    );
    let keys = row_keys(&dom);
    assert!(keys.contains(&deleted_user), "{keys:?}");
    assert!(keys.len() < all, "{keys:?}");
    assert!(
        dom.contains(&format!("showing {} of {all}", keys.len())),
        "{dom}"
    );
    // Searching by actor finds the change the second administrator made (and what names her),
    // her markup shown as text.
    let naming: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["key"].as_str().unwrap().contains(&mallory)
                || r["events"].to_string().contains(&mallory)
        })
        .collect();
    assert!(naming.len() < all, "{naming:#?}");
    let own = rows
        .iter()
        .position(|r| r["key"] == mallory.as_str())
        .unwrap();
    let dom = browse(
        &browser,
        &page,
        &format!("q={mallory}&row={own}"),
        &["--dump-dom"],
    );
    assert!(
        dom.contains(&format!("showing {} of {all}", naming.len())),
        "{dom}"
    );
    let drawn = table_rows(&dom);
    let hers = drawn.iter().find(|c| c[1] == mallory).expect("her row");
    assert_eq!(hers[3], mallory, "{hers:?}");
    assert!(
        drawn.iter().all(|c| c[1] == mallory || c[3] != mallory),
        "{drawn:?}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "her first name shows as text: {dom}"
    );
    assert!(
        !dom.contains("pwned</title>") && !dom.contains("<img"),
        "{dom}"
    );
    let dom = browse(&browser, &page, "q=chief%20incident", &["--dump-dom"]);
    assert!(dom.contains(&format!("showing 1 of {all}")), "{dom}");

    // The picture in docs/reports.md, tall enough for the table, with the weakened password
    // policy (the first object with fields) open beside it:
    // `IAMSNAP_REPORT_SCREENSHOT=docs/report-diff.png`.
    let policy = rows
        .iter()
        .find(|r| r["kind"] == "okta.policy" && r["status"] == "changed")
        .expect("the weakened password policy");
    assert_eq!(
        policy["events"][0]["actor"]["name"],
        admin.as_str(),
        "{policy:#}"
    );
    let shot = ws.path("report.png");
    let dom = browse(&browser, &page, "", &["--dump-dom"]);
    assert!(
        dom.contains("Who (audit events, 1)") && dom.contains("policy.lifecycle.update"),
        "the policy opens with its event: {dom}"
    );
    browse(
        &browser,
        &page,
        "",
        &[
            // The last size given wins over the default one.
            "--window-size=1400,1700",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("IAMSNAP_REPORT_SCREENSHOT") {
        std::fs::write(&keep, &png).unwrap();
        std::fs::copy(&page, Path::new(&keep).with_extension("html")).unwrap();
    }
}
