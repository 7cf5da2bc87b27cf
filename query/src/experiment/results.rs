//! Results of an experiment from the store: who was exposed to what, and what they did next.
//!
//! A customer's exposure is their first exposure event for the experiment (between the
//! experiment's start and end, before the query time). Customers exposed to more than one
//! variant (an identifier hashed before and after login, or broken logging) are left out and
//! counted. A metric reads the customer's events at or after that first exposure and within the
//! metric's window; customers whose window has not ended yet count with what they did so far,
//! the same in every variant. Every comparison of the analysis (variants x metrics) is
//! corrected together by Holm.

use std::time::Instant;

use cxp_store::{ColumnData, NullableColumn, ScanRequest, Store, StoreError};
use hashbrown::HashMap;

use super::config::{Experiment, Metric, MetricKind};
use crate::api::{Comparison, ExperimentResults, FactorDoc, MetricResult, MetricValue, VariantDoc};
use crate::stats::means::{Summary, welch};
use crate::stats::multiple::holm;
use crate::stats::proportions::{Counts, two_proportions};
use crate::stats::{StatsError, bayes, srm};

/// Why results cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The numbers are outside what a test takes (a bug if it happens: inputs are checked).
    #[error(transparent)]
    Stats(#[from] StatsError),
}

const NONE: u16 = u16::MAX;
const MULTI: u16 = u16::MAX - 1;

/// Exposure per customer position.
struct Exposures {
    first: Vec<i64>,
    variant: Vec<u16>,
    unknown: u64,
}

/// The text of a tag or field at `row`, without allocating for strings.
fn text_at<'c>(col: &'c NullableColumn, row: usize, buf: &'c mut String) -> Option<&'c str> {
    if !col.is_valid(row) {
        return None;
    }
    match &col.data {
        ColumnData::Str(s) => Some(s.get(row)),
        other => {
            *buf = other.value(row).to_string();
            Some(buf.as_str())
        }
    }
}

fn exposures(
    store: &Store,
    snap: &cxp_store::CustomerSnapshot,
    exp: &Experiment,
    at: i64,
) -> Result<Exposures, StoreError> {
    let n = snap.len();
    let mut out = Exposures { first: vec![i64::MAX; n], variant: vec![NONE; n], unknown: 0 };
    let index: HashMap<&str, u16> = exp.variants.iter().enumerate().map(|(i, v)| (v.name.as_str(), i as u16)).collect();
    let from = exp.start.unwrap_or(i64::MIN);
    let to = exp.end.map_or(at, |e| e.min(at));
    let e = &exp.exposure;
    let mut req =
        ScanRequest::new(e.event.clone()).between(from, to).columns([e.experiment.clone(), e.variant.clone()]);
    req.with_ts = true;
    req.with_ck = true;
    let (mut b1, mut b2) = (String::new(), String::new());
    // For dictionary-coded chunks (tags, mostly), each distinct value is looked at once.
    const OTHER: u16 = u16::MAX;
    let (mut ours, mut vmap): (Vec<bool>, Vec<u16>) = (Vec::new(), Vec::new());
    for batch in store.scan(req)? {
        let batch = batch?;
        let (Some(ecol), Some(vcol)) = (batch.column(&e.experiment), batch.column(&e.variant)) else { continue };
        let ecodes = match &ecol.data {
            ColumnData::Str(s) => s.codes().map(|(c, n)| {
                ours.clear();
                ours.extend((0..n as u32).map(|k| s.dictionary_value(k) == exp.name));
                c
            }),
            _ => None,
        };
        let vcodes = match &vcol.data {
            ColumnData::Str(s) => s.codes().map(|(c, n)| {
                vmap.clear();
                vmap.extend((0..n as u32).map(|k| index.get(s.dictionary_value(k)).copied().unwrap_or(OTHER)));
                c
            }),
            _ => None,
        };
        for row in 0..batch.rows {
            let mine = match ecodes {
                Some(c) => ecol.is_valid(row) && ours[c[row] as usize],
                None => text_at(ecol, row, &mut b1) == Some(exp.name.as_str()),
            };
            if !mine {
                continue;
            }
            let Some(p) = snap.position_of(batch.ck[row]) else { continue };
            let v = match vcodes {
                Some(c) if vcol.is_valid(row) => Some(vmap[c[row] as usize]).filter(|&v| v != OTHER),
                Some(_) => None,
                None => text_at(vcol, row, &mut b2).and_then(|name| index.get(name)).copied(),
            };
            let Some(v) = v else {
                out.unknown += 1;
                continue;
            };
            let cur = &mut out.variant[p];
            *cur = match *cur {
                NONE => v,
                c if c == v => v,
                _ => MULTI,
            };
            out.first[p] = out.first[p].min(batch.ts[row]);
        }
    }
    Ok(out)
}

/// A metric's value per customer position: the value and whether the customer counts.
struct PerCustomer {
    value: Vec<f64>,
    events: Vec<u32>,
}

fn per_customer(
    store: &Store,
    snap: &cxp_store::CustomerSnapshot,
    ex: &Exposures,
    m: &Metric,
    at: i64,
) -> Result<PerCustomer, StoreError> {
    let n = snap.len();
    let mut out = PerCustomer { value: vec![0.0; n], events: vec![0; n] };
    let from = ex.first.iter().copied().min().unwrap_or(i64::MAX);
    if from == i64::MAX {
        return Ok(out);
    }
    let cols: Vec<String> = m.field.iter().cloned().collect();
    let mut req = ScanRequest::new(m.event.clone()).between(from, at).columns(cols);
    req.with_ts = true;
    req.with_ck = true;
    for batch in store.scan(req)? {
        let batch = batch?;
        let field = m.field.as_deref().and_then(|f| batch.column(f));
        if m.field.is_some() && field.is_none() {
            continue;
        }
        for row in 0..batch.rows {
            let Some(p) = snap.position_of(batch.ck[row]) else { continue };
            if ex.variant[p] >= MULTI {
                continue;
            }
            let (ts, first) = (batch.ts[row], ex.first[p]);
            if ts < first || ts - first >= m.window_ns {
                continue;
            }
            match field {
                None => out.value[p] = 1.0,
                Some(col) => {
                    let Some(x) = col.get(row).and_then(|v| v.as_f64()) else { continue };
                    out.value[p] += x;
                }
            }
            out.events[p] += 1;
        }
    }
    Ok(out)
}

/// Per-group accumulation (Welford) of customer values.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    n: u64,
    mean: f64,
    m2: f64,
    hits: u64,
}

impl Acc {
    fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    fn summary(self) -> Summary {
        let sd = if self.n > 1 { (self.m2 / (self.n - 1) as f64).sqrt() } else { 0.0 };
        Summary { mean: self.mean, sd, n: self.n }
    }
}

fn accumulate(ex: &Exposures, pc: &PerCustomer, kind: MetricKind, group_of: &[usize], groups: usize) -> Vec<Acc> {
    let mut accs = vec![Acc::default(); groups];
    for (p, &v) in ex.variant.iter().enumerate() {
        if v >= MULTI {
            continue;
        }
        let acc = &mut accs[group_of[v as usize]];
        match kind {
            MetricKind::Conversion => {
                acc.n += 1;
                acc.hits += u64::from(pc.events[p] > 0);
            }
            MetricKind::Sum => acc.push(pc.value[p]),
            MetricKind::Mean if pc.events[p] > 0 => acc.push(pc.value[p] / f64::from(pc.events[p])),
            MetricKind::Mean => {}
        }
    }
    accs
}

/// One analysis: metrics over groups (variants, or the levels of a factor).
fn analyse(
    metrics: &[(&Metric, bool, PerCustomer)],
    ex: &Exposures,
    names: &[String],
    group_of: &[usize],
    alpha: f64,
    warnings: &mut Vec<String>,
) -> Result<Vec<MetricResult>, ResultsError> {
    let mut out = Vec::new();
    for (m, guardrail, pc) in metrics {
        let accs = accumulate(ex, pc, m.kind, group_of, names.len());
        let values = accs
            .iter()
            .zip(names)
            .map(|(a, g)| MetricValue {
                group: g.clone(),
                customers: a.n,
                conversions: (m.kind == MetricKind::Conversion).then_some(a.hits),
                mean: if m.kind == MetricKind::Conversion {
                    if a.n == 0 { 0.0 } else { a.hits as f64 / a.n as f64 }
                } else {
                    a.mean
                },
                sd: (m.kind != MetricKind::Conversion).then(|| a.summary().sd),
            })
            .collect();
        let mut comparisons = Vec::new();
        for g in 1..names.len() {
            let (c, v) = (accs[0], accs[g]);
            let cmp = if m.kind == MetricKind::Conversion {
                if c.n == 0 || v.n == 0 {
                    None
                } else {
                    let (cc, vc) =
                        (Counts { successes: c.hits, trials: c.n }, Counts { successes: v.hits, trials: v.n });
                    let t = two_proportions(cc, vc, alpha)?;
                    let b = bayes::proportions(cc, vc)?;
                    Some((t.difference, t.difference_ci, t.relative_lift, t.relative_ci, t.p_value, b))
                }
            } else if c.n < 2 || v.n < 2 {
                None
            } else {
                let t = welch(c.summary(), v.summary(), alpha)?;
                let b = bayes::means(c.summary(), v.summary())?;
                Some((t.difference, t.difference_ci, t.relative_lift, t.relative_ci, t.p_value, b))
            };
            match cmp {
                Some((difference, difference_ci, relative_lift, relative_ci, p_value, b)) => {
                    comparisons.push(Comparison {
                        group: names[g].clone(),
                        difference,
                        difference_ci,
                        relative_lift,
                        relative_ci,
                        p_value,
                        p_adjusted: p_value,
                        significant: false,
                        chance_to_beat_control: b.chance_to_beat_control,
                        expected_loss: b.expected_loss_variant,
                        expected_loss_control: b.expected_loss_control,
                    })
                }
                None => warnings
                    .push(format!("{}: too few customers to compare {:?} with {:?} yet", m.name, names[g], names[0])),
            }
        }
        out.push(MetricResult { name: m.name.clone(), kind: m.kind, guardrail: *guardrail, values, comparisons });
    }
    let ps: Vec<f64> = out.iter().flat_map(|r| r.comparisons.iter().map(|c| c.p_value)).collect();
    let adjusted = holm(&ps);
    for (c, adj) in out.iter_mut().flat_map(|r| r.comparisons.iter_mut()).zip(adjusted) {
        c.p_adjusted = adj;
        c.significant = adj < alpha;
    }
    Ok(out)
}

/// The results of `exp` as of `at`.
pub fn results(store: &Store, exp: &Experiment, at: i64) -> Result<ExperimentResults, ResultsError> {
    let started = Instant::now();
    let snap = store.snapshot(false, &[]);
    let ex = exposures(store, &snap, exp, at)?;
    let k = exp.variants.len();
    let mut exposed = vec![0u64; k];
    let mut multiple = 0u64;
    for &v in &ex.variant {
        match v {
            NONE => {}
            MULTI => multiple += 1,
            v => exposed[v as usize] += 1,
        }
    }
    let weights: Vec<f64> = exp.variants.iter().map(|v| v.weight).collect();
    let wsum: f64 = weights.iter().sum();
    let srm = srm::srm(&exposed, &weights)?;
    let metrics = exp
        .metrics()
        .map(|(m, g)| Ok((m, g, per_customer(store, &snap, &ex, m, at)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut warnings = Vec::new();
    let names: Vec<String> = exp.variants.iter().map(|v| v.name.clone()).collect();
    let identity: Vec<usize> = (0..k).collect();
    let results = analyse(&metrics, &ex, &names, &identity, exp.alpha, &mut warnings)?;
    let mut factors = Vec::new();
    let mut stride = k;
    for f in &exp.factors {
        // Variants are the product of levels in factor order: the first factor varies slowest.
        stride /= f.levels.len();
        let group_of: Vec<usize> = (0..k).map(|i| (i / stride) % f.levels.len()).collect();
        let mut fw = Vec::new();
        let metrics = analyse(&metrics, &ex, &f.levels, &group_of, exp.alpha, &mut fw)?;
        warnings.extend(fw.into_iter().map(|w| format!("factor {}: {w}", f.name)));
        factors.push(FactorDoc { factor: f.name.clone(), levels: f.levels.clone(), metrics });
    }
    let total: u64 = exposed.iter().sum();
    if total == 0 {
        warnings.push(format!(
            "no exposures yet: log {} events with {}={:?} and {} set to the variant",
            exp.exposure.event, exp.exposure.experiment, exp.name, exp.exposure.variant
        ));
    }
    if srm.mismatch {
        warnings.push(format!(
            "sample ratio mismatch (chi-square p = {:.2e} < 0.001): exposures do not follow the configured weights; \
             assignment or exposure logging is broken and these results cannot be trusted",
            srm.p_value
        ));
    }
    if multiple > 0 {
        warnings.push(format!("{multiple} customers were exposed to more than one variant and are left out"));
    }
    if ex.unknown > 0 {
        warnings
            .push(format!("{} exposures name a variant this experiment does not have and are left out", ex.unknown));
    }
    if let Some(plan) = exp.plan {
        let smallest = exposed.iter().copied().min().unwrap_or(0);
        if smallest < plan.per_variant {
            warnings.push(format!(
                "only {smallest} of the planned {} customers per variant so far: p-values read before the planned \
                 sample size overstate the evidence (peeking); decide at the planned size",
                plan.per_variant
            ));
        }
    }
    Ok(ExperimentResults {
        name: exp.name.clone(),
        at,
        alpha: exp.alpha,
        variants: exp
            .variants
            .iter()
            .zip(&exposed)
            .map(|(v, &e)| VariantDoc { name: v.name.clone(), share: v.weight / wsum, exposed: e })
            .collect(),
        multiple_exposures: multiple,
        unknown_variant: ex.unknown,
        srm,
        plan: exp.plan,
        metrics: results,
        factors,
        warnings,
        took_us: started.elapsed().as_micros() as u64,
    })
}
