//! Analysis under `/api/v1`: ad-hoc segment queries, RFM, clustering, funnels, daily KPIs,
//! retention and co-purchase, in the types of `cxp_query::api` (the same `cxp query`, `cxp rfm`
//! ... print with `--data`). Every reader role may ask; member identifiers are masked for the
//! roles that may not see personal data and audited for the others. Each answer is computed on
//! the blocking pool.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cxp_query::analytics::cluster::{ClusterSpec, parse_ks};
use cxp_query::analytics::copurchase::CopurchaseSpec;
use cxp_query::analytics::funnel::FunnelSpec;
use cxp_query::analytics::kpi::KpiSpec;
use cxp_query::analytics::retention::RetentionSpec;
use cxp_query::api::analytics::KpiSummary;
use cxp_query::api::{MemberDoc, QueryDoc};
use cxp_query::segment::{QueryError, defs};
use serde::Deserialize;

use super::api::{audit_down, json};
use super::{AppState, error, require};
use crate::auth::{Principal, Role};

const DAY: i64 = 86_400_000_000_000;

// Runs `f` on the blocking pool; its error is already the reply.
pub(crate) async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}"))),
    }
}

/// A query error as a reply: what the caller wrote is a 400 that points at the column.
pub(crate) fn query_error(e: QueryError) -> Response {
    match e {
        // The data does not allow it (too few customers to cluster): not a server fault.
        QueryError::Store(e @ cxp_store::StoreError::Invalid(_)) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        QueryError::Store(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        e => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

fn store_error(e: cxp_store::StoreError) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A time parameter: RFC 3339 or ns; absent: now.
pub(crate) fn time_param(name: &str, v: Option<&str>) -> Result<Option<i64>, Response> {
    let Some(v) = v.filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(ns) = v.parse::<i64>() {
        return Ok(Some(ns));
    }
    crate::segment::parse_time(v)
        .map(Some)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("invalid {name}={v:?}: use RFC 3339 or nanoseconds")))
}

fn duration_param(name: &str, v: Option<&str>) -> Result<Option<i64>, Response> {
    let Some(v) = v.filter(|s| !s.is_empty()) else { return Ok(None) };
    cxp_store::profile::parse_window(v)
        .map(Some)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid {name}={v:?}: {e}")))
}

/// Masks member identifiers for roles that may not see them; audits who was shown otherwise.
pub(crate) async fn show_members(
    state: &AppState,
    who: &Principal,
    what: &str,
    members: &mut [MemberDoc],
) -> Result<(), Response> {
    if members.is_empty() {
        return Ok(());
    }
    if who.role.sees_pii() {
        let shown: Vec<String> = members.iter().map(|m| format!("#{}", m.root)).collect();
        return state.audit.record(who, what, &format!("shown: {}", shown.join(" "))).await.map_err(|_| audit_down());
    }
    for m in members {
        if let Some((kind, value)) = m.customer.as_ref().and_then(|c| c.split_once('=')) {
            m.customer = Some(format!("{kind}={}", cxp_query::api::mask_identifier(kind, value)));
        }
    }
    Ok(())
}

/// Query of `/api/v1/query`.
#[derive(Debug, Deserialize)]
pub struct QueryParams {
    expr: Option<String>,
    at: Option<String>,
    sample: Option<usize>,
}

/// `GET /api/v1/query?expr=&at=&sample=`: the customers of an expression, with its plan.
pub async fn query(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<QueryParams>) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(expr) = q.expr.filter(|e| !e.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "give the expression as ?expr=");
    };
    let at = match time_param("at", q.at.as_deref()) {
        Ok(a) => a.unwrap_or_else(cxp_store::now_ns),
        Err(r) => return r,
    };
    let sample = q.sample.unwrap_or(10).min(1000);
    let (store, live) = (state.ingest.store().clone(), state.live.clone());
    let doc = off_runtime(move || {
        let defs = defs::definitions(&live.specs());
        let answer = cxp_query::segment::query(&store, &expr, at, &defs).map_err(query_error)?;
        Ok(QueryDoc::new(&store, &expr, &answer, sample))
    })
    .await;
    let mut doc = match doc {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Err(r) = show_members(&state, &who, "query customers", &mut doc.sample).await {
        return r;
    }
    json(&doc)
}

/// Query time only.
#[derive(Debug, Deserialize)]
pub struct AtParams {
    at: Option<String>,
}

/// `GET /api/v1/rfm?at=`: RFM scores and the named RFM segments.
pub async fn rfm(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<AtParams>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let at = match time_param("at", q.at.as_deref()) {
        Ok(a) => a.unwrap_or_else(cxp_store::now_ns),
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let opts = cxp_query::analytics::rfm::RfmOptions::at(at);
    match off_runtime(move || cxp_query::analytics::rfm_report(&store, &opts).map_err(store_error)).await {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}

/// Query of `/api/v1/cluster`.
#[derive(Debug, Deserialize)]
pub struct ClusterParams {
    at: Option<String>,
    k: Option<String>,
    seed: Option<u64>,
    /// Numeric expressions separated by `;` (default: RFM).
    features: Option<String>,
}

/// `GET /api/v1/cluster?at=&k=2..8&seed=&features=`: k-means++ with inertia and silhouette.
pub async fn cluster(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ClusterParams>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let at = match time_param("at", q.at.as_deref()) {
        Ok(a) => a.unwrap_or_else(cxp_store::now_ns),
        Err(r) => return r,
    };
    let ks = match parse_ks(q.k.as_deref().unwrap_or("2..8")) {
        Ok(k) => k,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let mut spec = ClusterSpec { ks, ..ClusterSpec::rfm(at) };
    if let Some(seed) = q.seed {
        spec.seed = seed;
    }
    if let Some(f) = q.features.filter(|f| !f.trim().is_empty()) {
        spec.features = f.split(';').map(|x| x.trim().to_owned()).filter(|x| !x.is_empty()).collect();
    }
    let (store, live) = (state.ingest.store().clone(), state.live.clone());
    let report = off_runtime(move || {
        let defs = defs::definitions(&live.specs());
        cxp_query::analytics::cluster::cluster(&store, &spec, &defs).map_err(query_error)
    })
    .await;
    report.map_or_else(|r| r, |r| json(&r))
}

/// Query of `/api/v1/funnel`.
#[derive(Debug, Deserialize)]
pub struct FunnelParams {
    /// Events separated by commas.
    steps: Option<String>,
    at: Option<String>,
    from: Option<String>,
    step_window: Option<String>,
    window: Option<String>,
    by: Option<String>,
}

/// `GET /api/v1/funnel?steps=signup,order&step_window=7d&window=&from=&at=&by=`.
pub async fn funnel(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<FunnelParams>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let steps: Vec<String> =
        q.steps.as_deref().unwrap_or("").split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if steps.is_empty() || steps.len() > 32 {
        return error(StatusCode::BAD_REQUEST, "give 1 to 32 steps as ?steps=signup,page_view,order");
    }
    let spec = (|| {
        Ok::<_, Response>(FunnelSpec {
            steps,
            step_window: duration_param("step_window", q.step_window.as_deref())?,
            window: duration_param("window", q.window.as_deref())?,
            from: time_param("from", q.from.as_deref())?.unwrap_or(i64::MIN),
            at: time_param("at", q.at.as_deref())?.unwrap_or_else(cxp_store::now_ns),
            breakdown: q.by.filter(|b| !b.is_empty()),
        })
    })();
    let spec = match spec {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    match off_runtime(move || cxp_query::analytics::funnel_report(&store, &spec).map_err(store_error)).await {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}

/// A time range.
#[derive(Debug, Deserialize)]
pub struct RangeParams {
    from: Option<String>,
    at: Option<String>,
    cohort: Option<String>,
    period: Option<String>,
    activity: Option<String>,
}

fn range(q: &RangeParams) -> Result<(i64, i64), Response> {
    let at = time_param("at", q.at.as_deref())?.unwrap_or_else(cxp_store::now_ns);
    let from = time_param("from", q.from.as_deref())?.unwrap_or(at - 30 * DAY);
    Ok((from, at))
}

/// `GET /api/v1/kpi/daily?from=&at=`: DAU/WAU/MAU, orders, revenue, AOV and conversion per day.
pub async fn kpi_daily(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<RangeParams>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let (from, at) = match range(&q) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let spec = KpiSpec::new(from, at);
    match off_runtime(move || cxp_query::analytics::kpi_report(&store, &spec).map_err(store_error)).await {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}

/// `GET /api/v1/kpi/retention?from=&at=&cohort=signup|first_order|EVENT&period=week|day&activity=`.
pub async fn kpi_retention(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RangeParams>,
) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let (from, at) = match range(&q) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let period = match q.period.as_deref().unwrap_or("week") {
        "week" => 7 * DAY,
        "day" => DAY,
        other => return error(StatusCode::BAD_REQUEST, format!("period is week or day, not {other:?}")),
    };
    let cohort = match q.cohort.as_deref().unwrap_or("signup") {
        "first_order" => "order".to_owned(),
        other => other.to_owned(),
    };
    let spec = RetentionSpec {
        cohort_event: cohort,
        activity: q.activity.clone().filter(|a| !a.is_empty()),
        period,
        ..RetentionSpec::weekly(from, at)
    };
    let store = state.ingest.store().clone();
    match off_runtime(move || cxp_query::analytics::retention_report(&store, &spec).map_err(store_error)).await {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}

/// `GET /api/v1/kpi/summary`: profile completeness and online customers who also buy offline.
pub async fn kpi_summary(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let store = state.ingest.store().clone();
    match off_runtime(move || Ok(KpiSummary::of(&store))).await {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}

/// Query of `/api/v1/copurchase`.
#[derive(Debug, Deserialize)]
pub struct CopurchaseParams {
    sku: Option<String>,
    at: Option<String>,
    from: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/copurchase?sku=&at=&from=&limit=`: what buyers of a product also bought.
pub async fn copurchase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CopurchaseParams>,
) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let Some(sku) = q.sku.filter(|s| !s.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "give the product as ?sku=");
    };
    let (at, from) = match (time_param("at", q.at.as_deref()), time_param("from", q.from.as_deref())) {
        (Ok(a), Ok(f)) => (a.unwrap_or_else(cxp_store::now_ns), f.unwrap_or(i64::MIN)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let spec = CopurchaseSpec { from, ..CopurchaseSpec::new(sku, at, q.limit.unwrap_or(20).min(1000)) };
    let store = state.ingest.store().clone();
    match off_runtime(move || cxp_query::analytics::copurchase_report(&store, &spec).map_err(store_error)).await {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}
