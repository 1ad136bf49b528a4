//! Every example under `config/` parses, and configuration mistakes are reported with the
//! file, line and field.

use std::path::Path;

use iamsnap::Config;

#[test]
fn every_example_config_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        // `iamsnap.toml.example` is the one the Debian package installs into /etc/iamsnap.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".toml") || name.ends_with(".toml.example") {
            let config = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                !config.sources.is_empty(),
                "{} configures no source",
                path.display()
            );
            seen += 1;
        }
    }
    assert!(seen >= 2, "expected the example configs, found {seen}");
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let text = "[repository]\nurl = \"file:///tmp/x\"\nrecipents = []\n";
    let err = Config::parse(text, Path::new("/etc/iamsnap.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/etc/iamsnap.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("recipents"), "{err}");
}

#[test]
fn unknown_provider_is_an_error() {
    let text = "[repository]\nurl = \"/tmp/x\"\n[sources.a]\nprovider = \"nope\"\n";
    let err = Config::parse(text, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn object_lock_needs_s3_and_days() {
    let text =
        "[repository]\nurl = \"/tmp/x\"\nobject_lock = { mode = \"governance\", days = 1 }\n";
    assert!(Config::parse(text, Path::new("c.toml")).is_err());
    let text =
        "[repository]\nurl = \"s3://b/p\"\nobject_lock = { mode = \"governance\", days = 0 }\n";
    assert!(Config::parse(text, Path::new("c.toml")).is_err());
    let text =
        "[repository]\nurl = \"s3://b/p\"\nobject_lock = { mode = \"compliance\", days = 7 }\n";
    assert!(Config::parse(text, Path::new("c.toml")).is_ok());
}

#[test]
fn unknown_field_in_a_source_is_named() {
    let text = "[repository]\nurl = \"/tmp/x\"\n\n[sources.a]\nprovider = \"okta\"\norg_url = \"https://x\"\ntokn_env = \"X\"\n";
    let err = Config::parse(text, Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tokn_env"), "{err}");
    assert!(err.contains("c.toml"), "{err}");
    assert!(err.contains("sources"), "{err}");
}

#[test]
fn exclude_kinds_names_kinds_of_the_provider_and_keeps_what_others_need() {
    let source = |exclude: &str| {
        format!(
            "[repository]\nurl = \"/tmp/x\"\n\n[sources.iam]\nprovider = \"aws-iam\"\nexclude_kinds = [{exclude}]\n"
        )
    };
    let ok = Config::parse(
        &source("\"aws.ssh_public_key\", \"aws.signing_certificate\""),
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(ok.sources["iam"].exclude_kinds.len(), 2);

    let err = Config::parse(&source("\"aws.sshkey\""), Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"aws.sshkey\"")
            && err.contains("aws-iam does not read")
            && err.contains("aws.ssh_public_key"),
        "{err}"
    );
    let err = Config::parse(&source("\"aws.user\""), Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("leaves out aws.user, which") && err.contains("depends on"),
        "{err}"
    );
}

#[test]
fn entra_source_names_an_entra_source_of_the_same_tenant() {
    let azure = "[repository]\nurl = \"/tmp/x\"\n\n[sources.az]\nprovider = \"azure-rbac\"\ntenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"a\"\nclient_secret_env = \"S\"\nentra_source = \"dir\"\n";
    for (extra, expected) in [
        ("", "sources.az.entra_source: no source named \"dir\""),
        (
            "\n[sources.dir]\nprovider = \"okta\"\norg_url = \"https://x.okta.com\"\ntoken_env = \"T\"\n",
            "\"dir\" is a okta source",
        ),
        (
            "\n[sources.dir]\nprovider = \"entra\"\ntenant_id = \"fabrikam.onmicrosoft.com\"\nclient_id = \"b\"\nclient_secret_env = \"E\"\n",
            "write the same tenant_id in both",
        ),
    ] {
        let err = Config::parse(&format!("{azure}{extra}"), Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{extra}: {err}");
    }
    let linked = "\n[sources.dir]\nprovider = \"entra\"\ntenant_id = \"Contoso.onmicrosoft.com\"\nclient_id = \"b\"\nclient_secret_env = \"E\"\n";
    Config::parse(&format!("{azure}{linked}"), Path::new("t.toml")).unwrap();
}
