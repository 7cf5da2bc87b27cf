//! Retention cohorts and lifetime value per cohort.
//!
//! A customer's cohort is the period (a UTC day, or a week from Monday 00:00 UTC) of their
//! first cohort event: `signup`, their first order, or any event named. Period n of a cohort
//! is the n-th period after the cohort's own (n = 0); a customer is retained in it when they
//! have an activity event in it. LTV at period n is the cohort's revenue from period 0 to n
//! divided by its customers. Only events before `at` count: each cohort's last period may
//! still be running.

use cxp_store::{ColumnData, CustomerSnapshot, ScanRequest, Store, StoreError};

use super::kpi::{DAY, day_start};
use crate::api::analytics::{Cohort, RetentionReport};
use crate::segment::behavioural;

/// A week, ns.
pub const WEEK: i64 = 7 * DAY;

/// The start of the period of length `period` (a day or a week) holding `t`: UTC midnight,
/// or the Monday 00:00 UTC at or before it for weeks.
pub fn period_start(t: i64, period: i64) -> i64 {
    let day = day_start(t);
    if period == WEEK {
        // 1970-01-01 was a Thursday: Mondays are the days d with (d + 3) % 7 == 0.
        day - (day / DAY + 3).rem_euclid(7) * DAY
    } else {
        day
    }
}

/// A retention table to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSpec {
    /// The event whose first occurrence puts a customer in a cohort.
    pub cohort_event: String,
    /// The event that counts as being active (`None`: any behavioural event).
    pub activity: Option<String>,
    /// [`DAY`] or [`WEEK`].
    pub period: i64,
    /// Cohorts whose period starts at or after the period holding this time.
    pub from: i64,
    /// Events before this time.
    pub at: i64,
    /// The order event and amount field, for lifetime value.
    pub order: String,
    /// The amount field of orders.
    pub amount: String,
}

impl RetentionSpec {
    /// Weekly cohorts by signup, active on any event.
    pub fn weekly(from: i64, at: i64) -> Self {
        RetentionSpec {
            cohort_event: "signup".into(),
            activity: None,
            period: WEEK,
            from,
            at,
            order: "order".into(),
            amount: "amount".into(),
        }
    }
}

/// The retention table of `spec` over the customers of `snap`.
pub fn retention(store: &Store, snap: &CustomerSnapshot, spec: &RetentionSpec) -> Result<RetentionReport, StoreError> {
    if spec.period != DAY && spec.period != WEEK {
        return Err(StoreError::Invalid("retention periods are days or weeks".into()));
    }
    let n = snap.len();
    let first = period_start(spec.from, spec.period);
    // Each customer's first cohort event (before `at`, from any time: a customer who signed
    // up before `from` is in an older cohort, not in the first one shown).
    let mut joined = vec![i64::MAX; n];
    let mut req = ScanRequest::new(spec.cohort_event.clone()).between(i64::MIN, spec.at).columns(Vec::<String>::new());
    req.with_ts = true;
    req.with_ck = true;
    for batch in store.scan(req)? {
        let batch = batch?;
        for row in 0..batch.rows {
            if let Some(p) = snap.position_of(batch.ck[row]) {
                joined[p] = joined[p].min(batch.ts[row]);
            }
        }
    }
    let last = period_start(spec.at - 1, spec.period);
    let cohorts = if last < first { 0 } else { ((last - first) / spec.period + 1) as usize };
    // Per customer in a shown cohort: its cohort index; periods since it are at most `cohorts`.
    let cohort_of: Vec<u32> = joined
        .iter()
        .map(|&t| {
            if t == i64::MAX || t < first {
                u32::MAX
            } else {
                ((period_start(t, spec.period) - first) / spec.period) as u32
            }
        })
        .collect();
    let mut size = vec![0u64; cohorts];
    for &c in &cohort_of {
        if c != u32::MAX {
            size[c as usize] += 1;
        }
    }
    // (cohort, period, position) of every activity, deduplicated.
    let mut seen: Vec<(u32, u32, u32)> = Vec::new();
    let events = match &spec.activity {
        Some(e) => vec![e.clone()],
        None => behavioural(store)?,
    };
    for event in &events {
        let mut req = ScanRequest::new(event.clone()).between(first, spec.at).columns(Vec::<String>::new());
        req.with_ts = true;
        req.with_ck = true;
        for batch in store.scan(req)? {
            let batch = batch?;
            for row in 0..batch.rows {
                let Some(p) = snap.position_of(batch.ck[row]) else { continue };
                let c = cohort_of[p];
                if c == u32::MAX || batch.ts[row] < joined[p] {
                    continue;
                }
                let period = (period_start(batch.ts[row], spec.period) - first) / spec.period - i64::from(c);
                seen.push((c, period as u32, p as u32));
            }
        }
    }
    seen.sort_unstable();
    seen.dedup();
    let mut active: Vec<Vec<u64>> = (0..cohorts).map(|c| vec![0; cohorts - c]).collect();
    for (c, period, _) in seen {
        active[c as usize][period as usize] += 1;
    }
    // Revenue per cohort and period, from the cohort's start on.
    let mut revenue: Vec<Vec<f64>> = (0..cohorts).map(|c| vec![0.0; cohorts - c]).collect();
    let mut req = ScanRequest::new(spec.order.clone()).between(first, spec.at).columns([spec.amount.clone()]);
    req.with_ts = true;
    req.with_ck = true;
    for batch in store.scan(req)? {
        let batch = batch?;
        let Some(col) = batch.column(&spec.amount) else { continue };
        for row in 0..batch.rows {
            let Some(p) = snap.position_of(batch.ck[row]) else { continue };
            let c = cohort_of[p];
            if c == u32::MAX || batch.ts[row] < joined[p] || !col.is_valid(row) {
                continue;
            }
            let amount = match &col.data {
                ColumnData::F64(v) => v[row],
                ColumnData::I64(v) => v[row] as f64,
                ColumnData::U64(v) => v[row] as f64,
                _ => continue,
            };
            let period = (period_start(batch.ts[row], spec.period) - first) / spec.period - i64::from(c);
            revenue[c as usize][period as usize] += amount;
        }
    }
    let out = (0..cohorts)
        .map(|c| {
            let customers = size[c];
            let share = |x: f64| if customers == 0 { 0.0 } else { x / customers as f64 };
            let mut total = 0.0;
            let ltv = revenue[c]
                .iter()
                .map(|r| {
                    total += r;
                    share(total)
                })
                .collect();
            Cohort {
                start: first + c as i64 * spec.period,
                customers,
                retention: active[c].iter().map(|a| share(*a as f64)).collect(),
                active: active[c].clone(),
                ltv,
            }
        })
        .collect();
    Ok(RetentionReport {
        cohort_by: spec.cohort_event.clone(),
        activity: spec.activity.clone().unwrap_or_else(|| "any".into()),
        period_ns: spec.period,
        at: spec.at,
        cohorts: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_utc() {
        // 2026-01-01 is a Thursday; its week starts on Monday 2025-12-29.
        let jan1 = 1_767_225_600_000_000_000;
        assert_eq!(period_start(jan1, WEEK), jan1 - 3 * DAY);
        assert_eq!(period_start(jan1 + 4 * DAY, WEEK), jan1 + 4 * DAY, "2026-01-05 is a Monday");
        assert_eq!(period_start(jan1 + 4 * DAY - 1, WEEK), jan1 - 3 * DAY);
        assert_eq!(period_start(jan1 + 5, DAY), jan1);
    }
}
