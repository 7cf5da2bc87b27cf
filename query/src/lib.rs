//! cxp-query: the analysis layer of cxp.
//!
//! It owns the `api` module of serde wire types that the daemon serves and the console
//! renders, and will own segments (a small language compiled to plans over profiles and
//! parts), analytics (KPIs, funnels, retention, RFM, clustering), predictive models and
//! experiments. It is pure and deterministic: no tokio, no I/O beyond reading a
//! `cxp_store::Store`.

pub mod analytics;
pub mod api;
pub mod automation;
pub mod experiment;
pub mod model;
pub mod recommend;
pub mod segment;
pub mod stats;
