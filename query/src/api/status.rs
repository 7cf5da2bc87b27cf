//! Health, ingest status, data quality and administration replies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Acknowledgement latency of ingest (from a request's arrival to its events being durable),
/// in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
    /// Batches measured.
    pub count: u64,
}

/// `GET /api/v1/status`: what ingest is doing now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Daemon version.
    pub version: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Events stored since start.
    pub events_total: u64,
    /// Events per second over the last 10 seconds.
    pub events_per_s: f64,
    /// Events stored per second, one value per second, oldest first (the last minute).
    pub events_per_s_history: Vec<u64>,
    /// Acknowledgement latency since start.
    pub latency: Latency,
    /// Batches on their way to the writer.
    pub queue_depth: u64,
    /// Batches that may be on their way at once.
    pub queue_capacity: u64,
    /// Lines and events refused since start.
    pub rejects_total: u64,
    /// Refused lines and events by reason (the reason's first words).
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Requests answered 429/503 because ingest was behind or stopping.
    pub overloaded_total: u64,
    /// Events refused since start because they carry an erased or opted-out identifier.
    #[serde(default)]
    pub suppressed_total: u64,
    /// Open line-protocol connections.
    pub tcp_connections: u64,
    /// Customer keys allocated.
    pub customers: u64,
    /// Lines in the quarantine.
    pub quarantined: u64,
    /// Events in the store.
    pub events_stored: u64,
}

/// Counts of one field of one event (data quality).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldQuality {
    /// Event name.
    pub event: String,
    /// Canonical field name.
    pub field: String,
    /// Values seen.
    pub seen: u64,
    /// Values rewritten by the dictionary.
    pub normalized: u64,
    /// Values kept as written though they break a soft rule.
    pub invalid: u64,
    /// Events refused because of this field.
    pub rejected: u64,
}

/// `GET /api/v1/quality`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityDoc {
    /// Per event and field.
    pub fields: Vec<FieldQuality>,
    /// Known customers.
    pub customers: u64,
    /// Mean profile completeness (0 to 1).
    pub completeness_mean: f64,
    /// Customers per completeness decile, then exactly 100%.
    pub completeness_histogram: Vec<u64>,
    /// Customers who ordered online, and how many of them also offline.
    pub online_customers: u64,
    /// Of those, who also ordered offline.
    pub omnichannel_customers: u64,
}

/// One line of the quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineDoc {
    /// Its id (for replay).
    pub id: u64,
    /// Where the line came from.
    pub source: String,
    /// Line number in the source.
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
    /// The line.
    pub raw: String,
    /// When it was refused, ns.
    pub ts: i64,
}

impl From<cxp_store::QuarantineEntry> for QuarantineDoc {
    fn from(e: cxp_store::QuarantineEntry) -> Self {
        QuarantineDoc {
            id: e.id,
            source: e.source,
            line: e.line,
            reason: e.reason,
            raw: String::from_utf8_lossy(&e.raw).into_owned(),
            ts: e.received_ns,
        }
    }
}

/// A token, as listed (never its secret) or just created (with it, once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenDoc {
    /// Short id (the first characters of the token's hash).
    pub id: String,
    /// A name for people.
    pub name: String,
    /// Its role.
    pub role: String,
    /// When it was created (RFC 3339).
    pub created: String,
    /// The secret: only in the reply that created it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token: Option<String>,
}
