//! Inputs the fuzzers found (and seeds worth keeping) under `fuzz/regressions/<target>/`,
//! replayed through the same entry points as the fuzz targets: none may panic.

use std::path::Path;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    assert!(!found.is_empty(), "{} holds no inputs", dir.display());
    found
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[test]
fn archive_reader_inputs() {
    for input in inputs("archive_reader") {
        iamsnap_engine::archive::fuzz::read_plaintext(&input);
    }
}

#[test]
fn manifest_inputs() {
    for input in inputs("manifest") {
        let _ = iamsnap_engine::archive::Manifest::from_json(&input);
    }
}

#[test]
fn snapshot_ref_inputs() {
    for input in inputs("snapshot_ref") {
        iamsnap_engine::repo::snapshot::fuzz_resolve(&input);
    }
}

#[test]
fn config_inputs() {
    for input in inputs("config") {
        if let Ok(text) = std::str::from_utf8(&input) {
            let _ = iamsnap::Config::parse(text, Path::new("fuzz.toml"));
        }
    }
}
