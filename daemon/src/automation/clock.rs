//! The time automation runs on: the system clock, or a test clock that only moves when told
//! (`POST /api/v1/automation/clock`, enabled by `[automation] test_clock = true`), so that a
//! test can wait out 24 hours in a second.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

/// The clock.
#[derive(Debug)]
pub struct Clock {
    test: Option<AtomicI64>,
    // Where a test clock keeps its time across restarts.
    file: Option<PathBuf>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { test: None, file: None }
    }

    /// A test clock starting at `at` (ns).
    pub fn test(at: i64) -> Clock {
        Clock { test: Some(AtomicI64::new(at)), file: None }
    }

    /// A test clock kept in `file`: it starts where it was set last (or at `at`, if later), so
    /// a restarted daemon does not run behind the timers and events of the test it serves,
    /// which would judge events read back after a crash at a time before they happened.
    pub fn test_in(file: &Path, at: i64) -> Clock {
        let saved = std::fs::read_to_string(file).ok().and_then(|t| t.trim().parse::<i64>().ok());
        Clock { test: Some(AtomicI64::new(saved.map_or(at, |s| s.max(at)))), file: Some(file.to_owned()) }
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
                let now = t.fetch_max(at, Ordering::AcqRel).max(at);
                if let Some(file) = &self.file
                    && let Err(e) = std::fs::write(file, now.to_string())
                {
                    tracing::warn!(error = %e, file = %file.display(), "the test clock could not be kept");
                }
                true
            }
            None => false,
        }
    }
}
