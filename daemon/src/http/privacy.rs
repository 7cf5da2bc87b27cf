//! Privacy endpoints: export everything held about a person (GDPR access), and set consent
//! per channel and purpose through the API (as a `consent` event, so that it is stored,
//! replayed and audited like consent given in any other way).

use std::collections::BTreeMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cxp_query::api::{CustomerDoc, EventDoc, QuarantineDoc, recent_events};
use cxp_store::{Batch, FieldValue};
use serde_json::{Value as Json, json};

use super::{AppState, error, ingest_error, require};
use crate::auth::Role;

/// `GET /api/v1/customers/{id}/export` (admin): the 360 view, every event of every linked
/// identifier, the identity graph (links, splits, refusals) and quarantined lines that name
/// one of the identifiers.
pub async fn export(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let who = match require(&state, &headers, |r| r == Role::Admin) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let key = id.clone();
    let doc = tokio::task::spawn_blocking(move || -> cxp_store::Result<Option<Json>> {
        let Some(identity) = store.identity(&key)? else { return Ok(None) };
        let customer = match store.customer(&key, None)? {
            Some(view) => serde_json::to_value(CustomerDoc::new(&view, &[])).unwrap_or(Json::Null),
            None => Json::Null,
        };
        let events: Vec<EventDoc> =
            recent_events(&store, identity.root, usize::MAX)?.iter().map(EventDoc::from).collect();
        let values: Vec<&str> = identity.identifiers.iter().map(|(_, _, v)| v.as_str()).collect();
        let mut quarantined = Vec::new();
        let mut after = 0;
        loop {
            let page = store.quarantine(after, 10_000)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in page {
                let raw = String::from_utf8_lossy(&e.raw).into_owned();
                if values.iter().any(|v| raw.contains(v)) {
                    quarantined.push(QuarantineDoc {
                        id: e.id,
                        source: e.source,
                        line: e.line,
                        reason: e.reason,
                        raw,
                        ts: e.received_ns,
                    });
                }
            }
        }
        let identifiers: Vec<Json> = identity
            .identifiers
            .iter()
            .map(|(ck, kind, value)| json!({"key": ck, "type": kind, "id": value}))
            .collect();
        Ok(Some(json!({
            "identifier": key,
            "exported_at": cxp_store::now_ns(),
            "customer": customer,
            "identity": {
                "root": identity.root,
                "identifiers": identifiers,
                "links": identity.links,
                "splits": identity.splits,
                "refusals": identity.refusals,
            },
            "events": events,
            "quarantine": quarantined,
        })))
    })
    .await;
    match doc {
        Ok(Ok(Some(doc))) => {
            if state.audit.record(&who, "export customer", &id).await.is_err() {
                return super::api::audit_down();
            }
            axum::Json(doc).into_response()
        }
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}")),
    }
}

/// `POST /api/v1/customers/{id}/consent` `{"sms": true, "email.marketing": false}` (admin or
/// marketer): consent per channel, optionally per purpose (`channel.purpose`), stored as a
/// `consent` event of the customer at the current time.
pub async fn set_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let who = match require(&state, &headers, |r| matches!(r, Role::Admin | Role::Marketer)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let given: BTreeMap<String, Json> = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}; send {{\"sms\": true, ...}}")),
    };
    let mut fields = Vec::new();
    for (k, v) in &given {
        let valid_name = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        match (valid_name, v.as_bool()) {
            (true, Some(b)) => fields.push((k.clone(), b)),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("consent {k:?} must be a channel[.purpose] name with true or false"),
                );
            }
        }
    }
    if fields.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no consent given: send {\"sms\": true, ...}");
    }
    let store = state.ingest.store().clone();
    let key = id.clone();
    let identifier = tokio::task::spawn_blocking(move || {
        let ck = store.customer_key(&key)?;
        Ok::<_, cxp_store::StoreError>(ck.and_then(|ck| store.customer_id(ck)))
    })
    .await;
    let (kind, value) = match identifier {
        Ok(Ok(Some(pair))) => pair,
        Ok(Ok(None)) => return error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")),
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("task failed: {e}")),
    };
    let slot = match state.ingest.slot(Some(std::time::Duration::from_secs(5))).await {
        Ok(s) => s,
        Err(e) => return ingest_error(&e),
    };
    let source = format!("api:consent by {}", who.id);
    let written = state
        .ingest
        .write_with(slot, arrived, move || {
            let mut batch = Batch::new(source);
            let pushed = batch.push_event(
                "consent",
                cxp_store::now_ns(),
                [(kind.as_str(), value.as_str())],
                fields.iter().map(|(k, b)| (k.as_str(), FieldValue::Bool(*b))),
            );
            debug_assert!(pushed.is_ok());
            batch
        })
        .await;
    match written {
        Ok(r) if r.accepted == 1 => {
            let what = format!("{id}: {}", serde_json::to_string(&given).unwrap_or_default());
            // Stored already: a failed audit write is logged (by `record`), not undone.
            let _ = state.audit.record(&who, "set consent", &what).await;
            (StatusCode::OK, axum::Json(json!({"stored": true}))).into_response()
        }
        Ok(r) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the consent event was refused: {}", r.rejected.first().map_or("", |x| x.reason.as_str())),
        ),
        Err(e) => ingest_error(&e),
    }
}
