//! The HTTP server: InfluxDB-compatible writes, the Segment tracking API, the JSON API under
//! `/api/v1`, `/metrics`, `/health` and `/ready`.

mod analysis;
mod api;
mod automation;
mod body;
mod credentials;
mod experiments;
mod influx;
mod models;
mod privacy;
mod recommend;
mod segment;
mod segments;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use cxp_query::api::ErrorReply;

use crate::audit::Audit;
use crate::auth::{Principal, Role, Tokens};
use crate::config::Resolved;
use crate::dedup::Dedup;
use crate::ingest::{Ingest, IngestError};

pub use credentials::candidates;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The gate to the store.
    pub ingest: Arc<Ingest>,
    /// Tokens.
    pub tokens: Arc<Tokens>,
    /// The audit log.
    pub audit: Arc<Audit>,
    /// Segment messageId window.
    pub dedup: Arc<Dedup>,
    /// The configuration.
    pub config: Arc<Resolved>,
    /// Personal fields of the data dictionary (masked for roles that may not see them).
    pub pii: Arc<hashbrown::HashSet<String>>,
    /// Store counts and when they were read (see `api::store_stats`).
    pub stats_cache: Arc<std::sync::Mutex<Option<(std::time::Instant, cxp_store::StoreStats)>>>,
    /// Named segments kept live.
    pub live: Arc<crate::live::LiveSegments>,
    /// Predictive models.
    pub models: Arc<crate::models::Models>,
    /// A/B tests.
    pub experiments: Arc<Vec<cxp_query::experiment::Experiment>>,
    /// Recommendations.
    pub recommender: Arc<crate::recommend::Recommender>,
    /// Triggers, journeys and messages.
    pub automation: Arc<crate::automation::Automation>,
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    // Bodies are limited by each handler after decompression; this bound only stops a
    // client from streaming without end.
    let raw_limit = state.config.config.ingest.max_body_bytes.saturating_add(1 << 20);
    // Ingest requests hold their bodies in memory: only so many are read at once, the others
    // wait in their sockets (memory stays bounded however many clients upload).
    let bodies = state.config.config.ingest.max_in_flight.saturating_mul(2).max(2);
    let ingest = Router::new()
        .route("/write", post(influx::write_v1))
        .route("/api/v2/write", post(influx::write_v2))
        .route("/v1/{kind}", post(segment::handle))
        .layer(tower::limit::ConcurrencyLimitLayer::new(bodies));
    Router::new()
        .merge(ingest)
        .route("/ping", get(influx::ping).head(influx::ping))
        .route("/query", get(influx::query).post(influx::query))
        .route("/health", get(api::health))
        .route("/ready", get(api::ready))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/quality", get(api::quality))
        .route("/api/v1/quarantine", get(api::quarantine))
        .route("/api/v1/quarantine/replay", post(api::replay))
        .route("/api/v1/customers", get(api::search))
        .route("/api/v1/customers/{id}", get(api::customer).delete(privacy::erase))
        .route("/api/v1/customers/{id}/events", get(api::customer_events))
        .route("/api/v1/customers/{id}/identity", get(api::customer_identity))
        .route("/api/v1/customers/{id}/export", get(privacy::export))
        .route("/api/v1/customers/{id}/consent", post(privacy::set_consent))
        .route("/api/v1/customers/{id}/opt-out", post(privacy::opt_out).delete(privacy::opt_in))
        .route("/api/v1/erasures", get(privacy::erasures))
        .route("/api/v1/query", get(analysis::query))
        .route("/api/v1/rfm", get(analysis::rfm))
        .route("/api/v1/cluster", get(analysis::cluster))
        .route("/api/v1/funnel", get(analysis::funnel))
        .route("/api/v1/kpi/daily", get(analysis::kpi_daily))
        .route("/api/v1/kpi/retention", get(analysis::kpi_retention))
        .route("/api/v1/kpi/summary", get(analysis::kpi_summary))
        .route("/api/v1/copurchase", get(analysis::copurchase))
        .route("/api/v1/segments", get(segments::list).post(segments::define))
        .route("/api/v1/segments/{name}", get(segments::show).delete(segments::delete))
        .route("/api/v1/segments/{name}/members", get(segments::members))
        .route("/api/v1/segment-changes", get(segments::changes))
        .route("/api/v1/models", get(models::list))
        .route("/api/v1/models/{name}", get(models::show))
        .route("/api/v1/models/{name}/train", post(models::train))
        .route("/api/v1/models/{name}/score", get(models::score))
        .route("/api/v1/models/{name}/features", get(models::features))
        .route("/api/v1/recommendations", get(recommend::recommendations))
        .route("/api/v1/journeys", get(automation::journeys))
        .route("/api/v1/journeys/{name}", get(automation::journey))
        .route("/api/v1/journeys/{name}/pause", post(automation::pause))
        .route("/api/v1/journeys/{name}/resume", post(automation::resume))
        .route("/api/v1/messages", get(automation::messages))
        .route("/api/v1/messages/why", get(automation::why))
        .route("/api/v1/automation/clock", post(automation::clock))
        .route("/api/v1/automation/replay", get(automation::replay))
        .route("/api/v1/templates/{name}/preview", get(automation::preview))
        .route("/api/v1/experiments", get(experiments::list))
        .route("/api/v1/experiments/{name}", get(experiments::show))
        .route("/api/v1/experiments/{name}/results", get(experiments::results))
        .route("/api/v1/experiments/{name}/assign", post(experiments::assign))
        .route("/api/v1/tokens", get(api::tokens).post(api::create_token))
        .route("/api/v1/tokens/{id}", delete(api::revoke_token))
        .layer(DefaultBodyLimit::max(raw_limit))
        .with_state(state)
}

/// The refused lines of a write, as listed in replies.
pub(crate) fn rejected_lines(rejected: &[cxp_store::Reject]) -> Vec<cxp_query::api::RejectedLine> {
    rejected
        .iter()
        .map(|r| cxp_query::api::RejectedLine {
            original_line: String::from_utf8_lossy(&r.raw).into_owned(),
            line_number: r.line,
            error_message: r.reason.clone(),
        })
        .collect()
}

/// A JSON error reply.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(ErrorReply { error: message.into() })).into_response()
}

/// A reply telling the client to come back: never a 4xx, which every client treats as final.
pub(crate) fn retry_later(status: StatusCode, message: impl Into<String>) -> Response {
    let mut r = error(status, message);
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// The reply for an ingest failure (every one of them is retryable).
pub(crate) fn ingest_error(e: &IngestError) -> Response {
    match e {
        IngestError::Overloaded | IngestError::ShuttingDown => {
            retry_later(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        IngestError::Store(inner) => {
            tracing::error!(error = %inner, "a batch could not be committed");
            retry_later(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

/// Who is calling, from a bearer token (or any form in [`candidates`]).
pub(crate) fn caller(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    credentials::authenticate(&state.tokens, &credentials::candidates(headers, &HashMap::new()))
}

/// The caller, if their role passes `allowed`; otherwise the 401 or 403 reply.
pub(crate) fn require(state: &AppState, headers: &HeaderMap, allowed: fn(Role) -> bool) -> Result<Principal, Response> {
    match caller(state, headers) {
        None => Err(error(StatusCode::UNAUTHORIZED, "a valid token is required: Authorization: Bearer <token>")),
        Some(p) if allowed(p.role) => Ok(p),
        Some(p) => Err(error(StatusCode::FORBIDDEN, format!("the {} role may not do this", p.role.name()))),
    }
}
