//! Reloads the Segment deduplication window from stored events at start: every event that came
//! through the Segment API carries its `messageId` in the `message_id` field, so a client
//! retrying after a crash (it never saw the reply) is recognised.

use std::time::Duration;

use cxp_store::{EventFilter, Store, Value};

use crate::dedup::Dedup;

/// Remembers the `message_id`s of events stored in the last `window`; returns how many.
pub fn reload(store: &Store, dedup: &Dedup, window: Duration) -> cxp_store::Result<usize> {
    let from = cxp_store::now_ns().saturating_sub(i64::try_from(window.as_nanos()).unwrap_or(i64::MAX));
    let mut n = 0;
    // Only measurements whose schema has the field: the catalog is read once.
    let with_ids =
        store.schemas()?.into_iter().filter(|(_, schema)| schema.columns.iter().any(|c| c.name == "message_id"));
    for (m, _) in with_ids {
        let events = store.events(&EventFilter { measurement: Some(m), from: Some(from), ..EventFilter::default() })?;
        let ids: Vec<&str> = events
            .iter()
            .filter_map(|e| e.fields.iter().find(|(k, _)| k == "message_id"))
            .filter_map(|(_, v)| if let Value::Str(s) = v { Some(s.as_str()) } else { None })
            .collect();
        n += ids.len();
        dedup.remember(ids);
    }
    Ok(n)
}
