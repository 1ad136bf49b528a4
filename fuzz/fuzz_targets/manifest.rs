#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = iamsnap_engine::archive::Manifest::from_json(data);
});
