//! RFM: recency, frequency and monetary value of every customer who ordered before `at`,
//! scored 1-5 by quintile and named by the standard RFM segments.
//!
//! Scores follow SQL's `NTILE(5) OVER (ORDER BY value, customer)`: customers are sorted
//! (ties by customer key, so the result is deterministic), then cut into five buckets whose
//! sizes differ by at most one, the larger buckets first. A higher score is better: the most
//! recent orders, the most orders and the most money get 5.
//!
//! Named segments, the first rule that matches wins:
//!
//! | segment | rule |
//! |---|---|
//! | champions | R >= 4, F >= 4, M >= 4 |
//! | loyal | R >= 3, F >= 4 |
//! | can't lose | R <= 2, F >= 4, M >= 4 |
//! | at risk | R <= 2, F >= 3 |
//! | new | R >= 4, F = 1 |
//! | potential loyalist | R >= 3, F <= 3 |
//! | hibernating | R = 2, F <= 2 |
//! | lost | R = 1, F <= 2 |

use cxp_store::{ColumnData, CustomerSnapshot, ScanRequest, Store, StoreError};

use crate::api::analytics::{RfmCell, RfmReport, RfmSegmentRow};

/// The named RFM segments, in rule order.
pub const SEGMENTS: [&str; 8] =
    ["champions", "loyal", "can't lose", "at risk", "new", "potential loyalist", "hibernating", "lost"];

const DAY: i64 = 86_400_000_000_000;

/// What RFM reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfmOptions {
    /// The order event.
    pub event: String,
    /// Its amount field.
    pub amount: String,
    /// Query time: orders before it count.
    pub at: i64,
}

impl RfmOptions {
    /// `order` events with `amount`, at `at`.
    pub fn at(at: i64) -> Self {
        RfmOptions { event: "order".into(), amount: "amount".into(), at }
    }
}

/// RFM of every customer, by snapshot position (customers without an order before `at` have
/// score 0 and no segment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rfm {
    /// Time of the last order (`i64::MIN`: none).
    pub last: Vec<i64>,
    /// Orders.
    pub frequency: Vec<u32>,
    /// Sum of amounts.
    pub monetary: Vec<f64>,
    /// Recency score 1-5 (0: no order).
    pub r: Vec<u8>,
    /// Frequency score 1-5.
    pub f: Vec<u8>,
    /// Monetary score 1-5.
    pub m: Vec<u8>,
    /// Index into [`SEGMENTS`] (`u8::MAX`: no order).
    pub segment: Vec<u8>,
    /// The query time.
    pub at: i64,
}

/// The named segment of scores `r`, `f`, `m` (1-5), as an index into [`SEGMENTS`].
pub fn segment_of(r: u8, f: u8, m: u8) -> u8 {
    if r >= 4 && f >= 4 && m >= 4 {
        0
    } else if r >= 3 && f >= 4 {
        1
    } else if r <= 2 && f >= 4 && m >= 4 {
        2
    } else if r <= 2 && f >= 3 {
        3
    } else if r >= 4 && f == 1 {
        4
    } else if r >= 3 {
        5
    } else if r == 2 {
        6
    } else {
        7
    }
}

/// NTILE(k) of `n` items by rank (0-based, ascending): the bucket, 1..=k.
pub fn ntile(rank: usize, n: usize, k: usize) -> u8 {
    let (q, rem) = (n / k, n % k);
    let big = rem * (q + 1);
    let b = if rank < big { rank / (q + 1) } else { rem + (rank - big) / q.max(1) };
    (b + 1) as u8
}

// Scores by NTILE(5) over (value, position): `order` sorts `idx` ascending.
fn scores<T: PartialOrd + Copy>(idx: &[u32], value: impl Fn(usize) -> T, roots: &[u32], out: &mut [u8]) {
    let mut sorted: Vec<u32> = idx.to_vec();
    sorted.sort_unstable_by(|&a, &b| {
        let (va, vb) = (value(a as usize), value(b as usize));
        va.partial_cmp(&vb).unwrap_or(std::cmp::Ordering::Equal).then(roots[a as usize].cmp(&roots[b as usize]))
    });
    let n = sorted.len();
    for (rank, p) in sorted.iter().enumerate() {
        out[*p as usize] = ntile(rank, n, 5);
    }
}

/// RFM of every customer of `snap` at `opts.at`.
pub fn rfm(store: &Store, snap: &CustomerSnapshot, opts: &RfmOptions) -> Result<Rfm, StoreError> {
    let n = snap.len();
    let mut out = Rfm {
        last: vec![i64::MIN; n],
        frequency: vec![0; n],
        monetary: vec![0.0; n],
        r: vec![0; n],
        f: vec![0; n],
        m: vec![0; n],
        segment: vec![u8::MAX; n],
        at: opts.at,
    };
    let mut req = ScanRequest::new(opts.event.clone()).between(i64::MIN, opts.at).columns([opts.amount.clone()]);
    req.with_ts = true;
    req.with_ck = true;
    for batch in store.scan(req)? {
        let batch = batch?;
        let amount = batch.column(&opts.amount);
        for row in 0..batch.rows {
            let Some(p) = snap.position_of(batch.ck[row]) else { continue };
            out.last[p] = out.last[p].max(batch.ts[row]);
            out.frequency[p] += 1;
            if let Some(col) = amount
                && col.is_valid(row)
            {
                out.monetary[p] += match &col.data {
                    ColumnData::F64(v) => v[row],
                    ColumnData::I64(v) => v[row] as f64,
                    ColumnData::U64(v) => v[row] as f64,
                    _ => 0.0,
                };
            }
        }
    }
    let idx: Vec<u32> = (0..n as u32).filter(|p| out.frequency[*p as usize] > 0).collect();
    let roots = &snap.roots;
    let (mut r, mut f, mut m) = (vec![0; n], vec![0; n], vec![0; n]);
    // The three sorts are independent: two cores take them together.
    std::thread::scope(|s| {
        let (last, freq, money) = (&out.last, &out.frequency, &out.monetary);
        let idx = &idx;
        let a = s.spawn(|| scores(idx, |p| last[p], roots, &mut r));
        scores(idx, |p| freq[p], roots, &mut f);
        scores(idx, |p| money[p], roots, &mut m);
        let _ = a.join();
    });
    for p in idx {
        let p = p as usize;
        out.segment[p] = segment_of(r[p], f[p], m[p]);
    }
    (out.r, out.f, out.m) = (r, f, m);
    Ok(out)
}

impl Rfm {
    /// The report: the R x F grid and each named segment's size and averages.
    pub fn report(&self) -> RfmReport {
        let mut grid = vec![RfmCell::default(); 25];
        let mut segs: Vec<RfmSegmentRow> =
            SEGMENTS.iter().map(|s| RfmSegmentRow { name: (*s).to_owned(), ..RfmSegmentRow::default() }).collect();
        let mut customers = 0u64;
        for p in 0..self.r.len() {
            if self.r[p] == 0 {
                continue;
            }
            customers += 1;
            let cell = &mut grid[(self.r[p] as usize - 1) * 5 + self.f[p] as usize - 1];
            cell.r = self.r[p];
            cell.f = self.f[p];
            cell.customers += 1;
            cell.monetary += self.monetary[p];
            let s = &mut segs[self.segment[p] as usize];
            s.customers += 1;
            s.recency_days += ((self.at - self.last[p]) / DAY) as f64;
            s.frequency += f64::from(self.frequency[p]);
            s.monetary += self.monetary[p];
        }
        for (i, cell) in grid.iter_mut().enumerate() {
            cell.r = (i / 5 + 1) as u8;
            cell.f = (i % 5 + 1) as u8;
            if cell.customers > 0 {
                cell.monetary /= cell.customers as f64;
            }
        }
        for s in &mut segs {
            s.share = if customers == 0 { 0.0 } else { s.customers as f64 / customers as f64 };
            s.revenue = s.monetary;
            if s.customers > 0 {
                let c = s.customers as f64;
                s.recency_days /= c;
                s.frequency /= c;
                s.monetary /= c;
            }
        }
        RfmReport { at: self.at, customers, grid, segments: segs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntile_matches_sql() {
        // NTILE(5) over 12 rows, as PostgreSQL and DuckDB number them: sizes 3,3,2,2,2.
        let got: Vec<u8> = (0..12).map(|r| ntile(r, 12, 5)).collect();
        assert_eq!(got, [1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Fewer rows than buckets: one row each, buckets 1..n.
        let got: Vec<u8> = (0..3).map(|r| ntile(r, 3, 5)).collect();
        assert_eq!(got, [1, 2, 3]);
        let got: Vec<u8> = (0..10).map(|r| ntile(r, 10, 5)).collect();
        assert_eq!(got, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }

    #[test]
    fn every_score_triple_has_exactly_one_named_segment() {
        let mut seen = [0u32; 8];
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen[segment_of(r, f, m) as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|n| *n > 0), "every segment is reachable: {seen:?}");
        assert_eq!(segment_of(5, 5, 5), 0);
        assert_eq!(segment_of(5, 5, 1), 1);
        assert_eq!(segment_of(1, 5, 5), 2);
        assert_eq!(segment_of(1, 5, 1), 3);
        assert_eq!(segment_of(5, 1, 1), 4);
        assert_eq!(segment_of(3, 2, 1), 5);
        assert_eq!(segment_of(2, 1, 5), 6);
        assert_eq!(segment_of(1, 1, 5), 7);
    }
}
