//! Who made each change, on AWS IAM: moto behind the testkit's CloudTrail front, which records
//! every change made through it and answers `LookupEvents`. After a backup, two IAM users,
//! each with an access key of their own, break the account; `diff iam@latest live:iam --who`
//! names the actor of each deletion from CloudTrail, `incidents` groups the destructive calls
//! by actor with a `restore --only` command, and that command, run as printed, brings back
//! what its actor took. The same on one account's Organizations and Identity Center, whose
//! events CloudTrail names by id.

mod support;

#[path = "../providers/aws-iam/tests/common/mod.rs"]
mod iam;
#[path = "../providers/aws-organizations/tests/common/mod.rs"]
mod org;
#[path = "../providers/aws-identity-center/tests/common/mod.rs"]
mod sso;

use std::time::Duration;

use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use iamsnap_testkit::cloudtrail::CloudTrailFront;
use iamsnap_testkit::moto::MotoServer;
use serde_json::Value;
use support::aws::{MOTO_CREDENTIALS, json_of};
use support::*;

/// A customer-managed policy a role holds.
const POLICY_DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

/// An IAM user with an access key of their own, and a client signing with it.
async fn actor(root: &aws_sdk_iam::Client, name: &str) -> aws_sdk_iam::Client {
    let credentials = access_key(root, name).await;
    let conf = root
        .config()
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// A new IAM user's access key.
async fn access_key(root: &aws_sdk_iam::Client, name: &str) -> Credentials {
    root.create_user().user_name(name).send().await.unwrap();
    let key = root
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "tests",
    )
}

/// The events of the removed change of `kind` and `key`.
fn events_of<'a>(changes: &'a [Value], kind: &str, key: &str) -> &'a [Value] {
    let change = changes
        .iter()
        .find(|c| c["kind"] == kind && c["key"] == key && c["status"] == "removed")
        .unwrap_or_else(|| panic!("no removed {kind} {key} in {changes:#?}"));
    change["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events for {change:#}"))
}

#[test]
fn diff_who_and_incidents_name_each_actor_from_cloudtrail_and_undo_their_changes() {
    let moto = MotoServer::start();
    let front = CloudTrailFront::start(&moto.endpoint);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = iam::iam_at(front.url());
    let (eve, mallory, policy_arn) = runtime.block_on(async {
        for name in ["ada", "bob", "cy"] {
            root.create_user().user_name(name).send().await.unwrap();
        }
        root.create_group().group_name("ops").send().await.unwrap();
        for name in ["ada", "bob"] {
            root.add_user_to_group()
                .group_name("ops")
                .user_name(name)
                .send()
                .await
                .unwrap();
        }
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        root.create_role()
            .role_name("deploy")
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
        let policy = root
            .create_policy()
            .policy_name("list-buckets")
            .policy_document(POLICY_DOC)
            .send()
            .await
            .unwrap();
        let arn = policy.policy().unwrap().arn().unwrap().to_string();
        root.attach_role_policy()
            .role_name("deploy")
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
        let eve = actor(&root, "eve").await;
        let mallory = actor(&root, "mallory").await;
        (eve, mallory, arn)
    });

    // CloudTrail's times are whole seconds, and so is a snapshot's: the backup starts in the
    // second after the setup's calls, and the incident in the second after the backup, as
    // they would for people; within one second the log cannot tell before from after.
    std::thread::sleep(Duration::from_millis(1100));
    let (_ws, run) = support::aws::workspace(front.url(), &[("iam", "aws-iam")], MOTO_CREDENTIALS);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    std::thread::sleep(Duration::from_millis(1100));
    let incident_start = chrono::Utc::now();

    // The incident: eve deletes a user and takes another out of a group; mallory strips a
    // role of its policy and deletes it.
    runtime.block_on(async {
        eve.delete_user().user_name("cy").send().await.unwrap();
        eve.remove_user_from_group()
            .group_name("ops")
            .user_name("bob")
            .send()
            .await
            .unwrap();
        mallory
            .detach_role_policy()
            .role_name("deploy")
            .policy_arn(&policy_arn)
            .send()
            .await
            .unwrap();
        mallory
            .delete_role()
            .role_name("deploy")
            .send()
            .await
            .unwrap();
    });
    let recorded = front.recorded();
    assert!(
        recorded.ends_with(&[
            "DeleteUser".to_string(),
            "RemoveUserFromGroup".into(),
            "DetachRolePolicy".into(),
            "DeleteRole".into()
        ]),
        "{recorded:?}"
    );
    assert!(
        !recorded
            .iter()
            .any(|name| name.starts_with("List") || name.starts_with("Get"))
    );

    // diff --who names the actor of each deletion, with the client's address.
    let diff = run(&[
        "diff",
        "iam@latest",
        "live:iam",
        "--who",
        "--format",
        "json",
    ]);
    assert_exit(&diff, 1);
    let report = json_of(&diff);
    let audit = &report["summary"]["audit"];
    assert_eq!(audit["source"], "iam", "{audit}");
    assert!(audit["note"].is_null(), "{audit}");
    let changes = report["changes"].as_array().unwrap();
    let attachment = format!("role/deploy|{policy_arn}");
    for (kind, key, who, operation) in [
        ("aws.user", "cy", "eve", "DeleteUser"),
        (
            "aws.group_membership",
            "ops|bob",
            "eve",
            "RemoveUserFromGroup",
        ),
        (
            "aws.policy_attachment",
            attachment.as_str(),
            "mallory",
            "DetachRolePolicy",
        ),
        ("aws.role", "deploy", "mallory", "DeleteRole"),
    ] {
        let events = events_of(changes, kind, key);
        assert!(
            events.iter().any(|e| e["actor"]["name"] == who
                && e["actor"]["type"] == "user"
                && e["actor"]["id"] == format!("arn:aws:iam::123456789012:user/{who}").as_str()
                && e["operation"] == operation
                && e["client_ip"] == "127.0.0.1"
                && e["outcome"] == "success"),
            "{kind} {key}: {events:#?}"
        );
        assert!(
            events.iter().all(|e| e["actor"]["name"] == who),
            "only {who} touched {kind} {key} after the backup: {events:#?}"
        );
    }
    let text = run(&["diff", "iam@latest", "live:iam", "--who", "--full"]);
    assert_exit(&text, 1);
    let text = stdout(&text);
    assert!(
        text.contains("by eve (arn:aws:iam::123456789012:user/eve)")
            && text.contains("DeleteUser from 127.0.0.1"),
        "{text}"
    );

    // incidents: the destructive calls since the incident began, by actor, each with the
    // command that undoes them.
    let since = incident_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let listed = run(&["incidents", "iam", "--since", &since, "--format", "json"]);
    assert_exit(&listed, 1);
    let found = json_of(&listed);
    let actors = found["actors"].as_array().unwrap();
    let names: Vec<&str> = actors
        .iter()
        .map(|a| a["actor"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eve", "mallory"], "{found:#}");
    let ops = |a: &Value| -> Vec<String> {
        a["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["destructive"].as_str().unwrap(),
                    e["operation"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        ops(&actors[0]),
        ["deletion DeleteUser", "deletion RemoveUserFromGroup"]
    );
    assert_eq!(
        ops(&actors[1]),
        ["policy_change DetachRolePolicy", "deletion DeleteRole"]
    );
    let eve_undo = actors[0]["restore"].as_str().unwrap();
    assert!(
        eve_undo.starts_with("iamsnap restore iam/")
            && eve_undo.contains("--only 'aws.group_membership:ops|bob'")
            && eve_undo.contains("--only aws.user:cy")
            && !eve_undo.contains("deploy"),
        "{eve_undo}"
    );
    let mallory_undo = actors[1]["restore"].as_str().unwrap();
    assert!(
        mallory_undo.contains("--only aws.role:deploy")
            && mallory_undo.contains(&format!("'aws.policy_attachment:{attachment}'")),
        "{mallory_undo}"
    );
    let text = run(&["incidents", "iam", "--since", &since]);
    assert_exit(&text, 1);
    assert!(stdout(&text).contains(eve_undo), "{}", stdout(&text));

    // eve's command, run as printed, brings back what she took and nothing of mallory's.
    let args = shell_words(eve_undo);
    let mut command: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    command.extend(["--yes", "--format", "json"]);
    let applied = run(&command);
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0);
    runtime.block_on(async {
        root.get_user().user_name("cy").send().await.unwrap();
        let groups = root
            .list_groups_for_user()
            .user_name("bob")
            .send()
            .await
            .unwrap();
        assert_eq!(groups.groups()[0].group_name(), "ops");
        assert!(root.get_role().role_name("deploy").send().await.is_err());
    });
}

#[test]
fn organizations_and_identity_center_events_name_their_actors_by_id() {
    let moto = MotoServer::start_identity_center();
    let front = CloudTrailFront::start(&moto.endpoint);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let organizations = org::client(front.url());
    let seeded = runtime.block_on(org::seed(&organizations));
    runtime.block_on(sso::seed(front.url(), sso::SMALL));
    let bot_key = runtime.block_on(access_key(&iam::iam_at(front.url()), "ops-bot"));
    let bot = aws_sdk_organizations::Client::from_conf(
        organizations
            .config()
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(bot_key))
            .build(),
    );
    let org_before = runtime.block_on(org::facts(&organizations));
    let sso_before = runtime.block_on(sso::live(front.url()));

    let sources = [("org", "aws-organizations"), ("sso", "aws-identity-center")];
    let (_ws, run) = support::aws::workspace(front.url(), &sources, MOTO_CREDENTIALS);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    std::thread::sleep(Duration::from_millis(1100));
    let incident_start = chrono::Utc::now();

    // ops-bot lifts the region fence (detached, then deleted); a user of Identity Center is
    // deleted with moto's default key, which the front takes for the account's root.
    let fence = seeded.policy("RegionFence").to_string();
    let doomed = sso_before
        .iter()
        .find(|r| r.kind == "sso.user")
        .unwrap()
        .clone();
    runtime.block_on(async {
        bot.detach_policy()
            .policy_id(&fence)
            .target_id(seeded.unit("Workloads/Prod"))
            .send()
            .await
            .unwrap();
        bot.delete_policy().policy_id(&fence).send().await.unwrap();
        sso::delete(front.url(), &doomed).await.unwrap();
    });

    let diff = json_of(&run(&[
        "diff",
        "org@latest",
        "live:org",
        "--who",
        "--format",
        "json",
    ]));
    assert!(diff["summary"]["audit"]["note"].is_null(), "{diff:#}");
    let changes = diff["changes"].as_array().unwrap();
    let policy = events_of(
        changes,
        "aws_org.policy",
        "SERVICE_CONTROL_POLICY/RegionFence",
    );
    assert!(
        policy.iter().any(|e| e["operation"] == "DeletePolicy"
            && e["actor"]["name"] == "ops-bot"
            && e["destructive"] == "policy_change"),
        "{policy:#?}"
    );
    let attachment = events_of(
        changes,
        "aws_org.policy_attachment",
        "ou/Workloads/Prod|SERVICE_CONTROL_POLICY/RegionFence",
    );
    assert!(
        attachment
            .iter()
            .any(|e| e["operation"] == "DetachPolicy" && e["actor"]["name"] == "ops-bot"),
        "{attachment:#?}"
    );

    let diff = json_of(&run(&[
        "diff",
        "sso@latest",
        "live:sso",
        "--who",
        "--format",
        "json",
    ]));
    assert!(diff["summary"]["audit"]["note"].is_null(), "{diff:#}");
    let removed: Vec<&Value> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "removed")
        .collect();
    assert!(
        removed.iter().any(|c| c["kind"] == "sso.user"),
        "{removed:#?}"
    );
    for change in &removed {
        let events = change["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events for {change:#}"));
        assert!(
            events.iter().any(|e| e["actor"]["name"] == "root"
                && e["actor"]["id"] == "arn:aws:iam::123456789012:root"
                && e["destructive"] == "deletion"),
            "{change:#}"
        );
    }
    let user = events_of(diff["changes"].as_array().unwrap(), "sso.user", &doomed.key);
    assert!(
        user.iter().any(|e| e["operation"] == "DeleteUser"),
        "{user:#?}"
    );

    // incidents on the organization: ops-bot's two calls, undone by one command.
    let since = incident_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let listed = json_of(&run(&[
        "incidents",
        "org",
        "--since",
        &since,
        "--format",
        "json",
    ]));
    let actors = listed["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 1, "{listed:#}");
    assert_eq!(actors[0]["actor"]["name"], "ops-bot");
    let undo = actors[0]["restore"].as_str().unwrap();
    assert!(
        undo.contains("--only aws_org.policy:SERVICE_CONTROL_POLICY/RegionFence")
            && undo.contains(
                "'aws_org.policy_attachment:ou/Workloads/Prod|SERVICE_CONTROL_POLICY/RegionFence'"
            ),
        "{undo}"
    );
    let args = shell_words(undo);
    let mut command: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    command.extend(["--yes", "--format", "json"]);
    let applied = run(&command);
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0);
    assert_eq!(runtime.block_on(org::facts(&organizations)), org_before);
}
