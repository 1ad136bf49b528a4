//! What the tests of several modules share.

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::ErrorBody;

/// A header map of `(name, value)` pairs.
pub(crate) fn header_map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

/// A provider's error format: `{"fault": {"id": …, "text": …}}`, read as `id: text`.
#[derive(Debug)]
pub(crate) struct Fault;

impl ErrorBody for Fault {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let fault = value.get("fault")?;
        Some(format!(
            "{}: {}",
            fault["id"].as_str()?,
            fault["text"].as_str()?
        ))
    }
}
