//! Funnels: how many customers went through ordered steps, and where they dropped off.
//!
//! A customer reaches step k when a chain of their events exists whose first event is of
//! step 1 (at or after `from`, before `at`) and each next event is of the next step, strictly
//! later than the previous one, within the step window of it (when one is set) and within the
//! funnel window of the first event (when one is set). Chains are found in one pass over the
//! customer's events in time order, keeping per step only the reached points that are not
//! dominated (a later time and a later start are both better for what follows), so the count
//! is exact without trying every chain.
//!
//! With a breakdown, a customer counts in the group of the first step's `breakdown` value of
//! every chain: one who started from two channels counts in both groups.

use cxp_store::{ColumnData, CustomerSnapshot, ScanRequest, Store, StoreError};
use hashbrown::HashMap;

use crate::api::analytics::{FunnelGroup, FunnelReport, FunnelStep};

/// A funnel to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelSpec {
    /// Event of each step, in order (an event may appear more than once).
    pub steps: Vec<String>,
    /// Each step within this long after the previous one, ns.
    pub step_window: Option<i64>,
    /// Every step within this long after the first, ns.
    pub window: Option<i64>,
    /// First steps at or after this time.
    pub from: i64,
    /// Events before this time (the query time).
    pub at: i64,
    /// Tag or field of the first step's event to break the funnel down by.
    pub breakdown: Option<String>,
}

/// One event of a customer that is some step of the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    pos: u32,
    ts: i64,
    // Bit k: the event is of step k.
    steps: u32,
    // Breakdown value of a first-step event (u32::MAX: none).
    group: u32,
}

/// Counts `spec` over the customers of `snap`.
pub fn funnel(store: &Store, snap: &CustomerSnapshot, spec: &FunnelSpec) -> Result<FunnelReport, StoreError> {
    let k = spec.steps.len();
    if k == 0 || k > 32 {
        return Err(StoreError::Invalid(format!("a funnel has 1 to 32 steps, not {k}")));
    }
    let mut groups: Vec<String> = Vec::new();
    let mut group_codes: HashMap<String, u32> = HashMap::new();
    let mut hits: Vec<Hit> = Vec::new();
    let mut distinct: Vec<&String> = spec.steps.iter().collect();
    distinct.sort();
    distinct.dedup();
    for event in distinct {
        let mask = spec.steps.iter().enumerate().filter(|(_, s)| *s == event).fold(0u32, |m, (i, _)| m | 1 << i);
        let first = mask & 1 == 1;
        let cols: Vec<String> = if first { spec.breakdown.iter().cloned().collect() } else { Vec::new() };
        let mut req = ScanRequest::new(event.clone()).between(spec.from, spec.at).columns(cols);
        req.with_ts = true;
        req.with_ck = true;
        for batch in store.scan(req)? {
            let batch = batch?;
            let by = spec.breakdown.as_deref().filter(|_| first).and_then(|b| batch.column(b));
            for row in 0..batch.rows {
                let Some(p) = snap.position_of(batch.ck[row]) else { continue };
                let group = match by {
                    Some(col) if col.is_valid(row) => {
                        let v = match &col.data {
                            ColumnData::Str(s) => s.get(row).to_owned(),
                            other => other.value(row).to_string(),
                        };
                        let next = groups.len() as u32;
                        *group_codes.entry(v.clone()).or_insert_with(|| {
                            groups.push(v);
                            next
                        })
                    }
                    _ => u32::MAX,
                };
                hits.push(Hit { pos: p as u32, ts: batch.ts[row], steps: mask, group });
            }
        }
    }
    hits.sort_unstable();
    let mut total = vec![0u64; k];
    let mut by_group: Vec<Vec<u64>> = vec![vec![0; k]; groups.len()];
    let mut start = 0;
    while start < hits.len() {
        let pos = hits[start].pos;
        let end = start + hits[start..].iter().take_while(|h| h.pos == pos).count();
        let person = &hits[start..end];
        let reached = deepest(person, k, spec, None);
        for c in total.iter_mut().take(reached) {
            *c += 1;
        }
        if spec.breakdown.is_some() {
            let mut mine: Vec<u32> = person.iter().filter(|h| h.steps & 1 == 1).map(|h| h.group).collect();
            mine.sort_unstable();
            mine.dedup();
            for g in mine.into_iter().filter(|g| *g != u32::MAX) {
                let reached = deepest(person, k, spec, Some(g));
                for c in by_group[g as usize].iter_mut().take(reached) {
                    *c += 1;
                }
            }
        }
        start = end;
    }
    let mut out = FunnelReport {
        steps: steps(&spec.steps, &total),
        groups: groups
            .into_iter()
            .zip(by_group)
            .map(|(value, counts)| FunnelGroup { value, steps: steps(&spec.steps, &counts) })
            .collect(),
        from: spec.from,
        at: spec.at,
        step_window_ns: spec.step_window,
        window_ns: spec.window,
        breakdown: spec.breakdown.clone(),
    };
    out.groups.sort_by(|a, b| b.steps[0].customers.cmp(&a.steps[0].customers).then(a.value.cmp(&b.value)));
    Ok(out)
}

fn steps(names: &[String], counts: &[u64]) -> Vec<FunnelStep> {
    let first = counts.first().copied().unwrap_or(0);
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let prev = if i == 0 { c } else { counts[i - 1] };
            FunnelStep {
                event: names[i].clone(),
                customers: c,
                conversion: if first == 0 { 0.0 } else { c as f64 / first as f64 },
                step_conversion: if prev == 0 { 0.0 } else { c as f64 / prev as f64 },
                dropped: prev - c,
            }
        })
        .collect()
}

/// How many steps (0..=k) a customer reached, from their hits in time order; with `group`,
/// only chains starting from a first-step event of that group.
fn deepest(person: &[Hit], k: usize, spec: &FunnelSpec, group: Option<u32>) -> usize {
    // Per step, reached points (time, start of the chain) that no other point dominates.
    let mut front: Vec<Vec<(i64, i64)>> = vec![Vec::new(); k];
    let mut reached = 0;
    let mut i = 0;
    let mut fresh: Vec<(usize, i64, i64)> = Vec::new();
    while i < person.len() {
        let ts = person[i].ts;
        let j = i + person[i..].iter().take_while(|h| h.ts == ts).count();
        // Events at the same time cannot follow each other: decide all of them from the
        // points reached before `ts`, then add what they reached.
        fresh.clear();
        for h in &person[i..j] {
            for step in 0..k {
                if h.steps & (1 << step) == 0 {
                    continue;
                }
                let start = if step == 0 {
                    if group.is_some_and(|g| g != h.group) {
                        continue;
                    }
                    Some(ts)
                } else {
                    front[step - 1]
                        .iter()
                        .filter(|(t, s)| {
                            *t < ts
                                && spec.step_window.is_none_or(|w| ts - t <= w)
                                && spec.window.is_none_or(|w| ts - s <= w)
                        })
                        .map(|(_, s)| *s)
                        .max()
                };
                if let Some(s) = start {
                    fresh.push((step, ts, s));
                }
            }
        }
        for &(step, t, s) in &fresh {
            // Without a funnel window the start does not matter: one point per step.
            let s = if spec.window.is_some() { s } else { 0 };
            let f = &mut front[step];
            if f.iter().any(|(t2, s2)| *t2 >= t && *s2 >= s) {
                continue;
            }
            f.retain(|(t2, s2)| !(*t2 <= t && *s2 <= s));
            // Points that no later event can use any more.
            f.retain(|(t2, s2)| {
                spec.step_window.is_none_or(|w| ts - t2 <= w || *t2 == t) && spec.window.is_none_or(|w| ts - s2 <= w)
            });
            f.push((t, s));
            reached = reached.max(step + 1);
        }
        i = j;
    }
    reached
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(k: usize, step_window: Option<i64>, window: Option<i64>) -> FunnelSpec {
        FunnelSpec {
            steps: (0..k).map(|i| format!("s{i}")).collect(),
            step_window,
            window,
            from: i64::MIN,
            at: i64::MAX,
            breakdown: None,
        }
    }

    fn hits(list: &[(i64, u32)]) -> Vec<Hit> {
        list.iter().map(|&(ts, step)| Hit { pos: 0, ts, steps: 1 << step, group: 0 }).collect()
    }

    #[test]
    fn chains_by_hand() {
        // s0@0, s1@5, s2@20: with a step window of 10 the chain breaks at s2 (15 after s1).
        let h = hits(&[(0, 0), (5, 1), (20, 2)]);
        assert_eq!(deepest(&h, 3, &spec(3, Some(10), None), None), 2);
        assert_eq!(deepest(&h, 3, &spec(3, Some(15), None), None), 3);
        // A later s1 rescues it: s0@0, s1@5, s1@9, s2@18 (9 after s1@9).
        let h = hits(&[(0, 0), (5, 1), (9, 1), (18, 2)]);
        assert_eq!(deepest(&h, 3, &spec(3, Some(10), None), None), 3);
        // The funnel window counts from the first step: the chain 0 -> 9 -> 18 spans 18.
        assert_eq!(deepest(&h, 3, &spec(3, Some(10), Some(17)), None), 2);
        // ... unless a later start exists: s0@8 -> s1@9 -> s2@18 spans 10.
        let h = hits(&[(0, 0), (5, 1), (8, 0), (9, 1), (18, 2)]);
        assert_eq!(deepest(&h, 3, &spec(3, Some(10), Some(10)), None), 3);
        // Strictly after: the same time is not a next step.
        let h = hits(&[(7, 0), (7, 1)]);
        assert_eq!(deepest(&h, 2, &spec(2, None, None), None), 1);
        // Out of order steps do not count.
        let h = hits(&[(1, 1), (2, 0)]);
        assert_eq!(deepest(&h, 2, &spec(2, None, None), None), 1);
    }

    #[test]
    fn the_latest_start_is_the_one_that_counts() {
        // s1@4 and s1@5 are reached from s0@0 and from s0@3; only the chain from s0@3 keeps
        // s2@9 within a funnel window of 6.
        let list = [(0i64, 0u32), (3, 0), (4, 1), (5, 1), (9, 2)];
        let mut h = hits(&list);
        h.sort();
        assert_eq!(deepest(&h, 3, &spec(3, None, Some(6)), None), 3);
    }
}
