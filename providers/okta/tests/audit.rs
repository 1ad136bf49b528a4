//! The System Log as the connector reads it: the reference's limits on a query, held by the
//! emulated org with the reference's errors, and the connector's queries inside them (long
//! lists of changed objects split over several filtered queries, or one unfiltered read).

mod common;

use chrono::{Duration, SecondsFormat, Utc};
use common::api::Api;
use iamsnap_provider::{AuditLog, Window};
use reqwest::Method;

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn the_log_refuses_what_the_reference_refuses() {
    let api = Api::new(10).await;
    let old = api
        .get(&format!(
            "/api/v1/logs?since={}",
            stamp(Utc::now() - Duration::days(181))
        ))
        .await;
    assert_eq!(old.status, 400);
    assert_eq!(old.body["errorCode"], "E0000053");
    assert_eq!(
        old.body["errorSummary"],
        "Invalid parameter: The since parameter is over 180 days prior to the current day."
    );
    let kept = api
        .get(&format!(
            "/api/v1/logs?since={}",
            stamp(Utc::now() - Duration::days(179))
        ))
        .await;
    assert_eq!(kept.status, 200);

    let long = api.get(&format!("/api/v1/logs?q={}", "a".repeat(41))).await;
    assert_eq!(long.status, 400);
    assert_eq!(long.body["errorCode"], "E0000001");
    assert!(
        long.body["errorSummary"]
            .as_str()
            .unwrap()
            .contains("'q': Freeform search cannot contain items longer than 40 characters"),
        "{}",
        long.body
    );
    let many = api.get("/api/v1/logs?q=a+b+c+d+e+f+g+h+i+j+k").await;
    assert_eq!(many.status, 400);
    assert_eq!(many.body["errorCode"], "E0000001");

    // Keywords match an event's values exactly, case aside.
    let id = &api.okta.with_org(|o| o.user_ids_with_status("ACTIVE"))[0];
    let done = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/suspend"),
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let found = api
        .get(&format!("/api/v1/logs?q={}", id.to_uppercase()))
        .await;
    assert_eq!(found.status, 200);
    let events = found.body.as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", found.body);
    assert_eq!(events[0]["eventType"], "user.lifecycle.suspend");
    let none = api.get(&format!("/api/v1/logs?q={}", &id[..5])).await;
    assert_eq!(none.body.as_array().unwrap().len(), 0, "{}", none.body);
}

#[tokio::test]
async fn many_changed_objects_are_asked_about_in_several_queries() {
    let api = Api::new(300).await;
    let dir = tempfile::tempdir().unwrap();
    let provider = common::provider(&api.okta, dir.path(), "tok", 4);
    let since = Utc::now() - Duration::seconds(5);
    let active = api.okta.with_org(|o| o.user_ids_with_status("ACTIVE"));
    let changed: Vec<String> = active.into_iter().take(45).collect();
    assert_eq!(changed.len(), 45);
    for id in &changed {
        let done = api
            .call(
                Method::POST,
                &format!("/api/v1/users/{id}/lifecycle/suspend"),
                None,
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
    }
    // Writes the connector is not asked about.
    let others: Vec<String> = api
        .okta
        .with_org(|o| o.user_ids_with_status("ACTIVE"))
        .into_iter()
        .take(5)
        .collect();
    for id in &others {
        api.call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/suspend"),
            None,
        )
        .await;
    }
    let window = Window {
        since,
        until: Utc::now() + Duration::seconds(1),
    };

    // Every request the org answers (`*`): reading the log is all the connector does here.
    let requests = || api.okta.requests("*");
    // 45 ids: three filters of at most 20 terms, every event of the 45 found once.
    let before = requests();
    let events = provider.events(window, &changed).await.unwrap();
    assert_eq!(requests() - before, 3);
    assert_eq!(events.len(), 45, "{events:#?}");
    let mut named: Vec<&str> = events.iter().map(|e| e.targets[0].id.as_str()).collect();
    named.sort();
    let mut expected: Vec<&str> = changed.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(named, expected);
    assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(
        events
            .iter()
            .all(|e| e.operation == "user.lifecycle.suspend")
    );

    // 250 ids: one read of the whole window costs less; the events not asked about come too.
    let mut many = changed.clone();
    many.extend((0..205).map(|i| format!("00unotchanged{i:04}")));
    let before = requests();
    let events = provider.events(window, &many).await.unwrap();
    assert_eq!(requests() - before, 1);
    assert_eq!(events.len(), 50);

    // The log keeps 90 days: the window is cut there, never sent past the 180 days the log
    // refuses.
    assert_eq!(provider.retention(), Some(Duration::days(90)));
    let kept = Window {
        since: Utc::now() - Duration::days(90),
        until: window.until,
    };
    assert_eq!(provider.events(kept, &changed).await.unwrap().len(), 45);
}
