//! `cxp events`: read events back.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cxp_store::{EventFilter, StoredEvent, Value};

/// Arguments of `cxp events`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory of the store.
    #[arg(long, env = "CXP_DATA")]
    data: PathBuf,
    /// Only this event name.
    #[arg(long)]
    measurement: Option<String>,
    /// Only this customer (a customer id or an anonymous id).
    #[arg(long)]
    customer: Option<String>,
    /// From this time (inclusive): RFC 3339 or ns since the epoch.
    #[arg(long, value_parser = super::parse_time)]
    from: Option<i64>,
    /// Up to this time (exclusive): RFC 3339 or ns since the epoch.
    #[arg(long, value_parser = super::parse_time)]
    to: Option<i64>,
    /// At most this many events (the earliest).
    #[arg(long)]
    limit: Option<usize>,
    /// JSON lines instead of line protocol.
    #[arg(long)]
    json: bool,
}

/// Runs `cxp events`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let store = super::open_store(&args.data, super::saved_options())?;
    let customer = match &args.customer {
        Some(id) => match store.customer_key(id)? {
            Some(ck) => Some(ck),
            None => {
                eprintln!("cxp: no events for customer {id:?}: the store has never seen that id");
                return Ok(ExitCode::from(1));
            }
        },
        None => None,
    };
    let filter = EventFilter {
        measurement: args.measurement.clone(),
        customer,
        from: args.from,
        to: args.to,
        limit: args.limit,
    };
    let events = store.events(&filter).context("reading events")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for e in &events {
        let line = if args.json { json_line(e) } else { lp_line(e) };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::I64(x) => (*x).into(),
        Value::U64(x) => (*x).into(),
        // Finite by construction: the store refuses NaN and infinities.
        Value::F64(x) => serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Bool(x) => (*x).into(),
        Value::Str(s) => s.clone().into(),
    }
}

/// One event as a JSON object: ts in ns, measurement, customer, tags, fields with their types.
fn json_line(e: &StoredEvent) -> String {
    let tags: serde_json::Map<String, serde_json::Value> =
        e.tags.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
    let fields: serde_json::Map<String, serde_json::Value> =
        e.fields.iter().map(|(k, v)| (k.clone(), json_value(v))).collect();
    serde_json::json!({
        "ts": e.ts,
        "measurement": e.measurement,
        "customer": e.customer,
        "tags": tags,
        "fields": fields,
    })
    .to_string()
}

/// One event as line protocol with a ns timestamp: importing it again gives the same event.
fn lp_line(e: &StoredEvent) -> String {
    let mut batch = cxp_store::Batch::new("events");
    let fields: Vec<(&str, cxp_store::FieldValue<'_>)> = e
        .fields
        .iter()
        .map(|(k, v)| {
            let fv = match v {
                Value::I64(x) => cxp_store::FieldValue::I64(*x),
                Value::U64(x) => cxp_store::FieldValue::U64(*x),
                Value::F64(x) => cxp_store::FieldValue::F64(*x),
                Value::Bool(x) => cxp_store::FieldValue::Bool(*x),
                Value::Str(s) => cxp_store::FieldValue::Str(s.as_str().into()),
            };
            (k.as_str(), fv)
        })
        .collect();
    match batch.push_event(&e.measurement, e.ts, e.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())), fields) {
        Ok(()) => batch.events().next().map(|ev| cxp_store::format_event(&ev)).unwrap_or_default(),
        Err(err) => format!("# unprintable event: {err}"),
    }
}
