//! `iamsnap completions` and `iamsnap man`: generated from the command line itself, they must
//! name every command and load in the shells they are for.

use std::process::Command as Process;

use assert_cmd::Command;

fn iamsnap(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("iamsnap")
        .unwrap()
        .args(args)
        // Neither command may need a configuration, even a broken one.
        .env("IAMSNAP_CONFIG", "/nonexistent/iamsnap.toml")
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = iamsnap(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

const COMMANDS: [&str; 10] = [
    "init",
    "key",
    "backup",
    "snapshots",
    "show",
    "verify",
    "export",
    "diff",
    "restore",
    "forget",
];

#[test]
fn completion_scripts_name_every_command_and_bash_loads_its_own() {
    let bash = stdout(&["completions", "bash"]);
    for command in COMMANDS {
        assert!(bash.contains(command), "bash script lacks {command}");
    }
    assert!(
        bash.contains("--max-deletes"),
        "restore's options are completed"
    );
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("iamsnap.bash");
    std::fs::write(&script, &bash).unwrap();
    // Sourcing it registers the completion function for the command.
    let loaded = Process::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p iamsnap",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{loaded:?}");
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("iamsnap"));

    assert!(stdout(&["completions", "zsh"]).starts_with("#compdef iamsnap"));
    assert!(stdout(&["completions", "fish"]).contains("complete -c iamsnap"));
    assert!(stdout(&["completions", "powershell"]).contains("Register-ArgumentCompleter"));

    let unknown = iamsnap(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("possible values"));
}

#[test]
fn the_manual_covers_every_command_and_writes_one_page_each() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH iamsnap 1"), "{page:.200}");
    for command in COMMANDS {
        assert!(page.contains(command), "the page lacks {command}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    stdout(&["man", "--out", out.to_str().unwrap()]);
    for command in COMMANDS {
        let sub = std::fs::read_to_string(out.join(format!("iamsnap-{command}.1")))
            .unwrap_or_else(|e| panic!("iamsnap-{command}.1: {e}"));
        assert!(
            sub.contains(&format!(".TH iamsnap-{command} 1")),
            "{sub:.200}"
        );
    }
    assert!(
        std::fs::read_to_string(out.join("iamsnap-restore.1"))
            .unwrap()
            .contains("max\\-deletes")
    );
}
