//! Replies of the ingest endpoints.

use serde::{Deserialize, Serialize};

/// A line the store refused, in the shape InfluxDB 3 uses for partial writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedLine {
    /// The line as received.
    pub original_line: String,
    /// 1-based line number in the request body.
    pub line_number: u64,
    /// Why, in plain words (with the column for syntax errors).
    pub error_message: String,
}

/// The body of a `/write` or `/api/v2/write` reply that is not a plain 204.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteReply {
    /// What happened.
    pub error: String,
    /// Each refused line.
    #[serde(default)]
    pub data: Vec<RejectedLine>,
}

/// The body of a Segment-compatible reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentReply {
    /// The request was taken (its events are durable, or were already: duplicates).
    pub success: bool,
    /// Events stored.
    #[serde(default)]
    pub accepted: u64,
    /// Events already stored under the same `messageId`.
    #[serde(default)]
    pub duplicates: u64,
    /// Events refused, each with its index in the batch and why (they are in the quarantine).
    #[serde(default)]
    pub rejected: Vec<RejectedLine>,
}

/// An error reply of any endpoint: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What went wrong, and where.
    pub error: String,
}
