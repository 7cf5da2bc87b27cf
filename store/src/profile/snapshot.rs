//! Every customer at once, column by column: what analytics and segments start from.
//!
//! A per-customer look-up ([`Store::customer`]) decodes one profile; analytics over a million
//! customers want the same few values of every profile in flat arrays, indexed by position,
//! plus a map from any customer key to its person's position so that rows of a scan can be
//! added to the right customer without asking the identity graph once per row.

use std::sync::Arc;

use hashbrown::HashMap;

use super::record::TraitValue;
use super::roster::Roster;
use crate::store::Store;
use crate::types::Ck;

/// Position of a key whose person has no profile (see [`CustomerSnapshot::position`]).
pub const NO_POSITION: u32 = u32::MAX;

/// One trait of every customer (see [`CustomerSnapshot`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraitColumn {
    /// Per customer: the value when it is a number (booleans as 1 and 0), else NaN.
    pub num: Vec<f64>,
    /// Per customer: the code of the value in `texts` when it is a string, else `u32::MAX`.
    pub text: Vec<u32>,
    /// The distinct string values, by code.
    pub texts: Vec<String>,
}

impl TraitColumn {
    /// Whether customer `i` has the trait.
    pub fn has(&self, i: usize) -> bool {
        !self.num[i].is_nan() || self.text[i] != u32::MAX
    }

    /// The string value of customer `i`, if it has one.
    pub fn text_of(&self, i: usize) -> Option<&str> {
        self.texts.get(self.text[i] as usize).map(String::as_str)
    }
}

/// The customers of the store at one moment: people with a profile, by position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerSnapshot {
    /// The root key of each customer, ascending (shared with the store's roster: cloning a
    /// snapshot does not copy it).
    pub roots: Arc<Vec<Ck>>,
    /// Time of each customer's first event, ns (empty unless asked for).
    pub first_seen: Vec<i64>,
    /// Time of each customer's last event, ns (empty unless asked for).
    pub last_seen: Vec<i64>,
    /// The requested traits, in the order asked for.
    pub traits: Vec<TraitColumn>,
    /// For every customer key, the position of its person in `roots` ([`NO_POSITION`]: no
    /// profile, or being erased). Keys past the end have no profile either.
    pub position: Arc<Vec<u32>>,
}

impl CustomerSnapshot {
    /// Customers.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The position of the person of key `ck`, if it has a profile.
    pub fn position_of(&self, ck: Ck) -> Option<usize> {
        match self.position.get(ck as usize) {
            Some(&p) if p != NO_POSITION => Some(p as usize),
            _ => None,
        }
    }
}

impl Store {
    /// Every customer, with first and last seen when `seen` is set and the traits named in
    /// `traits` (a trait nobody has gives a column without values), taken under one read of
    /// profiles and identity so that positions and values agree. Positions come from the
    /// roster kept between queries (`roster.rs`), first and last seen from the table's own
    /// column; only traits decode profiles.
    pub fn snapshot(&self, seen: bool, traits: &[String]) -> CustomerSnapshot {
        self.snapshot_of(seen, seen, traits)
    }

    /// [`Store::snapshot`] with first seen only when `first` is set and last seen only when
    /// `last` is (the other column is left empty): each is a pass over every customer.
    pub fn snapshot_of(&self, first: bool, last: bool, traits: &[String]) -> CustomerSnapshot {
        // Profiles before identity: the profile stage holds the profile lock while it reads
        // the identity graph, so the other order could deadlock against it.
        let guard = self.shared.profiles.read().unwrap_or_else(|p| p.into_inner());
        let identity = crate::identity::resolve::read(&self.shared.identity);
        let hidden = Arc::clone(&self.shared.hidden_keys.read().unwrap_or_else(|p| p.into_inner()));
        let (roots, position) = {
            let mut cache = self.shared.roster.lock().unwrap_or_else(|p| p.into_inner());
            // Taken out while it changes: a panic halfway leaves no roster rather than a
            // half-extended one that later queries would trust.
            let mut kept = cache.take();
            let out = Roster::current(&mut kept, &guard.map, &identity.graph, &hidden);
            *cache = kept;
            out
        };
        drop(identity);
        let mut snap = CustomerSnapshot {
            roots,
            first_seen: Vec::new(),
            last_seen: Vec::new(),
            traits: vec![TraitColumn::default(); traits.len()],
            position,
        };
        if first {
            snap.first_seen = snap.roots.iter().map(|r| guard.map.first_seen(*r)).collect();
        }
        if last {
            snap.last_seen = snap.roots.iter().map(|r| guard.map.last_seen(*r)).collect();
        }
        if traits.is_empty() {
            return snap;
        }
        let ids: Vec<Option<u32>> = traits.iter().map(|t| guard.names.get(t)).collect();
        let mut codes: Vec<HashMap<Box<str>, u32>> = vec![HashMap::new(); traits.len()];
        for col in &mut snap.traits {
            col.num.reserve_exact(snap.roots.len());
            col.text.reserve_exact(snap.roots.len());
        }
        for root in snap.roots.iter() {
            let p = guard.map.get(*root);
            for ((col, id), codes) in snap.traits.iter_mut().zip(&ids).zip(&mut codes) {
                let slot = id.and_then(|id| p.as_ref()?.trait_slot(id));
                let (num, text) = match slot.map(|s| &s.value) {
                    None => (f64::NAN, u32::MAX),
                    Some(TraitValue::I64(x)) => (*x as f64, u32::MAX),
                    Some(TraitValue::U64(x)) => (*x as f64, u32::MAX),
                    Some(TraitValue::F64(x)) => (*x, u32::MAX),
                    Some(TraitValue::Bool(b)) => (f64::from(u8::from(*b)), u32::MAX),
                    Some(TraitValue::Str(s)) => {
                        let next = col.texts.len() as u32;
                        let code = match codes.get(&**s) {
                            Some(c) => *c,
                            None => {
                                codes.insert(s.clone(), next);
                                col.texts.push(s.to_string());
                                next
                            }
                        };
                        (f64::NAN, code)
                    }
                };
                col.num.push(num);
                col.text.push(text);
            }
        }
        snap
    }
}
