//! Day buckets of one event field for one customer: what computed traits are answered from.
//!
//! A bucket aggregates a calendar day (UTC) and remembers the times of its first and last
//! event. A query `[at - W, at)` takes whole buckets that lie inside the window and reports
//! the buckets that straddle an edge (and any days already pruned) as ranges the caller must
//! scan, so answers are exact at any query time while the common case (`at` = now) reads
//! RAM only.

use serde::{Deserialize, Serialize};

use crate::window::DAY;

/// Aggregate of a set of events: numbers (count, sum, min, max) and values (counts per
/// interned value, first and last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Acc {
    pub(crate) n: u32,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    // (ts, seq, value id) of the earliest and latest event.
    pub(crate) first: Option<(i64, u64, u32)>,
    pub(crate) last: Option<(i64, u64, u32)>,
    // Value id -> events, sorted by id; only for categorical series.
    pub(crate) values: Vec<(u32, u32)>,
}

impl Default for Acc {
    fn default() -> Self {
        Acc { n: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, first: None, last: None, values: Vec::new() }
    }
}

/// One event as a series sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub(crate) ts: i64,
    pub(crate) seq: u64,
    /// The numeric value (1 for count-only series).
    pub(crate) num: Option<f64>,
    /// The interned value (categorical series).
    pub(crate) value: Option<u32>,
}

impl Acc {
    pub(crate) fn add(&mut self, p: Point, categorical: bool) {
        self.n += 1;
        if let Some(x) = p.num {
            self.sum += x;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        if categorical {
            let v = p.value.unwrap_or(u32::MAX);
            if self.first.is_none_or(|(t, s, _)| (p.ts, p.seq) < (t, s)) {
                self.first = Some((p.ts, p.seq, v));
            }
            if self.last.is_none_or(|(t, s, _)| (p.ts, p.seq) > (t, s)) {
                self.last = Some((p.ts, p.seq, v));
            }
            if p.value.is_some() {
                match self.values.binary_search_by_key(&v, |(id, _)| *id) {
                    Ok(i) => self.values[i].1 += 1,
                    Err(i) => self.values.insert(i, (v, 1)),
                }
            }
        }
    }

    pub(crate) fn merge(&mut self, other: &Acc) {
        self.n += other.n;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if let Some(f) = other.first
            && self.first.is_none_or(|(t, s, _)| (f.0, f.1) < (t, s))
        {
            self.first = Some(f);
        }
        if let Some(l) = other.last
            && self.last.is_none_or(|(t, s, _)| (l.0, l.1) > (t, s))
        {
            self.last = Some(l);
        }
        for &(v, c) in &other.values {
            match self.values.binary_search_by_key(&v, |(id, _)| *id) {
                Ok(i) => self.values[i].1 += c,
                Err(i) => self.values.insert(i, (v, c)),
            }
        }
    }
}

/// One day's aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bucket {
    pub(crate) day: i64,
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    pub(crate) acc: Acc,
}

/// A customer's buckets of one series, plus the all-time aggregate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Series {
    pub(crate) buckets: Vec<Bucket>,
    // Days before this one were pruned (i64::MIN: none were).
    pub(crate) pruned_before: i64,
    pub(crate) total: Acc,
    pub(crate) total_hi: i64,
}

fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY)
}

impl Series {
    pub(crate) fn new() -> Self {
        Series { pruned_before: i64::MIN, total_hi: i64::MIN, ..Default::default() }
    }

    /// Adds an event; keeps buckets for `keep_days` days before the newest (0: no buckets).
    pub(crate) fn add(&mut self, p: Point, categorical: bool, keep_days: i64) {
        self.total.add(p, categorical);
        self.total_hi = self.total_hi.max(p.ts);
        if keep_days == 0 {
            return;
        }
        let day = day_of(p.ts);
        if day < self.pruned_before {
            // Older than what is kept: answered by scanning, like any pruned day.
            return;
        }
        let i = match self.buckets.binary_search_by_key(&day, |b| b.day) {
            Ok(i) => i,
            Err(i) => {
                self.buckets.insert(i, Bucket { day, lo: p.ts, hi: p.ts, acc: Acc::default() });
                i
            }
        };
        let b = &mut self.buckets[i];
        b.lo = b.lo.min(p.ts);
        b.hi = b.hi.max(p.ts);
        b.acc.add(p, categorical);
        let newest = self.buckets.last().map_or(day, |b| b.day);
        let cut = newest - keep_days;
        if self.buckets.first().is_some_and(|b| b.day < cut) {
            self.buckets.retain(|b| b.day >= cut);
            self.pruned_before = self.pruned_before.max(cut);
        }
    }

    /// Folds another customer's series in (two identities found to be one person).
    pub(crate) fn merge(&mut self, other: &Series, keep_days: i64) {
        self.total.merge(&other.total);
        self.total_hi = self.total_hi.max(other.total_hi);
        self.pruned_before = self.pruned_before.max(other.pruned_before);
        for b in &other.buckets {
            if b.day < self.pruned_before {
                continue;
            }
            match self.buckets.binary_search_by_key(&b.day, |x| x.day) {
                Ok(i) => {
                    let mine = &mut self.buckets[i];
                    mine.lo = mine.lo.min(b.lo);
                    mine.hi = mine.hi.max(b.hi);
                    mine.acc.merge(&b.acc);
                }
                Err(i) => self.buckets.insert(i, b.clone()),
            }
        }
        if let Some(newest) = self.buckets.last().map(|b| b.day) {
            let cut = newest - keep_days;
            if self.buckets.first().is_some_and(|b| b.day < cut) {
                self.buckets.retain(|b| b.day >= cut);
                self.pruned_before = self.pruned_before.max(cut);
            }
        }
    }

    /// The aggregate over `[from, to)` from RAM, and the ranges that must be scanned to make
    /// it exact (edge days that straddle the window, days pruned).
    pub(crate) fn window(&self, from: i64, to: i64) -> (Acc, Vec<(i64, i64)>) {
        let mut acc = Acc::default();
        let mut scan = Vec::new();
        if from == i64::MIN {
            // All time: the running total is exact when nothing at or after `to` is in it.
            if self.total_hi < to {
                return (self.total.clone(), scan);
            }
            scan.push((from, to));
            return (acc, scan);
        }
        let kept_from = if self.pruned_before == i64::MIN { i64::MIN } else { self.pruned_before * DAY };
        if from < kept_from {
            scan.push((from, kept_from.min(to)));
        }
        for b in &self.buckets {
            if b.hi < from || b.lo >= to {
                continue;
            }
            if b.lo >= from && b.hi < to {
                acc.merge(&b.acc);
            } else {
                let (start, end) = (b.day * DAY, (b.day + 1) * DAY);
                scan.push((start.max(from), end.min(to)));
            }
        }
        (acc, scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ts: i64, x: f64) -> Point {
        Point { ts, seq: ts as u64, num: Some(x), value: None }
    }

    #[test]
    fn whole_days_come_from_ram_and_straddling_days_are_reported_for_scanning() {
        let mut s = Series::new();
        for (ts, x) in [(DAY / 2, 1.0), (DAY + 10, 2.0), (DAY + DAY / 2, 4.0), (3 * DAY + 5, 8.0)] {
            s.add(p(ts, x), false, 30);
        }
        // [day 1 start, day 4 start): days 1 and 3 lie wholly inside.
        let (acc, scan) = s.window(DAY, 4 * DAY);
        assert_eq!((acc.n, acc.sum, scan.len()), (3, 14.0, 0));
        // From the middle of day 1: its bucket straddles the edge.
        let (acc, scan) = s.window(DAY + 100, 4 * DAY);
        assert_eq!((acc.n, acc.sum), (1, 8.0));
        assert_eq!(scan, vec![(DAY + 100, 2 * DAY)]);
        // All time, at a time after the last event: the running total.
        let (acc, scan) = s.window(i64::MIN, 5 * DAY);
        assert_eq!((acc.n, acc.sum, acc.min, acc.max, scan.len()), (4, 15.0, 1.0, 8.0, 0));
        assert_eq!(s.window(i64::MIN, 3 * DAY).1, vec![(i64::MIN, 3 * DAY)]);
    }

    #[test]
    fn pruned_days_are_scanned() {
        let mut s = Series::new();
        s.add(p(0, 1.0), false, 2);
        s.add(p(10 * DAY, 1.0), false, 2);
        assert_eq!(s.buckets.len(), 1);
        let (acc, scan) = s.window(0, 11 * DAY);
        assert_eq!(acc.n, 1);
        assert_eq!(scan, vec![(0, 8 * DAY)]);
    }
}
