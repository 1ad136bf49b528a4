//! `iamsnap schedule kubernetes`: one CronJob per source of a three-source configuration,
//! staggered, parsed back as YAML and checked field by field.

mod support;

use support::*;
use yaml_rust2::{Yaml, YamlLoader};

fn text<'a>(doc: &'a Yaml, path: &[&str]) -> &'a str {
    let mut node = doc;
    for key in path {
        node = &node[*key];
    }
    node.as_str()
        .unwrap_or_else(|| panic!("{path:?} is a string: {node:?}"))
}

#[test]
fn one_staggered_cronjob_per_source() {
    let ws = Workspace::new("https://acme.okta.com");
    ws.add_okta_source("okta-eu", "https://acme-eu.okta.com", "");
    ws.add_okta_source("Okta_US", "https://acme-us.okta.com", "");
    let out = ws.iamsnap(&[
        "schedule",
        "kubernetes",
        "--image",
        "registry.example.com/iamsnap:1.2.3",
        "--namespace",
        "backups",
        "--at",
        "01:50",
        "--spread",
        "30",
    ]);
    assert_exit(&out, 0);
    let docs = YamlLoader::load_from_str(&stdout(&out)).expect("valid YAML");
    assert_eq!(docs.len(), 3, "{}", stdout(&out));
    let mut seen = Vec::new();
    for doc in &docs {
        assert_eq!(text(doc, &["apiVersion"]), "batch/v1");
        assert_eq!(text(doc, &["kind"]), "CronJob");
        assert_eq!(text(doc, &["metadata", "namespace"]), "backups");
        assert_eq!(text(doc, &["spec", "concurrencyPolicy"]), "Forbid");
        assert_eq!(text(doc, &["spec", "timeZone"]), "Etc/UTC");
        let pod = &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(text(pod, &["restartPolicy"]), "Never");
        let container = &pod["containers"][0];
        assert_eq!(
            text(container, &["image"]),
            "registry.example.com/iamsnap:1.2.3"
        );
        let args: Vec<&str> = container["args"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(&args[..4], ["--log-format", "json", "backup", "--source"]);
        assert_eq!(
            container["envFrom"][0]["secretRef"]["name"].as_str(),
            Some("iamsnap-secrets")
        );
        assert_eq!(
            pod["volumes"][1]["secret"]["defaultMode"].as_i64(),
            Some(0o400),
            "the signing key is readable by its owner only"
        );
        let name = text(doc, &["metadata", "name"]);
        assert!(
            name.len() <= 52
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
        seen.push((
            name.to_string(),
            args[4].to_string(),
            text(doc, &["spec", "schedule"]).to_string(),
        ));
    }
    // Sources in the configuration's order, 10 minutes apart from 01:50 UTC.
    assert_eq!(
        seen,
        [
            ("iamsnap-backup-okta-us", "Okta_US", "50 1 * * *"),
            ("iamsnap-backup-okta-eu", "okta-eu", "0 2 * * *"),
            ("iamsnap-backup-okta-test", "okta-test", "10 2 * * *"),
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    let bad = ws.iamsnap(&["schedule", "kubernetes", "--at", "25:00"]);
    assert_exit(&bad, 2);
    assert!(
        stderr(&bad).contains("write the UTC start time as HH:MM"),
        "{}",
        describe(&bad)
    );
}
