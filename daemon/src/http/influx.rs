//! InfluxDB-compatible endpoints: `POST /write` (v1), `POST /api/v2/write` (v2), `/ping`, and
//! the `CREATE DATABASE` that the `influx` CLI sends before an import.
//!
//! Success is 204 and only once the events are durable. Lines that cannot be stored are
//! answered in the shape InfluxDB 3 uses (400, each line with its number and reason) after the
//! good lines were written; the refused ones are in the quarantine.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cxp_lp::{ParseOptions, Precision};
use cxp_query::api::{RejectedLine, WriteReply};
use cxp_store::Batch;

use super::{AppState, body, credentials, error, ingest_error};

const VERSION: &str = concat!("cxp-", env!("CARGO_PKG_VERSION"));

/// `GET|HEAD /ping`: 204 with the version header clients look for.
pub async fn ping() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert("X-Influxdb-Version", HeaderValue::from_static(VERSION));
    r.headers_mut().insert("X-Influxdb-Build", HeaderValue::from_static("cxp"));
    r
}

/// `/query`: only the statements import tools send before writing (`CREATE DATABASE`, `CREATE
/// RETENTION POLICY`), answered as InfluxDB does; cxp has one store and no InfluxQL.
pub async fn query(Query(q): Query<HashMap<String, String>>, body: Bytes) -> Response {
    let text = q.get("q").cloned().unwrap_or_else(|| {
        let form = String::from_utf8_lossy(&body).into_owned();
        form.split('&').find_map(|kv| kv.strip_prefix("q=")).map(|v| v.replace('+', " ")).unwrap_or_default()
    });
    let upper = text.trim().to_ascii_uppercase();
    if upper.starts_with("CREATE DATABASE") || upper.starts_with("CREATE RETENTION POLICY") {
        return axum::Json(serde_json::json!({"results": [{"statement_id": 0}]})).into_response();
    }
    error(StatusCode::BAD_REQUEST, format!("cxp does not run InfluxQL queries ({text:?}); use /api/v1"))
}

/// `POST /write?db=&rp=&precision=&u=&p=`.
pub async fn write_v1(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source = format!("http:/write db={}", q.get("db").map_or("", String::as_str));
    write(state, q, headers, body, source, "/write").await
}

/// `POST /api/v2/write?org=&bucket=&precision=`.
pub async fn write_v2(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source = format!("http:/api/v2/write bucket={}", q.get("bucket").map_or("", String::as_str));
    write(state, q, headers, body, source, "/api/v2/write").await
}

async fn write(
    state: AppState,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: Bytes,
    source: String,
    route: &'static str,
) -> Response {
    let arrived = Instant::now();
    let reply = write_inner(&state, &q, &headers, body, source, arrived).await;
    state.ingest.metrics.request(route, reply.status().as_u16());
    reply
}

async fn write_inner(
    state: &AppState,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
    source: String,
    arrived: Instant,
) -> Response {
    if state.config.ingest_auth {
        match credentials::authenticate(&state.tokens, &credentials::candidates(headers, q)) {
            None => {
                let mut r = error(StatusCode::UNAUTHORIZED, "authorization failed");
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"InfluxDB\""));
                return r;
            }
            Some(p) if !p.role.can_ingest() => {
                return error(StatusCode::FORBIDDEN, format!("the {} role may not write", p.role.name()));
            }
            Some(_) => {}
        }
    }
    let precision = match q.get("precision").map(String::as_str) {
        None | Some("") => Precision::Nanoseconds,
        Some(p) => match Precision::parse(p) {
            Some(p) => p,
            None => {
                return error(StatusCode::BAD_REQUEST, format!("invalid precision {p:?}: use ns, us, ms, s, m or h"));
            }
        },
    };
    let limit = state.config.config.ingest.max_body_bytes;
    // Decompressing up to 64 MB is CPU work: off the async workers.
    let h = headers.clone();
    let decoded = tokio::task::spawn_blocking(move || body::decode(&h, &body, limit)).await;
    let input = match decoded {
        Ok(Ok(b)) => b,
        Ok(Err(e @ body::BodyError::TooLarge(_))) => return error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}")),
    };
    let wait = std::time::Duration::from_millis(state.config.config.ingest.overload_wait_ms);
    let slot = match state.ingest.slot(Some(wait)).await {
        Ok(s) => s,
        Err(e) => return ingest_error(&e),
    };
    let received = cxp_store::now_ns();
    let receipt = state
        .ingest
        .write_with(slot, arrived, move || {
            let mut batch = Batch::new(source);
            batch.push_line_protocol(&input, ParseOptions { precision, ..ParseOptions::default() }, received, 1);
            batch
        })
        .await;
    let receipt = match receipt {
        Ok(r) => r,
        Err(e) => return ingest_error(&e),
    };
    if receipt.rejected.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let data: Vec<RejectedLine> = super::rejected_lines(&receipt.rejected);
    let error = if receipt.accepted > 0 {
        "partial write of line protocol occurred".to_owned()
    } else {
        "no line could be written".to_owned()
    };
    (StatusCode::BAD_REQUEST, axum::Json(WriteReply { error, data })).into_response()
}
