#![no_main]

use libfuzzer_sys::fuzz_target;

// Parsing and resolving: a reference that parses must resolve to a snapshot or to an error.
fuzz_target!(|data: &[u8]| {
    iamsnap_engine::repo::snapshot::fuzz_resolve(data);
});
