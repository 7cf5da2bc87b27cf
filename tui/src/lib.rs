//! cxp-tui: the operator console, `cxp top`.
//!
//! It will own the ratatui + crossterm application: screens for overview, customers, segments,
//! journeys, experiments, messages, data quality and models. It talks to the daemon only through
//! its HTTP API and `cxp_query::api` types, never through store internals.
//!
//! Nothing is built here yet; the foundation issue only reserves the crate.
