//! Events as rows, for the few places that want them: `cxp events`, customer timelines,
//! tests. Analytics read column batches through [`crate::Scan`] instead.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::error::Result;
use crate::scan::ScanRequest;
use crate::store::Store;
use crate::types::{Ck, ColumnKind, NO_CUSTOMER, Value};

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Event time, ns.
    pub ts: i64,
    /// Sequence number (global arrival order).
    pub seq: u64,
    /// Event name.
    pub measurement: String,
    /// Customer key (`NO_CUSTOMER` when none).
    pub ck: Ck,
    /// The identifier `ck` was allocated for (`None` without a customer).
    pub customer: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<(String, String)>,
    /// Fields, sorted by key.
    pub fields: Vec<(String, Value)>,
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this measurement.
    pub measurement: Option<String>,
    /// Only this customer.
    pub customer: Option<Ck>,
    /// Inclusive start, ns.
    pub from: Option<i64>,
    /// Exclusive end, ns.
    pub to: Option<i64>,
    /// At most this many (the earliest by time, then sequence).
    pub limit: Option<usize>,
}

impl Store {
    /// Events matching `filter`, ordered by (ts, seq).
    pub fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        let measurements = match &filter.measurement {
            Some(m) => vec![m.clone()],
            None => self.measurements()?,
        };
        let mut out = Vec::new();
        // Each customer looked up once.
        let mut ids: HashMap<Ck, Option<(String, String)>> = HashMap::new();
        for m in measurements {
            let mut req = ScanRequest::new(&m).between(filter.from.unwrap_or(i64::MIN), filter.to.unwrap_or(i64::MAX));
            if let Some(ck) = filter.customer {
                req = req.customers(std::iter::once(ck).collect());
            }
            for batch in self.scan(req)? {
                let batch = batch?;
                for row in 0..batch.rows {
                    let mut tags = Vec::new();
                    let mut fields = Vec::new();
                    for (def, col) in &batch.columns {
                        match (def.kind, col.get(row)) {
                            (ColumnKind::Tag, Some(Value::Str(v))) => tags.push((def.name.clone(), v)),
                            (ColumnKind::Field, Some(v)) => fields.push((def.name.clone(), v)),
                            _ => {}
                        }
                    }
                    let ck = batch.ck.get(row).copied().unwrap_or(NO_CUSTOMER);
                    if ck != NO_CUSTOMER {
                        if let Entry::Vacant(slot) = ids.entry(ck) {
                            slot.insert(self.customer_id(ck));
                        }
                        restore_identity_tag(&mut tags, &fields, ids.get(&ck).and_then(Option::as_ref));
                    }
                    let customer = ids.get(&ck).and_then(Option::as_ref).map(|(_, id)| id.clone());
                    tags.sort();
                    fields.sort_by(|a, b| a.0.cmp(&b.0));
                    out.push(StoredEvent {
                        ts: batch.ts[row],
                        seq: batch.seq[row],
                        measurement: m.clone(),
                        ck,
                        customer,
                        tags,
                        fields,
                    });
                }
            }
        }
        out.sort_by_key(|e| (e.ts, e.seq));
        if let Some(limit) = filter.limit {
            out.truncate(limit);
        }
        Ok(out)
    }
}

/// Puts back the identity tag that the writer left out because the customer key records it:
/// an event keyed by a `customer` (or `anon`) tag has neither that tag nor a field of that
/// name in storage.
pub(crate) fn restore_identity_tag(
    tags: &mut Vec<(String, String)>,
    fields: &[(String, Value)],
    id: Option<&(String, String)>,
) {
    let Some((key, id)) = id else { return };
    // Only built-in types named like their tag are ever left out (see `identity::resolve`).
    if !crate::identity::BUILTIN_TYPES.contains(&key.as_str()) {
        return;
    }
    if !tags.iter().any(|(k, _)| k == key) && !fields.iter().any(|(k, _)| k == key) {
        tags.push((key.to_owned(), id.clone()));
    }
}
