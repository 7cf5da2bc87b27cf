//! Reading profiles: the 360 view of one customer, computed traits at any time, and the
//! profile KPIs (completeness, online customers who also buy offline).

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::series::{Acc, Point};
use super::{Agg, ComputedSpec, Profile};
use crate::error::Result;
use crate::scan::ScanRequest;
use crate::store::Store;
use crate::types::{Ck, Value};

/// A trait with its time and source.
#[derive(Debug, Clone, PartialEq)]
pub struct TraitView {
    /// Trait name.
    pub name: String,
    /// Latest value.
    pub value: Value,
    /// Time of the event that set it, ns.
    pub ts: i64,
    /// That event's name, and its channel when it had one (`identify`, `signup/app`).
    pub source: String,
}

/// A computed trait's value at the query time.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedValue {
    /// Trait name.
    pub name: String,
    /// Its definition.
    pub expr: String,
    /// The value (`None`: no event in the window for avg, min, max, first, last,
    /// most_frequent).
    pub value: Option<Value>,
}

/// One customer's 360 view.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerView {
    /// The key standing for the customer.
    pub root: Ck,
    /// Identifiers: (type, value).
    pub identifiers: Vec<(String, String)>,
    /// Traits, by name.
    pub traits: Vec<TraitView>,
    /// Consent per channel: (channel, given, time).
    pub consent: Vec<(String, bool, i64)>,
    /// Computed traits at `at`.
    pub computed: Vec<ComputedValue>,
    /// Events per (event, channel).
    pub counts: Vec<(String, Option<String>, u64)>,
    /// All-time sums per `event.field`.
    pub sums: Vec<(String, f64)>,
    /// First and last event times, ns.
    pub first_seen: i64,
    /// Last event time, ns.
    pub last_seen: i64,
    /// Share of the dictionary's profile fields this customer has (0 to 1).
    pub completeness: f64,
    /// The time computed traits were evaluated at.
    pub at: i64,
}

/// Profile completeness over all customers.
#[derive(Debug, Clone, PartialEq)]
pub struct Completeness {
    /// Known customers (people with an identifier other than an anonymous device).
    pub customers: u64,
    /// Mean completeness (0 to 1).
    pub mean: f64,
    /// Customers per completeness decile: `[0, 10%)`, ..., `[90%, 100%)`, then exactly 100%.
    pub histogram: [u64; 11],
}

/// Channels that count as offline for the omnichannel KPI.
pub const OFFLINE_CHANNELS: [&str; 3] = ["store", "pos", "offline"];

impl Store {
    /// The 360 view of the customer with identifier `id` (any type), computed traits at `at`
    /// (default: now). `None` for an unknown identifier or a customer without events.
    pub fn customer(&self, id: &str, at: Option<i64>) -> Result<Option<CustomerView>> {
        let Some(ck) = self.customer_key(id)? else { return Ok(None) };
        let root = self.root(ck);
        let at = at.unwrap_or_else(crate::writer::now_ns);
        // Everything from RAM under one read lock, without copying the profile; only edge days
        // of computed traits, if any, are scanned after it is released.
        let members = self.members(root);
        let guard = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
        // Identity merges are visible before the profile stage folds the profiles together:
        // for that moment a member may still hold a profile of its own.
        let mut own = members.iter().filter_map(|m| guard.map.get(*m));
        let Some(mut folded) = own.next() else { return Ok(None) };
        for o in own {
            folded.to_mut().merge(o.into_owned(), &guard.cfg);
        }
        let profile: &Profile = &folded;
        let names = &guard.names;
        let mut traits = Vec::with_capacity(profile.traits.len());
        let mut consent = Vec::new();
        for t in &profile.traits {
            let name = names.name(t.name);
            match (name.strip_prefix("consent."), &t.value) {
                (Some(channel), super::record::TraitValue::Bool(b)) => consent.push((channel.to_owned(), *b, t.ts)),
                _ => traits.push(TraitView {
                    name: name.to_owned(),
                    value: t.value.to_value(),
                    ts: t.ts,
                    source: names.name(t.source).to_owned(),
                }),
            }
        }
        traits.sort_by(|a, b| a.name.cmp(&b.name));
        let counts = profile
            .counts
            .iter()
            .map(|(m, c, n)| {
                (names.name(*m).to_owned(), (*c != u32::MAX).then(|| names.name(*c).to_owned()), u64::from(*n))
            })
            .collect();
        let sums = profile.sums.iter().map(|(k, x)| (names.name(*k).to_owned(), *x)).collect();
        let completeness = completeness_of(profile, &guard);
        let cfg = std::sync::Arc::clone(&guard.cfg);
        let mut windows: Vec<(Acc, Vec<(i64, i64)>)> = Vec::with_capacity(cfg.computed.len());
        for (i, spec) in cfg.computed.iter().enumerate() {
            let from = spec.window.map_or(i64::MIN, |w| at.saturating_sub(w));
            windows.push(match profile.series.get(cfg.spec_series[i]).and_then(Option::as_ref) {
                Some(s) => s.window(from, at),
                // No such event in the profile: none in any window either.
                None => (Acc::default(), Vec::new()),
            });
        }
        let (first_seen, last_seen) = (profile.first_seen, profile.last_seen);
        drop(guard);
        let identifiers = members.iter().filter_map(|m| self.customer_id(*m)).collect();
        // Values met only while scanning get ids above the interned ones.
        let mut local: HashMap<String, u32> = HashMap::new();
        for (spec, (acc, ranges)) in cfg.computed.iter().zip(&mut windows) {
            if !ranges.is_empty() {
                self.scan_edges(spec, &members, ranges, acc, &mut local)?;
            }
        }
        let guard = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
        let computed = cfg
            .computed
            .iter()
            .zip(windows)
            .map(|(spec, (acc, _))| ComputedValue {
                name: spec.name.clone(),
                expr: spec.expr.clone(),
                value: finish(spec, &acc, &guard.values, &local),
            })
            .collect();
        drop(guard);
        Ok(Some(CustomerView {
            root,
            identifiers,
            traits,
            consent,
            computed,
            counts,
            sums,
            first_seen,
            last_seen,
            completeness,
            at,
        }))
    }

    // Adds the events of `ranges` (edge days, pruned days) to `acc`, exactly.
    fn scan_edges(
        &self,
        spec: &ComputedSpec,
        members: &[Ck],
        ranges: &[(i64, i64)],
        acc: &mut Acc,
        local: &mut HashMap<String, u32>,
    ) -> Result<()> {
        let categorical = !spec.agg.numeric();
        let set: RoaringBitmap = members.iter().copied().collect();
        for &(a, b) in ranges {
            let mut req = ScanRequest::new(&spec.event).between(a, b).customers(set.clone());
            req = match &spec.field {
                Some(f) => req.columns([f.clone()]).with_keys(),
                None => req.columns(Vec::<String>::new()).with_keys(),
            };
            for batch in self.scan(req)? {
                let batch = batch?;
                let col = spec.field.as_ref().and_then(|f| batch.column(f));
                // Once per decoded chunk, not per row; never held while reading the store.
                let profiles = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
                for row in 0..batch.rows {
                    if !set.contains(batch.ck[row]) {
                        continue;
                    }
                    let v = col.and_then(|c| c.get(row));
                    if spec.field.is_some() && v.is_none() {
                        continue;
                    }
                    let num = v.as_ref().and_then(Value::as_f64).filter(|_| !categorical);
                    // Like ingest: a numeric series counts numbers only.
                    if spec.field.is_some() && !categorical && num.is_none() {
                        continue;
                    }
                    let value = match v.as_ref().filter(|_| categorical) {
                        None => None,
                        Some(v) => {
                            let key = encode(v);
                            Some(profiles.values.get(&key).unwrap_or_else(|| {
                                let next = u32::MAX / 2 + local.len() as u32;
                                *local.entry(key).or_insert(next)
                            }))
                        }
                    };
                    acc.add(Point { ts: batch.ts[row], seq: batch.seq[row], num, value });
                }
            }
        }
        Ok(())
    }

    /// Profile completeness over known customers: people with at least one identifier other
    /// than an anonymous device (a visitor who never signed in has no profile to complete).
    pub fn completeness(&self) -> Completeness {
        let guard = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
        let identity = crate::identity::resolve::read(&self.shared.identity);
        let known = |root: Ck| is_known(&identity, root);
        let mut histogram = [0u64; 11];
        let mut total = 0.0;
        let mut customers = 0u64;
        for (root, p) in guard.map.iter() {
            if !known(root) {
                continue;
            }
            customers += 1;
            let c = completeness_of(&p, &guard);
            total += c;
            let bucket = if c >= 1.0 { 10 } else { (c * 10.0).floor() as usize };
            histogram[bucket.min(10)] += 1;
        }
        Completeness { customers, mean: if customers == 0 { 0.0 } else { total / customers as f64 }, histogram }
    }

    /// Whether each person of `roots` is a known customer: has an identifier other than an
    /// anonymous device (someone a message can reach, whose churn means something).
    pub fn known(&self, roots: &[Ck]) -> Vec<bool> {
        let identity = crate::identity::resolve::read(&self.shared.identity);
        roots.iter().map(|&r| is_known(&identity, r)).collect()
    }

    /// Customers who ordered online, and how many of them also ordered offline (a channel in
    /// [`OFFLINE_CHANNELS`]).
    pub fn omnichannel(&self) -> (u64, u64) {
        let guard = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
        let Some(order) = guard.names.get("order") else { return (0, 0) };
        let offline: Vec<u32> = OFFLINE_CHANNELS.iter().filter_map(|c| guard.names.get(c)).collect();
        let (mut online, mut both) = (0, 0);
        for (_, p) in guard.map.iter() {
            let orders = p.counts.iter().filter(|(m, _, n)| *m == order && *n > 0);
            let (mut on, mut off) = (false, false);
            for (_, c, _) in orders {
                if offline.contains(c) { off = true } else { on = true }
            }
            if on {
                online += 1;
                both += u64::from(off);
            }
        }
        (online, both)
    }

    /// The RAM of profiles and identity, by part. Sizes of what is allocated, each heap block
    /// counted as glibc malloc spends it (its size plus 8 bytes, rounded up to 16, at least 32).
    pub fn memory_report(&self) -> MemoryReport {
        let guard = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
        let mut r = MemoryReport { profiles: guard.map.len(), ..MemoryReport::default() };
        (r.table, r.records, r.hot) = guard.map.memory();
        r.dirty = block(guard.dirty.capacity() * (std::mem::size_of::<Ck>() + 1))
            + block(guard.removed.capacity() * (std::mem::size_of::<Ck>() + 1));
        drop(guard);
        let (identifiers, bytes) = self.identity_memory();
        r.identifiers = identifiers;
        r.identity = bytes;
        r
    }
}

/// Where the RAM of profiles and identity goes (see [`Store::memory_report`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// Profiles (people).
    pub profiles: usize,
    /// Identifiers.
    pub identifiers: usize,
    /// The profile table (a slot per customer key).
    pub table: usize,
    /// The packed profile records: traits, counts, sums and the day buckets of computed traits.
    pub records: usize,
    /// Profiles kept decoded: those changed last (a bounded set) and the few big ones.
    pub hot: usize,
    /// Keys of profiles changed since the last checkpoint (emptied by each checkpoint).
    pub dirty: usize,
    /// Identifier index and identity graph.
    pub identity: usize,
}

impl MemoryReport {
    /// All of it.
    pub fn total(&self) -> usize {
        self.table + self.records + self.hot + self.dirty + self.identity
    }
}

// What malloc spends on a block of `n` bytes (0: none).
pub(crate) fn block(n: usize) -> usize {
    if n == 0 { 0 } else { (n + 8).div_ceil(16).max(2) * 16 }
}

// The value of a computed trait from its aggregate.
fn finish(spec: &ComputedSpec, acc: &Acc, values: &super::Interner, local: &HashMap<String, u32>) -> Option<Value> {
    let decode_id = |id: u32| -> Option<Value> {
        if id == u32::MAX {
            return None;
        }
        let text = if id >= u32::MAX / 2 {
            local.iter().find(|(_, v)| **v == id).map(|(k, _)| k.as_str())?
        } else {
            values.name(id)
        };
        Some(decode(text))
    };
    let n = acc.n;
    match spec.agg {
        Agg::Count => Some(Value::I64(i64::from(n))),
        Agg::Sum => Some(Value::F64(acc.sum)),
        Agg::Avg => (n > 0).then(|| Value::F64(acc.sum / f64::from(n))),
        Agg::Min => (n > 0).then_some(Value::F64(acc.min)),
        Agg::Max => (n > 0).then_some(Value::F64(acc.max)),
        Agg::Distinct => Some(Value::I64(acc.values.len() as i64)),
        Agg::First | Agg::Last => {
            let pick = if spec.agg == Agg::First { acc.first } else { acc.last };
            match (pick, &spec.field) {
                (None, _) => None,
                (Some((ts, _, _)), None) => Some(Value::I64(ts)),
                (Some((_, _, id)), Some(_)) => decode_id(id),
            }
        }
        Agg::MostFrequent => {
            let mut best: Option<(u32, Value)> = None;
            for &(id, count) in &acc.values {
                let Some(v) = decode_id(id) else { continue };
                let better = match &best {
                    None => true,
                    Some((c, bv)) => count > *c || (count == *c && encode(&v) < encode(bv)),
                };
                if better {
                    best = Some((count, v));
                }
            }
            best.map(|(_, v)| v)
        }
    }
}

fn completeness_of(p: &Profile, profiles: &super::Profiles) -> f64 {
    let fields = &profiles.cfg.profile_fields;
    if fields.is_empty() {
        return 0.0;
    }
    let have = fields.iter().filter(|f| profiles.names.get(f).is_some_and(|id| p.trait_slot(id).is_some())).count();
    have as f64 / fields.len() as f64
}

/// A categorical value as interned: its type, then its text, so it decodes exactly.
pub(crate) fn encode(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("s{s}"),
        Value::I64(x) => format!("i{x}"),
        Value::U64(x) => format!("u{x}"),
        Value::F64(x) => format!("f{x}"),
        Value::Bool(b) => format!("b{b}"),
    }
}

fn decode(text: &str) -> Value {
    let (tag, rest) = text.split_at(text.len().min(1));
    match tag {
        "i" => rest.parse().map_or_else(|_| Value::Str(rest.to_owned()), Value::I64),
        "u" => rest.parse().map_or_else(|_| Value::Str(rest.to_owned()), Value::U64),
        "f" => rest.parse().map_or_else(|_| Value::Str(rest.to_owned()), Value::F64),
        "b" => Value::Bool(rest == "true"),
        _ => Value::Str(rest.to_owned()),
    }
}

fn is_known(identity: &crate::identity::Identity, root: Ck) -> bool {
    let anon = identity.types.kind("anon");
    identity.graph.members(root).iter().any(|m| identity.index.get(*m).is_some_and(|(k, _)| Some(k) != anon))
}
