//! Aggregates of every customer's events by scanning parts: exact at any query time.
//!
//! One scan per event (measurement) of the window `[at - W, at)`, pruned by time, with only
//! the key, the time and the field decoded; each row is added to its person through the
//! snapshot's key -> position map, so identity merges are honoured without a look-up per row.

use cxp_store::{ColumnData, CustomerSnapshot, NullableColumn, ScanRequest, Store, StoreError, TraitColumn};
use hashbrown::HashMap;

use super::ast::Agg;
use super::leaf::{LeafData, NO_TIME};

/// What a scan read, for `explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Chunks decoded.
    pub chunks: u64,
    /// Rows in the window.
    pub rows: u64,
}

/// Measurements an `any` aggregate reads: every measurement but the system's own records
/// (`cxp.*`, such as segment entries), which are not something the customer did.
pub fn behavioural(store: &Store) -> Result<Vec<String>, StoreError> {
    Ok(store.measurements()?.into_iter().filter(|m| !m.starts_with("cxp.")).collect())
}

/// One aggregate to compute by scanning.
#[derive(Debug, Clone, Copy)]
pub struct AggScan<'a> {
    /// The function.
    pub func: Agg,
    /// The field it reads (`None`: the events themselves).
    pub field: Option<&'a str>,
    /// Inclusive start of the window, ns.
    pub from: i64,
    /// Exclusive end (the query time), ns.
    pub to: i64,
}

/// `spec` over the events of `events`, per customer position of `snap`.
pub fn aggregate(
    store: &Store,
    snap: &CustomerSnapshot,
    events: &[String],
    spec: AggScan<'_>,
    stats: &mut ScanStats,
) -> Result<LeafData, StoreError> {
    aggregate_for(store, snap, events, spec, None, stats)
}

/// [`aggregate`] reading only the parts and chunks that hold one of `customers` (keys).
pub fn aggregate_for(
    store: &Store,
    snap: &CustomerSnapshot,
    events: &[String],
    spec: AggScan<'_>,
    customers: Option<&roaring::RoaringBitmap>,
    stats: &mut ScanStats,
) -> Result<LeafData, StoreError> {
    let AggScan { func, field, from, to: at } = spec;
    let n = snap.len();
    let mut acc = Acc::new(func, field.is_some(), n);
    let with_seq = matches!(func, Agg::First | Agg::Last) && field.is_some();
    for event in events {
        let mut req = ScanRequest::new(event.clone()).between(from, at).columns(field.map(str::to_owned));
        if let Some(keys) = customers {
            req = req.customers(keys.clone());
        }
        req.with_ck = true;
        req.with_ts = matches!(func, Agg::First | Agg::Last);
        req.with_seq = with_seq;
        for batch in store.scan(req)? {
            let batch = batch?;
            stats.chunks += 1;
            stats.rows += batch.rows as u64;
            let col = field.and_then(|f| batch.column(f));
            if field.is_some() && col.is_none() {
                continue;
            }
            if acc.add_fast(snap, &batch.ck, col) {
                continue;
            }
            for row in 0..batch.rows {
                let Some(p) = snap.position_of(batch.ck[row]) else { continue };
                let ts = batch.ts.get(row).copied().unwrap_or(0);
                let seq = batch.seq.get(row).copied().unwrap_or(0);
                match col {
                    None => acc.event(p, ts),
                    Some(c) => acc.value(p, ts, seq, c, row),
                }
            }
        }
    }
    Ok(acc.finish())
}

// Per-customer state of one aggregate.
enum Acc {
    Count(Vec<f64>),
    Sum(Vec<f64>),
    Avg(Vec<f64>, Vec<u32>),
    Min(Vec<f64>),
    Max(Vec<f64>),
    FirstTime(Vec<i64>),
    LastTime(Vec<i64>),
    // (position, value code) pairs; deduplicated or counted at the end.
    Distinct(Values, Vec<(u32, u32)>),
    MostFrequent(Values, HashMap<(u32, u32), u32>),
    // (ts, seq, code) of the earliest or latest event, per position.
    FirstValue(Values, Vec<(i64, u64, u32)>),
    LastValue(Values, Vec<(i64, u64, u32)>),
}

impl Acc {
    fn new(func: Agg, field: bool, n: usize) -> Acc {
        let values = Values::default;
        match (func, field) {
            (Agg::Count, _) => Acc::Count(vec![0.0; n]),
            (Agg::Sum, _) => Acc::Sum(vec![0.0; n]),
            (Agg::Avg, _) => Acc::Avg(vec![0.0; n], vec![0; n]),
            (Agg::Min, _) => Acc::Min(vec![f64::NAN; n]),
            (Agg::Max, _) => Acc::Max(vec![f64::NAN; n]),
            (Agg::First, false) => Acc::FirstTime(vec![NO_TIME; n]),
            (Agg::Last, false) => Acc::LastTime(vec![NO_TIME; n]),
            (Agg::Distinct, _) => Acc::Distinct(values(), Vec::new()),
            (Agg::MostFrequent, _) => Acc::MostFrequent(values(), HashMap::new()),
            (Agg::First, true) => Acc::FirstValue(values(), vec![(i64::MAX, u64::MAX, u32::MAX); n]),
            (Agg::Last, true) => Acc::LastValue(values(), vec![(i64::MIN, 0, u32::MAX); n]),
        }
    }

    // The common aggregates (`count(e)`, `sum(e.f)` of a float field without gaps) in a loop
    // of their own, without a match per row; false when this batch is not one of them.
    fn add_fast(&mut self, snap: &CustomerSnapshot, cks: &[u32], col: Option<&NullableColumn>) -> bool {
        match (self, col) {
            (Acc::Count(c), None) => {
                for ck in cks {
                    if let Some(p) = snap.position_of(*ck) {
                        c[p] += 1.0;
                    }
                }
                true
            }
            (Acc::Sum(s), Some(NullableColumn { data: ColumnData::F64(v), valid: None })) => {
                for (ck, x) in cks.iter().zip(v) {
                    if let Some(p) = snap.position_of(*ck) {
                        s[p] += x;
                    }
                }
                true
            }
            _ => false,
        }
    }

    // An event without a field to read.
    fn event(&mut self, p: usize, ts: i64) {
        match self {
            Acc::Count(c) => c[p] += 1.0,
            Acc::FirstTime(t) if t[p] == NO_TIME || ts < t[p] => t[p] = ts,
            Acc::LastTime(t) => t[p] = t[p].max(ts),
            _ => {}
        }
    }

    fn value(&mut self, p: usize, ts: i64, seq: u64, col: &NullableColumn, row: usize) {
        if !col.is_valid(row) {
            return;
        }
        let num = || match &col.data {
            ColumnData::I64(v) => Some(v[row] as f64),
            ColumnData::U64(v) => Some(v[row] as f64),
            ColumnData::F64(v) => Some(v[row]),
            ColumnData::Bool(_) | ColumnData::Str(_) => None,
        };
        match self {
            Acc::Count(_) | Acc::FirstTime(_) | Acc::LastTime(_) => self.event(p, ts),
            Acc::Sum(s) => {
                if let Some(x) = num() {
                    s[p] += x;
                }
            }
            Acc::Avg(s, n) => {
                if let Some(x) = num() {
                    s[p] += x;
                    n[p] += 1;
                }
            }
            Acc::Min(m) => {
                if let Some(x) = num()
                    && (m[p].is_nan() || x < m[p])
                {
                    m[p] = x;
                }
            }
            Acc::Max(m) => {
                if let Some(x) = num()
                    && (m[p].is_nan() || x > m[p])
                {
                    m[p] = x;
                }
            }
            Acc::Distinct(values, pairs) => pairs.push((p as u32, values.code(col, row))),
            Acc::MostFrequent(values, counts) => *counts.entry((p as u32, values.code(col, row))).or_insert(0) += 1,
            Acc::FirstValue(values, best) => {
                if (ts, seq) < (best[p].0, best[p].1) {
                    best[p] = (ts, seq, values.code(col, row));
                }
            }
            Acc::LastValue(values, best) => {
                if (ts, seq) >= (best[p].0, best[p].1) {
                    best[p] = (ts, seq, values.code(col, row));
                }
            }
        }
    }

    fn finish(self) -> LeafData {
        match self {
            Acc::Count(v) | Acc::Sum(v) | Acc::Min(v) | Acc::Max(v) => LeafData::Num(v),
            Acc::Avg(s, n) => LeafData::Num(
                s.iter().zip(&n).map(|(s, n)| if *n == 0 { f64::NAN } else { s / f64::from(*n) }).collect(),
            ),
            Acc::FirstTime(t) | Acc::LastTime(t) => LeafData::Time(t),
            Acc::Distinct(_, mut pairs) => {
                pairs.sort_unstable();
                pairs.dedup();
                let n = match &pairs.last() {
                    Some(_) => pairs.iter().map(|(p, _)| *p as usize + 1).max().unwrap_or(0),
                    None => 0,
                };
                let mut out = vec![0.0; n];
                for (p, _) in pairs {
                    out[p as usize] += 1.0;
                }
                LeafData::Num(out)
            }
            Acc::MostFrequent(values, counts) => {
                let mut best: HashMap<u32, (u32, u32)> = HashMap::new();
                for ((p, code), c) in counts {
                    let e = best.entry(p).or_insert((c, code));
                    let better = c > e.0 || (c == e.0 && values.encoded[code as usize] < values.encoded[e.1 as usize]);
                    if better {
                        *e = (c, code);
                    }
                }
                let n = best.keys().map(|p| *p as usize + 1).max().unwrap_or(0);
                let mut codes = vec![u32::MAX; n];
                for (p, (_, code)) in best {
                    codes[p as usize] = code;
                }
                LeafData::Value(values.column(codes.into_iter()))
            }
            Acc::FirstValue(values, best) | Acc::LastValue(values, best) => {
                LeafData::Value(values.column(best.into_iter().map(|(_, _, c)| c)))
            }
        }
    }
}

// Distinct values met while scanning, each with a code, encoded as the store encodes
// categorical values (type letter, then text), so that `1` and `1.0` stay apart and ties of
// `most_frequent` break the same way as the profile's computed traits.
#[derive(Default)]
struct Values {
    codes: HashMap<String, u32>,
    encoded: Vec<String>,
    scratch: String,
}

impl Values {
    fn code(&mut self, col: &NullableColumn, row: usize) -> u32 {
        use std::fmt::Write;
        self.scratch.clear();
        let _ = match &col.data {
            ColumnData::I64(v) => write!(self.scratch, "i{}", v[row]),
            ColumnData::U64(v) => write!(self.scratch, "u{}", v[row]),
            ColumnData::F64(v) => write!(self.scratch, "f{}", v[row]),
            ColumnData::Bool(v) => write!(self.scratch, "b{}", v.get(row)),
            ColumnData::Str(v) => write!(self.scratch, "s{}", v.get(row)),
        };
        if let Some(c) = self.codes.get(self.scratch.as_str()) {
            return *c;
        }
        let c = self.encoded.len() as u32;
        self.encoded.push(self.scratch.clone());
        self.codes.insert(self.scratch.clone(), c);
        c
    }

    // A value column from per-position codes (`u32::MAX`: none); callers pad to the universe.
    fn column(&self, codes: impl Iterator<Item = u32>) -> TraitColumn {
        let mut col = TraitColumn::default();
        let mut texts: HashMap<u32, u32> = HashMap::new();
        for code in codes {
            let (num, text) = match self.encoded.get(code as usize) {
                None => (f64::NAN, u32::MAX),
                Some(e) => {
                    let (tag, rest) = e.split_at(1);
                    match tag {
                        "i" | "u" | "f" => (rest.parse().unwrap_or(f64::NAN), u32::MAX),
                        "b" => (if rest == "true" { 1.0 } else { 0.0 }, u32::MAX),
                        _ => {
                            let next = col.texts.len() as u32;
                            let t = *texts.entry(code).or_insert_with(|| {
                                col.texts.push(rest.to_owned());
                                next
                            });
                            (f64::NAN, t)
                        }
                    }
                }
            };
            col.num.push(num);
            col.text.push(text);
        }
        col
    }
}

/// Pads a leaf to `n` customers (aggregates built from pairs end at the last customer seen).
pub(crate) fn pad(data: &mut LeafData, n: usize) {
    match data {
        LeafData::Num(v) => v.resize(n, 0.0),
        LeafData::Time(v) => v.resize(n, NO_TIME),
        LeafData::Value(c) => {
            c.num.resize(n, f64::NAN);
            c.text.resize(n, u32::MAX);
        }
        LeafData::Set(s) => s.grow(n),
    }
}
