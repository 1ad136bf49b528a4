//! `iamsnap doctor --restore` end to end against the Entra ID, Azure and Google Cloud emulators:
//! each provider is asked which writes the credentials may make, without making any. Full
//! rights exit 0; read-only credentials name the missing write permission in the provider's
//! words and exit 3; a missing read permission exits 3 naming it; credentials about to expire
//! warn. No secret or token is printed.

mod support;

use std::process::Output;

use serde_json::Value;
use support::{Workspace, assert_exit, describe, stdout, write_secret};

/// The check `check` of `scope` in a JSON report.
fn check<'a>(report: &'a Value, scope: &str, check: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == scope && c["check"] == check)
        .unwrap_or_else(|| panic!("no check {scope}/{check} in {report:#}"))
}

fn status(report: &Value, scope: &str, name: &str) -> String {
    check(report, scope, name)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn detail(report: &Value, scope: &str, name: &str) -> String {
    check(report, scope, name)["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `doctor` with `args` and `--format json`: its report, after checking the exit status and
/// that none of `secrets` was printed.
fn doctor(ws: &Workspace, args: &[&str], exit: i32, secrets: &[String]) -> Value {
    let mut all = vec!["doctor", "--format", "json"];
    all.extend_from_slice(args);
    let out: Output = ws.iamsnap(&all);
    assert_exit(&out, exit);
    for secret in secrets {
        assert!(
            !stdout(&out).contains(secret.as_str())
                && !support::stderr(&out).contains(secret.as_str()),
            "a secret was printed: {}",
            describe(&out)
        );
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

mod entra {
    use super::*;
    use support::entra::{CLIENT_ID, SECRET, Tenant, workspace};

    /// What `docs/entra.md` lists for backup, and nothing to write with.
    const READ_ONLY: &[&str] = &[
        "User.Read.All",
        "GroupMember.Read.All",
        "Application.Read.All",
        "DelegatedPermissionGrant.Read.All",
        "RoleManagement.Read.Directory",
        "AdministrativeUnit.Read.All",
        "Policy.Read.All",
        "Agreement.Read.All",
        "Directory.Read.All",
        "AuditLog.Read.All",
    ];

    /// The tenant knows the client's app registration, whose one secret ends in `days`.
    fn register(tenant: &Tenant, days: i64) {
        let end = (chrono::Utc::now() + chrono::TimeDelta::days(days))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        tenant.entra.with_tenant(|t| {
            t.add_client_principal(CLIENT_ID, "iamsnap-doctor");
            let app = t
                .by_property("applications", "appId", CLIENT_ID)
                .expect("registered");
            t.collection_mut("applications").get_mut(&app).unwrap()["passwordCredentials"][0]
                ["endDateTime"] = end.into();
        });
    }

    fn secrets(tenant: &Tenant) -> Vec<String> {
        let mut all = tenant.entra.issued_tokens();
        all.push(SECRET.to_string());
        all
    }

    fn ready(tenant: &Tenant) -> Workspace {
        let ws = workspace(tenant);
        assert_exit(&ws.iamsnap(&["init"]), 0);
        ws
    }

    #[test]
    fn full_rights_pass_and_the_token_expiry_is_said() {
        let tenant = Tenant::start();
        register(&tenant, 365);
        let ws = ready(&tenant);
        let report = doctor(&ws, &["--restore"], 0, &secrets(&tenant));
        assert_eq!(status(&report, "entra-test", "restore permissions"), "ok");
        assert_eq!(status(&report, "entra-test", "client secret"), "ok");
        let credentials = detail(&report, "entra-test", "credentials");
        assert!(credentials.contains("valid until"), "{credentials}");
        let reads = detail(&report, "entra-test", "reads");
        assert!(reads.contains("Policy.Read.All"), "{reads}");
        // The report names no token, whichever were issued meanwhile.
        let report = doctor(&ws, &["--restore"], 0, &secrets(&tenant));
        assert_eq!(report["status"], "ok");
    }

    #[test]
    fn a_read_only_app_fails_restore_naming_each_missing_write_permission() {
        let tenant = Tenant::start_with(READ_ONLY);
        register(&tenant, 365);
        let ws = ready(&tenant);
        // Everything a backup needs is granted.
        doctor(&ws, &[], 0, &secrets(&tenant));
        let report = doctor(&ws, &["--restore"], 3, &secrets(&tenant));
        assert_eq!(
            status(&report, "entra-test", "restore User.ReadWrite.All"),
            "fail"
        );
        let groups = detail(&report, "entra-test", "restore Group.ReadWrite.All");
        assert!(groups.contains("entra.group_member"), "{groups}");
        assert!(groups.contains(CLIENT_ID), "{groups}");
        assert_eq!(
            status(
                &report,
                "entra-test",
                "restore Policy.ReadWrite.ConditionalAccess"
            ),
            "fail"
        );
    }

    #[test]
    fn a_missing_read_permission_fails_naming_it() {
        let tenant = Tenant::start_without("Policy.Read.All");
        register(&tenant, 365);
        let ws = ready(&tenant);
        let report = doctor(&ws, &[], 3, &secrets(&tenant));
        let line = detail(&report, "entra-test", "read Policy.Read.All");
        assert!(line.contains("conditional access"), "{line}");
        assert_eq!(
            status(&report, "entra-test", "read Policy.Read.All"),
            "fail"
        );
    }

    #[test]
    fn a_client_secret_ending_within_30_days_warns() {
        let tenant = Tenant::start();
        register(&tenant, 10);
        let ws = ready(&tenant);
        let report = doctor(&ws, &[], 1, &secrets(&tenant));
        let line = detail(&report, "entra-test", "client secret");
        assert!(line.contains("within 30 days"), "{line}");
        assert_eq!(status(&report, "entra-test", "client secret"), "warn");
    }
}

mod azure {
    use super::*;
    use iamsnap_testkit::azure::{AzureEmulator, Permission, RoleDefinition, RunningAzure};

    const CLIENT_ID: &str = "5e0c1a2b-4444-4000-8000-0000000d0c70";
    const SECRET: &str = "azure-secret-DO-NOT-LEAK-d0c7";
    /// Azure's built-in Reader.
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

    struct Tenant {
        azure: RunningAzure,
        _runtime: tokio::runtime::Runtime,
    }

    fn start() -> Tenant {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let azure = runtime
            .block_on(
                AzureEmulator::builder()
                    .tenant("contoso-doctor")
                    .client(CLIENT_ID, SECRET)
                    .subscriptions(2)
                    .resource_groups(4)
                    .assignments(20)
                    .custom_roles(2)
                    .locks(2)
                    .seed(9)
                    .start(),
            )
            .expect("the Azure emulator starts");
        Tenant {
            azure,
            _runtime: runtime,
        }
    }

    /// Every role assignment of the application now grants `role` instead.
    fn assign_only(tenant: &Tenant, role: &str) {
        let oid = tenant.azure.client_oid().to_string();
        tenant.azure.with_state(|arm| {
            let mine: Vec<_> = arm
                .role_assignments
                .values_mut()
                .filter(|a| a.principal_id.eq_ignore_ascii_case(&oid))
                .collect();
            assert!(!mine.is_empty(), "the application holds a role");
            for a in mine {
                a.role = role.to_string();
            }
        });
    }

    fn ready(tenant: &Tenant) -> Workspace {
        let ws = Workspace::new("http://127.0.0.1:9");
        write_secret(&ws.path("azure.secret"), SECRET);
        let text = format!(
            "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.azure-test]\nprovider = \"azure-rbac\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"azure.secret\"\nlogin_url = \"{url}\"\nmanagement_url = \"{url}\"\n",
            ws.recipient,
            ws.verify_key,
            tenant.azure.tenant_id(),
            url = tenant.azure.base_url()
        );
        std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
        assert_exit(&ws.iamsnap(&["init"]), 0);
        ws
    }

    fn secrets(tenant: &Tenant) -> Vec<String> {
        let mut all = tenant.azure.issued_tokens();
        all.push(SECRET.to_string());
        all
    }

    #[test]
    fn user_access_administrator_passes() {
        let tenant = start();
        let ws = ready(&tenant);
        let report = doctor(&ws, &["--restore"], 0, &secrets(&tenant));
        let line = detail(&report, "azure-test", "restore permissions");
        assert!(line.contains("at 2 scope(s)"), "{line}");
        assert_eq!(status(&report, "azure-test", "reads"), "ok");
    }

    #[test]
    fn a_reader_fails_restore_naming_each_missing_operation() {
        let tenant = start();
        assign_only(&tenant, READER);
        let ws = ready(&tenant);
        doctor(&ws, &[], 0, &secrets(&tenant));
        let report = doctor(&ws, &["--restore"], 3, &secrets(&tenant));
        let line = detail(
            &report,
            "azure-test",
            "restore Microsoft.Authorization/roleAssignments/write",
        );
        assert!(line.contains("/subscriptions/"), "{line}");
        assert_eq!(
            status(
                &report,
                "azure-test",
                "restore Microsoft.Authorization/locks/delete"
            ),
            "fail"
        );
    }

    #[test]
    fn a_missing_read_fails_naming_it() {
        let tenant = start();
        // A custom role that reads everything but locks.
        let id = "0d0c7000-0000-4000-8000-00000000d0c7";
        tenant.azure.with_state(|arm| {
            let mut role: RoleDefinition = arm.role_definitions[READER].clone();
            role.name = id.to_string();
            role.role_name = "Reader but locks".into();
            role.custom = true;
            role.permissions = vec![Permission {
                actions: vec!["*/read".into()],
                not_actions: vec!["Microsoft.Authorization/locks/read".into()],
                ..Permission::default()
            }];
            arm.role_definitions.insert(id.to_string(), role);
        });
        assign_only(&tenant, id);
        let ws = ready(&tenant);
        let report = doctor(&ws, &[], 3, &secrets(&tenant));
        assert_eq!(
            status(
                &report,
                "azure-test",
                "read Microsoft.Authorization/locks/read"
            ),
            "fail"
        );
        assert_eq!(report["status"], "fail");
    }
}

mod gcp {
    use super::*;
    use iamsnap_testkit::gcp::{GcpEmulator, RunningGcp};

    const ORG: &str = "515151515151";

    struct Cloud {
        gcp: RunningGcp,
        _runtime: tokio::runtime::Runtime,
    }

    fn start(roles: &[&str], key: Option<std::time::Duration>) -> Cloud {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut builder = GcpEmulator::builder()
            .org(ORG)
            .folders(2)
            .projects(4)
            .service_accounts(6)
            .custom_roles(3)
            .seed(23)
            .caller_roles(roles);
        if let Some(lifetime) = key {
            builder = builder.key_expires_in(lifetime);
        }
        let gcp = runtime
            .block_on(builder.start())
            .expect("the Google Cloud emulator starts");
        Cloud {
            gcp,
            _runtime: runtime,
        }
    }

    fn ready(cloud: &Cloud) -> Workspace {
        let ws = Workspace::new("http://127.0.0.1:9");
        write_secret(&ws.path("gcp-key.json"), &cloud.gcp.key_file().to_string());
        let text = format!(
            "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.gcp-test]\nprovider = \"gcp-iam\"\norganization = \"{ORG}\"\ncredentials_file = \"gcp-key.json\"\ntoken_url = \"{url}/token\"\nresourcemanager_url = \"{url}\"\niam_url = \"{url}\"\n",
            ws.recipient,
            ws.verify_key,
            url = cloud.gcp.base_url()
        );
        std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
        assert_exit(&ws.iamsnap(&["init"]), 0);
        ws
    }

    fn secrets(cloud: &Cloud) -> Vec<String> {
        let key = cloud.gcp.key_file();
        let pem = key["private_key"].as_str().unwrap();
        // A line from the middle of the key: the PEM's armour lines are no secret.
        vec![pem.lines().nth(3).unwrap().to_string()]
    }

    const BACKUP: &[&str] = &["roles/iam.securityReviewer", "roles/browser"];
    const RESTORE: &[&str] = &[
        "roles/iam.securityReviewer",
        "roles/browser",
        "roles/resourcemanager.organizationAdmin",
        "roles/iam.organizationRoleAdmin",
        "roles/iam.serviceAccountAdmin",
    ];

    #[test]
    fn the_documented_restore_roles_pass() {
        let cloud = start(RESTORE, None);
        let ws = ready(&cloud);
        let report = doctor(&ws, &["--restore"], 0, &secrets(&cloud));
        let line = detail(&report, "gcp-test", "restore permissions");
        // The organization, two folders and four projects.
        assert!(line.contains("on 7 resource(s)"), "{line}");
        assert_eq!(status(&report, "gcp-test", "key expiry"), "ok");
    }

    #[test]
    fn backup_roles_fail_restore_naming_each_missing_permission() {
        let cloud = start(BACKUP, None);
        let ws = ready(&cloud);
        doctor(&ws, &[], 0, &secrets(&cloud));
        let report = doctor(&ws, &["--restore"], 3, &secrets(&cloud));
        let line = detail(
            &report,
            "gcp-test",
            "restore resourcemanager.projects.setIamPolicy",
        );
        assert!(line.contains("and 1 more"), "four projects: {line}");
        assert!(line.contains(&cloud.gcp.caller_member()[15..]), "{line}");
        assert_eq!(
            status(&report, "gcp-test", "restore iam.serviceAccounts.undelete"),
            "fail"
        );
        assert_eq!(
            status(&report, "gcp-test", "restore iam.roles.create"),
            "fail"
        );
    }

    #[test]
    fn a_missing_read_permission_fails_naming_it() {
        // Browsing the hierarchy without reading policies elsewhere than in projects.
        let cloud = start(&["roles/browser"], None);
        let ws = ready(&cloud);
        let report = doctor(&ws, &[], 3, &secrets(&cloud));
        let line = detail(
            &report,
            "gcp-test",
            "read resourcemanager.organizations.getIamPolicy",
        );
        assert!(line.contains(&format!("organizations/{ORG}")), "{line}");
        assert_eq!(
            status(&report, "gcp-test", "read iam.serviceAccounts.list"),
            "fail"
        );
    }

    #[test]
    fn a_key_that_ends_soon_warns() {
        let cloud = start(BACKUP, Some(std::time::Duration::from_secs(5 * 86_400)));
        let ws = ready(&cloud);
        let report = doctor(&ws, &[], 1, &secrets(&cloud));
        let line = detail(&report, "gcp-test", "key expiry");
        assert!(line.contains("(4 days)"), "{line}");
        assert_eq!(status(&report, "gcp-test", "key expiry"), "warn");
    }
}
