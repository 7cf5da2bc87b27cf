//! Rebuilding profiles from stored events: after a checkpoint at open, and for the customers
//! of an identity split.

use std::borrow::Cow;

use cxp_lp::FieldValue;
use roaring::RoaringBitmap;

use super::{Profiles, Row};
use crate::error::Result;
use crate::identity::IdentityGraph;
use crate::manifest::Manifest;
use crate::scan::{Scan, ScanRequest};
use crate::types::{NO_CUSTOMER, Value};

/// Applies every stored event with sequence number `>= from_seq` (of the customers in
/// `only`, if given) to `profiles`, keyed by the root of its key. Returns the events applied.
pub(crate) fn replay(
    manifest: &Manifest,
    txn_for: &dyn Fn() -> Result<redb::ReadTransaction>,
    graph: &IdentityGraph,
    profiles: &mut Profiles,
    from_seq: u64,
    only: Option<&RoaringBitmap>,
) -> Result<u64> {
    let mut applied = 0;
    for (measurement, parts) in &manifest.parts {
        let parts: Vec<_> = parts.iter().filter(|p| p.meta.max_seq >= from_seq).cloned().collect();
        if parts.is_empty() {
            continue;
        }
        let mut request = ScanRequest::new(measurement.as_str());
        if let Some(set) = only {
            request = request.customers(set.clone());
        }
        for batch in Scan::new(parts, &manifest.hidden, txn_for()?, request)? {
            let batch = batch?;
            let columns: Vec<Vec<Option<Value>>> =
                batch.columns.iter().map(|(_, col)| (0..batch.rows).map(|r| col.get(r)).collect()).collect();
            for row in 0..batch.rows {
                let (ck, seq) = (batch.ck[row], batch.seq[row]);
                if ck == NO_CUSTOMER || seq < from_seq || only.is_some_and(|o| !o.contains(ck)) {
                    continue;
                }
                let mut items = smallvec::SmallVec::new();
                for ((def, _), values) in batch.columns.iter().zip(&columns) {
                    if let Some(v) = &values[row] {
                        items.push((def.name.as_str(), field_value(v), def.kind == crate::types::ColumnKind::Tag));
                    }
                }
                let r = Row { measurement, ts: batch.ts[row], seq, items };
                profiles.apply(graph.root(ck), &r);
                applied += 1;
            }
        }
    }
    Ok(applied)
}

fn field_value(v: &Value) -> FieldValue<'_> {
    match v {
        Value::I64(x) => FieldValue::I64(*x),
        Value::U64(x) => FieldValue::U64(*x),
        Value::F64(x) => FieldValue::F64(*x),
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Str(s) => FieldValue::Str(Cow::Borrowed(s)),
    }
}
