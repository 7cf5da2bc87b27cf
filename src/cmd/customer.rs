//! `cxp customer`: the 360 view of one customer, as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use cxp_store::{EventFilter, Value};
use serde_json::{Value as Json, json};

/// Arguments of `cxp customer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// Any identifier: customer id, device id, email, phone (any spelling the dictionary
    /// normalises), member card.
    id: String,
    /// Evaluate computed traits at this time (RFC 3339 or ns); default now.
    #[arg(long, value_parser = super::parse_time)]
    at: Option<i64>,
    /// Recent events to include.
    #[arg(long, default_value_t = 20)]
    events: usize,
}

/// Runs `cxp customer`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.data, super::saved_options())?;
    let Some(view) = store.customer(&args.id, args.at)? else {
        eprintln!("cxp: no customer with the identifier {:?}", args.id);
        return Ok(ExitCode::from(1));
    };
    let mut recent = Vec::new();
    for ck in store.members(view.root) {
        recent.extend(store.events(&EventFilter { customer: Some(ck), ..EventFilter::default() })?);
    }
    recent.sort_by_key(|e| std::cmp::Reverse((e.ts, e.seq)));
    recent.truncate(args.events);
    let traits: serde_json::Map<String, Json> = view
        .traits
        .iter()
        .map(|t| (t.name.clone(), json!({"value": value(&t.value), "ts": t.ts, "source": t.source})))
        .collect();
    let computed: serde_json::Map<String, Json> =
        view.computed.iter().map(|c| (c.name.clone(), c.value.as_ref().map_or(Json::Null, value))).collect();
    let counts: Vec<Json> = view.counts.iter().map(|(e, c, n)| json!({"event": e, "channel": c, "count": n})).collect();
    let consent: serde_json::Map<String, Json> =
        view.consent.iter().map(|(c, given, ts)| (c.clone(), json!({"given": given, "ts": ts}))).collect();
    let events: Vec<Json> = recent
        .iter()
        .map(|e| {
            let tags: serde_json::Map<String, Json> = e.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let fields: serde_json::Map<String, Json> = e.fields.iter().map(|(k, v)| (k.clone(), value(v))).collect();
            json!({"ts": e.ts, "event": e.measurement, "tags": tags, "fields": fields})
        })
        .collect();
    let out = json!({
        "customer": view.identifiers.first().map(|(t, id)| format!("{t}={id}")),
        "identifiers": view.identifiers.iter().map(|(t, id)| json!({"type": t, "id": id})).collect::<Vec<_>>(),
        "first_seen": view.first_seen,
        "last_seen": view.last_seen,
        "traits": traits,
        "computed": computed,
        "computed_at": view.at,
        "counts": counts,
        "sums": view.sums.iter().map(|(k, x)| (k.clone(), json!(x))).collect::<serde_json::Map<_, _>>(),
        "consent": consent,
        "completeness": view.completeness,
        "recent_events": events,
    });
    crate::outln!("{}", serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::SUCCESS)
}

fn value(v: &Value) -> Json {
    match v {
        Value::I64(x) => json!(x),
        Value::U64(x) => json!(x),
        Value::F64(x) => json!(x),
        Value::Bool(b) => json!(b),
        Value::Str(s) => json!(s),
    }
}
