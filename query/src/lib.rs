//! cxp-query: the analysis layer of cxp.
//!
//! It will own segments (a small language compiled to plans over profiles and parts), analytics
//! (KPIs, funnels, retention, RFM, clustering), predictive models, experiments and the `api`
//! module of serde wire types that the daemon serves and the console renders. It is pure and
//! deterministic: no tokio, no I/O beyond reading a `cxp_store::Store`.
//!
//! Nothing is built here yet; the foundation issue only reserves the crate and its place in the
//! dependency order `store <- query <- daemon`.
