//! Merges: fresh parts (arrival order, cheap codecs) become time-window parts sorted by
//! (ck, ts, seq) and encoded with pco and dictionaries.
//!
//! Windows are tiered by age: data of a day that is still open merges into hour parts; once
//! the day has closed (plus a grace hour for late events) its hours merge into one day part.
//! A merge reads a snapshot, does all decoding, sorting and encoding outside the writer, then
//! asks the writer to swap the parts in one short transaction. Readers keep their snapshot.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use redb::ReadTransaction;

use crate::codec::{self, Effort, decode_system};
use crate::error::{Result, StoreError};
use crate::manifest::{Manifest, Shared};
use crate::part::{COL_CK, COL_FIRST, COL_SEQ, COL_TS};
use crate::part::{EncodedPart, Level, PartData, PartInfo};
use crate::tables::PIECES;
use crate::writer::{Request, Swap, now_ns};

use crate::window::window_of;
/// Rows per chunk of a merged part.
pub(crate) const MERGED_CHUNK_ROWS: usize = 64 * 1024;

/// When and how much to merge.
#[derive(Debug, Clone, Copy)]
pub struct MergePolicy {
    /// Merge a measurement's fresh parts once it has this many.
    pub fresh_trigger: usize,
    /// Upper bound on the rows one merge holds in memory.
    pub max_job_rows: u64,
    /// Upper bound on the rows of one merged part.
    pub max_part_rows: u64,
}

impl Default for MergePolicy {
    fn default() -> Self {
        MergePolicy { fresh_trigger: 4, max_job_rows: 4_000_000, max_part_rows: 2_000_000 }
    }
}

/// Parts to merge together.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) inputs: Vec<Arc<PartInfo>>,
}

/// The next merge worth doing, if any. `force` merges fresh parts even below the trigger.
/// Parts in `skip` (a merge of them failed) are left alone; fresh parts above `fresh_cutoff`
/// are left alone too, so that `merge_all` ends even while ingest goes on.
pub(crate) fn plan(
    manifest: &Manifest,
    now: i64,
    policy: &MergePolicy,
    force: bool,
    skip: &HashSet<u64>,
    fresh_cutoff: u64,
) -> Option<Job> {
    for parts in manifest.parts.values() {
        let parts: Vec<&Arc<PartInfo>> = parts.iter().filter(|p| !skip.contains(&p.meta.id)).collect();
        let fresh: Vec<_> =
            parts.iter().filter(|p| p.meta.level == Level::Fresh && p.meta.id <= fresh_cutoff).copied().collect();
        if fresh.len() >= policy.fresh_trigger || (force && !fresh.is_empty()) {
            let mut rows = 0;
            let inputs: Vec<_> = fresh
                .into_iter()
                .take_while(|p| {
                    rows += p.meta.rows;
                    rows - p.meta.rows == 0 || rows <= policy.max_job_rows
                })
                .map(Arc::clone)
                .collect();
            return Some(Job { inputs });
        }
        // Group merged parts by the window they belong in now: hours of a closed day fall
        // into that day's group.
        let mut windows: BTreeMap<(Level, i64), Vec<&Arc<PartInfo>>> = BTreeMap::new();
        for p in parts.iter().copied().filter(|p| p.meta.level != Level::Fresh) {
            windows.entry(window_of(p.meta.window_start, now)).or_default().push(p);
        }
        for group in windows.values_mut() {
            // Smallest first: when a window holds more than one job can, merging its small
            // parts still reduces the count, and the large ones are already as good as it gets.
            group.sort_by_key(|p| p.meta.rows);
            let mut rows = 0;
            let fits: Vec<_> = group
                .iter()
                .take_while(|p| {
                    rows += p.meta.rows;
                    rows <= policy.max_job_rows
                })
                .collect();
            let total: u64 = fits.iter().map(|p| p.meta.rows).sum();
            let needed = total.div_ceil(policy.max_part_rows).max(1) as usize;
            let outdated =
                fits.iter().any(|p| (p.meta.level, p.meta.window_start) != window_of(p.meta.window_start, now));
            if !fits.is_empty() && (outdated || (force && fits.len() > needed)) {
                return Some(Job { inputs: fits.into_iter().map(|p| Arc::clone(p)).collect() });
            }
            if let Some(inputs) = tier(&fits) {
                return Some(Job { inputs });
            }
        }
    }
    None
}

// Crossplatform priority (0-99, 50 is normal) of the merger thread.
const MERGER_PRIORITY: u8 = 25;

/// Parts of one window merged at a time by the background merger.
pub(crate) const FANOUT: usize = 4;

// The background merger's choice within a window (parts sorted by rows, all fitting one job):
// the `FANOUT` smallest parts, once they are of comparable size (the largest no bigger than
// the others together). Merging every part of the window whenever a new one arrived would
// rewrite the window's rows again for each small part that lands in it: quadratic in its
// size. Merging like-sized parts rewrites each row about log4(window / fresh) times, and a
// window holds at most a few parts per size tier. `merge_all` still merges whole windows.
fn tier(sorted: &[&&Arc<PartInfo>]) -> Option<Vec<Arc<PartInfo>>> {
    let smallest = sorted.get(..FANOUT)?;
    let largest = smallest.last()?.meta.rows;
    let others: u64 = smallest[..FANOUT - 1].iter().map(|p| p.meta.rows).sum();
    (largest <= others).then(|| smallest.iter().map(|p| Arc::clone(*p)).collect())
}

/// Reads every row of a part.
pub(crate) fn read_part(txn: &ReadTransaction, part: &PartInfo) -> Result<PartData> {
    let table = txn.open_table(PIECES)?;
    let meta = &part.meta;
    let mut data = PartData::default();
    for (index, cm) in meta.chunks.iter().enumerate() {
        let chunk = index as u32;
        let blob = |col: usize| cm.read(&table, meta.id, col);
        let err = |column: &str| {
            let column = column.to_owned();
            move |source| StoreError::Chunk { part: meta.id, chunk, column, source }
        };
        let ts: Vec<i64> = decode_system(blob(COL_TS)?.bytes()).map_err(err("ts"))?;
        let seq = codec::decode_seq(blob(COL_SEQ)?.bytes(), &ts).map_err(err("seq"))?;
        let mut piece = PartData {
            ts,
            ck: decode_system(blob(COL_CK)?.bytes()).map_err(err("ck"))?,
            seq,
            columns: Vec::with_capacity(meta.columns.len()),
        };
        for (len, name) in [(piece.ts.len(), "ts"), (piece.ck.len(), "ck"), (piece.seq.len(), "seq")] {
            crate::part::check_rows(len, cm, meta.id, chunk, name)?;
        }
        for (i, def) in meta.columns.iter().enumerate() {
            let col = codec::decode_column(blob(COL_FIRST + i)?.bytes(), def.ty).map_err(err(&def.name))?;
            crate::part::check_rows(col.len(), cm, meta.id, chunk, &def.name)?;
            piece.columns.push((def.clone(), col));
        }
        data.append(&piece);
    }
    Ok(data)
}

/// Merges the job's parts into window parts sorted by (ck, ts, seq).
pub(crate) fn run_job(job: &Job, txn: &ReadTransaction, now: i64, policy: &MergePolicy) -> Result<Swap> {
    let mut all = PartData::default();
    for part in &job.inputs {
        all.append(&read_part(txn, part)?);
    }
    let measurement = job.inputs.first().map(|p| p.meta.measurement.clone()).unwrap_or_default();
    let mut windows: BTreeMap<(Level, i64), Vec<usize>> = BTreeMap::new();
    for (row, ts) in all.ts.iter().enumerate() {
        windows.entry(window_of(*ts, now)).or_default().push(row);
    }
    let mut added = Vec::new();
    for ((level, start), mut rows) in windows {
        rows.sort_unstable_by_key(|&r| (all.ck[r], all.ts[r], all.seq[r]));
        let per_part = rows.len().div_ceil(rows.len().div_ceil(policy.max_part_rows as usize).max(1));
        for piece in rows.chunks(per_part.max(1)) {
            let data = all.gather(piece);
            let mut encoded: EncodedPart = data.encode(Effort::Merged, MERGED_CHUNK_ROWS);
            encoded.meta.measurement = measurement.clone();
            encoded.meta.level = level;
            encoded.meta.window_start = start;
            added.push(encoded);
        }
    }
    Ok(Swap { removed: job.inputs.iter().map(|p| p.meta.id).collect(), added })
}

/// Plans and runs one merge, waiting for the writer to swap it in. Returns whether there was
/// anything to merge.
pub(crate) fn merge_once(
    shared: &Shared,
    tx: &SyncSender<Request>,
    policy: &MergePolicy,
    force: bool,
    fresh_cutoff: u64,
) -> Result<bool> {
    let _one_at_a_time = shared.merging.lock().unwrap_or_else(|p| p.into_inner());
    let (manifest, txn) = shared.snapshot()?;
    let now = now_ns();
    let skip = shared.unmergeable.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(job) = plan(&manifest, now, policy, force, &skip, fresh_cutoff) else { return Ok(false) };
    let swap = match run_job(&job, &txn, now, policy) {
        Ok(swap) => swap,
        Err(e) => {
            // A part that cannot be read (damaged) must not block every other merge: leave
            // these parts as they are and say so in `stats`.
            shared.unmergeable.lock().unwrap_or_else(|p| p.into_inner()).extend(job.inputs.iter().map(|p| p.meta.id));
            return Err(e);
        }
    };
    drop(txn);
    let (reply, done) = sync_channel(1);
    tx.send(Request::Swap { swap, reply }).map_err(|_| StoreError::WriterGone)?;
    done.recv().map_err(|_| StoreError::WriterGone)??;
    Ok(true)
}

/// The background merger: wakes after commits (and every minute, so that days close without
/// new events), merges until nothing is left, and stops when the store closes.
pub(crate) fn run_merger(shared: Arc<Shared>, tx: SyncSender<Request>, wake: Receiver<()>, policy: MergePolicy) {
    // Merging can wait; acknowledging events cannot. A lower priority lets the writer and the
    // profile stage run first when the cores are busy (merges still progress: a nice value,
    // not an idle class). Where the system refuses, merges run at normal priority.
    if let Ok(nice) = thread_priority::ThreadPriorityValue::try_from(MERGER_PRIORITY) {
        let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(nice));
    }
    loop {
        match wake.recv_timeout(Duration::from_secs(60)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while wake.try_recv().is_ok() {}
        loop {
            if shared.stopping.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            match merge_once(&shared, &tx, &policy, false, u64::MAX) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    *shared.last_merge_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::part::PartMeta;
    use crate::window::DAY;
    use crate::window::window_of;

    fn part(id: u64, rows: u64, level: Level, window_start: i64) -> PartInfo {
        let meta = PartMeta {
            id,
            measurement: "order".into(),
            level,
            window_start,
            rows,
            min_ts: window_start,
            max_ts: window_start,
            min_seq: id,
            max_seq: id,
            columns: Vec::new(),
            chunks: Vec::new(),
            customers: Vec::new(),
        };
        PartInfo { meta, bitmap: Default::default() }
    }

    fn planned(rows: &[u64], force: bool) -> Option<Vec<u64>> {
        let now = 100 * DAY;
        // A window that is where it belongs at `now` (otherwise it is merged for moving).
        let (level, start) = window_of(10 * DAY, now);
        let mut manifest = Manifest::default();
        for (i, r) in rows.iter().enumerate() {
            manifest.add(part(i as u64 + 1, *r, level, start));
        }
        let job = plan(&manifest, now, &MergePolicy::default(), force, &HashSet::new(), u64::MAX)?;
        let mut ids: Vec<u64> = job.inputs.iter().map(|p| p.meta.id).collect();
        ids.sort_unstable();
        Some(ids)
    }

    #[test]
    fn background_merges_take_like_sized_parts_and_merge_all_takes_the_window() {
        assert_eq!(planned(&[1000], false), None, "one part: nothing to do");
        assert_eq!(planned(&[1000, 10, 10], false), None, "too few to be worth a rewrite");
        assert_eq!(planned(&[1000, 10, 10], true), Some(vec![1, 2, 3]), "merge_all makes one part");
        assert_eq!(planned(&[1000, 10, 10, 10], false), None, "the big part would dominate");
        assert_eq!(planned(&[1000, 10, 10, 10, 12], false), Some(vec![2, 3, 4, 5]), "the small ones");
        assert_eq!(planned(&[30, 10, 10, 10], false), Some(vec![1, 2, 3, 4]), "comparable sizes");
    }

    #[test]
    fn each_row_is_rewritten_a_logarithmic_number_of_times() {
        // Small parts land in one window one after another; the background policy merges as
        // it would after each. Rows rewritten stay within a small multiple of rows written
        // (about log4(1000) = 5 here; merging the whole window each time would be ~500).
        let mut sizes: Vec<u64> = Vec::new();
        let (mut written, mut rewritten) = (0u64, 0u64);
        for round in 0..1000 {
            assert!(round < 1000);
            sizes.push(1000);
            written += 1000;
            for _ in 0..100 {
                let Some(ids) = planned(&sizes, false) else { break };
                let merged: u64 = ids.iter().map(|id| sizes[*id as usize - 1]).sum();
                rewritten += merged;
                let mut rest: Vec<u64> = sizes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !ids.contains(&(*i as u64 + 1)))
                    .map(|(_, s)| *s)
                    .collect();
                rest.push(merged);
                sizes = rest;
            }
        }
        assert!(rewritten <= 8 * written, "rewrote {rewritten} rows for {written} written");
        assert!(sizes.len() <= 12, "{} parts in the window: {sizes:?}", sizes.len());
    }
}
