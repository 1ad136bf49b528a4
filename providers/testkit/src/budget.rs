//! A fixed-window request budget, shared by the emulators that answer `429 Too Many Requests`
//! with `Retry-After` once a window's requests are spent (Microsoft Graph, Azure Resource
//! Manager).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most `limit` requests per window of `per`; unlimited when no limit is set.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    limit: Mutex<Option<(u64, Duration)>>,
    /// (window index, requests counted in it).
    window: Mutex<(u128, u64)>,
}

impl Budget {
    pub(crate) fn new(limit: Option<(u64, Duration)>) -> Self {
        Budget {
            limit: Mutex::new(limit),
            window: Mutex::new((0, 0)),
        }
    }

    /// Changes the limit (`None`: unlimited).
    pub(crate) fn set(&self, limit: Option<(u64, Duration)>) {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner()) = limit;
    }

    /// Counts one request against the window; `Err(seconds until it resets)` when spent.
    pub(crate) fn take(&self) -> Result<(), u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_window_says_when_it_resets() {
        let budget = Budget::new(Some((2, Duration::from_secs(60))));
        assert!(budget.take().is_ok() && budget.take().is_ok());
        let wait = budget.take().unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        budget.set(None);
        assert!(budget.take().is_ok());
    }
}
