//! Identity links: which customer keys are one person.
//!
//! An event that carries two identifiers (an `identify` with an anonymous id and a customer
//! id, say) links their keys. Links are appended to the `links` table in the same transaction
//! as the event and never rewritten; a union-find over customer keys, rebuilt from them at open,
//! maps any key to its root. Events keep the key they were written with, so a merge of two
//! customers never touches a part.

use serde::{Deserialize, Serialize};

use crate::types::Ck;

/// One link, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Link id (increasing).
    pub id: u64,
    /// First key (the event's own key).
    pub a: Ck,
    /// Second key.
    pub b: Ck,
    /// Sequence number of the event that carried both identifiers.
    pub seq: u64,
    /// That event's time, ns.
    pub ts: i64,
    /// That event's name.
    pub measurement: String,
    /// Where the event came from.
    pub source: String,
}

/// An undone link (`cxp identity split`), as stored. The link stays in the append-only links
/// table; this record takes it out of the graph, and the pair it joined is not linked again
/// by later events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// The link undone.
    pub link: u64,
    /// When, ns.
    pub at: i64,
    /// Why, in the operator's words.
    pub reason: String,
}

/// A link that a guardrail refused, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Refusal id (increasing).
    pub id: u64,
    /// The event's own key.
    pub key: Ck,
    /// Type of the identifier that was not linked.
    pub kind: String,
    /// That identifier.
    pub value: String,
    /// The rule it would have broken, in words.
    pub reason: String,
    /// Sequence number of the event.
    pub seq: u64,
    /// The event's time, ns.
    pub ts: i64,
    /// The event's name.
    pub measurement: String,
    /// Where the event came from.
    pub source: String,
}
