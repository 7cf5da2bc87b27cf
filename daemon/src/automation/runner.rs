//! The engine thread: committed events (a tap, with catch-up by sequence number), timers and
//! segment changes go through the engine; each step's changes are durable, in one
//! transaction with the cursors, before their messages are queued.
//!
//! The event cursor is saved with every step that changed something, and otherwise at most
//! once a second: after a crash the events since the last saved cursor go through again, and
//! those are only events that changed nothing (any that did was saved with a later cursor).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxp_query::automation::engine::Event;
use cxp_query::automation::host::StoreHost;
use cxp_query::automation::replay::{listened, row_fields};
use cxp_query::automation::{Effect, Engine};
use cxp_store::{Batch, FieldValue, ScanRequest, Tap};

use super::{Automation, lock, state};

/// An event read back from parts (catch-up).
struct Stored {
    seq: u64,
    ts: i64,
    root: u32,
    name: String,
    fields: Vec<(String, String)>,
}

pub(super) fn run(auto: &Arc<Automation>, tap: Tap) {
    let names: HashSet<String> = listened(&auto.defs).into_iter().collect();
    if let Err(e) = catch_up(auto, &names) {
        tracing::error!(error = %e, "automation could not catch up with the events since its last run");
    }
    let mut dropped = tap.dropped();
    let mut last_saved = Instant::now();
    let mut last_segments = Instant::now();
    while !auto.stopping() {
        let now = auto.clock.now();
        let due = lock(&auto.engine).next_due();
        let wait = match due {
            _ if auto.clock.is_test() => Duration::from_millis(50),
            Some(t) if t > now => {
                Duration::from_nanos(u64::try_from(t - now).unwrap_or(0)).min(Duration::from_millis(200))
            }
            Some(_) => Duration::ZERO,
            None => Duration::from_millis(200),
        };
        let received = tap.recv_timeout(wait.max(Duration::from_millis(1)));
        // Checked on every pass, not only when a group arrives: when the last group of a
        // burst is the one dropped, no later group comes to tell.
        if tap.dropped() != dropped {
            dropped = tap.dropped();
            tracing::warn!("automation fell behind ingest; reading the missed events back from the store");
            if let Err(e) = catch_up(auto, &names) {
                tracing::error!(error = %e, "automation could not catch up");
            }
        }
        if let Some(group) = received {
            let cursor = lock(&auto.meta).cursor;
            let owned: Vec<Stored> = group
                .events()
                .filter(|(e, k)| k.seq >= cursor && names.contains(e.measurement))
                .map(|(e, k)| Stored {
                    seq: k.seq,
                    ts: e.ts,
                    root: k.root,
                    name: e.measurement.to_owned(),
                    fields: e
                        .tags()
                        .map(|(a, b)| (a.to_owned(), b.to_owned()))
                        .chain(e.fields().map(|(a, v)| (a.to_owned(), field_text(&v))))
                        .collect(),
                })
                .collect();
            let next = group.next_seq.max(cursor);
            let save_cursor = last_saved.elapsed() > Duration::from_secs(1);
            let queued = lock(&auto.engine).next_message_id();
            if step(auto, next, save_cursor, |engine, host, now| {
                for ev in &owned {
                    feed(engine, host, ev, now);
                }
            }) || save_cursor
            {
                last_saved = Instant::now();
            }
            if lock(&auto.engine).next_message_id() > queued {
                auto.record_latency(group.committed_at.elapsed().as_nanos() as u64);
            }
        }
        if lock(&auto.engine).next_due().is_some_and(|t| t <= auto.clock.now()) {
            let cursor = lock(&auto.meta).cursor;
            step(auto, cursor, false, |engine, host, now| engine.on_time(host, now));
        }
        if last_segments.elapsed() > Duration::from_millis(500) {
            last_segments = Instant::now();
            segments(auto);
        }
    }
}

fn field_text(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::Str(s) => s.to_string(),
        FieldValue::I64(x) => x.to_string(),
        FieldValue::U64(x) => x.to_string(),
        FieldValue::F64(x) => x.to_string(),
        FieldValue::Bool(b) => b.to_string(),
    }
}

fn feed(engine: &mut Engine, host: &mut StoreHost<'_>, ev: &Stored, now: i64) {
    let fields: Vec<(&str, String)> = ev.fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    engine.on_event(host, &Event { root: ev.root, name: &ev.name, ts: ev.ts, fields: &fields }, now);
}

/// Reads the listened events committed since the cursor back from the store, in commit
/// order, and feeds them through.
fn catch_up(auto: &Arc<Automation>, names: &HashSet<String>) -> cxp_store::Result<()> {
    let cursor = lock(&auto.meta).cursor;
    let until = auto.store.committed_seq();
    if until <= cursor {
        return Ok(());
    }
    let mut events: Vec<Stored> = Vec::new();
    for name in names {
        for batch in auto.store.scan(ScanRequest::new(name.clone()).from_seq(cursor))? {
            let batch = batch?;
            for row in 0..batch.rows {
                if batch.seq[row] >= until {
                    continue;
                }
                let fields = row_fields(&batch, row);
                events.push(Stored {
                    seq: batch.seq[row],
                    ts: batch.ts[row],
                    root: auto.store.root(batch.ck[row]),
                    name: name.clone(),
                    fields,
                });
            }
        }
    }
    events.sort_unstable_by_key(|e| e.seq);
    tracing::info!(events = events.len(), from = cursor, to = until, "automation catching up");
    for chunk in events.chunks(10_000) {
        let last = chunk.last().map_or(cursor, |e| e.seq + 1);
        step(auto, last, false, |engine, host, now| {
            for ev in chunk {
                feed(engine, host, ev, now);
            }
        });
    }
    step(auto, until, true, |_, _, _| {});
    Ok(())
}

/// Entries and exits of named segments since the last read.
fn segments(auto: &Arc<Automation>) {
    let after = lock(&auto.meta).segment_log;
    let (changes, next, missed) = auto.live.changes_after(after, 10_000);
    if missed > 0 {
        tracing::warn!(missed, "segment changes fell out of the log before automation read them");
    }
    if changes.is_empty() && next == after {
        return;
    }
    let cursor = lock(&auto.meta).cursor;
    lock(&auto.meta).segment_log = next;
    // Saved with the engine's changes (or alone), so a restart reads each change once.
    step(auto, cursor, true, |engine, host, now| {
        for c in &changes {
            engine.on_segment(host, c.root, &c.segment, c.entered, now);
        }
    });
}

/// Runs `f` on the engine, then makes what changed durable (with the event cursor moved to
/// `cursor`; the cursor alone is saved only with `save_cursor`), queues the new messages and
/// writes the effects as events. Whether anything changed.
pub(super) fn step(
    auto: &Arc<Automation>,
    cursor: u64,
    save_cursor: bool,
    f: impl FnOnce(&mut Engine, &mut StoreHost<'_>, i64),
) -> bool {
    let now = auto.clock.now();
    let segment_names: Vec<String> = auto.live.specs().into_iter().map(|s| s.def.name).collect();
    let live = auto.live.clone();
    let membership = move |seg: &str, root: u32| live.is_member(seg, root);
    let mut host = StoreHost::new(&auto.store, &auto.defs.settings, segment_names, &membership);
    let mut engine = lock(&auto.engine);
    f(&mut engine, &mut host, now);
    let mut changes = engine.take_changes();
    // Scheduled entries: the segment's members now.
    let mut effects = std::mem::take(&mut changes.effects);
    let mut i = 0;
    while i < effects.len() {
        if let Effect::Schedule { journey, segment } = &effects[i] {
            let members: Vec<u32> = auto.live.members(segment).map(|m| m.iter().collect()).unwrap_or_default();
            engine.enter_all(&mut host, journey, &members, now);
            let more = engine.take_changes();
            merge(&mut changes, more, &mut effects);
        }
        i += 1;
    }
    let mut meta = lock(&auto.meta);
    meta.cursor = meta.cursor.max(cursor);
    let changed = !changes.is_empty() || !effects.is_empty();
    if !changed && !save_cursor {
        return false;
    }
    meta.next_message = engine.next_message_id();
    meta.schedules = engine.schedules().clone();
    let entries = state::entries(&engine, &changes, &meta);
    drop(engine);
    drop(meta);
    match entries.and_then(|e| auto.db.put_state(e)) {
        Ok(()) => {}
        Err(e) => {
            // The state is in RAM and will be saved with the next step; nothing was sent.
            tracing::error!(error = %e, "automation state could not be saved");
            return changed;
        }
    }
    for m in changes.messages {
        auto.enqueue(m);
    }
    write_effects(auto, &effects);
    changed
}

fn merge(into: &mut cxp_query::automation::Changes, more: cxp_query::automation::Changes, effects: &mut Vec<Effect>) {
    for id in more.removed {
        into.upserted.remove(&id);
        into.removed.insert(id);
    }
    for (id, i) in more.upserted {
        into.removed.remove(&id);
        into.upserted.insert(id, i);
    }
    into.messages.extend(more.messages);
    into.stats.extend(more.stats);
    into.entered_once.extend(more.entered_once);
    effects.extend(more.effects);
}

/// Traits set and exposures logged by journeys, as events (source `automation`).
fn write_effects(auto: &Arc<Automation>, effects: &[Effect]) {
    let mut batch = Batch::new("automation");
    let now = auto.clock.now();
    for e in effects {
        let (root, pushed) = match e {
            Effect::SetTrait { root, name, value } => {
                (*root, Some(("identify", vec![(name.as_str(), value.as_str())], Vec::new())))
            }
            // A line needs a field; the exposure itself is in the tags.
            Effect::Exposure { root, experiment, variant } => (
                *root,
                Some((
                    "experiment_viewed",
                    vec![("origin", "journey")],
                    vec![("experiment", experiment.as_str()), ("variant", variant.as_str())],
                )),
            ),
            Effect::Schedule { .. } => (0, None),
        };
        let Some((event, fields, tags)) = pushed else { continue };
        let Some((kind, id)) = auto.store.customer_id(root) else { continue };
        let mut all_tags = vec![(kind.as_str(), id.as_str())];
        all_tags.extend(tags);
        if let Err(e) =
            batch.push_event(event, now, all_tags, fields.into_iter().map(|(k, v)| (k, FieldValue::Str(v.into()))))
        {
            tracing::error!(error = %e, event, "automation could not log a trait or an exposure");
        }
    }
    if batch.is_empty() {
        return;
    }
    if let Err(e) = auto.store.write(batch) {
        tracing::error!(error = %e, "automation could not write traits and exposures");
    }
}
