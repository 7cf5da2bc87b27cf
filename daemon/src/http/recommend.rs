//! `GET /api/v1/recommendations?item=&customer=&k=`: what to show next, and whether to offer
//! a coupon. Every reader role may ask; the answer names products, not people.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::analysis::off_runtime;
use super::api::json;
use super::{AppState, error, require};
use crate::auth::Role;

/// Query of `/api/v1/recommendations`.
#[derive(Debug, Deserialize)]
pub struct RecQuery {
    item: Option<String>,
    customer: Option<String>,
    k: Option<usize>,
}

/// `GET /api/v1/recommendations`.
pub async fn recommendations(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<RecQuery>) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let item = q.item.filter(|s| !s.is_empty());
    let customer = q.customer.filter(|s| !s.is_empty());
    if item.is_none() && customer.is_none() {
        return error(StatusCode::BAD_REQUEST, "give ?item=SKU, ?customer=ID, or both");
    }
    let k = q.k.unwrap_or(5).clamp(1, 100);
    let (rec, store) = (state.recommender.clone(), state.ingest.store().clone());
    let doc = off_runtime(move || {
        rec.answer(&store, customer.as_deref(), item.as_deref(), k)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await;
    match doc {
        Ok(d) => {
            // The coupon decision rests on the person's scores: who asked is on record.
            // Named by key, never by identifier (an erasure leaves nothing in the log).
            if let Some(r) = d.root
                && state.audit.record(&who, "recommend for customer", &format!("customer #{r}")).await.is_err()
            {
                return super::api::audit_down();
            }
            json(&d)
        }
        Err(r) => r,
    }
}
