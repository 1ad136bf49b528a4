//! The archive reader on arbitrary plaintext: the fuzz input is encrypted to a fixed key, so
//! the fuzzer explores what lies behind age (zstd frames, tar headers, manifest, JSON lines).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    iamsnap_engine::archive::fuzz::read_plaintext(data);
});
