//! cxp-daemon: the long-running `cxp serve` process.
//!
//! It will own network ingest (line protocol over TCP, UDP and HTTP; the Segment HTTP API), the
//! versioned HTTP API for the console and integrations, roles and PII masking, triggers,
//! journeys, content and delivery. Blocking work (redb and tantivy commits, large scans) runs on
//! its own threads, never on tokio workers.
//!
//! Nothing is built here yet; the foundation issue only reserves the crate.
