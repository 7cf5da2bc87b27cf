//! Integration tests of cxp-query against real stores.

mod common;
mod segments;
