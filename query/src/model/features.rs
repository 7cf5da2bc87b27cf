//! The feature table of a model: one row per customer as of a cutoff time, from their events
//! before it, and (for training) a label from their events after it.
//!
//! No leakage by construction: features read the window `[-inf, cutoff)` and labels only
//! `[cutoff, cutoff + horizon)`, in separate scans. The rows are the customers active in the
//! `active_days` before the cutoff (a customer gone silent long ago has already churned; a
//! model of who is about to is about the others), and by default only known customers (not
//! anonymous visitors).
//!
//! Features, in column order:
//!
//! | name | meaning |
//! |---|---|
//! | `recency_days` | days since the last event |
//! | `tenure_days` | days since the first event |
//! | `orders` | orders, all time |
//! | `spend` | sum of order amounts, all time |
//! | `aov` | spend / orders (missing without orders) |
//! | `days_since_order` | days since the last order (missing without orders) |
//! | `events_{W}d` | events in the last W days, for each window |
//! | `active_days_30d` | days with at least one event in the last 30 |
//! | `{event}_{W}d` | events of each listed event in the last W days |
//! | `share_{channel}` | share of the last 90 days' events on each of the three busiest channels |
//! | `share_{device}` | the same for the two busiest devices |
//! | `reviews` | reviews, all time |
//! | `rating_mean` | their mean rating (missing without reviews) |
//! | `negative_words`, `positive_words` | sentiment words in review texts (Chinese and English) |

use std::sync::Arc;

use cxp_store::{Ck, ColumnData, CustomerSnapshot, NullableColumn, ScanRequest, Store, StoreError};
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;

const DAY: i64 = 86_400_000_000_000;

/// Words that make a review negative or positive. Short on purpose: the model learns how much
/// they matter; what it needs is a count it can trust.
const NEGATIVE: [&str; 18] = [
    "退款",
    "差",
    "破",
    "慢",
    "失望",
    "投诉",
    "假",
    "坏",
    "退货",
    "refund",
    "broken",
    "slow",
    "bad",
    "terrible",
    "disappointed",
    "fake",
    "return",
    "worst",
];
const POSITIVE: [&str; 16] = [
    "好",
    "快",
    "满意",
    "喜欢",
    "推荐",
    "不错",
    "正品",
    "great",
    "good",
    "love",
    "fast",
    "excellent",
    "recommend",
    "perfect",
    "happy",
    "nice",
];

/// What the table is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureSpec {
    /// Events counted one by one in each window.
    pub events: Vec<String>,
    /// Windows of the counts, days.
    pub windows_days: Vec<u32>,
    /// Rows: customers with an event in this many days before the cutoff.
    pub active_days: u32,
    /// Rows: only known customers (an identifier other than an anonymous device): visitors
    /// who never signed in cannot be reached, and their "churn" is a cookie expiring.
    pub known_only: bool,
    /// The order event and its amount field.
    pub order_event: String,
    /// Amount field of orders.
    pub amount_field: String,
    /// The review event, its text and rating fields.
    pub review_event: String,
    /// Text field of reviews.
    pub text_field: String,
    /// Rating field of reviews.
    pub rating_field: String,
}

impl Default for FeatureSpec {
    fn default() -> Self {
        FeatureSpec {
            events: ["page_view", "login", "add_to_cart", "order", "search"].map(String::from).to_vec(),
            windows_days: vec![30, 90],
            active_days: 90,
            known_only: true,
            order_event: "order".into(),
            amount_field: "amount".into(),
            review_event: "review".into(),
            text_field: "text".into(),
            rating_field: "rating".into(),
        }
    }
}

/// What a row's label says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Label {
    /// 1 when the customer has no event at all in the `days` after the cutoff.
    Churn {
        /// Horizon, days.
        days: u32,
    },
    /// 1 when the customer has an `event` in the `days` after the cutoff.
    Event {
        /// The event (an order for purchase intent).
        event: String,
        /// Horizon, days.
        days: u32,
    },
}

impl Label {
    /// Days after the cutoff the label reads.
    pub fn days(&self) -> u32 {
        match self {
            Label::Churn { days } | Label::Event { days, .. } => *days,
        }
    }
}

/// A built table: rows, whose they are, and the window they were read from.
#[derive(Debug, Clone)]
pub struct FeatureTable {
    /// Features and labels (labels empty without a label).
    pub data: Dataset,
    /// The person (root key) of each row.
    pub roots: Vec<Ck>,
    /// Features read events before this time, ns.
    pub cutoff: i64,
    /// Labels read events in `[cutoff, label_end)`, ns (equal to `cutoff` without labels).
    pub label_end: i64,
}

impl FeatureTable {
    /// A readable identifier of each row's person (`customer=c-1`), for CSV exports.
    pub fn ids(&self, store: &Store) -> Vec<String> {
        self.roots
            .iter()
            .map(|&r| store.customer_id(r).map_or_else(|| format!("#{r}"), |(t, v)| format!("{t}={v}")))
            .collect()
    }
}

/// Per-customer accumulators, by snapshot position.
struct Acc {
    /// Had an event under a key that is not an anonymous device (the customer was known).
    known: Vec<bool>,
    first: Vec<i64>,
    last: Vec<i64>,
    windows: Vec<Vec<u32>>,
    active_days: Vec<u32>,
    day_seen: Vec<i64>,
    per_event: Vec<Vec<Vec<u32>>>,
    orders: Vec<u32>,
    spend: Vec<f64>,
    last_order: Vec<i64>,
    recent: Vec<u32>,
    channel: Vec<Vec<u32>>,
    device: Vec<Vec<u32>>,
    reviews: Vec<u32>,
    rating_sum: Vec<f64>,
    rating_n: Vec<u32>,
    negative: Vec<u32>,
    positive: Vec<u32>,
}

fn num(col: &NullableColumn, row: usize) -> Option<f64> {
    if !col.is_valid(row) {
        return None;
    }
    match &col.data {
        ColumnData::F64(v) => Some(v[row]),
        ColumnData::I64(v) => Some(v[row] as f64),
        ColumnData::U64(v) => Some(v[row] as f64),
        _ => None,
    }
}

fn text(col: &NullableColumn, row: usize) -> Option<&str> {
    match &col.data {
        ColumnData::Str(s) if col.is_valid(row) => Some(s.get(row)),
        _ => None,
    }
}

fn count_words(text: &str, words: &[&str]) -> u32 {
    let lower = text.to_lowercase();
    words.iter().map(|w| lower.matches(w).count() as u32).sum()
}

/// The most frequent values of a tag over the measurements given, at most `k`.
fn top_values(
    store: &Store,
    events: &[String],
    tag: &str,
    from: i64,
    to: i64,
    k: usize,
) -> Result<Vec<String>, StoreError> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for m in events {
        for batch in store.scan(ScanRequest::new(m.clone()).between(from, to).columns([tag.to_owned()]))? {
            let batch = batch?;
            let Some(col) = batch.column(tag) else { continue };
            for row in 0..batch.rows {
                if let Some(v) = text(col, row) {
                    match counts.get_mut(v) {
                        Some(c) => *c += 1,
                        None => drop(counts.insert(v.to_owned(), 1)),
                    }
                }
            }
        }
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(v.into_iter().take(k).map(|x| x.0).collect())
}

/// The columns that depend on the data: which channels and devices have a share column. A
/// model keeps the layout it was trained with, so that scoring builds the same columns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Layout {
    /// The three busiest channels.
    pub channels: Vec<String>,
    /// The two busiest devices.
    pub devices: Vec<String>,
}

/// The layout of the data before `cutoff`.
pub fn layout(store: &Store, spec: &FeatureSpec, cutoff: i64) -> Result<Layout, StoreError> {
    let events = crate::segment::behavioural(store)?;
    let recent_from = cutoff - i64::from(spec.active_days.max(1)) * DAY;
    Ok(Layout {
        channels: top_values(store, &events, "channel", recent_from, cutoff, 3)?,
        devices: top_values(store, &events, "device", recent_from, cutoff, 2)?,
    })
}

/// Whose rows to build.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Every customer active before the cutoff.
    All,
    /// One person, whenever they were last active: the keys of their identity, the root
    /// first (a single-customer score).
    Person(&'a [Ck]),
}

/// Builds the table at `cutoff`, with labels when `label` is given (read from the events of
/// the horizon after the cutoff, which must have happened for the labels to mean anything).
pub fn build(
    store: &Store,
    spec: &FeatureSpec,
    layout: &Layout,
    cutoff: i64,
    label: Option<&Label>,
    rows: Rows<'_>,
) -> Result<FeatureTable, StoreError> {
    // Before the newest event (a training table), people are who they were at the cutoff: a
    // visitor who signs up or two identities that merge after it are not known to the row.
    let as_of = store.time_range()?.is_some_and(|(_, last)| cutoff <= last);
    let (snap, only) = match rows {
        Rows::All if as_of => (snapshot_as_of(store, cutoff)?, None),
        Rows::All => (store.snapshot(false, &[]), None),
        Rows::Person(keys) => {
            // A snapshot of one: every key of the person at position 0, scans pruned to them.
            let len = keys.iter().map(|&k| k as usize + 1).max().unwrap_or(0);
            let mut position = vec![cxp_store::NO_POSITION; len];
            for &k in keys {
                position[k as usize] = 0;
            }
            let snap = CustomerSnapshot {
                roots: Arc::new(keys.first().copied().into_iter().collect()),
                position: Arc::new(position),
                ..Default::default()
            };
            (snap, Some(keys.iter().copied().collect::<roaring::RoaringBitmap>()))
        }
    };
    let n = snap.len();
    let events = crate::segment::behavioural(store)?;
    let recent_from = cutoff - i64::from(spec.active_days.max(1)) * DAY;
    let (channels, devices) = (&layout.channels, &layout.devices);
    let windows: Vec<i64> = spec.windows_days.iter().map(|&d| cutoff - i64::from(d) * DAY).collect();
    let widest = windows.iter().copied().min().unwrap_or(cutoff).min(cutoff - 30 * DAY).min(recent_from);
    let mut kinds: Vec<u8> = Vec::new();
    let known_key = |kinds: &mut Vec<u8>, ck: Ck| -> bool {
        let i = ck as usize;
        if kinds.len() <= i {
            kinds.resize(i + 1, 0);
        }
        if kinds[i] == 0 {
            kinds[i] = match store.customer_id(ck) {
                Some((t, _)) if t != "anon" => 2,
                _ => 1,
            };
        }
        kinds[i] == 2
    };
    let mut a = Acc {
        known: vec![false; n],
        first: vec![i64::MAX; n],
        last: vec![i64::MIN; n],
        windows: vec![vec![0; n]; windows.len()],
        active_days: vec![0; n],
        day_seen: vec![i64::MIN; n],
        per_event: vec![vec![vec![0; n]; windows.len()]; spec.events.len()],
        orders: vec![0; n],
        spend: vec![0.0; n],
        last_order: vec![i64::MIN; n],
        recent: vec![0; n],
        channel: vec![vec![0; n]; channels.len()],
        device: vec![vec![0; n]; devices.len()],
        reviews: vec![0; n],
        rating_sum: vec![0.0; n],
        rating_n: vec![0; n],
        negative: vec![0; n],
        positive: vec![0; n],
    };
    let month = cutoff - 30 * DAY;
    for m in &events {
        let listed = spec.events.iter().position(|e| e == m);
        let is_order = *m == spec.order_event;
        let is_review = *m == spec.review_event;
        let mut cols = vec!["channel".to_owned(), "device".to_owned()];
        if is_order {
            cols.push(spec.amount_field.clone());
        }
        if is_review {
            cols.extend([spec.text_field.clone(), spec.rating_field.clone()]);
        }
        // Events before the widest window only move first/last seen and the all-time sums:
        // everything else is in the recent scan below.
        let mut req = ScanRequest::new(m.clone()).between(i64::MIN, cutoff).columns(cols);
        if let Some(keys) = &only {
            req = req.customers(keys.clone());
        }
        req.with_ck = true;
        req.with_ts = true;
        for batch in store.scan(req)? {
            let batch = batch?;
            let channel = batch.column("channel");
            let device = batch.column("device");
            let amount = batch.column(&spec.amount_field);
            let (txt, rating) = (batch.column(&spec.text_field), batch.column(&spec.rating_field));
            for row in 0..batch.rows {
                let Some(p) = snap.position_of(batch.ck[row]) else { continue };
                let ts = batch.ts[row];
                a.first[p] = a.first[p].min(ts);
                if as_of && known_key(&mut kinds, batch.ck[row]) {
                    a.known[p] = true;
                }
                a.last[p] = a.last[p].max(ts);
                if is_order {
                    a.orders[p] += 1;
                    a.last_order[p] = a.last_order[p].max(ts);
                    a.spend[p] += amount.and_then(|c| num(c, row)).unwrap_or(0.0);
                }
                if is_review {
                    a.reviews[p] += 1;
                    if let Some(r) = rating.and_then(|c| num(c, row)) {
                        a.rating_sum[p] += r;
                        a.rating_n[p] += 1;
                    }
                    if let Some(t) = txt.and_then(|c| text(c, row)) {
                        a.negative[p] += count_words(t, &NEGATIVE);
                        a.positive[p] += count_words(t, &POSITIVE);
                    }
                }
                if ts < widest {
                    continue;
                }
                for (w, &from) in windows.iter().enumerate() {
                    if ts >= from {
                        a.windows[w][p] += 1;
                        if let Some(e) = listed {
                            a.per_event[e][w][p] += 1;
                        }
                    }
                }
                if ts >= month {
                    // Days are counted once each: events arrive in any order, so a day is
                    // marked in a small per-customer bitmap of the 30 days.
                    let day = (ts - month) / DAY;
                    let bit = 1i64 << day.clamp(0, 62);
                    if a.day_seen[p] == i64::MIN {
                        a.day_seen[p] = 0;
                    }
                    a.day_seen[p] |= bit;
                }
                if ts >= recent_from {
                    a.recent[p] += 1;
                    if let Some(c) = channel.and_then(|c| text(c, row))
                        && let Some(i) = channels.iter().position(|x| x == c)
                    {
                        a.channel[i][p] += 1;
                    }
                    if let Some(d) = device.and_then(|c| text(c, row))
                        && let Some(i) = devices.iter().position(|x| x == d)
                    {
                        a.device[i][p] += 1;
                    }
                }
            }
        }
    }
    for p in 0..n {
        if a.day_seen[p] != i64::MIN {
            a.active_days[p] = a.day_seen[p].count_ones();
        }
    }
    let labels = match label {
        Some(l) => Some(labels(store, &snap, l, cutoff, only.as_ref())?),
        None => None,
    };
    let mut names: Vec<String> =
        ["recency_days", "tenure_days", "orders", "spend", "aov", "days_since_order"].map(String::from).to_vec();
    names.extend(spec.windows_days.iter().map(|d| format!("events_{d}d")));
    names.push("active_days_30d".into());
    for e in &spec.events {
        names.extend(spec.windows_days.iter().map(|d| format!("{e}_{d}d")));
    }
    names.extend(channels.iter().map(|c| format!("share_{c}")));
    names.extend(devices.iter().map(|d| format!("share_{d}")));
    names.extend(["reviews", "rating_mean", "negative_words", "positive_words"].map(String::from));
    let mut data = Dataset::new(names);
    let mut roots = Vec::new();
    let mut row: Vec<f32> = Vec::with_capacity(data.width());
    let days = |t: i64| ((cutoff - t) as f64 / DAY as f64) as f32;
    let known = match (spec.known_only && only.is_none(), as_of) {
        (false, _) => vec![true; n],
        (true, true) => std::mem::take(&mut a.known),
        (true, false) => store.known(&snap.roots),
    };
    for p in 0..n {
        // A table holds the customers active lately; one person is scored whenever they were
        // last seen (but not before their first event).
        if a.last[p] == i64::MIN || (only.is_none() && a.last[p] < recent_from) || !known[p] {
            continue;
        }
        row.clear();
        let orders = a.orders[p];
        row.extend([days(a.last[p]), days(a.first[p]), orders as f32, a.spend[p] as f32]);
        row.push(if orders > 0 { (a.spend[p] / f64::from(orders)) as f32 } else { f32::NAN });
        row.push(if orders > 0 { days(a.last_order[p]) } else { f32::NAN });
        row.extend(a.windows.iter().map(|w| w[p] as f32));
        row.push(a.active_days[p] as f32);
        for e in &a.per_event {
            row.extend(e.iter().map(|w| w[p] as f32));
        }
        let recent = a.recent[p].max(1) as f32;
        row.extend(a.channel.iter().map(|c| c[p] as f32 / recent));
        row.extend(a.device.iter().map(|d| d[p] as f32 / recent));
        row.push(a.reviews[p] as f32);
        row.push(if a.rating_n[p] > 0 { (a.rating_sum[p] / f64::from(a.rating_n[p])) as f32 } else { f32::NAN });
        row.extend([a.negative[p] as f32, a.positive[p] as f32]);
        let y = labels.as_ref().map_or(0, |l| l[p]);
        data.push(&row, y);
        roots.push(snap.roots[p]);
    }
    if labels.is_none() {
        data.y.clear();
    }
    let label_end = label.map_or(cutoff, |l| cutoff + i64::from(l.days()) * DAY);
    Ok(FeatureTable { data, roots, cutoff, label_end })
}

/// A snapshot of the people as they stood at `cutoff`: keys joined only by links made before
/// it. A row's `root` is the person's first key then.
fn snapshot_as_of(store: &Store, cutoff: i64) -> Result<CustomerSnapshot, StoreError> {
    let now = store.snapshot(false, &[]);
    let keys = now.position.len();
    let mut parent: Vec<u32> = (0..keys as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for (a, b) in store.links_before(cutoff)? {
        if (a as usize) < keys && (b as usize) < keys {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            // The smaller key stands for the set, as in the store's own graph.
            if ra != rb {
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[hi as usize] = lo;
            }
        }
    }
    let mut position = vec![cxp_store::NO_POSITION; keys];
    let mut roots = Vec::new();
    for k in 0..keys as u32 {
        // Keys of people who exist now (not erased, with a profile).
        if now.position[k as usize] == cxp_store::NO_POSITION {
            continue;
        }
        let r = find(&mut parent, k);
        if position[r as usize] == cxp_store::NO_POSITION {
            position[r as usize] = roots.len() as u32;
            roots.push(r);
        }
        position[k as usize] = position[r as usize];
    }
    Ok(CustomerSnapshot { roots: Arc::new(roots), position: Arc::new(position), ..Default::default() })
}

/// The label of every position.
fn labels(
    store: &Store,
    snap: &CustomerSnapshot,
    label: &Label,
    cutoff: i64,
    only: Option<&roaring::RoaringBitmap>,
) -> Result<Vec<u8>, StoreError> {
    let end = cutoff + i64::from(label.days()) * DAY;
    let events = match label {
        Label::Churn { .. } => crate::segment::behavioural(store)?,
        Label::Event { event, .. } => vec![event.clone()],
    };
    let mut seen = vec![0u8; snap.len()];
    for m in &events {
        let mut req = ScanRequest::new(m.clone()).between(cutoff, end).columns(Vec::<String>::new());
        if let Some(keys) = only {
            req = req.customers(keys.clone());
        }
        req.with_ck = true;
        for batch in store.scan(req)? {
            let batch = batch?;
            for &ck in &batch.ck {
                if let Some(p) = snap.position_of(ck) {
                    seen[p] = 1;
                }
            }
        }
    }
    Ok(match label {
        Label::Churn { .. } => seen.into_iter().map(|s| 1 - s).collect(),
        Label::Event { .. } => seen,
    })
}
