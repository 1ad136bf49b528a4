//! Emulators of identity-provider APIs, built from their public references, for iamsnap's
//! tests, benchmarks and quickstart; and helpers that start real local servers (moto).

pub mod moto;
