//! Replies of the analytics endpoints (`/api/v1/rfm`, `/api/v1/funnel`, `/api/v1/kpi/...`,
//! `/api/v1/cluster`, `/api/v1/copurchase`) and of the matching commands with `--json`.

use serde::{Deserialize, Serialize};

/// One cell of the RFM grid: customers with recency score `r` and frequency score `f`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RfmCell {
    /// Recency score, 1-5.
    pub r: u8,
    /// Frequency score, 1-5.
    pub f: u8,
    /// Customers.
    pub customers: u64,
    /// Their mean monetary value.
    pub monetary: f64,
}

/// One named RFM segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RfmSegmentRow {
    /// `champions`, `loyal`, ...
    pub name: String,
    /// Customers.
    pub customers: u64,
    /// Share of the customers with an order.
    pub share: f64,
    /// Mean days since the last order.
    pub recency_days: f64,
    /// Mean orders.
    pub frequency: f64,
    /// Mean money spent.
    pub monetary: f64,
    /// Money spent by all of them.
    pub revenue: f64,
}

/// `GET /api/v1/rfm`: the RFM analysis at a time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RfmReport {
    /// Query time, ns.
    pub at: i64,
    /// Customers with at least one order before `at`.
    pub customers: u64,
    /// The 5 x 5 grid, R major (r=1 f=1, r=1 f=2, ...).
    pub grid: Vec<RfmCell>,
    /// The named segments, in rule order.
    pub segments: Vec<RfmSegmentRow>,
}

/// One step of a funnel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelStep {
    /// The step's event.
    pub event: String,
    /// Customers who reached it.
    pub customers: u64,
    /// Share of those who started (the first step) who reached it.
    pub conversion: f64,
    /// Share of those who reached the previous step who reached it.
    pub step_conversion: f64,
    /// Customers who reached the previous step but not this one.
    pub dropped: u64,
}

/// A funnel of one breakdown value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelGroup {
    /// The first step's value of the breakdown tag or field.
    pub value: String,
    /// Its steps.
    pub steps: Vec<FunnelStep>,
}

/// `GET /api/v1/funnel`: customers through ordered steps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelReport {
    /// Every step, for all customers.
    pub steps: Vec<FunnelStep>,
    /// Per breakdown value, largest first (empty without a breakdown).
    pub groups: Vec<FunnelGroup>,
    /// First steps at or after this time, ns.
    pub from: i64,
    /// Events before this time, ns.
    pub at: i64,
    /// Each step within this long after the previous one, ns.
    pub step_window_ns: Option<i64>,
    /// Every step within this long after the first, ns.
    pub window_ns: Option<i64>,
    /// The breakdown tag or field.
    pub breakdown: Option<String>,
}

/// KPIs of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiDay {
    /// The day's start, ns.
    pub day: i64,
    /// Customers active that day.
    pub dau: u64,
    /// Customers active that day or in the six before.
    pub wau: u64,
    /// Customers active that day or in the 29 before.
    pub mau: u64,
    /// Orders.
    pub orders: u64,
    /// Sum of their amounts.
    pub revenue: f64,
    /// Average order value.
    pub aov: f64,
    /// Customers who ordered.
    pub buyers: u64,
    /// Buyers among the day's active customers.
    pub conversion: f64,
}

/// `GET /api/v1/kpi/daily`: KPIs per day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    /// The first day's start, ns.
    pub from: i64,
    /// Events before this time, ns.
    pub at: i64,
    /// One row per day.
    pub days: Vec<KpiDay>,
}

/// One cohort of a retention table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// The cohort period's start, ns.
    pub start: i64,
    /// Customers in it.
    pub customers: u64,
    /// Per period since the cohort's (0 = its own), customers active in it.
    pub active: Vec<u64>,
    /// The same as shares of `customers`.
    pub retention: Vec<f64>,
    /// Per period, revenue of the cohort so far divided by its customers (lifetime value).
    pub ltv: Vec<f64>,
}

/// `GET /api/v1/kpi/retention`: cohorts and their retention.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionReport {
    /// What defines a cohort: `signup`, `first_order` or an event name.
    pub cohort_by: String,
    /// The event that counts as active (`any`: every event).
    pub activity: String,
    /// Length of a period, ns (a week: 7 days, starting on Monday 00:00 UTC).
    pub period_ns: i64,
    /// Events before this time, ns; the last period of each cohort may be partial.
    pub at: i64,
    /// Cohorts, oldest first.
    pub cohorts: Vec<Cohort>,
}

/// One product bought together with another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CopurchaseItem {
    /// The product.
    pub sku: String,
    /// Customers who bought it and the product asked about.
    pub buyers: u64,
    /// Their share of the buyers of the product asked about.
    pub share: f64,
    /// `share` divided by the share of all buyers who bought it (1: no more than chance).
    pub lift: f64,
}

/// `GET /api/v1/copurchase`: what buyers of a product also bought.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CopurchaseReport {
    /// The product asked about.
    pub sku: String,
    /// Customers who bought it.
    pub buyers: u64,
    /// Customers who bought anything.
    pub all_buyers: u64,
    /// Products they also bought, most buyers first.
    pub items: Vec<CopurchaseItem>,
}

/// One k tried by the clustering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterTry {
    /// Clusters.
    pub k: usize,
    /// Sum of squared distances to the centroids (standardised units).
    pub inertia: f64,
    /// Mean silhouette on the sample (-1 to 1; higher: better separated).
    pub silhouette: f64,
    /// Lloyd iterations.
    pub iterations: usize,
}

/// One cluster of customers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterProfile {
    /// Its number.
    pub cluster: u32,
    /// Customers in it.
    pub customers: u64,
    /// Their share of the clustered customers.
    pub share: f64,
    /// Mean of each feature, in the feature's own units.
    pub means: Vec<f64>,
    /// The centroid, in standard deviations from each feature's mean.
    pub centroid: Vec<f64>,
}

/// `GET /api/v1/cluster`: customers clustered by k-means++.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// Query time, ns.
    pub at: i64,
    /// The features, in column order.
    pub features: Vec<String>,
    /// Mean of each feature over the clustered customers.
    pub feature_means: Vec<f64>,
    /// Standard deviation of each feature.
    pub feature_sds: Vec<f64>,
    /// Customers clustered.
    pub customers: u64,
    /// Customers left out for lack of a value.
    pub left_out: u64,
    /// The k kept (best silhouette).
    pub k: usize,
    /// Every k tried.
    pub tries: Vec<ClusterTry>,
    /// The clusters of the kept k, largest first.
    pub clusters: Vec<ClusterProfile>,
    /// The seed.
    pub seed: u64,
}

/// `GET /api/v1/kpi/summary`: profile KPIs now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiSummary {
    /// Known customers (with an identifier other than an anonymous device).
    pub known_customers: u64,
    /// Their mean profile completeness (0 to 1).
    pub completeness: f64,
    /// Customers per completeness decile, then exactly 100%.
    pub completeness_histogram: Vec<u64>,
    /// Customers who ordered online.
    pub online_buyers: u64,
    /// Of them, those who also ordered offline (a store, a till).
    pub also_offline: u64,
    /// `also_offline / online_buyers`.
    pub online_to_offline: f64,
}

impl KpiSummary {
    /// The summary of `store` now.
    pub fn of(store: &cxp_store::Store) -> KpiSummary {
        let c = store.completeness();
        let (online, both) = store.omnichannel();
        KpiSummary {
            known_customers: c.customers,
            completeness: c.mean,
            completeness_histogram: c.histogram.to_vec(),
            online_buyers: online,
            also_offline: both,
            online_to_offline: if online == 0 { 0.0 } else { both as f64 / online as f64 },
        }
    }
}
