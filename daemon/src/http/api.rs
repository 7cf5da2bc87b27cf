//! The JSON API under `/api/v1` (for the console and integrations), `/metrics`, `/health` and
//! `/ready`. Store reads are blocking work and run on the blocking pool. Roles: `writer`
//! tokens may only ingest; analysts and viewers see personal data masked; every read of
//! unmasked personal data and every administrative action is audited.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cxp_query::api::{
    CustomerDoc, EventDoc, FieldQuality, QualityDoc, QuarantineDoc, SearchDoc, SearchHitDoc, Status, TokenDoc,
    recent_events,
};
use serde::Deserialize;

use super::{AppState, error, require};
use crate::auth::{Principal, Role};

// Runs blocking store work off the async workers; a failure becomes a 500 that says what.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> cxp_store::Result<T> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}"))),
    }
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Response {
    axum::Json(v).into_response()
}

/// `GET /health`: the process is alive.
pub async fn health() -> Response {
    json(&serde_json::json!({"status": "ok"}))
}

/// `GET /ready`: ingest is taking events (503 while shutting down).
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.ingest.is_stopping() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    json(&serde_json::json!({"status": "ready"}))
}

/// `GET /api/v1/status`.
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let stats = match store_stats(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    json(&status_of(&state, &stats))
}

// Store counts read part metadata: computed at most once a second however often the console,
// scrapers and scripts ask.
async fn store_stats(state: &AppState) -> Result<cxp_store::StoreStats, Response> {
    {
        let cached = state.stats_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, stats)) = cached.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return Ok(stats.clone());
        }
    }
    let store = state.ingest.store().clone();
    let stats = blocking(move || store.stats()).await?;
    *state.stats_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), stats.clone()));
    Ok(stats)
}

fn status_of(state: &AppState, stats: &cxp_store::StoreStats) -> Status {
    let m = &state.ingest.metrics;
    Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_s: m.uptime().as_secs(),
        events_total: m.events.load(Ordering::Relaxed),
        events_per_s: m.rate(),
        events_per_s_history: m.history(),
        latency: m.latency(),
        queue_depth: state.ingest.depth() as u64,
        queue_capacity: state.ingest.capacity() as u64,
        rejects_total: m.rejects.load(Ordering::Relaxed),
        rejects_by_reason: m.reasons(),
        overloaded_total: m.overloaded.load(Ordering::Relaxed),
        suppressed_total: m.suppressed.load(Ordering::Relaxed),
        tcp_connections: m.tcp_connections.load(Ordering::Relaxed),
        customers: stats.customers,
        quarantined: stats.quarantined,
        events_stored: stats.events,
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.config.auth.public_metrics
        && let Err(r) = require(&state, &headers, Role::can_read)
    {
        return r;
    }
    let stats = match store_stats(&state).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let s = status_of(&state, &stats);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in lines {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    metric(
        "cxp_events_ingested_total",
        "counter",
        "Events stored since start.",
        &[(String::new(), s.events_total as f64)],
    );
    metric("cxp_events_stored", "gauge", "Events in the store.", &[(String::new(), s.events_stored as f64)]);
    let reasons: Vec<(String, f64)> =
        s.rejects_by_reason.iter().map(|(r, n)| (format!("{{reason=\"{}\"}}", escape(r)), *n as f64)).collect();
    metric("cxp_rejects_total", "counter", "Lines and events refused since start, by reason.", &reasons);
    metric(
        "cxp_overloaded_total",
        "counter",
        "Requests answered 503 because ingest was behind.",
        &[(String::new(), s.overloaded_total as f64)],
    );
    metric(
        "cxp_suppressed_total",
        "counter",
        "Events refused because they carry an erased or opted-out identifier.",
        &[(String::new(), s.suppressed_total as f64)],
    );
    let q = [("0.5", s.latency.p50_us), ("0.99", s.latency.p99_us), ("0.999", s.latency.p999_us)];
    let lat: Vec<(String, f64)> = q.iter().map(|(k, v)| (format!("{{quantile=\"{k}\"}}"), *v as f64 / 1e6)).collect();
    metric("cxp_ack_latency_seconds", "summary", "From a request's arrival to its events being durable.", &lat);
    metric("cxp_queue_depth", "gauge", "Batches on their way to the writer.", &[(String::new(), s.queue_depth as f64)]);
    metric("cxp_customers", "gauge", "Customer keys allocated.", &[(String::new(), s.customers as f64)]);
    metric("cxp_quarantined", "gauge", "Lines in the quarantine.", &[(String::new(), s.quarantined as f64)]);
    metric(
        "cxp_tcp_connections",
        "gauge",
        "Open line-protocol TCP connections.",
        &[(String::new(), s.tcp_connections as f64)],
    );
    let requests: Vec<(String, f64)> = state
        .ingest
        .metrics
        .requests()
        .iter()
        .map(|((route, code), n)| (format!("{{route=\"{route}\",code=\"{code}\"}}"), *n as f64))
        .collect();
    metric("cxp_http_requests_total", "counter", "Ingest requests answered, by route and status.", &requests);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /api/v1/quality`: per-field counters and profile completeness.
pub async fn quality(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let store = state.ingest.store().clone();
    let doc = blocking(move || {
        let fields = store
            .field_stats()?
            .into_iter()
            .map(|((event, field), c)| FieldQuality {
                event,
                field,
                seen: c.seen,
                normalized: c.normalized,
                invalid: c.invalid,
                rejected: c.rejected,
            })
            .collect();
        let c = store.completeness();
        let (online, both) = store.omnichannel();
        Ok(QualityDoc {
            fields,
            customers: c.customers,
            completeness_mean: c.mean,
            completeness_histogram: c.histogram.to_vec(),
            online_customers: online,
            omnichannel_customers: both,
        })
    })
    .await;
    doc.map_or_else(|r| r, |d| json(&d))
}

/// Query of the quarantine listing.
#[derive(Debug, Deserialize)]
pub struct QuarantineQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /api/v1/quarantine?after=&limit=` (admin: the lines are raw personal data).
pub async fn quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<QuarantineQuery>,
) -> Response {
    let who = match require(&state, &headers, |r| r == Role::Admin) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let (after, limit) = (q.after.unwrap_or(0), q.limit.unwrap_or(100).min(10_000));
    let entries = match blocking(move || store.quarantine(after, limit)).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if state.audit.record(&who, "read quarantine", &format!("after {after}, {} lines", entries.len())).await.is_err() {
        return audit_down();
    }
    let docs: Vec<QuarantineDoc> = entries.into_iter().map(QuarantineDoc::from).collect();
    json(&docs)
}

/// Body of a quarantine replay: the entries to replay (all when absent).
#[derive(Debug, Deserialize, Default)]
pub struct ReplayRequest {
    ids: Option<Vec<u64>>,
}

/// `POST /api/v1/quarantine/replay`.
pub async fn replay(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let who = match require(&state, &headers, |r| r == Role::Admin) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let req: ReplayRequest = if body.is_empty() {
        ReplayRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
        }
    };
    let target = req.ids.as_ref().map_or("all".to_owned(), |ids| format!("{ids:?}"));
    if state.audit.record(&who, "replay quarantine", &target).await.is_err() {
        return audit_down();
    }
    let store = state.ingest.store().clone();
    match blocking(move || store.replay_quarantine(req.ids.as_deref())).await {
        Ok(r) => json(&serde_json::json!({"stored": r.stored, "still_rejected": r.still_rejected})),
        Err(r) => r,
    }
}

fn masker(state: &AppState) -> impl Fn(&str) -> bool + '_ {
    |name: &str| state.pii.contains(name)
}

/// Query of a search.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/customers?q=&limit=`: customer search.
pub async fn search(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<SearchQuery>) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(query) = q.q.filter(|s| !s.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "give the search words as ?q=");
    };
    let limit = q.limit.unwrap_or(20).min(1000);
    let store = state.ingest.store().clone();
    let text = query.clone();
    let result = blocking(move || {
        let r = store.search(&text, limit)?;
        let hits: Vec<SearchHitDoc> = r
            .top
            .iter()
            .map(|h| SearchHitDoc {
                root: h.root,
                customer: store.customer_id(h.root).map(|(t, v)| format!("{t}={v}")),
                score: h.score,
                snippet: h.snippet.clone(),
            })
            .collect();
        Ok(SearchDoc { query: text, total: r.customers.len(), hits, indexed_seq: r.indexed_seq })
    })
    .await;
    let mut doc = match result {
        Ok(d) => d,
        Err(r) => return r,
    };
    if who.role.sees_pii() {
        // Whose data was shown, by customer key: the words typed may be a name or a phone
        // number, and the audit log must not keep what an erasure removes.
        let shown: Vec<String> = doc.hits.iter().map(|h| format!("#{}", h.root)).collect();
        let target = format!("{} matches; shown: {}", doc.total, shown.join(" "));
        if state.audit.record(&who, "search customers", &target).await.is_err() {
            return audit_down();
        }
    } else {
        for h in &mut doc.hits {
            if let Some((kind, value)) = h.customer.as_ref().and_then(|c| c.split_once('=')) {
                h.customer = Some(format!("{kind}={}", cxp_query::api::mask_identifier(kind, value)));
            }
            // A snippet may quote anything the customer wrote or is called.
            h.snippet = "***".to_owned();
        }
    }
    json(&doc)
}

/// Query of a customer view.
#[derive(Debug, Deserialize)]
pub struct CustomerQuery {
    at: Option<String>,
    events: Option<usize>,
}

fn parse_at(at: Option<&str>) -> Result<Option<i64>, Response> {
    let Some(at) = at.filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(ns) = at.parse::<i64>() {
        return Ok(Some(ns));
    }
    crate::segment::parse_time(at)
        .map(Some)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("invalid at={at:?}: use RFC 3339 or nanoseconds")))
}

// Unmasked for roles that see personal data (audited first: no audit, no data), masked for
// the others.
async fn audit_or_mask<T>(
    state: &AppState,
    who: &Principal,
    what: &str,
    target: &str,
    doc: &mut T,
    mask: impl FnOnce(&mut T),
) -> Result<(), Response> {
    if who.role.sees_pii() {
        state.audit.record(who, what, target).await.map_err(|_| audit_down())
    } else {
        mask(doc);
        Ok(())
    }
}

/// The reply when the audit log cannot be written: retryable, and no personal data.
pub(crate) fn audit_down() -> Response {
    super::retry_later(StatusCode::SERVICE_UNAVAILABLE, "the audit log cannot be written; try again later")
}

/// `GET /api/v1/customers/{id}?at=&events=`: the 360 view by any identifier.
pub async fn customer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let at = match parse_at(q.at.as_deref()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let events = q.events.unwrap_or(20).min(1000);
    let store = state.ingest.store().clone();
    let key = id.clone();
    let mut doc = match blocking(move || CustomerDoc::load(&store, &key, at, events)).await {
        Ok(Some(d)) => d,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")),
        Err(r) => return r,
    };
    let pii = masker(&state);
    let target = format!("customer #{}", doc.root);
    if let Err(r) = audit_or_mask(&state, &who, "read customer", &target, &mut doc, |d| d.mask(&pii)).await {
        return r;
    }
    doc.segments = state.live.segments_of(doc.root);
    json(&doc)
}

/// `GET /api/v1/customers/{id}/identity`: the person's identifiers and the links that join
/// them (identifiers masked for roles that may not see them; audited for those who may).
pub async fn customer_identity(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let key = id.clone();
    let view = match blocking(move || store.identity(&key)).await {
        Ok(Some(v)) => v,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")),
        Err(r) => return r,
    };
    let doc = if who.role.sees_pii() {
        if state.audit.record(&who, "read identity", &format!("customer #{}", view.root)).await.is_err() {
            return audit_down();
        }
        cxp_query::api::IdentityDoc::new(&view, &|_, v| v.to_owned())
    } else {
        cxp_query::api::IdentityDoc::new(&view, &|k, v| cxp_query::api::mask_identifier(k, v))
    };
    json(&doc)
}

/// Query of a customer's events.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    limit: Option<usize>,
}

/// `GET /api/v1/customers/{id}/events?limit=`: the most recent events, newest first.
pub async fn customer_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let limit = q.limit.unwrap_or(100).min(10_000);
    let store = state.ingest.store().clone();
    let key = id.clone();
    let events = blocking(move || {
        let Some(ck) = store.customer_key(&key)? else { return Ok(None) };
        let root = store.root(ck);
        Ok(Some((root, recent_events(&store, root, limit)?.iter().map(EventDoc::from).collect::<Vec<_>>())))
    })
    .await;
    let (root, mut docs) = match events {
        Ok(Some(d)) => d,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")),
        Err(r) => return r,
    };
    let pii = masker(&state);
    if let Err(r) = audit_or_mask(&state, &who, "read customer events", &format!("customer #{root}"), &mut docs, |d| {
        d.iter_mut().for_each(|e| e.mask(&pii))
    })
    .await
    {
        return r;
    }
    json(&docs)
}

fn token_doc(e: &crate::auth::TokenEntry, secret: Option<String>) -> TokenDoc {
    TokenDoc {
        id: e.id.clone(),
        name: e.name.clone(),
        role: e.role.name().to_owned(),
        created: e.created.clone(),
        token: secret,
    }
}

/// `GET /api/v1/tokens` (admin).
pub async fn tokens(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, |r| r == Role::Admin) {
        return r;
    }
    json(&state.tokens.list().iter().map(|e| token_doc(e, None)).collect::<Vec<_>>())
}

/// `POST /api/v1/tokens` `{"role": "...", "name": "..."}` (admin): the secret is in this
/// reply only.
pub async fn create_token(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let who = match require(&state, &headers, |r| r == Role::Admin) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let req: HashMap<String, String> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    let Some(role) = req.get("role").and_then(|r| Role::parse(r)) else {
        return error(StatusCode::BAD_REQUEST, "\"role\" must be one of admin, writer, marketer, analyst, viewer");
    };
    let name = req.get("name").cloned().unwrap_or_default();
    match state.tokens.create(role, &name) {
        Ok((entry, secret)) => {
            // Done already: a failed audit write is logged (by `record`), not undone.
            let _ =
                state.audit.record(&who, "create token", &format!("{} ({}, {})", entry.id, role.name(), name)).await;
            (StatusCode::CREATED, axum::Json(token_doc(&entry, Some(secret)))).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `DELETE /api/v1/tokens/{id}` (admin).
pub async fn revoke_token(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let who = match require(&state, &headers, |r| r == Role::Admin) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match state.tokens.revoke(&id) {
        Ok(true) => {
            let _ = state.audit.record(&who, "revoke token", &id).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no token {id:?}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
