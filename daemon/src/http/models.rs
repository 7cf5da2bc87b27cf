//! `/api/v1/models`: definitions and versions, training on request, one customer's score, and
//! the feature table as CSV. Reading is for every reader role; training and the feature table
//! (which names customers) for the roles that work with data (admin, marketer, analyst), with
//! identifiers masked for analysts.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cxp_query::api::{ModelDoc, mask_identifier};
use cxp_query::model::TrainError;
use cxp_query::model::registry::{Scorer, training_table};
use serde::Deserialize;

use super::analysis::{off_runtime, time_param};
use super::api::{audit_down, json};
use super::{AppState, error, require};
use crate::auth::Role;
use crate::models::JobError;

fn can_model(r: Role) -> bool {
    matches!(r, Role::Admin | Role::Marketer | Role::Analyst)
}

/// A training or scoring error as a reply: missing data and unknown models are the caller's
/// to fix (409, 404); the rest is ours.
fn train_error(e: &TrainError) -> Response {
    match e {
        TrainError::Insufficient { sufficiency, .. } => {
            let body = serde_json::json!({ "error": e.to_string(), "sufficiency": sufficiency });
            (StatusCode::CONFLICT, axum::Json(body)).into_response()
        }
        TrainError::NotFound(m) => error(StatusCode::NOT_FOUND, m.clone()),
        e => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn job_error(e: &JobError) -> Response {
    match e {
        JobError::Train(t) => train_error(t),
        JobError::Busy => error(StatusCode::CONFLICT, e.to_string()),
        JobError::Task(_) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /api/v1/models`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let models = state.models.clone();
    let docs = off_runtime(move || {
        models
            .specs()
            .iter()
            .map(|s| models.doc(s))
            .collect::<Result<Vec<ModelDoc>, _>>()
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await;
    match docs {
        Ok(d) => json(&d),
        Err(r) => r,
    }
}

/// `GET /api/v1/models/{name}`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let Some(spec) = state.models.spec(&name).cloned() else {
        return error(StatusCode::NOT_FOUND, format!("no model {name:?}"));
    };
    let models = state.models.clone();
    match off_runtime(move || models.doc(&spec).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
        .await
    {
        Ok(d) => json(&d),
        Err(r) => r,
    }
}

/// Body of `POST /api/v1/models/{name}/train`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainBody {
    /// As of (ns); default now.
    at: Option<i64>,
    /// Score every customer afterwards (default yes).
    score: Option<bool>,
}

/// `POST /api/v1/models/{name}/train`: trains a new version now (waits for it).
pub async fn train(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let who = match require(&state, &headers, can_model) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body: TrainBody = if body.is_empty() {
        TrainBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
        }
    };
    if state.models.spec(&name).is_none() {
        return error(StatusCode::NOT_FOUND, format!("no model {name:?}"));
    }
    if state.audit.record(&who, "train model", &name).await.is_err() {
        return audit_down();
    }
    let at = body.at.unwrap_or_else(cxp_store::now_ns);
    match state.models.train(&name, at, body.score.unwrap_or(true), false).await {
        Ok(doc) => json(&doc),
        Err(e) => job_error(&e),
    }
}

/// Query of `/api/v1/models/{name}/score`.
#[derive(Debug, Deserialize)]
pub struct ScoreQuery {
    customer: Option<String>,
    at: Option<String>,
}

/// `GET /api/v1/models/{name}/score?customer=ID`: one customer scored from their events now.
pub async fn score(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<ScoreQuery>,
) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(id) = q.customer.filter(|c| !c.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "give the customer as ?customer=");
    };
    let at = match time_param("at", q.at.as_deref()) {
        Ok(a) => a.unwrap_or_else(cxp_store::now_ns),
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let (model, audited) = (name.clone(), state.audit.clone());
    let doc = off_runtime(move || {
        let scorer = Scorer::load(&store, &name, None).map_err(|e| train_error(&e))?;
        scorer.score_one(&store, &id, at).map_err(|e| train_error(&e))?.ok_or_else(|| {
            error(StatusCode::NOT_FOUND, format!("no customer {id:?} with events before the time asked"))
        })
    })
    .await;
    match doc {
        Ok(d) => {
            // A person's behaviour and score: who asked is on record, as for the 360 view.
            let target = format!("customer #{}", d.root);
            if audited.record(&who, &format!("score customer with {model}"), &target).await.is_err() {
                return audit_down();
            }
            json(&d)
        }
        Err(r) => r,
    }
}

/// Query of `/api/v1/models/{name}/features`.
#[derive(Debug, Deserialize)]
pub struct FeaturesQuery {
    at: Option<String>,
}

/// `GET /api/v1/models/{name}/features?at=`: the training table as CSV.
pub async fn features(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<FeaturesQuery>,
) -> Response {
    let who = match require(&state, &headers, can_model) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(spec) = state.models.spec(&name).cloned() else {
        return error(StatusCode::NOT_FOUND, format!("no model {name:?}"));
    };
    let at = match time_param("at", q.at.as_deref()) {
        Ok(a) => a.unwrap_or_else(cxp_store::now_ns),
        Err(r) => return r,
    };
    let Ok(_one) = state.models.tables.try_acquire() else {
        return super::retry_later(StatusCode::TOO_MANY_REQUESTS, "a feature table is being built; ask again shortly");
    };
    if who.role.sees_pii() && state.audit.record(&who, "export model features", &name).await.is_err() {
        return audit_down();
    }
    let (store, unmasked) = (state.ingest.store().clone(), who.role.sees_pii());
    let csv = off_runtime(move || {
        let (table, _, _) = training_table(&store, &spec, at).map_err(|e| train_error(&e))?;
        let ids: Vec<String> = table
            .ids(&store)
            .into_iter()
            .map(|id| match id.split_once('=') {
                Some((k, v)) if !unmasked => format!("{k}={}", mask_identifier(k, v)),
                _ => id,
            })
            .collect();
        let mut out = Vec::new();
        table
            .data
            .write_csv(Some(&ids), &mut out)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(out)
    })
    .await;
    match csv {
        Ok(body) => {
            let mut r = body.into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            r
        }
        Err(r) => r,
    }
}
