//! The Segment HTTP tracking API turned into the protocol-neutral batch: one event per message
//! (`track` -> its event name, `identify`, `page` -> `page_view`, `screen` -> `screen_view`,
//! `group`, `alias`), identifiers as tags (`userId` -> `customer`, `anonymousId` -> `anon`,
//! `context.externalIds` by their type), properties and traits as fields (nested objects
//! flattened with dots, arrays kept as JSON text), and the time corrected for the device's
//! clock skew the way Segment does: `timestamp = received - (sentAt - timestamp)`.

use cxp_store::{Batch, EventError, FieldValue, Reject};
use serde_json::{Map, Value as Json};

/// Largest message, serialised (Segment: 32 KB).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest `/v1/batch` request (Segment: 500 KB).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Most messages in one batch (Segment: 2,500).
pub const MAX_BATCH_EVENTS: usize = 2500;

/// Nesting depth flattened into dotted field names; deeper objects are kept as JSON text.
const MAX_DEPTH: usize = 4;

/// The message types, named as in the routes.
pub const TYPES: [&str; 6] = ["track", "identify", "page", "screen", "group", "alias"];

/// A message ready for the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Position in the request (0-based).
    pub index: usize,
    /// `messageId` (generated when the client sent none).
    pub id: String,
    /// Event name.
    pub measurement: String,
    /// Event time, ns.
    pub ts: i64,
    /// Identifier tags and the channel.
    pub tags: Vec<(String, String)>,
    /// Fields.
    pub fields: Vec<(String, Field)>,
}

/// An owned field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Integer.
    I64(i64),
    /// Unsigned integer beyond i64.
    U64(u64),
    /// Float.
    F64(f64),
    /// Boolean.
    Bool(bool),
    /// Text.
    Str(String),
}

impl Field {
    fn as_value(&self) -> FieldValue<'_> {
        match self {
            Field::I64(x) => FieldValue::I64(*x),
            Field::U64(x) => FieldValue::U64(*x),
            Field::F64(x) => FieldValue::F64(*x),
            Field::Bool(b) => FieldValue::Bool(*b),
            Field::Str(s) => FieldValue::Str(s.as_str().into()),
        }
    }
}

/// A request the whole of which is refused (answered 400: the client must not retry it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not JSON, or not an object.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Over a size or count limit.
    #[error("{0}")]
    TooLarge(String),
    /// `/v1/batch` without a `batch` array.
    #[error("a batch request needs a \"batch\" array")]
    NoBatch,
}

/// The messages of a request, and the ones refused (each with its index and why; they go to
/// the quarantine with the message's JSON).
#[derive(Debug, Default)]
pub struct Parsed {
    /// Messages to store.
    pub messages: Vec<Message>,
    /// (index, reason, the message as JSON).
    pub refused: Vec<(usize, String, String)>,
    /// `writeKey` from the body, if any.
    pub write_key: Option<String>,
}

/// Parses the body of `/v1/<route>` (`batch` or one of [`TYPES`]) received at `now_ns`.
pub fn parse(body: &[u8], route: &str, now_ns: i64) -> Result<Parsed, RequestError> {
    let limit = if route == "batch" { MAX_BATCH_BYTES } else { MAX_EVENT_BYTES };
    if body.len() > limit {
        return Err(RequestError::TooLarge(format!(
            "request of {} bytes is over the limit of {} KB for /v1/{route}",
            body.len(),
            limit / 1024
        )));
    }
    let root: Json = serde_json::from_slice(body).map_err(|e| RequestError::Json(e.to_string()))?;
    let Json::Object(root) = root else { return Err(RequestError::Json("the body must be a JSON object".into())) };
    let write_key = root.get("writeKey").and_then(Json::as_str).map(str::to_owned);
    let batch_sent_at = root.get("sentAt").and_then(Json::as_str).and_then(parse_time);
    let single: Json;
    let items: Vec<(Option<&str>, &Json)> = if route == "batch" {
        let Some(Json::Array(items)) = root.get("batch") else { return Err(RequestError::NoBatch) };
        if items.len() > MAX_BATCH_EVENTS {
            return Err(RequestError::TooLarge(format!(
                "batch of {} events is over the limit of {MAX_BATCH_EVENTS}",
                items.len()
            )));
        }
        items.iter().map(|m| (None, m)).collect()
    } else {
        single = Json::Object(root.clone());
        vec![(Some(route), &single)]
    };
    // Top-level context and integrations are merged into each item of a batch.
    let shared_context = root.get("context").and_then(Json::as_object);
    let mut out = Parsed { write_key, ..Parsed::default() };
    for (index, (forced, item)) in items.into_iter().enumerate() {
        let text = item.to_string();
        if text.len() > MAX_EVENT_BYTES {
            return Err(RequestError::TooLarge(format!(
                "event {index} is {} bytes, over the limit of 32 KB per event",
                text.len()
            )));
        }
        match message(index, forced, item, shared_context, batch_sent_at, now_ns) {
            Ok(m) => out.messages.push(m),
            Err(reason) => out.refused.push((index, reason, text)),
        }
    }
    Ok(out)
}

/// An RFC 3339 time in ns since the epoch.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

fn id_text(v: Option<&Json>) -> Option<String> {
    match v? {
        Json::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn message(
    index: usize,
    forced: Option<&str>,
    item: &Json,
    shared_context: Option<&Map<String, Json>>,
    batch_sent_at: Option<i64>,
    now_ns: i64,
) -> Result<Message, String> {
    let Json::Object(m) = item else { return Err("a message must be a JSON object".into()) };
    let kind = match forced {
        Some(k) => k.to_owned(),
        None => m.get("type").and_then(Json::as_str).unwrap_or_default().to_ascii_lowercase(),
    };
    if !TYPES.contains(&kind.as_str()) {
        return Err(format!("unknown message type {kind:?}: use one of {}", TYPES.join(", ")));
    }
    let user = id_text(m.get("userId"));
    let anon = id_text(m.get("anonymousId"));
    if user.is_none() && anon.is_none() {
        return Err("no_user_anon_id: a message needs a userId or an anonymousId".into());
    }
    let context = m.get("context").and_then(Json::as_object).or(shared_context);
    let mut tags = Vec::new();
    if let Some(u) = &user {
        tags.push(("customer".to_owned(), u.clone()));
    }
    if let Some(a) = &anon {
        tags.push(("anon".to_owned(), a.clone()));
    }
    if let Some(Json::Array(ext)) = context.and_then(|c| c.get("externalIds")) {
        for e in ext {
            if let (Some(kind), Some(id)) = (e.get("type").and_then(Json::as_str), id_text(e.get("id")))
                && !tags.iter().any(|(k, _)| k == kind)
            {
                tags.push((kind.to_owned(), id));
            }
        }
    }
    if let Some(channel) = m.get("channel").and_then(Json::as_str).filter(|c| !c.is_empty()) {
        tags.push(("channel".to_owned(), channel.to_owned()));
    }
    let mut fields: Vec<(String, Field)> = Vec::new();
    let id = id_text(m.get("messageId")).unwrap_or_else(|| {
        let r: [u8; 16] = rand::random();
        r.iter().map(|b| format!("{b:02x}")).collect()
    });
    fields.push(("message_id".into(), Field::Str(id.clone())));
    let measurement = match kind.as_str() {
        "track" => {
            let Some(event) = m.get("event").and_then(Json::as_str).map(str::trim).filter(|e| !e.is_empty()) else {
                return Err("a track message needs an \"event\" name".into());
            };
            flatten("", m.get("properties"), 0, &mut fields);
            event.to_owned()
        }
        "identify" => {
            // Rudder moves identify traits into context.traits.
            flatten("", m.get("traits"), 0, &mut fields);
            flatten("", context.and_then(|c| c.get("traits")), 0, &mut fields);
            "identify".to_owned()
        }
        "page" | "screen" => {
            if let Some(name) = m.get("name").and_then(Json::as_str) {
                fields.push(("name".into(), Field::Str(name.to_owned())));
            }
            flatten("", m.get("properties"), 0, &mut fields);
            format!("{kind}_view")
        }
        "group" => {
            let Some(group) = id_text(m.get("groupId")) else {
                return Err("a group message needs a \"groupId\"".into());
            };
            fields.push(("group_id".into(), Field::Str(group)));
            // The group's traits describe the account, not the person: a company's name or
            // email must not become the member's name or link every member's identity.
            flatten("group", m.get("traits"), 0, &mut fields);
            "group".to_owned()
        }
        _ => {
            let (Some(_), Some(previous)) = (&user, id_text(m.get("previousId"))) else {
                return Err("an alias message needs a \"userId\" and a \"previousId\"".into());
            };
            if !tags.iter().any(|(k, v)| k == "anon" && *v == previous) {
                tags.retain(|(k, _)| k != "anon");
                tags.push(("anon".to_owned(), previous.clone()));
            }
            fields.push(("previous_id".into(), Field::Str(previous)));
            "alias".to_owned()
        }
    };
    let device_ts =
        ["timestamp", "originalTimestamp"].iter().find_map(|k| m.get(*k).and_then(Json::as_str).and_then(parse_time));
    let sent_at = m.get("sentAt").and_then(Json::as_str).and_then(parse_time).or(batch_sent_at);
    let ts = match (device_ts, sent_at) {
        (Some(t), Some(sent)) => now_ns.saturating_sub(sent.saturating_sub(t)),
        (Some(t), None) => t,
        (None, _) => now_ns,
    };
    Ok(Message { index, id, measurement, ts, tags, fields })
}

// Adds the members of an object as fields, nested objects with dotted names; a key already
// present keeps its first value.
fn flatten(prefix: &str, v: Option<&Json>, depth: usize, out: &mut Vec<(String, Field)>) {
    let Some(Json::Object(map)) = v else { return };
    for (k, v) in map {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if key.is_empty() || out.iter().any(|(have, _)| *have == key) {
            continue;
        }
        let field = match v {
            Json::Null => continue,
            Json::Bool(b) => Field::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Field::I64(i),
                (None, Some(u), _) => Field::U64(u),
                (None, None, Some(f)) if f.is_finite() => Field::F64(f),
                _ => Field::Str(n.to_string()),
            },
            Json::String(s) => Field::Str(s.clone()),
            Json::Object(_) if depth + 1 < MAX_DEPTH => {
                flatten(&key, Some(v), depth + 1, out);
                continue;
            }
            Json::Object(_) | Json::Array(_) => Field::Str(v.to_string()),
        };
        out.push((key, field));
    }
}

/// Appends the messages to `batch` (refused ones as rejects, for the quarantine); returns the
/// ids of the messages that went in, and the refusals with their index.
pub fn fill(batch: &mut Batch, messages: &[Message], refused: &[(usize, String, String)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (index, reason, raw) in refused {
        batch.push_reject(Reject {
            line: *index as u64 + 1,
            reason: reason.clone(),
            raw: raw.clone().into_bytes(),
            precision: None,
        });
        out.push((*index, reason.clone()));
    }
    for m in messages {
        let pushed: Result<(), EventError> = batch.push_event_at(
            m.index as u64 + 1,
            &m.measurement,
            m.ts,
            m.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            m.fields.iter().map(|(k, v)| (k.as_str(), v.as_value())),
        );
        if let Err(e) = pushed {
            let raw = format!("{m:?}");
            batch.push_reject(Reject {
                line: m.index as u64 + 1,
                reason: e.to_string(),
                raw: raw.into_bytes(),
                precision: None,
            });
            out.push((m.index, e.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000_000;

    #[test]
    fn a_python_client_batch_becomes_events() {
        let body = r#"{"batch":[
            {"type":"identify","userId":"c-1","anonymousId":null,"messageId":"m1","timestamp":"2027-01-15T08:00:00.000+00:00","traits":{"email":"Z@Example.com","address":{"city":"上海"}}},
            {"type":"track","userId":"c-1","event":"order","messageId":"m2","properties":{"amount":99.5,"items":2,"skus":["A","B"]}},
            {"type":"page","anonymousId":"d-9","name":"home","messageId":"m3"},
            {"type":"track","messageId":"m4","event":"x"},
            {"type":"alias","userId":"c-1","previousId":"d-9","messageId":"m5"}
        ],"sentAt":"2027-01-15T08:00:10.000+00:00","writeKey":"k"}"#;
        let p = parse(body.as_bytes(), "batch", NOW).expect("parses");
        assert_eq!(p.write_key.as_deref(), Some("k"));
        assert_eq!(p.messages.len(), 4);
        assert_eq!(p.refused.len(), 1);
        assert!(p.refused[0].1.starts_with("no_user_anon_id"));
        let identify = &p.messages[0];
        assert_eq!(identify.measurement, "identify");
        // Sent 10 s after it happened, by the device's clock: 10 s before it was received.
        assert_eq!(identify.ts, NOW - 10_000_000_000);
        assert!(identify.fields.contains(&("address.city".into(), Field::Str("上海".into()))));
        let order = &p.messages[1];
        assert_eq!((order.measurement.as_str(), order.ts), ("order", NOW));
        assert!(order.fields.contains(&("items".into(), Field::I64(2))));
        assert!(order.fields.contains(&("skus".into(), Field::Str("[\"A\",\"B\"]".into()))));
        assert_eq!(p.messages[2].measurement, "page_view");
        let group =
            parse(br#"{"userId":"u","groupId":"g-1","traits":{"name":"Acme","email":"x@acme.com"}}"#, "group", NOW)
                .expect("group");
        let fields: Vec<&str> = group.messages[0].fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(fields, ["message_id", "group_id", "group.email", "group.name"]);
        assert_eq!(p.messages[2].tags, vec![("anon".to_owned(), "d-9".to_owned())]);
        let alias = &p.messages[3];
        assert_eq!(alias.tags, vec![("customer".to_owned(), "c-1".to_owned()), ("anon".to_owned(), "d-9".to_owned())]);
        let mut batch = Batch::new("segment");
        let refused = fill(&mut batch, &p.messages, &p.refused);
        assert_eq!((batch.len(), batch.rejects().len(), refused.len()), (4, 1, 1));
    }

    #[test]
    fn limits_and_bad_bodies_are_refused_whole() {
        assert!(matches!(parse(b"{", "batch", NOW), Err(RequestError::Json(_))));
        assert!(matches!(parse(b"[]", "track", NOW), Err(RequestError::Json(_))));
        assert!(matches!(parse(b"{}", "batch", NOW), Err(RequestError::NoBatch)));
        let big = format!(r#"{{"userId":"c","event":"e","properties":{{"x":"{}"}}}}"#, "a".repeat(40_000));
        assert!(matches!(parse(big.as_bytes(), "track", NOW), Err(RequestError::TooLarge(_))));
        let many = format!(r#"{{"batch":[{}]}}"#, vec![r#"{"type":"track"}"#; 2501].join(","));
        let e = parse(many.as_bytes(), "batch", NOW).expect_err("too many");
        assert!(e.to_string().contains("2500"), "{e}");
        let one = parse(br#"{"userId":"c-2","event":"signup"}"#, "track", NOW).expect("single");
        assert_eq!(one.messages[0].measurement, "signup");
    }
}
