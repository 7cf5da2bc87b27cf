//! Integration tests of cxp-query against real stores.

mod analytics;
mod common;
mod segments;
