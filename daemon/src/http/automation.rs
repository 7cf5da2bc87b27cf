//! Journeys, triggers and messages under `/api/v1`: live counters per step, per-channel
//! delivery counters with dead letters, "why" a customer got (or did not get) a message,
//! template previews, a dry-run replay of past events, and the test clock.
//!
//! Message content carries personal data (a salutation with a surname, an address): it is
//! shown to admins and marketers (audited when about one customer) and left out for the
//! other roles.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use cxp_query::api::{MessagesDoc, PreviewDoc, mask_identifier};
use cxp_query::automation::{Channel, Message};
use serde::Deserialize;

use super::analysis::{off_runtime, time_param};
use super::api::{audit_down, json};
use super::{AppState, error, require};
use crate::auth::Role;

fn can_act(r: Role) -> bool {
    matches!(r, Role::Admin | Role::Marketer)
}

/// `GET /api/v1/journeys`.
pub async fn journeys(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    json(&state.automation.journeys())
}

/// `GET /api/v1/journeys/{name}`.
pub async fn journey(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if let Err(r) = require(&state, &headers, Role::can_read) {
        return r;
    }
    match state.automation.journeys().into_iter().find(|j| j.name == name) {
        Some(j) => json(&j),
        None => {
            error(StatusCode::NOT_FOUND, format!("no journey or trigger {name:?} (triggers are named trigger:NAME)"))
        }
    }
}

/// `POST /api/v1/journeys/{name}/pause` (admins and marketers; audited).
pub async fn pause(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    set_paused(state, headers, name, true).await
}

/// `POST /api/v1/journeys/{name}/resume` (admins and marketers; audited).
pub async fn resume(State(state): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    set_paused(state, headers, name, false).await
}

async fn set_paused(state: AppState, headers: HeaderMap, name: String, paused: bool) -> Response {
    let who = match require(&state, &headers, can_act) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let action = if paused { "pause journey" } else { "resume journey" };
    if state.audit.record(&who, action, &name).await.is_err() {
        return audit_down();
    }
    let auto = state.automation.clone();
    let key = name.clone();
    match tokio::task::spawn_blocking(move || auto.set_paused(&key, paused)).await {
        Ok(Ok(true)) => match state.automation.journeys().into_iter().find(|j| j.name == name) {
            Some(j) => json(&j),
            None => error(StatusCode::NOT_FOUND, format!("no journey or trigger {name:?}")),
        },
        Ok(Ok(false)) => {
            error(StatusCode::NOT_FOUND, format!("no journey or trigger {name:?} (triggers are named trigger:NAME)"))
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("saving the pause: {e}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /api/v1/messages`.
pub async fn messages(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (mut recent, mut dead) = state.automation.recent();
    if !who.role.sees_pii() {
        recent.iter_mut().chain(dead.iter_mut()).for_each(|w| w.content = None);
    }
    json(&MessagesDoc { channels: state.automation.channels(), dead_letters: dead, recent })
}

/// Query naming a customer.
#[derive(Debug, Deserialize)]
pub struct CustomerQuery {
    customer: Option<String>,
}

/// `GET /api/v1/messages/why?customer=ID`: every message decision about a customer.
pub async fn why(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<CustomerQuery>) -> Response {
    let who = match require(&state, &headers, Role::can_read) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(id) = q.customer.filter(|c| !c.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "give the customer as ?customer=");
    };
    let (store, auto) = (state.ingest.store().clone(), state.automation.clone());
    let found = off_runtime(move || {
        let ck = store
            .customer_key(&id)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no customer with the identifier {id:?}")))?;
        let root = store.root(ck);
        let whys = auto.why(root).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let inside = auto.instances_of(root);
        Ok((root, whys, inside))
    })
    .await;
    let (root, mut whys, inside) = match found {
        Ok(f) => f,
        Err(r) => return r,
    };
    if who.role.sees_pii() {
        if state.audit.record(&who, "read customer messages", &format!("customer #{root}")).await.is_err() {
            return audit_down();
        }
    } else {
        whys.iter_mut().for_each(|w| w.content = None);
    }
    json(&serde_json::json!({ "root": root, "messages": whys, "journeys": inside }))
}

/// Body of `POST /api/v1/automation/clock`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    now: Option<i64>,
    advance: Option<String>,
}

/// `POST /api/v1/automation/clock`: moves the test clock (admin; only with
/// `[automation] test_clock = true`).
pub async fn clock(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let who = match require(&state, &headers, |r| r == Role::Admin) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let clock = state.automation.clock();
    if !clock.is_test() {
        return error(
            StatusCode::CONFLICT,
            "the daemon runs on the system clock (set [automation] test_clock = true for a test clock)",
        );
    }
    let body: ClockBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body: {e}: send {{\"now\": NS}} or {{\"advance\": \"24h\"}}"),
            );
        }
    };
    let target = match (body.now, body.advance) {
        (Some(n), None) => n,
        (None, Some(a)) => match cxp_store::profile::parse_window(&a) {
            Ok(d) => clock.now() + d,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("advance {a:?}: {e}")),
        },
        _ => return error(StatusCode::BAD_REQUEST, "give one of now (ns) or advance (a duration)"),
    };
    // Events acknowledged before this request are handled at the time before the move: a
    // test that writes and then moves the clock must not find them judged at the new time
    // because the engine's thread ran late. Bounded, so a stalled engine never hangs the API.
    let seq = state.automation.store().committed_seq();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !state.automation.handled(seq) {
        if std::time::Instant::now() > deadline {
            tracing::warn!(seq, "the test clock moves before automation handled every committed event");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    clock.set(target);
    if state.audit.record(&who, "set automation clock", &target.to_string()).await.is_err() {
        return audit_down();
    }
    json(&serde_json::json!({ "now": clock.now() }))
}

/// Query of a template preview.
#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    customer: Option<String>,
    channel: Option<String>,
}

/// `GET /api/v1/templates/{name}/preview?customer=&channel=`: the message a customer would
/// get now (admin, marketer; audited).
pub async fn preview(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let who = match require(&state, &headers, can_act) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(channel) = q.channel.as_deref().map(Channel::parse) else {
        return error(StatusCode::BAD_REQUEST, "give the channel as ?channel=sms|email|push|webhook|social");
    };
    let Some(channel) = channel else {
        return error(StatusCode::BAD_REQUEST, "unknown channel (sms, email, push, webhook, social)");
    };
    let (store, auto, id) = (state.ingest.store().clone(), state.automation.clone(), q.customer.clone());
    let doc = off_runtime(move || {
        let root = match &id {
            Some(i) => Some(
                store
                    .customer_key(i)
                    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                    .map(|k| store.root(k))
                    .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no customer with the identifier {i:?}")))?,
            ),
            None => None,
        };
        let doc = auto.preview(&name, channel, root).map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
        Ok((root, doc))
    })
    .await;
    let (root, doc): (Option<u32>, PreviewDoc) = match doc {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Some(r) = root
        && state.audit.record(&who, &format!("preview {}", doc.template), &format!("customer #{r}")).await.is_err()
    {
        return audit_down();
    }
    json(&doc)
}

/// Query of a replay.
#[derive(Debug, Deserialize)]
pub struct ReplayQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/v1/automation/replay?from=&to=`: what the rules would have sent for the events
/// of a past window (nothing is sent); customers masked for analysts.
pub async fn replay(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ReplayQuery>) -> Response {
    let who = match require(&state, &headers, |r| matches!(r, Role::Admin | Role::Marketer | Role::Analyst)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (from, to) = match (time_param("from", q.from.as_deref()), time_param("to", q.to.as_deref())) {
        (Ok(Some(f)), Ok(t)) => (f, t.unwrap_or_else(cxp_store::now_ns)),
        (Ok(None), _) => return error(StatusCode::BAD_REQUEST, "give the window as ?from=&to="),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let (store, auto) = (state.ingest.store().clone(), state.automation.clone());
    let report = off_runtime(move || {
        cxp_query::automation::replay::replay(&store, auto.definitions(), from, to)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await;
    match report {
        Ok(mut r) => {
            if !who.role.sees_pii() {
                for s in &mut r.sends {
                    s.customer = mask_identifier("customer", &s.customer);
                }
            }
            json(&r)
        }
        Err(r) => r,
    }
}

impl crate::automation::Automation {
    /// The message `template` would make on `channel` for person `root` now (or for a
    /// customer about whom nothing is known).
    pub fn preview(&self, template: &str, channel: Channel, root: Option<u32>) -> Result<PreviewDoc, String> {
        let m = Message::preview(template, channel, root);
        let view = root
            .and_then(|r| self.store().customer_id(r))
            .and_then(|(_, id)| self.store().customer(&id, None).ok().flatten());
        let (content, locale) = self.content(&m, view.as_ref())?;
        let png_base64 = (channel == Channel::Social)
            .then(|| cxp_query::automation::poster::from_parts(&content.parts).ok())
            .flatten()
            .map(|p| base64::engine::general_purpose::STANDARD.encode(p.png));
        Ok(PreviewDoc { template: template.into(), locale, content, png_base64 })
    }
}
