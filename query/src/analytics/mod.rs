//! Analytics over every customer: RFM, clustering, funnels, retention and KPIs,
//! co-purchase. Each reads the store at a query time and is exact: the same numbers a straight
//! loop over the events gives (the oracle tests hold them to it).

pub mod cluster;
pub mod copurchase;
pub mod funnel;
pub mod kmeans;
pub mod kpi;
pub mod retention;
pub mod rfm;

use cxp_store::{Store, StoreError};

use crate::api::analytics::{CopurchaseReport, FunnelReport, KpiReport, RetentionReport, RfmReport};

/// The RFM report of `store` at `at`.
pub fn rfm_report(store: &Store, opts: &rfm::RfmOptions) -> Result<RfmReport, StoreError> {
    Ok(rfm::rfm(store, &store.snapshot(false, &[]), opts)?.report())
}

/// The funnel `spec` over `store`.
pub fn funnel_report(store: &Store, spec: &funnel::FunnelSpec) -> Result<FunnelReport, StoreError> {
    funnel::funnel(store, &store.snapshot(false, &[]), spec)
}

/// Daily KPIs of `store`.
pub fn kpi_report(store: &Store, spec: &kpi::KpiSpec) -> Result<KpiReport, StoreError> {
    kpi::daily(store, &store.snapshot(false, &[]), spec)
}

/// The retention table `spec` of `store`.
pub fn retention_report(store: &Store, spec: &retention::RetentionSpec) -> Result<RetentionReport, StoreError> {
    retention::retention(store, &store.snapshot(false, &[]), spec)
}

/// Co-purchases of `spec` in `store`.
pub fn copurchase_report(store: &Store, spec: &copurchase::CopurchaseSpec) -> Result<CopurchaseReport, StoreError> {
    copurchase::copurchase(store, &store.snapshot(false, &[]), spec)
}
