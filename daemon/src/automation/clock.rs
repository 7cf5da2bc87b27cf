//! The time automation runs on: the system clock, or a test clock that only moves when told
//! (`POST /api/v1/automation/clock`, enabled by `[automation] test_clock = true`), so that a
//! test can wait out 24 hours in a second.

use std::sync::atomic::{AtomicI64, Ordering};

/// The clock.
#[derive(Debug)]
pub struct Clock {
    test: Option<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { test: None }
    }

    /// A test clock starting at `at` (ns).
    pub fn test(at: i64) -> Clock {
        Clock { test: Some(AtomicI64::new(at)) }
    }

    /// Now, ns.
    pub fn now(&self) -> i64 {
        match &self.test {
            Some(t) => t.load(Ordering::Acquire),
            None => cxp_store::now_ns(),
        }
    }

    /// Whether this is a test clock.
    pub fn is_test(&self) -> bool {
        self.test.is_some()
    }

    /// Sets a test clock (never backwards); `false` for the system clock.
    pub fn set(&self, at: i64) -> bool {
        match &self.test {
            Some(t) => {
                t.fetch_max(at, Ordering::AcqRel);
                true
            }
            None => false,
        }
    }
}
