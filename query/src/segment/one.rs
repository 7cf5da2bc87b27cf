//! A segment expression for one customer: what triggers and journeys ask when an event of that
//! customer arrives ("is this customer a churn risk with more than 2 orders?").
//!
//! The same plan as for every customer, evaluated over a snapshot of one: traits, scores and
//! first/last seen from the profile, event aggregates by scanning only the parts that hold the
//! person (customer bitmaps prune the rest), named segments from the caller (the daemon's live
//! membership). RFM ranks a customer among all others, so it is refused here: a named segment
//! defined with `rfm.*` and asked as `segment(name)` gives the answer from live membership.

use std::sync::Arc;

use cxp_store::{Ck, CustomerSnapshot, NO_POSITION, Store, TraitColumn};
use fixedbitset::FixedBitSet;

use super::leaf::{Leaf, LeafData, NO_TIME};
use super::plan::{Plan, compile};
use super::run::{QueryError, names};
use super::scan::{AggScan, ScanStats, behavioural, pad};
use super::{ParseError, evaluate};

/// Compiles `expr` for per-customer evaluation, refusing what needs every customer.
pub fn compile_for_one(store: &Store, expr: &str, segments: &[String]) -> Result<Plan, QueryError> {
    let defs = segments.iter().map(|s| (s.clone(), String::new())).collect();
    let names = names(store, &defs)?;
    let invalid = |error| QueryError::Invalid { expr: expr.to_owned(), error, segment: None };
    let plan = compile(expr, &names).map_err(invalid)?;
    if plan.leaves.iter().any(|l| matches!(l, Leaf::Rfm(_))) {
        let error = ParseError::new(
            1,
            "rfm.* ranks a customer among all others: define a named segment with it and ask segment(NAME)",
        );
        return Err(invalid(error));
    }
    Ok(plan)
}

/// Whether person `root` (with all the keys of their identity in `keys`, root first) matches
/// `plan` at `at`. `segment` answers named segments (`None`: unknown, taken as not a member).
pub fn evaluate_one(
    store: &Store,
    plan: &Plan,
    keys: &[Ck],
    at: i64,
    segment: &dyn Fn(&str) -> Option<bool>,
) -> Result<bool, QueryError> {
    let Some(&root) = keys.first() else { return Ok(false) };
    let len = keys.iter().map(|&k| k as usize + 1).max().unwrap_or(0);
    let mut position = vec![NO_POSITION; len];
    for &k in keys {
        position[k as usize] = 0;
    }
    let bitmap: roaring::RoaringBitmap = keys.iter().copied().collect();
    let snap = CustomerSnapshot { roots: Arc::new(vec![root]), position: Arc::new(position), ..Default::default() };
    let view = match store.customer_id(root) {
        Some((_, id)) => store.customer(&id, Some(at))?,
        None => None,
    };
    // As for everyone: a person whose first event is at or after `at` does not exist yet.
    if view.as_ref().is_none_or(|v| v.first_seen >= at) {
        return Ok(false);
    }
    let mut data = Vec::with_capacity(plan.leaves.len());
    for leaf in &plan.leaves {
        let d = match leaf {
            Leaf::Agg { func, event, field, window } => {
                let events = match event {
                    Some(e) => vec![e.clone()],
                    None => behavioural(store)?,
                };
                let from = window.map_or(i64::MIN, |w| at.saturating_sub(w));
                let spec = AggScan { func: *func, field: field.as_deref(), from, to: at };
                let mut d = aggregate_of(store, &snap, &bitmap, &events, spec)?;
                pad(&mut d, 1);
                d
            }
            Leaf::FirstSeen => LeafData::Time(vec![view.as_ref().map_or(NO_TIME, |v| v.first_seen)]),
            Leaf::LastSeen => {
                // The profile's last event may be after `at`: read the events then.
                match view.as_ref() {
                    Some(v) if v.last_seen < at => LeafData::Time(vec![v.last_seen]),
                    _ => {
                        let spec = AggScan { func: super::Agg::Last, field: None, from: i64::MIN, to: at };
                        let mut d = aggregate_of(store, &snap, &bitmap, &behavioural(store)?, spec)?;
                        pad(&mut d, 1);
                        d
                    }
                }
            }
            Leaf::Trait(name) => {
                let mut col = TraitColumn { num: vec![f64::NAN], text: vec![u32::MAX], texts: Vec::new() };
                if let Some(t) = view.as_ref().and_then(|v| v.traits.iter().find(|t| &t.name == name)) {
                    // As the snapshot reads traits: booleans as 1 and 0, strings as text.
                    match &t.value {
                        cxp_store::Value::Str(s) => {
                            col.texts.push(s.clone());
                            col.text[0] = 0;
                        }
                        cxp_store::Value::Bool(b) => col.num[0] = f64::from(u8::from(*b)),
                        v => col.num[0] = v.as_f64().unwrap_or(f64::NAN),
                    }
                }
                LeafData::Value(col)
            }
            Leaf::Score(model) => {
                let v = store.scores(model)?.and_then(|s| keys.iter().find_map(|&k| s.get(k)));
                LeafData::Num(vec![v.map_or(f64::NAN, f64::from)])
            }
            Leaf::Search(q) => {
                let found = store.search(q, 1)?;
                let mut set = FixedBitSet::with_capacity(1);
                set.set(0, found.customers.contains(root));
                LeafData::Set(set)
            }
            Leaf::Segment(name) => {
                let mut set = FixedBitSet::with_capacity(1);
                set.set(0, segment(name).unwrap_or(false));
                LeafData::Set(set)
            }
            Leaf::Rfm(_) => unreachable!("refused by compile_for_one"),
        };
        data.push(d);
    }
    let mut universe = FixedBitSet::with_capacity(1);
    universe.insert(0);
    Ok(evaluate(plan, &data, &universe, at).contains(0))
}

// `aggregate` over the parts holding the person only.
fn aggregate_of(
    store: &Store,
    snap: &CustomerSnapshot,
    keys: &roaring::RoaringBitmap,
    events: &[String],
    spec: AggScan<'_>,
) -> Result<LeafData, cxp_store::StoreError> {
    let mut stats = ScanStats::default();
    super::scan::aggregate_for(store, snap, events, spec, Some(keys), &mut stats)
}
