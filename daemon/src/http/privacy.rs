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

use super::api::{blocking, json};
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
        let customer = match CustomerDoc::load(&store, &key, None, 0)? {
            Some(doc) => serde_json::to_value(doc).unwrap_or(Json::Null),
            None => Json::Null,
        };
        let events: Vec<EventDoc> =
            recent_events(&store, identity.root, usize::MAX)?.iter().map(EventDoc::from).collect();
        let quarantined: Vec<QuarantineDoc> =
            store.quarantine_naming(&key)?.unwrap_or_default().into_iter().map(QuarantineDoc::from).collect();
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
            let target = format!("customer #{}", doc["identity"]["root"]);
            if state.audit.record(&who, "export customer", &target).await.is_err() {
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
        Ok::<_, cxp_store::StoreError>(ck.and_then(|ck| store.customer_id(ck).map(|id| (store.root(ck), id))))
    })
    .await;
    let (root, (kind, value)) = match identifier {
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
            let what = format!("customer #{root}: {}", serde_json::to_string(&given).unwrap_or_default());
            // Stored already: a failed audit write is logged (by `record`), not undone.
            let _ = state.audit.record(&who, "set consent", &what).await;
            (StatusCode::OK, axum::Json(json!({"stored": true}))).into_response()
        }
        Ok(r) if r.suppressed > 0 => error(
            StatusCode::CONFLICT,
            "the customer opted out of processing: lift it with DELETE /api/v1/customers/{id}/opt-out first",
        ),
        Ok(r) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the consent event was refused: {}", r.rejected.first().map_or("", |x| x.reason.as_str())),
        ),
        Err(e) => ingest_error(&e),
    }
}

/// `DELETE /api/v1/customers/{id}` (admin): erases the person (every linked identifier) and
/// answers with the receipt once every step is done. Audited before it starts.
pub async fn erase(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    // Recorded by key: the identifiers are about to be removed everywhere, the audit log
    // included.
    let who = match admin_action(&state, &headers, &id, "erase customer").await {
        Ok(who) => who,
        Err(r) => return r,
    };
    let store = state.ingest.store().clone();
    let by = format!("token {} ({})", who.id, who.name);
    match blocking(move || store.erase(&id, &by)).await {
        Ok(Some(receipt)) => json(&receipt),
        Ok(None) => error(StatusCode::NOT_FOUND, "the customer was erased meanwhile"),
        Err(r) => r,
    }
}

/// `GET /api/v1/erasures` (admin): every erasure receipt, oldest first.
pub async fn erasures(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, |r| r == Role::Admin) {
        return r;
    }
    let store = state.ingest.store().clone();
    match blocking(move || store.erasures()).await {
        Ok(list) => json(&list),
        Err(r) => r,
    }
}

/// `POST /api/v1/customers/{id}/opt-out` (admin): events carrying any identifier of the
/// person are refused from now on (with `[privacy] suppression`); their data stays.
pub async fn opt_out(state: State<AppState>, headers: HeaderMap, id: Path<String>) -> Response {
    set_opt_out(state, headers, id, true).await
}

/// `DELETE /api/v1/customers/{id}/opt-out` (admin): the person's events are accepted again.
pub async fn opt_in(state: State<AppState>, headers: HeaderMap, id: Path<String>) -> Response {
    set_opt_out(state, headers, id, false).await
}

async fn set_opt_out(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>, out: bool) -> Response {
    let action = if out { "opt out customer" } else { "lift opt-out of customer" };
    if let Err(r) = admin_action(&state, &headers, &id, action).await {
        return r;
    }
    let store = state.ingest.store().clone();
    match blocking(move || store.opt_out(&id, out)).await {
        Ok(Some(keys)) => json(&json!({"opted_out": out, "keys": keys})),
        Ok(None) => error(StatusCode::NOT_FOUND, "the customer was erased meanwhile"),
        Err(r) => r,
    }
}

// An admin's action on the person `id`: checks the role, finds the person (404 if none) and
// audits the action by customer key before it is carried out.
async fn admin_action(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    action: &str,
) -> Result<crate::auth::Principal, Response> {
    let who = require(state, headers, |r| r == Role::Admin)?;
    let Some(root) = root_of(state, id).await? else {
        return Err(error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")));
    };
    if state.audit.record(&who, action, &format!("customer #{root}")).await.is_err() {
        return Err(super::api::audit_down());
    }
    Ok(who)
}

// The key standing for the person `id` names, if any.
async fn root_of(state: &AppState, id: &str) -> Result<Option<cxp_store::Ck>, Response> {
    let store = state.ingest.store().clone();
    let key = id.to_owned();
    blocking(move || Ok(store.customer_key(&key)?.map(|ck| store.root(ck)))).await
}
