//! Day buckets of one event (or event field) for one customer: what computed traits are
//! answered from.
//!
//! A bucket aggregates a calendar day (UTC) and remembers the times of its first and last
//! event. A query `[at - W, at)` takes whole buckets that lie inside the window and reports
//! the buckets that straddle an edge (and any days already pruned) as ranges the caller must
//! scan, so answers are exact at any query time while the common case (`at` = now) reads
//! RAM only.
//!
//! A million customers keep these in RAM, so a bucket holds only what its traits need: a
//! count (`count(login)`, `last(login)`: 24 bytes a day), numbers (`sum(order.amount)`: 48),
//! or values (`most_frequent(order.sku)`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::window::DAY;

/// The general aggregate computed traits are finished from (never stored).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Acc {
    pub(crate) n: u32,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    // (ts, seq, value id) of the earliest and latest event; u32::MAX: no value.
    pub(crate) first: Option<(i64, u64, u32)>,
    pub(crate) last: Option<(i64, u64, u32)>,
    // Value id -> events, sorted by id.
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
    /// The numeric value (numeric series).
    pub(crate) num: Option<f64>,
    /// The interned value (value series).
    pub(crate) value: Option<u32>,
}

fn earlier(a: Option<(i64, u64, u32)>, b: (i64, u64, u32)) -> Option<(i64, u64, u32)> {
    match a {
        Some(x) if (x.0, x.1) <= (b.0, b.1) => Some(x),
        _ => Some(b),
    }
}

fn later(a: Option<(i64, u64, u32)>, b: (i64, u64, u32)) -> Option<(i64, u64, u32)> {
    match a {
        Some(x) if (x.0, x.1) >= (b.0, b.1) => Some(x),
        _ => Some(b),
    }
}

fn add_value(values: &mut Vec<(u32, u32)>, v: u32, count: u32) {
    match values.binary_search_by_key(&v, |(id, _)| *id) {
        Ok(i) => values[i].1 += count,
        Err(i) => {
            values.reserve_exact(1);
            values.insert(i, (v, count));
        }
    }
}

impl Acc {
    /// Adds one event (scans of edge days).
    pub(crate) fn add(&mut self, p: Point) {
        self.n += 1;
        if let Some(x) = p.num {
            self.sum += x;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let v = p.value.unwrap_or(u32::MAX);
        self.first = earlier(self.first, (p.ts, p.seq, v));
        self.last = later(self.last, (p.ts, p.seq, v));
        if let Some(v) = p.value {
            add_value(&mut self.values, v, 1);
        }
    }

    // The first and last event times of a bucket whose values are not kept.
    fn span(&mut self, lo: i64, hi: i64) {
        self.first = earlier(self.first, (lo, 0, u32::MAX));
        self.last = later(self.last, (hi, u64::MAX, u32::MAX));
    }
}

/// What a bucket keeps.
pub(crate) trait Aggregate: Default + Clone + PartialEq + Serialize + DeserializeOwned {
    fn add(&mut self, p: &Point);
    fn merge(&mut self, other: &Self);
    /// Adds this aggregate, of events between `lo` and `hi`, to a general one.
    fn widen(&self, lo: i64, hi: i64, into: &mut Acc);
}

/// Events only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct CountAcc {
    n: u32,
}

impl Aggregate for CountAcc {
    fn add(&mut self, _: &Point) {
        self.n += 1;
    }
    fn merge(&mut self, other: &Self) {
        self.n += other.n;
    }
    fn widen(&self, lo: i64, hi: i64, into: &mut Acc) {
        into.n += self.n;
        into.span(lo, hi);
    }
}

/// Count, sum, min and max of a numeric field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumAcc {
    n: u32,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for NumAcc {
    fn default() -> Self {
        NumAcc { n: 0, sum: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

impl Aggregate for NumAcc {
    fn add(&mut self, p: &Point) {
        if let Some(x) = p.num {
            self.n += 1;
            self.sum += x;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
    }
    fn merge(&mut self, other: &Self) {
        self.n += other.n;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
    fn widen(&self, lo: i64, hi: i64, into: &mut Acc) {
        into.n += self.n;
        into.sum += self.sum;
        into.min = into.min.min(self.min);
        into.max = into.max.max(self.max);
        into.span(lo, hi);
    }
}

/// Values of a field: counts per value, the first and the last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ValueAcc {
    n: u32,
    first: Option<(i64, u64, u32)>,
    last: Option<(i64, u64, u32)>,
    values: Vec<(u32, u32)>,
}

impl Aggregate for ValueAcc {
    fn add(&mut self, p: &Point) {
        let Some(v) = p.value else { return };
        self.n += 1;
        self.first = earlier(self.first, (p.ts, p.seq, v));
        self.last = later(self.last, (p.ts, p.seq, v));
        add_value(&mut self.values, v, 1);
    }
    fn merge(&mut self, other: &Self) {
        self.n += other.n;
        if let Some(f) = other.first {
            self.first = earlier(self.first, f);
        }
        if let Some(l) = other.last {
            self.last = later(self.last, l);
        }
        for &(v, c) in &other.values {
            add_value(&mut self.values, v, c);
        }
    }
    fn widen(&self, _: i64, _: i64, into: &mut Acc) {
        into.n += self.n;
        if let Some(f) = self.first {
            into.first = earlier(into.first, f);
        }
        if let Some(l) = self.last {
            into.last = later(into.last, l);
        }
        for &(v, c) in &self.values {
            add_value(&mut into.values, v, c);
        }
    }
}

/// One day's aggregate; the day is that of `lo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Bucket<A> {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    pub(crate) acc: A,
}

impl<A> Bucket<A> {
    fn day(&self) -> i64 {
        self.lo.div_euclid(DAY)
    }
}

/// A customer's buckets of one series, plus the all-time aggregate. Most customers have one
/// day of a series: that bucket lives inline, not in an allocation of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Series<A> {
    pub(crate) buckets: smallvec::SmallVec<[Bucket<A>; 1]>,
    // Days before this one were pruned (i64::MIN: none were).
    pub(crate) pruned_before: i64,
    pub(crate) total: A,
    pub(crate) total_lo: i64,
    pub(crate) total_hi: i64,
}

impl<A: Aggregate> Series<A> {
    pub(crate) fn new() -> Self {
        Series {
            buckets: smallvec::SmallVec::new(),
            pruned_before: i64::MIN,
            total: A::default(),
            total_lo: i64::MAX,
            total_hi: i64::MIN,
        }
    }

    /// Adds an event; keeps buckets for `keep_days` days before the newest (0: no buckets).
    pub(crate) fn add(&mut self, p: Point, keep_days: i64) {
        self.total.add(&p);
        self.total_lo = self.total_lo.min(p.ts);
        self.total_hi = self.total_hi.max(p.ts);
        if keep_days == 0 {
            return;
        }
        let day = p.ts.div_euclid(DAY);
        if day < self.pruned_before {
            // Older than what is kept: answered by scanning, like any pruned day.
            return;
        }
        let i = match self.buckets.binary_search_by_key(&day, Bucket::day) {
            Ok(i) => i,
            Err(i) => {
                // Exact growth: most customers have a few days, and a million of them add up.
                self.buckets.reserve_exact(1);
                self.buckets.insert(i, Bucket { lo: p.ts, hi: p.ts, acc: A::default() });
                i
            }
        };
        let b = &mut self.buckets[i];
        b.lo = b.lo.min(p.ts);
        b.hi = b.hi.max(p.ts);
        b.acc.add(&p);
        self.prune(keep_days);
    }

    fn prune(&mut self, keep_days: i64) {
        let Some(newest) = self.buckets.last().map(Bucket::day) else { return };
        let cut = newest - keep_days;
        if self.buckets.first().is_some_and(|b| b.day() < cut) {
            self.buckets.retain(|b| b.day() >= cut);
            self.buckets.shrink_to_fit();
            self.pruned_before = self.pruned_before.max(cut);
        }
    }

    /// Folds another customer's series in (two identities found to be one person).
    pub(crate) fn merge(&mut self, other: &Series<A>, keep_days: i64) {
        self.total.merge(&other.total);
        self.total_lo = self.total_lo.min(other.total_lo);
        self.total_hi = self.total_hi.max(other.total_hi);
        self.pruned_before = self.pruned_before.max(other.pruned_before);
        for b in &other.buckets {
            if b.day() < self.pruned_before {
                continue;
            }
            match self.buckets.binary_search_by_key(&b.day(), Bucket::day) {
                Ok(i) => {
                    let mine = &mut self.buckets[i];
                    mine.lo = mine.lo.min(b.lo);
                    mine.hi = mine.hi.max(b.hi);
                    mine.acc.merge(&b.acc);
                }
                Err(i) => self.buckets.insert(i, b.clone()),
            }
        }
        self.prune(keep_days);
    }

    /// The aggregate over `[from, to)` from RAM, and the ranges that must be scanned to make
    /// it exact (edge days that straddle the window, days pruned).
    pub(crate) fn window(&self, from: i64, to: i64) -> (Acc, Vec<(i64, i64)>) {
        let mut acc = Acc::default();
        let mut scan = Vec::new();
        if from == i64::MIN {
            // All time: the running total is exact when nothing at or after `to` is in it.
            if self.total_hi < to {
                self.total.widen(self.total_lo, self.total_hi, &mut acc);
            } else {
                scan.push((from, to));
            }
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
                b.acc.widen(b.lo, b.hi, &mut acc);
            } else {
                let (start, end) = (b.day() * DAY, (b.day() + 1) * DAY);
                scan.push((start.max(from), end.min(to)));
            }
        }
        (acc, scan)
    }

    /// Bytes held on the heap (for the memory report), as malloc spends them.
    pub(crate) fn heap_bytes(&self) -> usize {
        use super::api::block;
        let spilled = if self.buckets.spilled() { self.buckets.capacity() } else { 0 };
        block(std::mem::size_of::<Self>()) + block(spilled * std::mem::size_of::<Bucket<A>>())
    }
}

/// A series of any kind, boxed: a profile holds one slot per configured series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum SeriesSlot {
    Count(Box<Series<CountAcc>>),
    Num(Box<Series<NumAcc>>),
    Values(Box<Series<ValueAcc>>),
}

/// The kind of a configured series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeriesKind {
    Count,
    Num,
    Values,
}

impl SeriesSlot {
    pub(crate) fn new(kind: SeriesKind) -> Self {
        match kind {
            SeriesKind::Count => SeriesSlot::Count(Box::new(Series::new())),
            SeriesKind::Num => SeriesSlot::Num(Box::new(Series::new())),
            SeriesKind::Values => SeriesSlot::Values(Box::new(Series::new())),
        }
    }

    pub(crate) fn add(&mut self, p: Point, keep_days: i64) {
        match self {
            SeriesSlot::Count(s) => s.add(p, keep_days),
            SeriesSlot::Num(s) => s.add(p, keep_days),
            SeriesSlot::Values(s) => s.add(p, keep_days),
        }
    }

    pub(crate) fn merge(&mut self, other: &SeriesSlot, keep_days: i64) {
        match (self, other) {
            (SeriesSlot::Count(a), SeriesSlot::Count(b)) => a.merge(b, keep_days),
            (SeriesSlot::Num(a), SeriesSlot::Num(b)) => a.merge(b, keep_days),
            (SeriesSlot::Values(a), SeriesSlot::Values(b)) => a.merge(b, keep_days),
            // One configuration makes every slot of a series the same kind.
            _ => {}
        }
    }

    pub(crate) fn window(&self, from: i64, to: i64) -> (Acc, Vec<(i64, i64)>) {
        match self {
            SeriesSlot::Count(s) => s.window(from, to),
            SeriesSlot::Num(s) => s.window(from, to),
            SeriesSlot::Values(s) => s.window(from, to),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            SeriesSlot::Count(s) => s.heap_bytes(),
            SeriesSlot::Num(s) => s.heap_bytes(),
            SeriesSlot::Values(s) => {
                s.heap_bytes() + s.buckets.iter().map(|b| b.acc.values.capacity() * 8).sum::<usize>()
            }
        }
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
        let mut s = Series::<NumAcc>::new();
        for (ts, x) in [(DAY / 2, 1.0), (DAY + 10, 2.0), (DAY + DAY / 2, 4.0), (3 * DAY + 5, 8.0)] {
            s.add(p(ts, x), 30);
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
        assert_eq!(acc.last.map(|l| l.0), Some(3 * DAY + 5));
        assert_eq!(s.window(i64::MIN, 3 * DAY).1, vec![(i64::MIN, 3 * DAY)]);
    }

    #[test]
    fn pruned_days_are_scanned() {
        let mut s = Series::<CountAcc>::new();
        s.add(p(0, 1.0), 2);
        s.add(p(10 * DAY, 1.0), 2);
        assert_eq!(s.buckets.len(), 1);
        let (acc, scan) = s.window(0, 11 * DAY);
        assert_eq!(acc.n, 1);
        assert_eq!(scan, vec![(0, 8 * DAY)]);
    }

    #[test]
    fn buckets_stay_small() {
        assert_eq!(std::mem::size_of::<Bucket<CountAcc>>(), 24);
        assert_eq!(std::mem::size_of::<Bucket<NumAcc>>(), 48);
    }
}
