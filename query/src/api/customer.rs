//! A customer's 360 view and search results as JSON.

use std::collections::BTreeMap;

use cxp_store::{Ck, CustomerView, EventFilter, Store, StoredEvent, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// One identifier of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentifierDoc {
    /// Identifier type (`customer`, `anon`, `email`, `phone`, `member_card`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The value (masked for roles that may not see personal data).
    pub id: String,
}

/// A trait's current value, when it was set and by which source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraitDoc {
    /// The value.
    pub value: Json,
    /// When it was set, ns.
    pub ts: i64,
    /// The source of the event that set it.
    pub source: String,
}

/// One event of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDoc {
    /// Event time, ns.
    pub ts: i64,
    /// Arrival order.
    pub seq: u64,
    /// Event name.
    pub event: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Fields.
    pub fields: BTreeMap<String, Json>,
}

impl From<&StoredEvent> for EventDoc {
    fn from(e: &StoredEvent) -> Self {
        EventDoc {
            ts: e.ts,
            seq: e.seq,
            event: e.measurement.clone(),
            tags: e.tags.iter().cloned().collect(),
            fields: e.fields.iter().map(|(k, v)| (k.clone(), json_value(v))).collect(),
        }
    }
}

/// The 360 view of one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerDoc {
    /// The strongest identifier, as `type=value`.
    pub customer: Option<String>,
    /// The customer key standing for the person.
    pub root: u32,
    /// Every identifier of the person.
    pub identifiers: Vec<IdentifierDoc>,
    /// First event, ns.
    pub first_seen: i64,
    /// Last event, ns.
    pub last_seen: i64,
    /// Traits by name.
    pub traits: BTreeMap<String, TraitDoc>,
    /// Computed traits at `computed_at`.
    pub computed: BTreeMap<String, Json>,
    /// When computed traits were evaluated, ns.
    pub computed_at: i64,
    /// Events per event name and channel.
    pub counts: Vec<Json>,
    /// All-time sums per `event.field`.
    pub sums: BTreeMap<String, f64>,
    /// Consent per channel.
    pub consent: BTreeMap<String, Json>,
    /// Share of the dictionary's profile fields the customer has (0 to 1).
    pub completeness: f64,
    /// Model scores by model name (`churn`, `purchase`): probabilities from the last scoring.
    #[serde(default)]
    pub scores: BTreeMap<String, f64>,
    /// Most recent events, newest first.
    pub recent_events: Vec<EventDoc>,
    /// Whether personal data was masked for the reader's role.
    #[serde(default)]
    pub masked: bool,
    /// Live named segments the customer is in now.
    #[serde(default)]
    pub segments: Vec<String>,
}

impl CustomerDoc {
    /// The customer with identifier `id` (any type) and their `events` most recent events,
    /// computed traits at `at` (default now); `None` for an unknown identifier.
    pub fn load(store: &Store, id: &str, at: Option<i64>, events: usize) -> cxp_store::Result<Option<Self>> {
        let Some(view) = store.customer(id, at)? else { return Ok(None) };
        let recent = recent_events(store, view.root, events)?;
        let mut doc = CustomerDoc::new(&view, &recent);
        doc.scores = store.scores_of(view.root)?.into_iter().map(|(k, v)| (k, f64::from(v))).collect();
        Ok(Some(doc))
    }

    /// The document of `view` with its most recent `events`.
    pub fn new(view: &CustomerView, events: &[StoredEvent]) -> Self {
        CustomerDoc {
            customer: view.identifiers.first().map(|(t, id)| format!("{t}={id}")),
            root: view.root,
            identifiers: view
                .identifiers
                .iter()
                .map(|(t, id)| IdentifierDoc { kind: t.clone(), id: id.clone() })
                .collect(),
            first_seen: view.first_seen,
            last_seen: view.last_seen,
            traits: view
                .traits
                .iter()
                .map(|t| {
                    let doc = TraitDoc { value: json_value(&t.value), ts: t.ts, source: t.source.clone() };
                    (t.name.clone(), doc)
                })
                .collect(),
            computed: view
                .computed
                .iter()
                .map(|c| (c.name.clone(), c.value.as_ref().map_or(Json::Null, json_value)))
                .collect(),
            computed_at: view.at,
            counts: view.counts.iter().map(|(e, c, n)| json!({"event": e, "channel": c, "count": n})).collect(),
            sums: view.sums.iter().cloned().collect(),
            consent: view.consent.iter().map(|(c, given, ts)| (c.clone(), json!({"given": given, "ts": ts}))).collect(),
            completeness: view.completeness,
            scores: BTreeMap::new(),
            recent_events: events.iter().map(EventDoc::from).collect(),
            masked: false,
            segments: Vec::new(),
        }
    }

    /// Masks every identifier, and every trait and event field named in `pii` (the data
    /// dictionary's personal fields), for roles that may not see personal data.
    pub fn mask(&mut self, pii: &dyn Fn(&str) -> bool) {
        for id in &mut self.identifiers {
            id.id = super::mask::mask_identifier(&id.kind, &id.id);
        }
        if let Some((kind, value)) = self.customer.as_ref().and_then(|c| c.split_once('=')) {
            self.customer = Some(format!("{kind}={}", super::mask::mask_identifier(kind, value)));
        }
        for (name, t) in &mut self.traits {
            if pii(name) {
                t.value = super::mask::mask_value(name, &t.value);
            }
        }
        for e in &mut self.recent_events {
            e.mask(pii);
        }
        self.masked = true;
    }
}

impl EventDoc {
    /// Masks identifier tags and personal fields (see [`CustomerDoc::mask`]).
    pub fn mask(&mut self, pii: &dyn Fn(&str) -> bool) {
        for (k, v) in &mut self.tags {
            if pii(k) || super::mask::is_identifier_tag(k) {
                *v = super::mask::mask_identifier(k, v);
            }
        }
        for (k, v) in &mut self.fields {
            if pii(k) {
                *v = super::mask::mask_value(k, v);
            }
        }
    }
}

/// `GET /api/v1/customers/{id}/identity`: why these identifiers are one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityDoc {
    /// The customer key that stands for the person.
    pub root: u32,
    /// Every linked identifier.
    pub identifiers: Vec<IdentifierDoc>,
    /// The links that join them, oldest first.
    pub links: Vec<LinkDoc>,
    /// Links an operator split.
    pub splits: u64,
    /// Links the guardrails refused.
    pub refusals: u64,
}

/// One identity link: two identifiers seen on the same event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkDoc {
    /// One side.
    pub a: IdentifierDoc,
    /// The other.
    pub b: IdentifierDoc,
    /// The event that joined them.
    pub event: String,
    /// When, ns.
    pub ts: i64,
    /// Where the event came from.
    pub source: String,
}

impl IdentityDoc {
    /// From the store's view; identifiers masked with `mask` (identity for roles that see
    /// personal data).
    pub fn new(view: &cxp_store::IdentityView, mask: &dyn Fn(&str, &str) -> String) -> IdentityDoc {
        let id = |ck: Ck| {
            view.identifiers
                .iter()
                .find(|(k, _, _)| *k == ck)
                .map(|(_, kind, value)| IdentifierDoc { kind: kind.clone(), id: mask(kind, value) })
                .unwrap_or_else(|| IdentifierDoc { kind: "key".into(), id: format!("#{ck}") })
        };
        IdentityDoc {
            root: view.root,
            identifiers: view
                .identifiers
                .iter()
                .map(|(_, kind, value)| IdentifierDoc { kind: kind.clone(), id: mask(kind, value) })
                .collect(),
            links: view
                .links
                .iter()
                .map(|l| LinkDoc {
                    a: id(l.a),
                    b: id(l.b),
                    event: l.measurement.clone(),
                    ts: l.ts,
                    source: l.source.clone(),
                })
                .collect(),
            splits: view.splits.len() as u64,
            refusals: view.refusals.len() as u64,
        }
    }
}

/// One hit of a customer search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHitDoc {
    /// The customer key standing for the person.
    pub root: u32,
    /// The strongest identifier, as `type=value`.
    pub customer: Option<String>,
    /// Relevance (BM25).
    pub score: f32,
    /// The matching text.
    pub snippet: String,
}

/// What a customer search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchDoc {
    /// The query.
    pub query: String,
    /// Matching customers in all.
    pub total: u64,
    /// The best matches, best first.
    pub hits: Vec<SearchHitDoc>,
    /// The index includes every event before this sequence number.
    pub indexed_seq: u64,
}

/// A store value as JSON.
pub fn json_value(v: &Value) -> Json {
    match v {
        Value::I64(x) => json!(x),
        Value::U64(x) => json!(x),
        Value::F64(x) => json!(x),
        Value::Bool(b) => json!(b),
        Value::Str(s) => json!(s),
    }
}

/// The `limit` most recent events of the person `root` stands for (every member key), newest
/// first.
pub fn recent_events(store: &Store, root: Ck, limit: usize) -> cxp_store::Result<Vec<StoredEvent>> {
    let mut recent = Vec::new();
    for ck in store.members(root) {
        recent.extend(store.events(&EventFilter { customer: Some(ck), ..EventFilter::default() })?);
    }
    recent.sort_by_key(|e| std::cmp::Reverse((e.ts, e.seq)));
    recent.truncate(limit);
    Ok(recent)
}
