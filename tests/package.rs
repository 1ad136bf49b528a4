//! The Debian package, built by `./scripts/package.sh` from the binary these tests run: it
//! installs a working binary, the backup's and the drill's units (disabled) that systemd
//! accepts, completions, manual pages, an example configuration, and maintainer scripts that
//! pass shellcheck.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The package built from this test run's binary (`target/debug/iamsnap`).
fn build_package() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_iamsnap"));
    let target = bin.parent().unwrap().parent().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/package.sh"))
        .args(["--profile", "dev", "--no-build", "--fast"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "package.sh failed (is cargo-deb installed? ./scripts/test.sh installs it): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let version = env!("CARGO_PKG_VERSION");
    let deb = target.join(format!("debian/iamsnap_{version}-1_amd64.deb"));
    assert!(deb.exists(), "{} was not written", deb.display());
    deb
}

fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e} (./scripts/test.sh installs it)"))
}

#[test]
fn the_debian_package_installs_a_working_iamsnap_with_units_completions_and_manuals() {
    let deb = build_package();
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("root");
    let control = dir.path().join("control");
    let deb = deb.to_str().unwrap();
    assert!(
        run("dpkg-deb", &["-x", deb, files.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        run("dpkg-deb", &["-e", deb, control.to_str().unwrap()])
            .status
            .success()
    );

    let bin = files.join("usr/bin/iamsnap");
    let version = run(bin.to_str().unwrap(), &["--version"]);
    assert!(version.status.success(), "{version:?}");
    let version = String::from_utf8(version.stdout).unwrap();
    assert!(
        version.starts_with(&format!("iamsnap {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );

    for path in [
        "usr/share/bash-completion/completions/iamsnap",
        "usr/share/zsh/vendor-completions/_iamsnap",
        "usr/share/fish/vendor_completions.d/iamsnap.fish",
        "usr/share/man/man1/iamsnap.1.gz",
        "usr/share/man/man1/iamsnap-restore.1.gz",
        "etc/iamsnap/iamsnap.toml.example",
        "usr/share/doc/iamsnap/copyright",
        "usr/share/doc/iamsnap/CHANGELOG.md",
        "usr/share/doc/iamsnap/docs/format-versions.md",
    ] {
        let file = files.join(path);
        let size = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .len();
        assert!(size > 0, "{path} is empty");
    }
    let bash = std::fs::read_to_string(files.join("usr/share/bash-completion/completions/iamsnap"))
        .unwrap();
    assert!(
        bash.contains("restore"),
        "the bash completion names the commands"
    );

    // The example configuration is one the packaged binary accepts.
    let example = files.join("etc/iamsnap/iamsnap.toml.example");
    let checked = Command::new(&bin)
        .args(["--config", example.to_str().unwrap(), "snapshots"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        !stderr.contains("invalid configuration"),
        "the example does not parse: {stderr}"
    );

    // The units as installed, pointed at the extracted binary (systemd checks it exists).
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let mut unit_paths = Vec::new();
    for name in [
        "iamsnap-backup.service",
        "iamsnap-backup.timer",
        "iamsnap-drill.service",
        "iamsnap-drill.timer",
    ] {
        let text = std::fs::read_to_string(files.join("lib/systemd/system").join(name)).unwrap();
        assert!(
            !text.contains("/usr/local/bin"),
            "{name} runs /usr/bin/iamsnap"
        );
        let path = units.join(name);
        std::fs::write(
            &path,
            text.replace("/usr/bin/iamsnap", bin.to_str().unwrap()),
        )
        .unwrap();
        unit_paths.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["verify"];
    args.extend(unit_paths.iter().map(String::as_str));
    let verified = run("systemd-analyze", &args);
    assert!(verified.status.success(), "{verified:?}");
    assert_eq!(
        String::from_utf8_lossy(&verified.stderr).trim(),
        "",
        "systemd-analyze warns"
    );
    let drill = std::fs::read_to_string(units.join("iamsnap-drill.service")).unwrap();
    assert!(
        drill.contains(" drill ${DRILL_SNAPSHOT} --target ${DRILL_SANDBOX} ")
            && drill.contains("EnvironmentFile=/etc/iamsnap/drill.env"),
        "the drill names what it drills in drill.env, not in the unit: {drill}"
    );
    let timer = std::fs::read_to_string(units.join("iamsnap-drill.timer")).unwrap();
    assert!(timer.contains("OnCalendar=Sun "), "weekly: {timer}");

    // Installed disabled: nothing links a unit into a target, and no script enables one.
    assert!(
        !files.join("etc/systemd").exists(),
        "the package enables a unit"
    );

    // Maintainer scripts: present, executable, lint-clean, and the user they create has a
    // private home.
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.join(script);
        let linted = run("shellcheck", &[path.to_str().unwrap()]);
        assert!(linted.status.success(), "{script}: {linted:?}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("systemctl enable"),
            "{script} enables a unit"
        );
    }
    let prerm = std::fs::read_to_string(control.join("prerm")).unwrap();
    assert!(
        prerm.contains("iamsnap-drill.timer"),
        "a scheduled drill is stopped before the binary goes: {prerm}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert!(
        postinst.contains("install -d -m 0700 -o iamsnap -g iamsnap /var/lib/iamsnap"),
        "{postinst}"
    );
    let fields = std::fs::read_to_string(control.join("control")).unwrap();
    assert!(
        fields.contains("Depends:") && fields.contains("adduser"),
        "{fields}"
    );
}
