//! Change stamps: a number a structure takes whenever it changes in a way that readers cache
//! (who the customers are, which key belongs to whom), from one counter for the process, so
//! that a structure replaced wholesale (a graph rebuilt, a table reloaded) never shows a stamp
//! an earlier one had and a cache built on the old one is never taken for current.

use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A stamp no structure has had before.
pub(crate) fn fresh() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}
