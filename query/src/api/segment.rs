//! Segment answers and definitions as JSON (`/api/v1/query`, `/api/v1/segments`).

use cxp_store::Store;
use serde::{Deserialize, Serialize};

use crate::segment::Answer;

/// One member of a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDoc {
    /// The customer key standing for the person.
    pub root: u32,
    /// The strongest identifier, as `type=value` (masked for roles that may not see it).
    pub customer: Option<String>,
}

/// How one value of an expression was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDoc {
    /// The value, as the language writes it.
    pub what: String,
    /// Where it came from (`scan of order`, `profiles`, `live state`, ...).
    pub source: String,
    /// Time spent, microseconds.
    pub took_us: u64,
    /// Rows scanned.
    pub rows: u64,
    /// Chunks decoded.
    pub chunks: u64,
}

/// `GET /api/v1/query?expr=...`: the customers of an expression at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryDoc {
    /// The expression.
    pub expr: String,
    /// Query time, ns.
    pub at: i64,
    /// Members.
    pub count: u64,
    /// Customers the expression was evaluated over.
    pub customers: u64,
    /// Time taken, microseconds.
    pub took_us: u64,
    /// Some members, smallest keys first.
    pub sample: Vec<MemberDoc>,
    /// Things worth knowing (an event never seen).
    pub warnings: Vec<String>,
    /// The plan, one node per line.
    pub plan: String,
    /// How each value was read.
    pub steps: Vec<StepDoc>,
}

impl QueryDoc {
    /// The document of `answer`, with `sample` members named by their strongest identifier.
    pub fn new(store: &Store, expr: &str, answer: &Answer, sample: usize) -> QueryDoc {
        QueryDoc {
            expr: expr.to_owned(),
            at: answer.at,
            count: answer.count(),
            customers: answer.universe,
            took_us: answer.took.as_micros() as u64,
            sample: members(store, answer.sample(sample)),
            warnings: answer.plan.warnings.clone(),
            plan: answer.plan.describe(),
            steps: answer
                .steps
                .iter()
                .map(|s| StepDoc {
                    what: s.what.clone(),
                    source: s.source.clone(),
                    took_us: s.took.as_micros() as u64,
                    rows: s.rows,
                    chunks: s.chunks,
                })
                .collect(),
        }
    }
}

/// `roots` named by their strongest identifier.
pub fn members(store: &Store, roots: impl IntoIterator<Item = u32>) -> Vec<MemberDoc> {
    roots
        .into_iter()
        .map(|root| MemberDoc { root, customer: store.customer_id(root).map(|(t, v)| format!("{t}={v}")) })
        .collect()
}

/// One point of a segment's size history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizePoint {
    /// When, ns.
    pub at: i64,
    /// Members then.
    pub members: u64,
}

/// A named segment (`GET /api/v1/segments`, `.../segments/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentDoc {
    /// Its name.
    pub name: String,
    /// Its expression.
    pub expr: String,
    /// What it is for.
    pub description: String,
    /// Where it is defined: `file` (configuration) or `api`.
    pub source: String,
    /// Members now.
    pub members: u64,
    /// When it was last brought up to date, ns (0: not kept live).
    pub evaluated_at: i64,
    /// How far behind the newest committed event its membership is, ms.
    pub lag_ms: u64,
    /// Customers who entered it since the daemon started.
    pub entered: u64,
    /// Customers who left it since the daemon started.
    pub exited: u64,
    /// Size over time, oldest first (kept live only).
    pub history: Vec<SizePoint>,
    /// Why the last evaluation failed, if it did (the members are those of the one before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/v1/segments`: a segment to define (or redefine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentDef {
    /// Its name: letters, digits and `_`, starting with a letter.
    pub name: String,
    /// Its expression.
    pub expr: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}

/// `GET /api/v1/segments/{name}/members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembersDoc {
    /// The segment.
    pub name: String,
    /// Members in all.
    pub count: u64,
    /// Members from `offset` on, at most `limit`, by key.
    pub members: Vec<MemberDoc>,
    /// Where this page starts.
    pub offset: u64,
}

/// A customer entering or leaving a live segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentChange {
    /// Position in the daemon's change log (ascending, no gaps).
    pub seq: u64,
    /// The segment.
    pub segment: String,
    /// The customer key.
    pub root: u32,
    /// Entered (true) or left (false).
    pub entered: bool,
    /// The evaluation time that saw it, ns.
    pub at: i64,
}

/// `GET /api/v1/segment-changes?after=`: changes after a position in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesDoc {
    /// The changes, oldest first.
    pub changes: Vec<SegmentChange>,
    /// Where to ask from next (`after=`).
    pub next: u64,
    /// Changes that fell out of the kept log before they were asked for (0: none missed).
    pub missed: u64,
}
