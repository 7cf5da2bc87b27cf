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
