//! The command line as users meet it: every help text and the usage errors, pinned with their
//! exact stdout, stderr and exit code in `tests/cmd/*.md`, so a change to the interface shows
//! up as a reviewed diff. Regenerate after an intended change with
//! `TRYCMD=overwrite cargo test --test cli_cases`.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        // The help shows this variable's value: pin it, whatever the environment says.
        .env("IAMSNAP_CONFIG", "iamsnap.toml")
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.md");
}
