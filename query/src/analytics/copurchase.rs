//! Co-purchase: the products bought by the customers who bought product P, by distinct
//! buyers, with their share of P's buyers and the lift over chance.

use cxp_store::{ColumnData, CustomerSnapshot, ScanRequest, Store, StoreError};
use fixedbitset::FixedBitSet;
use hashbrown::HashMap;

use crate::api::analytics::{CopurchaseItem, CopurchaseReport};

/// What to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopurchaseSpec {
    /// The product asked about.
    pub sku: String,
    /// The order event.
    pub event: String,
    /// Its product field.
    pub field: String,
    /// Orders at or after this time.
    pub from: i64,
    /// Orders before this time.
    pub at: i64,
    /// Products to list at most.
    pub limit: usize,
}

impl CopurchaseSpec {
    /// The top `limit` products bought with `sku` in `order.sku` before `at`.
    pub fn new(sku: impl Into<String>, at: i64, limit: usize) -> Self {
        CopurchaseSpec { sku: sku.into(), event: "order".into(), field: "sku".into(), from: i64::MIN, at, limit }
    }
}

/// Co-purchases of `spec` among the customers of `snap`.
pub fn copurchase(
    store: &Store,
    snap: &CustomerSnapshot,
    spec: &CopurchaseSpec,
) -> Result<CopurchaseReport, StoreError> {
    let mut codes: HashMap<String, u32> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut req = ScanRequest::new(spec.event.clone()).between(spec.from, spec.at).columns([spec.field.clone()]);
    req.with_ck = true;
    for batch in store.scan(req)? {
        let batch = batch?;
        let Some(col) = batch.column(&spec.field) else { continue };
        let ColumnData::Str(skus) = &col.data else { continue };
        for row in 0..batch.rows {
            if !col.is_valid(row) {
                continue;
            }
            let Some(p) = snap.position_of(batch.ck[row]) else { continue };
            let sku = skus.get(row);
            let code = match codes.get(sku) {
                Some(c) => *c,
                None => {
                    let c = names.len() as u32;
                    names.push(sku.to_owned());
                    codes.insert(sku.to_owned(), c);
                    c
                }
            };
            pairs.push((code, p as u32));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let target = codes.get(&spec.sku).copied();
    let mut bought = FixedBitSet::with_capacity(snap.len());
    let mut everyone = FixedBitSet::with_capacity(snap.len());
    for &(code, p) in &pairs {
        everyone.insert(p as usize);
        if Some(code) == target {
            bought.insert(p as usize);
        }
    }
    let buyers = bought.count_ones(..) as u64;
    let all_buyers = everyone.count_ones(..) as u64;
    // Per product: its buyers, and those of them who also bought the target.
    let mut per: Vec<(u64, u64)> = vec![(0, 0); names.len()];
    for &(code, p) in &pairs {
        per[code as usize].0 += 1;
        if bought.contains(p as usize) {
            per[code as usize].1 += 1;
        }
    }
    let mut items: Vec<CopurchaseItem> = per
        .iter()
        .enumerate()
        .filter(|(code, (_, with))| Some(*code as u32) != target && *with > 0)
        .map(|(code, &(all, with))| {
            let share = with as f64 / buyers as f64;
            let base = all as f64 / all_buyers as f64;
            CopurchaseItem { sku: names[code].clone(), buyers: with, share, lift: share / base }
        })
        .collect();
    items.sort_by(|a, b| b.buyers.cmp(&a.buyers).then(a.sku.cmp(&b.sku)));
    items.truncate(spec.limit);
    Ok(CopurchaseReport { sku: spec.sku.clone(), buyers, all_buyers, items })
}
