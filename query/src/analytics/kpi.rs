//! Daily KPIs: active customers (DAU, WAU, MAU), orders, revenue, average order value,
//! buyers and the conversion rate (buyers among the day's active customers).
//!
//! Days are UTC calendar days. WAU of a day counts the customers active on it or on the six
//! days before; MAU, on it or on the 29 before. Every customer is a person (keys joined by
//! identity resolution count once).
//!
//! Each customer's active days are bits in a row of words; DAU adds each bit once, and WAU/MAU
//! add one interval per run of covered days (a difference array), so the work grows with the
//! active days, not with days times customers.

use cxp_store::{ColumnData, CustomerSnapshot, ScanRequest, Store, StoreError};

use crate::api::analytics::{KpiDay, KpiReport};
use crate::segment::behavioural;

/// A UTC day, ns.
pub const DAY: i64 = 86_400_000_000_000;

/// What the daily KPIs read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiSpec {
    /// First day: the UTC day holding this time.
    pub from: i64,
    /// Events before this time; the last day is the one holding `at - 1`.
    pub at: i64,
    /// The event that makes a customer active (`None`: any behavioural event).
    pub active: Option<String>,
    /// The order event.
    pub order: String,
    /// Its amount field.
    pub amount: String,
}

impl KpiSpec {
    /// Daily KPIs of `[from, at)` over any event and `order.amount`.
    pub fn new(from: i64, at: i64) -> Self {
        KpiSpec { from, at, active: None, order: "order".into(), amount: "amount".into() }
    }
}

/// The UTC midnight at or before `t`.
pub fn day_start(t: i64) -> i64 {
    t.div_euclid(DAY) * DAY
}

/// Daily KPIs of `spec` over the customers of `snap`.
pub fn daily(store: &Store, snap: &CustomerSnapshot, spec: &KpiSpec) -> Result<KpiReport, StoreError> {
    if spec.at <= spec.from {
        return Err(StoreError::Invalid("the KPI range is empty: `from` must come before `at`".into()));
    }
    let first = day_start(spec.from);
    let days = ((spec.at - 1 - first).div_euclid(DAY) + 1) as usize;
    // MAU looks 29 days back from the first day.
    const BACK: usize = 29;
    let span = days + BACK;
    let origin = first - BACK as i64 * DAY;
    let words = span.div_ceil(64);
    let n = snap.len();
    let mut active = vec![0u64; n * words];
    let events = match &spec.active {
        Some(e) => vec![e.clone()],
        None => behavioural(store)?,
    };
    for event in &events {
        let mut req = ScanRequest::new(event.clone()).between(origin, spec.at).columns(Vec::<String>::new());
        req.with_ts = true;
        req.with_ck = true;
        for batch in store.scan(req)? {
            let batch = batch?;
            for row in 0..batch.rows {
                let Some(p) = snap.position_of(batch.ck[row]) else { continue };
                let d = ((batch.ts[row] - origin) / DAY) as usize;
                active[p * words + d / 64] |= 1 << (d % 64);
            }
        }
    }
    let mut dau = vec![0u64; span];
    let mut wau = vec![0i64; span + 1];
    let mut mau = vec![0i64; span + 1];
    for row in active.chunks_exact(words) {
        let mut runs = [Run::default(), Run::default()];
        for (w, &word) in row.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let d = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                dau[d] += 1;
                runs[0].add(d, 7, span, &mut wau);
                runs[1].add(d, 30, span, &mut mau);
            }
        }
        runs[0].close(&mut wau);
        runs[1].close(&mut mau);
    }
    // Orders, revenue and buyers per day.
    let mut orders = vec![0u64; days];
    let mut revenue = vec![0f64; days];
    let mut buyer_days: Vec<(u32, u32)> = Vec::new();
    let mut req = ScanRequest::new(spec.order.clone()).between(first, spec.at).columns([spec.amount.clone()]);
    req.with_ts = true;
    req.with_ck = true;
    for batch in store.scan(req)? {
        let batch = batch?;
        let amount = batch.column(&spec.amount);
        for row in 0..batch.rows {
            let Some(p) = snap.position_of(batch.ck[row]) else { continue };
            let d = ((batch.ts[row] - first) / DAY) as usize;
            orders[d] += 1;
            if let Some(col) = amount
                && col.is_valid(row)
            {
                revenue[d] += match &col.data {
                    ColumnData::F64(v) => v[row],
                    ColumnData::I64(v) => v[row] as f64,
                    ColumnData::U64(v) => v[row] as f64,
                    _ => 0.0,
                };
            }
            buyer_days.push((d as u32, p as u32));
        }
    }
    buyer_days.sort_unstable();
    buyer_days.dedup();
    let mut buyers = vec![0u64; days];
    for (d, _) in buyer_days {
        buyers[d as usize] += 1;
    }
    let (mut w, mut m) = (0i64, 0i64);
    let mut out = Vec::with_capacity(days);
    for d in 0..span {
        w += wau[d];
        m += mau[d];
        if d < BACK {
            continue;
        }
        let i = d - BACK;
        out.push(KpiDay {
            day: first + i as i64 * DAY,
            dau: dau[d],
            wau: w as u64,
            mau: m as u64,
            orders: orders[i],
            revenue: revenue[i],
            aov: if orders[i] == 0 { 0.0 } else { revenue[i] / orders[i] as f64 },
            buyers: buyers[i],
            conversion: if dau[d] == 0 { 0.0 } else { buyers[i] as f64 / dau[d] as f64 },
        });
    }
    Ok(KpiReport { from: first, at: spec.at, days: out })
}

// The run of days a customer counts in for a trailing window: active days d cover
// `[d, d + len)`; overlapping covers merge into one interval of the difference array.
#[derive(Default)]
struct Run {
    open: Option<(usize, usize)>,
}

impl Run {
    fn add(&mut self, d: usize, len: usize, span: usize, diff: &mut [i64]) {
        let end = (d + len).min(span);
        match &mut self.open {
            Some((_, e)) if d <= *e => *e = end.max(*e),
            _ => {
                self.close(diff);
                self.open = Some((d, end));
            }
        }
    }

    fn close(&mut self, diff: &mut [i64]) {
        if let Some((s, e)) = self.open.take() {
            diff[s] += 1;
            diff[e] -= 1;
        }
    }
}
