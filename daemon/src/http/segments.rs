//! Named segments under `/api/v1/segments`: list with live sizes, one segment with its size
//! history, its members, define and delete (admins, marketers and analysts), and the log of
//! customers entering and leaving (`/api/v1/segment-changes`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cxp_query::api::{ChangesDoc, MembersDoc, SegmentDef};
use serde::Deserialize;

use super::analysis::{off_runtime, show_members};
use super::api::{audit_down, json};
use super::{AppState, error, require};
use crate::auth::Role;
use crate::live::DefineError;

fn can_define(r: Role) -> bool {
    matches!(r, Role::Admin | Role::Marketer | Role::Analyst)
}

fn no_such(name: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no segment named {name:?}"))
}

/// `GET /api/v1/segments`: every named segment with its live size.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    json(&state.live.docs())
}

/// `GET /api/v1/segments/{name}`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    state.live.doc(&name).map_or_else(|| no_such(&name), |d| json(&d))
}

/// `POST /api/v1/segments` `{"name", "expr", "description"}`: defines or redefines a segment;
/// 201 with its document (members arrive with the next evaluation).
pub async fn define(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let who = match require(&state, &headers, can_define) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let def: SegmentDef = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    let target = format!("{} = {}", def.name, def.expr);
    let name = def.name.clone();
    let live = state.live.clone();
    let done = off_runtime(move || {
        live.define(def).map_err(|e| match e {
            DefineError::Invalid(m) => error(StatusCode::BAD_REQUEST, m),
            DefineError::FromFile(_) => error(StatusCode::CONFLICT, e.to_string()),
            DefineError::Store(m) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
        })
    })
    .await;
    if let Err(r) = done {
        return r;
    }
    // Done already: a failed audit write is logged (by `record`), not undone.
    let _ = state.audit.record(&who, "define segment", &target).await;
    match state.live.doc(&name) {
        Some(d) => (StatusCode::CREATED, axum::Json(d)).into_response(),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "the segment was kept but cannot be read back"),
    }
}

/// `DELETE /api/v1/segments/{name}`: deletes a segment defined through the API.
pub async fn delete(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    let who = match require(&state, &headers, can_define) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let live = state.live.clone();
    let target = name.clone();
    let done = off_runtime(move || {
        live.remove(&target).map_err(|e| match e {
            DefineError::FromFile(_) => error(StatusCode::CONFLICT, e.to_string()),
            e => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        })
    })
    .await;
    match done {
        Ok(true) => {
            let _ = state.audit.record(&who, "delete segment", &name).await;
            json(&serde_json::json!({"deleted": name}))
        }
        Ok(false) => no_such(&name),
        Err(r) => r,
    }
}

/// Paging of members.
#[derive(Debug, Deserialize)]
pub struct Page {
    limit: Option<u64>,
    offset: Option<u64>,
}

/// `GET /api/v1/segments/{name}/members?limit=&offset=`: members by customer key.
pub async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(p): Query<Page>,
) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if state.live.doc(&name).is_none() {
        return no_such(&name);
    }
    let Some(bitmap) = state.live.members(&name) else {
        return super::retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("segment {name:?} is being evaluated for the first time"),
        );
    };
    let (limit, offset) = (p.limit.unwrap_or(100).min(10_000), p.offset.unwrap_or(0));
    let store = state.ingest.store().clone();
    let page = off_runtime(move || {
        let roots = bitmap.iter().skip(offset as usize).take(limit as usize);
        Ok((bitmap.len(), cxp_query::api::members(&store, roots)))
    })
    .await;
    let (count, mut members) = match page {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Err(r) = show_members(&state, &who, &format!("list segment {name}"), &mut members).await {
        return r;
    }
    json(&MembersDoc { name, count, members, offset })
}

/// Position in the change log.
#[derive(Debug, Deserialize)]
pub struct ChangesParams {
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /api/v1/segment-changes?after=&limit=`: customers who entered and left segments, in
/// log order (a consumer keeps `next` and asks again from there).
pub async fn changes(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ChangesParams>) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let after = q.after.unwrap_or(0);
    let (changes, next, missed) = state.live.changes_after(after, q.limit.unwrap_or(1000).min(100_000));
    // Customer keys only: no personal data, but who was in which audience is worth a trace
    // for the roles that can link keys to people.
    if who.role.sees_pii()
        && !changes.is_empty()
        && state.audit.record(&who, "read segment changes", &format!("after {after}, {}", changes.len())).await.is_err()
    {
        return audit_down();
    }
    json(&ChangesDoc { changes, next, missed })
}
