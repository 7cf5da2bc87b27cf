//! `/api/v1/experiments`: definitions, results and assignment with exposure logging.
//!
//! Assignment is what a shop's backend asks when it shows a page: the variant of a customer,
//! sticky (a hash, the same as GrowthBook's SDKs give), and an `experiment_viewed` event
//! written before the answer, so that results count exactly the customers who were shown a
//! variant. Backends hold writer tokens, so writers may assign.

use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cxp_query::api::{AssignmentDoc, ExperimentDoc};
use cxp_query::experiment::{self, Experiment};
use cxp_query::segment::defs;
use cxp_store::{Batch, FieldValue};
use serde::Deserialize;

use super::analysis::{off_runtime, query_error, time_param};
use super::api::json;
use super::{AppState, error, ingest_error, require};
use crate::auth::Role;

fn find(state: &AppState, name: &str) -> Result<Experiment, Response> {
    state
        .experiments
        .iter()
        .find(|e| e.name == name)
        .cloned()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no experiment {name:?}")))
}

/// `GET /api/v1/experiments`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let docs: Vec<ExperimentDoc> = state.experiments.iter().map(|e| ExperimentDoc { experiment: e.clone() }).collect();
    json(&docs)
}

/// `GET /api/v1/experiments/{name}`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    match find(&state, &name) {
        Ok(e) => json(&ExperimentDoc { experiment: e }),
        Err(r) => r,
    }
}

/// Query of `/api/v1/experiments/{name}/results`.
#[derive(Debug, Deserialize)]
pub struct ResultsQuery {
    at: Option<String>,
}

/// `GET /api/v1/experiments/{name}/results?at=`.
pub async fn results(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    let exp = match find(&state, &name) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let at = match time_param("at", q.at.as_deref()) {
        Ok(a) => a.unwrap_or_else(cxp_store::now_ns),
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let r = off_runtime(move || {
        experiment::results(&store, &exp, at).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await;
    match r {
        Ok(r) => json(&r),
        Err(r) => r,
    }
}

/// Body of `POST /api/v1/experiments/{name}/assign`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// Any identifier of the customer (an anonymous id for a visitor).
    customer: String,
    /// Log the exposure (default yes): the customer is being shown the variant now.
    log: Option<bool>,
}

/// `POST /api/v1/experiments/{name}/assign`.
pub async fn assign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let arrived = Instant::now();
    let can_see = match require(&state, &headers, |r| matches!(r, Role::Admin | Role::Writer | Role::Marketer)) {
        Ok(p) => p.role != Role::Writer,
        Err(r) => return r,
    };
    // Any content type: backends post JSON without always saying so.
    let body: AssignBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}: send {{\"customer\": \"ID\"}}")),
    };
    let exp = match find(&state, &name) {
        Ok(e) => e,
        Err(r) => return r,
    };
    if body.customer.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "customer: an identifier is required");
    }
    let (store, live) = (state.ingest.store().clone(), state.live.clone());
    let (id, e2) = (body.customer.clone(), exp.clone());
    let now = cxp_store::now_ns();
    let assigned = off_runtime(move || {
        let defs = defs::definitions(&live.specs());
        // Named segments from live membership: one customer, no evaluation of everyone.
        let root = store.customer_key(&id).ok().flatten().map(|k| store.root(k));
        let member = |seg: &str| Some(root.is_some_and(|r| live.members(seg).is_some_and(|m| m.contains(r))));
        let mut doc = experiment::assign(&store, &e2, &id, now, &defs, &member).map_err(query_error)?;
        if !can_see && doc.variant.is_none() {
            // Writers (shop backends) are not told what the store knows about a person.
            doc.reason = Some("not in the experiment".into());
        }
        // The exposure names the person by their strongest identifier when they are known, so
        // that it joins their profile; a new visitor's id is taken as an anonymous one.
        let tag = match store.customer_key(&id).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))? {
            Some(ck) => store.customer_id(ck).unwrap_or_else(|| ("anon".into(), id.clone())),
            None => ("anon".into(), id.clone()),
        };
        Ok((doc, tag))
    })
    .await;
    let (mut doc, (kind, value)): (AssignmentDoc, (String, String)) = match assigned {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(variant) = doc.variant.clone().filter(|_| body.log.unwrap_or(true)) else {
        return json(&doc);
    };
    let slot = match state.ingest.slot(Some(std::time::Duration::from_secs(2))).await {
        Ok(s) => s,
        Err(e) => return ingest_error(&e),
    };
    let e = exp.exposure.clone();
    let written = state
        .ingest
        .write_with(slot, arrived, move || {
            let mut batch = Batch::new("api:experiment");
            let pushed = batch.push_event(
                &e.event,
                now,
                [
                    (kind.as_str(), value.as_str()),
                    (e.experiment.as_str(), exp.name.as_str()),
                    (e.variant.as_str(), variant.as_str()),
                ],
                [("exposure", FieldValue::Bool(true))],
            );
            debug_assert!(pushed.is_ok(), "{pushed:?}");
            batch
        })
        .await;
    match written {
        Ok(receipt) if receipt.accepted == 1 => {
            doc.logged = true;
            json(&doc)
        }
        Ok(receipt) => {
            let why = receipt.rejected.first().map_or("suppressed".into(), |r| r.reason.clone());
            doc.reason = Some(format!("the exposure was not logged: {why}"));
            json(&doc)
        }
        Err(e) => ingest_error(&e),
    }
}
