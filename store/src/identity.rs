//! Customer keys: the dense `u32` that every event carries instead of its identifiers.
//!
//! The foundation takes identity from tags or fields named `customer` (a known id) and `anon`
//! (an anonymous or device id); the data dictionary makes this configurable later. A key is
//! allocated the first time an identifier is seen and never reused, so parts written today
//! stay valid whatever identity resolution decides tomorrow.

use std::collections::HashMap;

use redb::{ReadableTable, Table};

use crate::batch::EventRef;
use crate::error::Result;
use crate::types::{Ck, NO_CUSTOMER};

/// The kind of an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IdKind {
    /// A known customer id (`customer`).
    Customer = 1,
    /// An anonymous or device id (`anon`).
    Anon = 2,
}

impl IdKind {
    /// All kinds, in the priority order used to pick an event's key.
    pub const ALL: [IdKind; 2] = [IdKind::Customer, IdKind::Anon];

    /// The tag or field name that carries this identifier.
    pub fn key(self) -> &'static str {
        match self {
            IdKind::Customer => "customer",
            IdKind::Anon => "anon",
        }
    }

    fn slot(self) -> usize {
        self as usize - 1
    }

    /// The kind stored as `byte`, if known.
    pub fn from_byte(byte: u8) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|k| *k as u8 == byte)
    }
}

/// The identifier an event is keyed by: `customer` wins over `anon`, a tag over a field.
pub fn event_identifier<'a>(event: &EventRef<'a>) -> Option<(IdKind, std::borrow::Cow<'a, str>)> {
    for kind in IdKind::ALL {
        if let Some(v) = event.tag(kind.key()).filter(|v| !v.is_empty()) {
            return Some((kind, v.into()));
        }
        match event.field(kind.key()) {
            Some(cxp_lp::FieldValue::Str(s)) if !s.is_empty() => return Some((kind, s)),
            Some(cxp_lp::FieldValue::I64(i)) => return Some((kind, i.to_string().into())),
            Some(cxp_lp::FieldValue::U64(u)) => return Some((kind, u.to_string().into())),
            _ => {}
        }
    }
    None
}

/// The other identifier of an event keyed by its `customer` id: its `anon` id, which the
/// event links to the customer (an anonymous visitor signing in).
pub fn linked_identifier<'a>(event: &EventRef<'a>) -> Option<(IdKind, std::borrow::Cow<'a, str>)> {
    let (primary, _) = event_identifier(event)?;
    if primary != IdKind::Customer {
        return None;
    }
    if let Some(v) = event.tag(IdKind::Anon.key()).filter(|v| !v.is_empty()) {
        return Some((IdKind::Anon, v.into()));
    }
    match event.field(IdKind::Anon.key()) {
        Some(cxp_lp::FieldValue::Str(s)) if !s.is_empty() => Some((IdKind::Anon, s)),
        _ => None,
    }
}

/// Identifier -> key, owned by the writer. New keys are staged until their commit succeeds.
#[derive(Debug, Default)]
pub(crate) struct IdentityMap {
    // One map per kind, so that a lookup borrows the id instead of building a key.
    keys: [HashMap<Box<str>, Ck>; 2],
    staged: Vec<(IdKind, Box<str>)>,
}

impl IdentityMap {
    pub(crate) fn load(table: &impl ReadableTable<(u8, &'static str), u32>) -> Result<Self> {
        let mut map = IdentityMap::default();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let (kind, id) = k.value();
            if let Some(kind) = IdKind::from_byte(kind) {
                map.keys[kind.slot()].insert(id.into(), v.value());
            }
        }
        Ok(map)
    }

    /// The key of the event's identifier, allocating one (and recording it in both tables)
    /// when it is new, and the tag that the key makes redundant (`None` when the identifier
    /// came from a field, or a field of the same name would make the tag ambiguous on read).
    /// Events without an identifier get [`NO_CUSTOMER`].
    pub(crate) fn resolve(
        &mut self,
        event: &EventRef<'_>,
        next_ck: &mut Ck,
        ids: &mut Table<(u8, &'static str), u32>,
        cks: &mut Table<u32, (u8, &'static str)>,
    ) -> Result<(Ck, Option<&'static str>)> {
        let Some((kind, id)) = event_identifier(event) else {
            return Ok((NO_CUSTOMER, None));
        };
        let key = kind.key();
        let redundant = (event.tag(key).is_some() && event.field(key).is_none()).then_some(key);
        Ok((self.key_of(kind, &id, next_ck, ids, cks)?, redundant))
    }

    /// The key of identifier `(kind, id)`, allocated (and recorded in both tables) if new.
    pub(crate) fn key_of(
        &mut self,
        kind: IdKind,
        id: &str,
        next_ck: &mut Ck,
        ids: &mut Table<(u8, &'static str), u32>,
        cks: &mut Table<u32, (u8, &'static str)>,
    ) -> Result<Ck> {
        if let Some(ck) = self.keys[kind.slot()].get(id) {
            return Ok(*ck);
        }
        let ck = *next_ck;
        *next_ck = next_ck.checked_add(1).ok_or(crate::error::StoreError::CustomerKeysExhausted)?;
        ids.insert((kind as u8, id), ck)?;
        cks.insert(ck, (kind as u8, id))?;
        self.keys[kind.slot()].insert(id.into(), ck);
        self.staged.push((kind, id.into()));
        Ok(ck)
    }

    pub(crate) fn commit(&mut self) {
        self.staged.clear();
    }

    pub(crate) fn rollback(&mut self) {
        for (kind, id) in self.staged.drain(..) {
            self.keys[kind.slot()].remove(&id);
        }
    }
}
