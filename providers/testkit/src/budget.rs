//! A fixed-window request budget, shared by the emulators that answer 429 with `Retry-After`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most `limit` requests per window of length `per`; none when unset.
#[derive(Debug, Default)]
pub struct Budget {
    limit: Mutex<Option<(u64, Duration)>>,
    /// (window index, requests counted in it).
    window: Mutex<(u128, u64)>,
}

impl Budget {
    /// A budget of `requests` per `per`, or unlimited.
    pub fn new(limit: Option<(u64, Duration)>) -> Self {
        Budget {
            limit: Mutex::new(limit),
            window: Mutex::new((0, 0)),
        }
    }

    /// Counts one request; `Err(seconds until the window resets)` when spent.
    pub fn take(&self) -> Result<(), u64> {
        let Some((limit, per)) = *self.limit.lock().unwrap_or_else(|e| e.into_inner()) else {
            return Ok(());
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let per_ms = per.as_millis().max(1);
        let index = now / per_ms;
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.0 != index {
            *window = (index, 0);
        }
        if window.1 >= limit {
            let left_ms = (index + 1) * per_ms - now;
            return Err((left_ms.div_ceil(1000) as u64).max(1));
        }
        window.1 += 1;
        Ok(())
    }
}
