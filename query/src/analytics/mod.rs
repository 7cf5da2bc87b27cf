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
