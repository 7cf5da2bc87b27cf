//! Recommendations: items related to an item (co-occurrence in customers' views, carts and
//! orders, with time decay), for a customer looking at a product right now, with a coupon
//! decision from the customer's model scores.
//!
//! The state is built from the store's events once ([`rebuild`]) and then follows every
//! committed event ([`CoOccurrence::observe`]); a question is a look-up in RAM (microseconds).

mod cooc;

use cxp_store::{Ck, ColumnData, ScanRequest, Store, StoreError};
use serde::{Deserialize, Serialize};

pub use cooc::{CoOccurrence, NEIGHBOURS, RECENT, Related, Similarity};

const DAY: i64 = 86_400_000_000_000;

/// What counts as an interaction with an item, and how recommendations are made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecConfig {
    /// Events and their weights: `{ page_view = 1, add_to_cart = 3, order = 5 }`.
    pub events: std::collections::BTreeMap<String, f32>,
    /// The field (or tag) naming the item.
    pub item_field: String,
    /// Two interactions of a customer within this many days make a pair.
    pub window_days: u32,
    /// Counts halve every this many days.
    pub half_life_days: u32,
    /// Events of this many days are read when the state is rebuilt.
    pub history_days: u32,
    /// How items are compared.
    pub similarity: Similarity,
    /// Pairs weaker than this (decayed weight) are not recommended.
    pub min_support: f64,
    /// Coupon policy.
    pub coupon: CouponPolicy,
}

impl Default for RecConfig {
    fn default() -> Self {
        RecConfig {
            events: [("page_view".to_owned(), 1.0), ("add_to_cart".to_owned(), 3.0), ("order".to_owned(), 5.0)]
                .into_iter()
                .collect(),
            item_field: "sku".into(),
            window_days: 7,
            half_life_days: 30,
            history_days: 90,
            similarity: Similarity::Cosine,
            min_support: 2.0,
            coupon: CouponPolicy::default(),
        }
    }
}

impl RecConfig {
    /// An empty state for this configuration.
    pub fn state(&self) -> CoOccurrence {
        CoOccurrence::new(i64::from(self.window_days.max(1)) * DAY, i64::from(self.half_life_days.max(1)) * DAY)
    }
}

/// When a coupon is worth offering: to customers who may buy but are not sure to (a coupon
/// for a sure buyer gives margin away), or who are about to leave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CouponPolicy {
    /// Purchase-intent model.
    pub purchase_model: String,
    /// Offer when its score is at least this...
    pub min_purchase: f64,
    /// ...and below this.
    pub max_purchase: f64,
    /// Churn model.
    pub churn_model: String,
    /// Or when the churn score is at least this.
    pub min_churn: f64,
}

impl Default for CouponPolicy {
    fn default() -> Self {
        CouponPolicy {
            purchase_model: "purchase".into(),
            min_purchase: 0.2,
            max_purchase: 0.6,
            churn_model: "churn".into(),
            min_churn: 0.7,
        }
    }
}

/// Whether to offer a coupon, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouponDecision {
    /// Offer one.
    pub offer: bool,
    /// Why, in words.
    pub reason: String,
}

impl CouponPolicy {
    /// The decision for a customer with these scores (by model name).
    pub fn decide(&self, scores: &std::collections::BTreeMap<String, f32>) -> CouponDecision {
        let purchase = scores.get(&self.purchase_model).map(|&v| f64::from(v));
        let churn = scores.get(&self.churn_model).map(|&v| f64::from(v));
        let (offer, reason) = match (purchase, churn) {
            (_, Some(c)) if c >= self.min_churn => (true, format!("churn risk {c:.2} is at least {}", self.min_churn)),
            (Some(p), _) if p >= self.min_purchase && p < self.max_purchase => {
                (true, format!("purchase intent {p:.2} is undecided ({} to {})", self.min_purchase, self.max_purchase))
            }
            (Some(p), _) if p >= self.max_purchase => (false, format!("purchase intent {p:.2}: likely to buy anyway")),
            (Some(p), _) => (false, format!("purchase intent {p:.2}: too unlikely to buy")),
            (None, _) => (false, format!("no {} score yet", self.purchase_model)),
        };
        CouponDecision { offer, reason }
    }
}

/// What [`rebuild`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Interactions read.
    pub events: u64,
    /// Whether it stopped early on request.
    pub stopped: bool,
}

/// Fills `state` from the store's interactions of the last `history_days` before `now` with a
/// sequence number below `below_seq` (those above come from a tap): each person's events in
/// time order. Checks `stop` between chunks.
pub fn rebuild(
    store: &Store,
    config: &RecConfig,
    state: &mut CoOccurrence,
    now: i64,
    below_seq: u64,
    stop: &dyn Fn() -> bool,
) -> Result<Rebuilt, StoreError> {
    let from = now - i64::from(config.history_days) * DAY;
    let mut items: Vec<String> = Vec::new();
    let mut codes: hashbrown::HashMap<String, u32> = hashbrown::HashMap::new();
    // (root, ts, item code, weight)
    let mut rows: Vec<(Ck, i64, u32, f32)> = Vec::new();
    for (event, &weight) in &config.events {
        let mut req = ScanRequest::new(event.clone()).between(from, i64::MAX).columns([config.item_field.clone()]);
        req.with_ck = true;
        req.with_ts = true;
        req.with_seq = true;
        for batch in store.scan(req)? {
            if stop() {
                return Ok(Rebuilt { events: 0, stopped: true });
            }
            let batch = batch?;
            let Some(col) = batch.column(&config.item_field) else { continue };
            let ColumnData::Str(s) = &col.data else { continue };
            for row in 0..batch.rows {
                if batch.seq[row] >= below_seq || !col.is_valid(row) {
                    continue;
                }
                let item = s.get(row);
                let code = match codes.get(item) {
                    Some(&c) => c,
                    None => {
                        let c = items.len() as u32;
                        items.push(item.to_owned());
                        codes.insert(item.to_owned(), c);
                        c
                    }
                };
                rows.push((store.root(batch.ck[row]), batch.ts[row], code, weight));
            }
        }
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    for &(who, ts, code, weight) in &rows {
        state.observe(who, &items[code as usize], ts, weight);
    }
    state.sweep(now);
    Ok(Rebuilt { events: rows.len() as u64, stopped: false })
}

/// `GET /api/v1/recommendations`: what to show next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecommendationDoc {
    /// The item looked at (`None`: from the customer's recent items).
    pub item: Option<String>,
    /// The customer, when asked for one.
    pub customer: Option<String>,
    /// Their customer key, when known.
    pub root: Option<Ck>,
    /// Recommended items, best first.
    pub items: Vec<Related>,
    /// The coupon decision, for a customer.
    pub coupon: Option<CouponDecision>,
    /// Time taken, µs.
    pub took_us: u64,
}

/// Items for a customer looking at `item` (or, without one, at what they looked at lately):
/// related items, leaving out what they just bought.
pub fn for_customer(
    state: &CoOccurrence,
    config: &RecConfig,
    who: Option<Ck>,
    item: Option<&str>,
    k: usize,
) -> Vec<Related> {
    let recent = who.map(|w| state.recent_of(w)).unwrap_or_default();
    let order_weight = config.events.get("order").copied().unwrap_or(f32::MAX);
    let bought: Vec<&str> = recent.iter().filter(|(_, w)| *w >= order_weight).map(|(i, _)| i.as_str()).collect();
    let seed = item.map(str::to_owned).or_else(|| recent.first().map(|(i, _)| i.clone()));
    match seed {
        Some(s) => state.related(&s, k, config.similarity, config.min_support, &bought),
        None => state.popular(k, &bought),
    }
}
