//! Integration tests for cxp-lp, one binary with a module per concern (as in ripgrep's
//! `tests/tests.rs`): grammar and values, exact errors, resilience to bad neighbours, property
//! round trips, and agreement with InfluxData's own parser.

mod differential;
mod errors;
mod grammar;
mod resilience;
mod roundtrip;
mod throughput;
mod util;
