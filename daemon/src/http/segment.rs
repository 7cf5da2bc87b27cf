//! The Segment-compatible tracking API: `POST /v1/batch`, `/v1/track`, `/v1/identify`,
//! `/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias`. 200 with a JSON body once durable
//! (Rudder treats anything but 200 as a failure); 400 only for bodies that can never succeed
//! (bad JSON, over a limit); 503 with Retry-After for anything worth retrying.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cxp_query::api::{RejectedLine, SegmentReply};
use cxp_store::Batch;

use super::{AppState, body, credentials, error, ingest_error, retry_later};
use crate::dedup::Seen;
use crate::ingest::IngestError;
use crate::segment::{self, MAX_BATCH_BYTES, TYPES};

/// `POST /v1/{kind}`.
pub async fn handle(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let reply = handle_inner(&state, &kind, &headers, body, arrived).await;
    state.ingest.metrics.request("/v1", reply.status().as_u16());
    reply
}

async fn handle_inner(state: &AppState, kind: &str, headers: &HeaderMap, body: Bytes, arrived: Instant) -> Response {
    if kind != "batch" && !TYPES.contains(&kind) {
        return error(StatusCode::NOT_FOUND, format!("no endpoint /v1/{kind}: use batch, {}", TYPES.join(", ")));
    }
    // A token in the headers is checked first; without one, the body's writeKey is the only
    // way in, and a body that cannot be read has none (401, not 400).
    let by_header = credentials::authenticate(&state.tokens, &credentials::candidates(headers, &HashMap::new()));
    // Decompressing and parsing 500 KB of JSON is CPU work: off the async workers. Decoded up
    // to a little over the batch limit, so that the limit is reported as such.
    let received = cxp_store::now_ns();
    let (h, route) = (headers.clone(), kind.to_owned());
    let parsed = tokio::task::spawn_blocking(move || match body::decode(&h, &body, MAX_BATCH_BYTES + 1) {
        Ok(input) => segment::parse(&input, &route, received).map_err(|e| e.to_string()),
        Err(body::BodyError::TooLarge(_)) => Err(format!("request is over the limit of {} KB", MAX_BATCH_BYTES / 1024)),
        Err(e) => Err(e.to_string()),
    })
    .await;
    let parsed = match parsed {
        Ok(Ok(p)) => Some(p),
        Ok(Err(message)) if !state.config.ingest_auth || by_header.is_some() => {
            return error(StatusCode::BAD_REQUEST, message);
        }
        Ok(Err(_)) => None,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}")),
    };
    if state.config.ingest_auth {
        let who = by_header.or_else(|| {
            let key = parsed.as_ref()?.write_key.clone()?;
            credentials::authenticate(&state.tokens, &[key])
        });
        match who {
            None => return error(StatusCode::UNAUTHORIZED, "invalid write key"),
            Some(p) if !p.role.can_ingest() => {
                return error(StatusCode::FORBIDDEN, format!("the {} role may not write", p.role.name()));
            }
            Some(_) => {}
        }
    }
    let Some(parsed) = parsed else { return error(StatusCode::UNAUTHORIZED, "invalid write key") };
    // Deduplicate on messageId: a retry of a stored message is acknowledged, not stored again;
    // a message repeated within the request is stored once, as Segment does.
    let mut fresh = Vec::with_capacity(parsed.messages.len());
    let mut duplicates = 0u64;
    let mut busy = false;
    let mut in_request = hashbrown::HashSet::new();
    for m in parsed.messages {
        if !in_request.insert(m.id.clone()) {
            duplicates += 1;
            continue;
        }
        match state.dedup.claim(&m.id) {
            Seen::New => fresh.push(m),
            Seen::Stored => duplicates += 1,
            Seen::Pending => busy = true,
        }
    }
    let ids: Vec<String> = fresh.iter().map(|m| m.id.clone()).collect();
    if busy {
        state.dedup.settle(ids.iter().map(String::as_str), false);
        return retry_later(StatusCode::TOO_MANY_REQUESTS, "the same messageId is being written by another request");
    }
    let refused = parsed.refused;
    if fresh.is_empty() && refused.is_empty() {
        return reply(duplicates, 0, Vec::new());
    }
    // From here the claimed ids must be settled whatever happens to this request: the write
    // runs in a task of its own, which a client hanging up does not cancel.
    let task_state = state.clone();
    let source = format!("http:/v1/{kind}");
    let write = tokio::spawn(async move {
        let state = task_state;
        let wait = std::time::Duration::from_millis(state.config.config.ingest.overload_wait_ms);
        let result = match state.ingest.slot(Some(wait)).await {
            Ok(slot) => {
                state
                    .ingest
                    .write_with(slot, arrived, move || {
                        let mut batch = Batch::new(source);
                        segment::fill(&mut batch, &fresh, &refused);
                        batch
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        state.dedup.settle(ids.iter().map(String::as_str), result.is_ok());
        result
    });
    match write.await {
        Ok(Ok(receipt)) => reply(duplicates, receipt.accepted, super::rejected_lines(&receipt.rejected)),
        // Segment's client waits out a 429 without spending one of its retries (a 503 spends
        // one, and the batch is dropped after ten): busy and stopping are 429 here.
        Ok(Err(e @ (IngestError::Overloaded | IngestError::ShuttingDown))) => {
            retry_later(StatusCode::TOO_MANY_REQUESTS, e.to_string())
        }
        Ok(Err(e)) => ingest_error(&e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("write task failed: {e}")),
    }
}

fn reply(duplicates: u64, accepted: u64, rejected: Vec<RejectedLine>) -> Response {
    (StatusCode::OK, axum::Json(SegmentReply { success: true, accepted, duplicates, rejected })).into_response()
}
