//! What the console shows: the latest reply of every route it reads, and the connection.

use std::collections::{BTreeMap, VecDeque};

use cxp_query::api::analytics::{ClusterReport, KpiReport, RfmReport};
use cxp_query::api::{
    CustomerDoc, ExperimentDoc, ExperimentResults, IdentityDoc, JourneyDoc, MessagesDoc, ModelDoc, QualityDoc,
    QuarantineDoc, QueryDoc, SearchDoc, SegmentDoc, Status, WhyRecord,
};

/// The wall clock, ns since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Samples of ingest kept for charts: one per refresh, an hour at 1 s.
pub const HISTORY: usize = 3600;

/// One sample of ingest; `None` while the daemon did not answer (a gap in the chart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When, ns since the epoch.
    pub at: i64,
    /// What the daemon said then.
    pub value: Option<Point>,
}

/// Ingest at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Events per second (over the daemon's last 10 s).
    pub events_per_s: f64,
    /// Acknowledgement latency p99 since start, µs.
    pub p99_us: u64,
    /// Lines and events refused since start.
    pub rejects: u64,
}

/// The latest data, as fetched.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// When the last successful refresh finished, ns since the epoch.
    pub at: i64,
    /// `/api/v1/status`.
    pub status: Option<Status>,
    /// Ingest samples, oldest first.
    pub history: VecDeque<Sample>,
    /// Daily KPIs over twice the window (the window and the one before it).
    pub kpi: Option<KpiReport>,
    /// `/api/v1/quality`.
    pub quality: Option<QualityDoc>,
    /// `/api/v1/quarantine`.
    pub quarantine: Vec<QuarantineDoc>,
    /// `/api/v1/segments`.
    pub segments: Vec<SegmentDoc>,
    /// `/api/v1/rfm`.
    pub rfm: Option<RfmReport>,
    /// `/api/v1/cluster`.
    pub clusters: Option<ClusterReport>,
    /// The live count of the expression being edited.
    pub draft: Option<Result<QueryDoc, String>>,
    /// `/api/v1/journeys`.
    pub journeys: Vec<JourneyDoc>,
    /// `/api/v1/experiments`.
    pub experiments: Vec<ExperimentDoc>,
    /// Results of the selected experiment.
    pub results: Option<Result<ExperimentResults, String>>,
    /// `/api/v1/messages`.
    pub messages: Option<MessagesDoc>,
    /// `/api/v1/models`.
    pub models: Vec<ModelDoc>,
    /// Customer search.
    pub search: Option<Result<SearchDoc, String>>,
    /// The customer opened.
    pub customer: Option<Result<CustomerDoc, String>>,
    /// Messages to the customer opened, newest first.
    pub customer_messages: Vec<WhyRecord>,
    /// The opened customer's identity links.
    pub identity: Option<IdentityDoc>,
    /// Routes that failed while the daemon answered (a role without access, a bad request):
    /// route -> the error, shown in the panel that needed it.
    pub errors: BTreeMap<String, String>,
    /// Whether the token may act (replay quarantine), not only read.
    pub admin: bool,
}

impl Snapshot {
    /// Adds an ingest sample, keeping the last [`HISTORY`].
    pub fn sample(&mut self, s: Sample) {
        self.history.push_back(s);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// The error of `route`, if its last fetch failed.
    pub fn error(&self, route: &str) -> Option<&str> {
        self.errors.get(route).map(String::as_str)
    }
}

/// The connection to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    /// Not answered yet.
    Connecting,
    /// The last refresh worked.
    Live,
    /// The daemon did not answer: what is shown is from `Snapshot::at`.
    Down {
        /// Why, in words.
        error: String,
        /// Failed attempts in a row.
        attempt: u32,
        /// When the next attempt is, ns since the epoch.
        retry_at: i64,
    },
}
