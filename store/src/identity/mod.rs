//! Customer keys and identity resolution.
//!
//! Every event carries a dense `u32` customer key instead of its identifiers. A key is
//! allocated the first time an identifier (a type and a value: `customer c-1`, `phone
//! +8613800000000`) is seen and never reused, so parts written today stay valid whatever
//! identity resolution decides tomorrow. An event that carries several identifiers is keyed
//! by its strongest one and links the others to it, within the guardrails of `rules.rs`;
//! links are appended to a table and folded into a union-find (`graph.rs`) whose root stands
//! for the person.

mod api;
mod graph;
mod index;
pub(crate) mod links;
pub(crate) mod resolve;
mod rules;

use std::borrow::Cow;
use std::collections::HashSet;

use redb::ReadableTable;

use smallvec::SmallVec;

pub use api::IdentityView;
pub(crate) use graph::IdentityGraph;
pub(crate) use index::IdIndex;
pub use links::{Link, Refusal, Split};
pub(crate) use resolve::Resolver;
pub(crate) use rules::IdentityPlan;
pub use rules::{BUILTIN_TYPES, DEFAULT_BLOCKED, IdRule, IdTypes};

use crate::batch::EventRef;
use crate::error::{Result, meta_err};
use crate::tables::{CUSTOMER_KEYS, LINKS, SPLITS};
use crate::types::Ck;

/// The identity state shared by the writer and readers: identifiers, types and links.
#[derive(Debug, Default)]
pub(crate) struct Identity {
    pub(crate) index: IdIndex,
    pub(crate) graph: IdentityGraph,
    pub(crate) types: IdTypes,
}

impl Identity {
    /// The key of `(type, value)`, trying each type in `kinds`.
    pub(crate) fn find_any(&self, kinds: impl IntoIterator<Item = u8>, value: &str) -> Option<Ck> {
        kinds.into_iter().find_map(|k| self.index.find(k, value))
    }
}

/// One identifier found on an event.
#[derive(Debug, Clone)]
pub(crate) struct Found<'a> {
    /// Type byte.
    pub(crate) kind: u8,
    /// The value.
    pub(crate) value: Cow<'a, str>,
    /// Index in the plan of the tag or field that carried it.
    pub(crate) slot: usize,
    /// It came from a tag, and no field of the same name exists.
    pub(crate) tag_only: bool,
}

/// The identifiers of `event`, strongest first. Blocked values are left out and reported
/// through `blocked`.
pub(crate) fn identifiers<'a>(
    plan: &IdentityPlan,
    event: &EventRef<'a>,
    out: &mut SmallVec<[Found<'a>; 4]>,
    mut blocked: impl FnMut(u8, &str),
) {
    out.clear();
    // One pass over the event (not one look-up per plan field): tags first, a field of the
    // same name only when there is no such tag, as the key's tag wins over a field.
    let mut seen_tags: u64 = 0;
    let mut seen_fields: u64 = 0;
    let mut values: SmallVec<[(usize, Cow<'a, str>); 4]> = SmallVec::new();
    for (k, v) in event.tags() {
        if let Some(slot) = plan.slot_of(k) {
            seen_tags |= 1 << slot;
            values.push((slot, v.into()));
        }
    }
    for (k, v) in event.fields() {
        let Some(slot) = plan.slot_of(k) else { continue };
        seen_fields |= 1 << slot;
        if seen_tags & (1 << slot) != 0 {
            continue;
        }
        let value: Cow<'a, str> = match v {
            cxp_lp::FieldValue::Str(s) => s,
            cxp_lp::FieldValue::I64(i) => i.to_string().into(),
            cxp_lp::FieldValue::U64(u) => u.to_string().into(),
            _ => continue,
        };
        values.push((slot, value));
    }
    values.sort_by_key(|(slot, _)| *slot);
    for (slot, value) in values {
        let kind = plan.fields[slot].1;
        if plan.rule(kind).blocks(&value) {
            blocked(kind, &value);
            continue;
        }
        let tag_only = seen_tags & (1 << slot) != 0 && seen_fields & (1 << slot) == 0;
        out.push(Found { kind, value, slot, tag_only });
    }
}

/// Loads the identity graph: every link not split, and the pairs that were split.
pub(crate) fn load_graph(txn: &redb::ReadTransaction) -> Result<(IdentityGraph, HashSet<(Ck, Ck)>)> {
    let mut split_ids = HashSet::new();
    for entry in txn.open_table(SPLITS)?.iter()? {
        split_ids.insert(entry?.0.value());
    }
    let mut graph = IdentityGraph::default();
    let mut splits = HashSet::new();
    for entry in txn.open_table(LINKS)?.iter()? {
        let (k, v) = entry?;
        let link: Link = postcard::from_bytes(v.value()).map_err(meta_err(format!("link {}", k.value())))?;
        if split_ids.contains(&link.id) {
            splits.insert((link.a.min(link.b), link.a.max(link.b)));
        } else {
            graph.union(link.a, link.b);
        }
    }
    Ok((graph, splits))
}

/// Loads every identifier into an index.
pub(crate) fn load_index(txn: &redb::ReadTransaction) -> Result<IdIndex> {
    let mut index = IdIndex::default();
    for entry in txn.open_table(CUSTOMER_KEYS)?.iter()? {
        let (k, v) = entry?;
        let (kind, id) = v.value();
        index.insert(k.value(), kind, id);
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_come_strongest_first_without_placeholders() {
        let mut types = IdTypes::default();
        let fields = vec![("phone".to_owned(), "phone".to_owned())];
        let plan = IdentityPlan::new(&mut types, &fields, &Default::default()).expect("plan");
        let mut batch = crate::Batch::new("t");
        batch.push_line_protocol(
            b"order,anon=anonymous,phone=+8613800000000 customer=\"c-1\",amount=1.0 1\n",
            Default::default(),
            0,
            1,
        );
        let event = batch.events().next().expect("event");
        let mut found = SmallVec::new();
        let mut blocked = Vec::new();
        identifiers(&plan, &event, &mut found, |k, v| blocked.push((k, v.to_owned())));
        let got: Vec<(u8, &str, bool)> = found.iter().map(|f| (f.kind, f.value.as_ref(), f.tag_only)).collect();
        assert_eq!(got, vec![(1, "c-1", false), (4, "+8613800000000", true)]);
        assert_eq!(blocked, vec![(2, "anonymous".to_owned())]);
    }
}
