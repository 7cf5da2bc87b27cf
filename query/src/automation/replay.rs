//! A dry run over past events: every event of `[from, to)` that any rule listens to goes
//! through a fresh engine in time order, with the clock fast-forwarded to each event (timers
//! due before it fire first), and what would have been sent is reported, not sent.
//!
//! Entries on segment changes are not replayed: membership history is not kept per event.

use std::collections::BTreeMap;

use cxp_store::{ColumnData, ScanRequest, Store, StoreError};
use serde::{Deserialize, Serialize};

use super::def::{Definitions, Entry, Step};
use super::engine::{Engine, Event};
use super::host::StoreHost;

/// One message the rules would have sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplaySend {
    /// When, ns.
    pub at: i64,
    /// Journey (`trigger:NAME` for triggers).
    pub journey: String,
    /// Step.
    pub step: String,
    /// The customer (strongest identifier).
    pub customer: String,
    /// Channel.
    pub channel: String,
    /// Template.
    pub template: String,
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Window replayed, ns.
    pub from: i64,
    /// End (exclusive), ns.
    pub to: i64,
    /// Events read.
    pub events: u64,
    /// Per journey: (entered, messages).
    pub journeys: BTreeMap<String, (u64, u64)>,
    /// Messages per channel.
    pub channels: BTreeMap<String, u64>,
    /// Every message, in time order.
    pub sends: Vec<ReplaySend>,
    /// Customers still waiting in a journey at the end.
    pub waiting: u64,
}

/// The tags and fields of row `row` of a scanned batch, as text.
pub fn row_fields(batch: &cxp_store::ColumnBatch, row: usize) -> Vec<(String, String)> {
    batch
        .columns
        .iter()
        .filter(|(_, c)| c.is_valid(row))
        .map(|(def, c)| {
            let v = match &c.data {
                ColumnData::Str(s) => s.get(row).to_owned(),
                other => other.value(row).to_string(),
            };
            (def.name.clone(), v)
        })
        .collect()
}

/// Event names the definitions listen to (entries, exits, waits, goals).
pub fn listened(defs: &Definitions) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for j in &defs.journeys {
        if let Entry::Event(m) = &j.entry {
            names.insert(m.event.clone());
        }
        names.extend(j.exits.iter().cloned());
        if let Some(g) = &j.goal {
            names.insert(g.event.clone());
        }
        for s in &j.steps {
            if let Step::WaitFor { event, .. } = s {
                names.insert(event.event.clone());
            }
        }
    }
    names.into_iter().collect()
}

/// Replays `[from, to)` of `store` through `defs`.
pub fn replay(store: &Store, defs: &Definitions, from: i64, to: i64) -> Result<ReplayReport, StoreError> {
    // (ts, seq, root, name index, fields)
    type Row = (i64, u64, u32, usize, Vec<(String, String)>);
    let names = listened(defs);
    let mut rows: Vec<Row> = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let mut req = ScanRequest::new(name.clone()).between(from, to);
        req.with_ts = true;
        req.with_ck = true;
        req.with_seq = true;
        for batch in store.scan(req)? {
            let batch = batch?;
            for row in 0..batch.rows {
                let fields = row_fields(&batch, row);
                rows.push((batch.ts[row], batch.seq[row], store.root(batch.ck[row]), n, fields));
            }
        }
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    let mut engine = Engine::new(defs.journeys.clone(), i64::MAX / 4);
    let none = |_: &str, _: u32| None;
    let mut host = StoreHost::new(store, &defs.settings, Vec::new(), &none);
    let mut report = ReplayReport { from, to, events: rows.len() as u64, ..ReplayReport::default() };
    let collect = |engine: &mut Engine, host: &mut StoreHost<'_>, report: &mut ReplayReport| {
        let changes = engine.take_changes();
        for m in changes.messages {
            report.journeys.entry(m.journey.clone()).or_default().1 += 1;
            *report.channels.entry(m.channel.name().to_owned()).or_default() += 1;
            report.sends.push(ReplaySend {
                at: m.created,
                journey: m.journey,
                step: m.step,
                customer: host.customer_id_of(m.root),
                channel: m.channel.name().to_owned(),
                template: m.template,
            });
        }
    };
    for (ts, _, root, n, fields) in &rows {
        engine.on_time(&mut host, *ts);
        collect(&mut engine, &mut host, &mut report);
        let borrowed: Vec<(&str, String)> = fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let ev = Event { root: *root, name: &names[*n], ts: *ts, fields: &borrowed };
        engine.on_event(&mut host, &ev, *ts);
        collect(&mut engine, &mut host, &mut report);
    }
    engine.on_time(&mut host, to - 1);
    collect(&mut engine, &mut host, &mut report);
    for j in engine.journeys() {
        report.journeys.entry(j.name.clone()).or_default().0 = engine.stats(&j.name, j.version).entered;
    }
    report.waiting = engine.instances() as u64;
    Ok(report)
}

impl StoreHost<'_> {
    fn customer_id_of(&mut self, root: u32) -> String {
        super::engine::Host::customer_id(self, root)
    }
}
