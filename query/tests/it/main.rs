//! Integration tests of cxp-query against real stores.

mod analytics;
mod automation;
mod common;
mod experiments;
mod models;
mod segments;
mod stats_golden;
