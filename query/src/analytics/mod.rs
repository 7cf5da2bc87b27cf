//! Analytics over every customer: RFM, clustering, funnels, retention and KPIs,
//! co-purchase. Each reads the store at a query time and is exact: the same numbers a straight
//! loop over the events gives (the oracle tests hold them to it).

pub mod rfm;
