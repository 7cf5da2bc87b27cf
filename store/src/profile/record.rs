//! One customer's profile and how an event changes it.

use cxp_lp::FieldValue;
use serde::{Deserialize, Serialize};

use super::series::{Point, SeriesKind, SeriesSlot};
use super::{Interner, ProfileConfig};
use crate::types::Value;

/// An event as profiles see it, from a batch (live) or from a part (replay).
#[derive(Debug, Clone)]
pub(crate) struct Row<'a> {
    pub(crate) measurement: &'a str,
    pub(crate) ts: i64,
    pub(crate) seq: u64,
    /// Tags and fields: (name, value, is a tag).
    pub(crate) items: smallvec::SmallVec<[(&'a str, FieldValue<'a>, bool); 8]>,
}

impl<'a> Row<'a> {
    /// The row of a stored event: its tags (but `implied`, which the key records and parts
    /// leave out, so that replay sees the same row) and fields.
    pub(crate) fn from_event(event: &crate::batch::EventRef<'a>, seq: u64, implied: Option<&str>) -> Self {
        let mut items = smallvec::SmallVec::new();
        for (k, v) in event.tags() {
            if Some(k) != implied {
                items.push((k, FieldValue::Str(v.into()), true));
            }
        }
        for (k, v) in event.fields() {
            items.push((k, v, false));
        }
        Row { measurement: event.measurement, ts: event.ts, seq, items }
    }

    fn get(&self, name: &str) -> Option<&FieldValue<'_>> {
        // A field wins over a tag of the same name, as in scans.
        let mut tag = None;
        for (k, v, is_tag) in &self.items {
            if *k == name {
                if !is_tag {
                    return Some(v);
                }
                tag = Some(v);
            }
        }
        tag
    }
}

/// A trait value as kept in RAM: a boxed string is 8 bytes smaller than a `String`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum TraitValue {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(Box<str>),
}

impl TraitValue {
    pub(crate) fn to_value(&self) -> Value {
        match self {
            TraitValue::I64(x) => Value::I64(*x),
            TraitValue::U64(x) => Value::U64(*x),
            TraitValue::F64(x) => Value::F64(*x),
            TraitValue::Bool(b) => Value::Bool(*b),
            TraitValue::Str(s) => Value::Str(s.to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            TraitValue::Str(s) => Some(s),
            _ => None,
        }
    }

    fn from_field(v: &FieldValue<'_>) -> Self {
        match v {
            FieldValue::Str(s) => TraitValue::Str(s.as_ref().into()),
            FieldValue::I64(x) => TraitValue::I64(*x),
            FieldValue::U64(x) => TraitValue::U64(*x),
            FieldValue::F64(x) => TraitValue::F64(*x),
            FieldValue::Bool(b) => TraitValue::Bool(*b),
        }
    }
}

/// A trait's current value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TraitSlot {
    pub(crate) name: u32,
    pub(crate) ts: i64,
    pub(crate) seq: u64,
    pub(crate) source: u32,
    pub(crate) value: TraitValue,
}

/// One customer (a root key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub(crate) first_seen: i64,
    pub(crate) last_seen: i64,
    /// (event name id, channel id or u32::MAX, events).
    pub(crate) counts: Box<[(u32, u32, u32)]>,
    /// (sum name id "event.field", sum).
    pub(crate) sums: Box<[(u32, f64)]>,
    /// Sorted by name id.
    pub(crate) traits: Box<[TraitSlot]>,
    /// One per configured series (empty until the customer has such an event).
    pub(crate) series: Box<[Option<SeriesSlot>]>,
}

impl Profile {
    pub(crate) fn new() -> Self {
        Profile {
            first_seen: i64::MAX,
            last_seen: i64::MIN,
            counts: Box::default(),
            sums: Box::default(),
            traits: Box::default(),
            series: Box::default(),
        }
    }

    /// Bytes held on the heap, as malloc spends them (the memory report).
    pub(crate) fn heap_bytes(&self) -> usize {
        use super::api::block;
        let strings: usize = self.traits.iter().filter_map(|t| t.value.as_str()).map(|s| block(s.len())).sum();
        block(std::mem::size_of_val(&*self.counts))
            + block(std::mem::size_of_val(&*self.sums))
            + block(std::mem::size_of_val(&*self.traits))
            + strings
            + block(std::mem::size_of_val(&*self.series))
            + self.series.iter().flatten().map(SeriesSlot::heap_bytes).sum::<usize>()
    }

    /// Applies one event.
    pub(crate) fn apply(
        &mut self,
        row: &Row<'_>,
        cfg: &ProfileConfig,
        names: &mut Interner,
        values: &mut Interner,
        scratch: &mut String,
    ) {
        self.first_seen = self.first_seen.min(row.ts);
        self.last_seen = self.last_seen.max(row.ts);
        let m = names.id(row.measurement);
        let channel = match row.get("channel") {
            Some(FieldValue::Str(c)) => names.id(c),
            _ => u32::MAX,
        };
        match self.counts.iter_mut().find(|(a, b, _)| *a == m && *b == channel) {
            Some(c) => c.2 = c.2.saturating_add(1),
            None => insert(&mut self.counts, usize::MAX, (m, channel, 1)),
        }
        if !cfg.sum_fields.is_empty() {
            for (k, v, is_tag) in &row.items {
                if *is_tag || !cfg.sum_fields.iter().any(|f| f.len() == k.len() && f == k) {
                    continue;
                }
                if let Some(x) = number(v) {
                    let id = names.id_joined(row.measurement, '.', k, scratch);
                    match self.sums.iter_mut().find(|(key, _)| *key == id) {
                        Some(s) => s.1 += x,
                        None => insert(&mut self.sums, usize::MAX, (id, x)),
                    }
                }
            }
        }
        let identify = row.measurement == "identify";
        let consent = row.measurement == "consent";
        if identify || consent || cfg.has_profile_fields {
            let source =
                if channel == u32::MAX { m } else { names.id(&format!("{}/{}", row.measurement, names.name(channel))) };
            for (k, v, _) in &row.items {
                let name = if consent {
                    if !matches!(v, FieldValue::Bool(_)) {
                        continue;
                    }
                    names.id_joined("consent", '.', k, scratch)
                } else if identify || cfg.profile_fields.contains(*k) {
                    // Delivery metadata (the channel, a Segment messageId), not the person's.
                    if matches!(*k, "channel" | "message_id") {
                        continue;
                    }
                    names.id(k)
                } else {
                    continue;
                };
                self.set_trait_from(name, row, source, v);
            }
        }
        for &(s, ref def) in cfg.series_of(row.measurement) {
            let (num, value) = match (&def.field, def.kind) {
                (None, _) => (None, None),
                (Some(f), kind) => match row.get(f) {
                    None => continue,
                    Some(v) if kind == SeriesKind::Values => (None, Some(values.id(&super::api::encode(&to_value(v))))),
                    Some(v) => match number(v) {
                        Some(x) => (Some(x), None),
                        None => continue,
                    },
                },
            };
            let point = Point { ts: row.ts, seq: row.seq, num, value };
            if self.series.is_empty() {
                // Allocated with the first event of any series: many profiles never have one.
                self.series = (0..cfg.series.len()).map(|_| None).collect();
            }
            self.series[s].get_or_insert_with(|| SeriesSlot::new(def.kind)).add(point, def.keep_days);
        }
    }

    // Like `set_trait`, without allocating the value when it is older or unchanged (a city
    // tag repeated on every order).
    fn set_trait_from(&mut self, name: u32, row: &Row<'_>, source: u32, v: &FieldValue<'_>) {
        match self.traits.binary_search_by_key(&name, |x| x.name) {
            Ok(i) => {
                let cur = &mut self.traits[i];
                if (row.ts, row.seq) <= (cur.ts, cur.seq) {
                    return;
                }
                (cur.ts, cur.seq, cur.source) = (row.ts, row.seq, source);
                if !same_value(&cur.value, v) {
                    cur.value = TraitValue::from_field(v);
                }
            }
            Err(i) => {
                let value = TraitValue::from_field(v);
                insert(&mut self.traits, i, TraitSlot { name, ts: row.ts, seq: row.seq, source, value });
            }
        }
    }

    fn set_trait(&mut self, t: TraitSlot) {
        match self.traits.binary_search_by_key(&t.name, |x| x.name) {
            Ok(i) => {
                let cur = &mut self.traits[i];
                if (t.ts, t.seq) > (cur.ts, cur.seq) {
                    *cur = t;
                }
            }
            Err(i) => insert(&mut self.traits, i, t),
        }
    }

    /// Folds `other` in: two identities turned out to be one person.
    pub(crate) fn merge(&mut self, other: Profile, cfg: &ProfileConfig) {
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        for (m, c, n) in other.counts.into_vec() {
            match self.counts.iter_mut().find(|(a, b, _)| *a == m && *b == c) {
                Some(x) => x.2 = x.2.saturating_add(n),
                None => insert(&mut self.counts, usize::MAX, (m, c, n)),
            }
        }
        for (k, x) in other.sums.into_vec() {
            match self.sums.iter_mut().find(|(a, _)| *a == k) {
                Some(s) => s.1 += x,
                None => insert(&mut self.sums, usize::MAX, (k, x)),
            }
        }
        for t in other.traits.into_vec() {
            self.set_trait(t);
        }
        if self.series.len() < other.series.len() {
            self.series = (0..other.series.len()).map(|_| None).collect();
        }
        for (i, theirs) in other.series.into_vec().into_iter().enumerate() {
            let Some(theirs) = theirs else { continue };
            let def = &cfg.series[i];
            match &mut self.series[i] {
                Some(mine) => mine.merge(&theirs, def.keep_days),
                slot @ None => *slot = Some(theirs),
            }
        }
    }

    /// The trait `name` (by id).
    pub(crate) fn trait_slot(&self, name: u32) -> Option<&TraitSlot> {
        self.traits.binary_search_by_key(&name, |x| x.name).ok().map(|i| &self.traits[i])
    }
}

// Inserts into a boxed slice at `i` (`usize::MAX`: at the end), reallocating exactly: a
// million profiles each hold a few entries, and a vector's spare capacity would double them.
fn insert<T>(slice: &mut Box<[T]>, i: usize, value: T) {
    let mut v = std::mem::take(slice).into_vec();
    v.reserve_exact(1);
    v.insert(i.min(v.len()), value);
    *slice = v.into_boxed_slice();
}

pub(crate) fn number(v: &FieldValue<'_>) -> Option<f64> {
    match v {
        FieldValue::I64(x) => Some(*x as f64),
        FieldValue::U64(x) => Some(*x as f64),
        FieldValue::F64(x) => Some(*x),
        FieldValue::Bool(_) | FieldValue::Str(_) => None,
    }
}

fn same_value(a: &TraitValue, b: &FieldValue<'_>) -> bool {
    match (a, b) {
        (TraitValue::Str(x), FieldValue::Str(y)) => **x == **y,
        (TraitValue::I64(x), FieldValue::I64(y)) => x == y,
        (TraitValue::U64(x), FieldValue::U64(y)) => x == y,
        (TraitValue::F64(x), FieldValue::F64(y)) => x.to_bits() == y.to_bits(),
        (TraitValue::Bool(x), FieldValue::Bool(y)) => x == y,
        _ => false,
    }
}

pub(crate) fn to_value(v: &FieldValue<'_>) -> Value {
    match v {
        FieldValue::Str(s) => Value::Str(s.to_string()),
        FieldValue::I64(x) => Value::I64(*x),
        FieldValue::U64(x) => Value::U64(*x),
        FieldValue::F64(x) => Value::F64(*x),
        FieldValue::Bool(b) => Value::Bool(*b),
    }
}
