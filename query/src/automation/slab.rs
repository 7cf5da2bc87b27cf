//! Where the engine keeps its instances in memory: one fixed-size slot per customer in a
//! journey, in chunks of slots (growing never copies or doubles), each customer's slots
//! chained from one head per customer.
//!
//! A million customers waiting is the normal case for a win-back journey, so the layout is
//! about bytes: a `HashMap<u64, Instance>` cost ~270 B per entry in buckets and slack alone,
//! plus a journey name, a vector of variable strings and a per-customer vector of ids. Here a
//! slot is 64 B, the journey and the split arm are small indices into the engine's tables,
//! the entry event's variables are one length-prefixed byte string, and the per-customer
//! index is a `u32` head with the chain inside the slots.

use cxp_store::Ck;
use hashbrown::HashMap;

/// A slot's index. Stable while the instance lives; reused after it is gone (the instance id
/// is what is never reused).
pub(crate) type SlotId = u32;

const NONE: u32 = u32::MAX;
const CHUNK: usize = 4096;

/// What a slot waits for; its time is [`Slot::due`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitKind {
    None,
    Until,
    Event,
}

/// One customer in one journey version.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// Instance id (never 0 for a live slot).
    pub id: u64,
    /// When the customer entered, ns.
    pub entered: i64,
    /// When the wait ends, ns (with `wait` not `None`).
    pub due: i64,
    /// The entry event's fields, see [`Vars`].
    pub vars: Vars,
    /// The person.
    pub root: Ck,
    /// Next slot of the same person, or of the free list.
    next: u32,
    /// Index of the journey version in the engine's table.
    pub jv: u32,
    /// Current step.
    pub step: u16,
    /// Split arm taken: 0 for none, else 1 + index in the engine's name table.
    pub arm: u16,
    pub wait: WaitKind,
    pub converted: bool,
}

impl Slot {
    /// A slot for a new instance (not waiting).
    pub fn new(id: u64, root: Ck, jv: u32, entered: i64, vars: Vars) -> Slot {
        Slot {
            id,
            entered,
            due: 0,
            vars,
            root,
            next: NONE,
            jv,
            step: 0,
            arm: 0,
            wait: WaitKind::None,
            converted: false,
        }
    }

    /// The time it wakes by itself, if any.
    pub fn due(&self) -> Option<i64> {
        (self.wait != WaitKind::None).then_some(self.due)
    }
}

/// The entry event's fields, as `[key len][key][value len][value]...` with 16-bit lengths:
/// one allocation (none when empty) instead of two strings and a vector entry per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Vars(Box<[u8]>);

impl Vars {
    /// Packs `pairs`; a key or value longer than 65,535 bytes is cut at a character boundary.
    pub fn pack<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vars {
        let mut out = Vec::new();
        for (k, v) in pairs {
            for s in [k, v] {
                let s = cut(s, usize::from(u16::MAX));
                out.extend_from_slice(&(s.len() as u16).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
        Vars(out.into_boxed_slice())
    }

    /// The pairs, in the order packed.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut rest: &[u8] = &self.0;
        std::iter::from_fn(move || {
            let k = take(&mut rest)?;
            let v = take(&mut rest)?;
            Some((k, v))
        })
    }

    /// The pairs as owned strings (the saved and outbox form).
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}

// Only `pack` writes, always whole UTF-8 strings, so reading back cannot fail; a damaged
// buffer would end the iteration rather than panic.
fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let (n, tail) = rest.split_first_chunk::<2>()?;
    let (s, tail) = tail.split_at_checked(usize::from(u16::from_le_bytes(*n)))?;
    *rest = tail;
    std::str::from_utf8(s).ok()
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The slots, the free list and the per-person heads.
#[derive(Debug)]
pub(crate) struct Slab {
    chunks: Vec<Vec<Slot>>,
    /// First free slot, or `NONE`.
    free: u32,
    len: usize,
    heads: HashMap<Ck, u32>,
}

impl Default for Slab {
    fn default() -> Slab {
        Slab { chunks: Vec::new(), free: NONE, len: 0, heads: HashMap::new() }
    }
}

impl Slab {
    /// Live instances.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Stores `slot`, last in its person's chain.
    pub fn insert(&mut self, mut slot: Slot) -> SlotId {
        debug_assert!(slot.id != 0, "instance ids start at 1");
        slot.next = NONE;
        let root = slot.root;
        let at = match self.free {
            NONE => {
                if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let n = self.chunks.len() - 1;
                let chunk = &mut self.chunks[n];
                chunk.push(slot);
                (n * CHUNK + chunk.len() - 1) as u32
            }
            f => {
                self.free = self.cell(f).next;
                *self.cell_mut(f) = slot;
                f
            }
        };
        self.len += 1;
        match self.heads.get(&root).copied() {
            None => {
                self.heads.insert(root, at);
            }
            Some(mut s) => {
                while self.cell(s).next != NONE {
                    s = self.cell(s).next;
                }
                self.cell_mut(s).next = at;
            }
        }
        at
    }

    fn cell(&self, s: u32) -> &Slot {
        &self.chunks[s as usize / CHUNK][s as usize % CHUNK]
    }

    fn cell_mut(&mut self, s: u32) -> &mut Slot {
        &mut self.chunks[s as usize / CHUNK][s as usize % CHUNK]
    }

    /// The live slot at `s`.
    pub fn get(&self, s: SlotId) -> Option<&Slot> {
        self.chunks.get(s as usize / CHUNK)?.get(s as usize % CHUNK).filter(|c| c.id != 0)
    }

    /// The live slot at `s`, to change (not its person: that is fixed).
    pub fn get_mut(&mut self, s: SlotId) -> Option<&mut Slot> {
        self.chunks.get_mut(s as usize / CHUNK)?.get_mut(s as usize % CHUNK).filter(|c| c.id != 0)
    }

    /// Takes the instance at `s` out.
    pub fn remove(&mut self, s: SlotId) -> Option<Slot> {
        let root = self.get(s)?.root;
        // Unchain it from its person.
        let next = self.cell(s).next;
        match self.heads.get(&root).copied() {
            Some(h) if h == s => {
                if next == NONE {
                    self.heads.remove(&root);
                } else {
                    self.heads.insert(root, next);
                }
            }
            Some(mut p) => {
                while self.cell(p).next != s && self.cell(p).next != NONE {
                    p = self.cell(p).next;
                }
                self.cell_mut(p).next = next;
            }
            None => {}
        }
        let free = self.free;
        let cell = self.cell_mut(s);
        let mut out = std::mem::replace(cell, Slot::new(0, 0, 0, 0, Vars::default()));
        cell.next = free;
        self.free = s;
        self.len -= 1;
        out.next = NONE;
        Some(out)
    }

    /// The slots of person `root`, in the order they were stored.
    pub fn of_root(&self, root: Ck) -> Vec<SlotId> {
        let mut out = Vec::new();
        let mut s = self.heads.get(&root).copied().unwrap_or(NONE);
        while s != NONE {
            out.push(s);
            s = self.cell(s).next;
        }
        out
    }

    /// Every live slot.
    pub fn iter(&self) -> impl Iterator<Item = (SlotId, &Slot)> {
        self.chunks
            .iter()
            .enumerate()
            .flat_map(|(n, c)| c.iter().enumerate().map(move |(i, s)| ((n * CHUNK + i) as u32, s)))
            .filter(|(_, s)| s.id != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: u64, root: Ck) -> Slot {
        Slot::new(id, root, 0, 0, Vars::default())
    }

    #[test]
    fn a_person_s_slots_come_back_in_insertion_order_after_removals() {
        let mut slab = Slab::default();
        let a = slab.insert(slot(1, 7));
        let b = slab.insert(slot(2, 8));
        let c = slab.insert(slot(3, 7));
        let d = slab.insert(slot(4, 7));
        assert_eq!(slab.of_root(7), vec![a, c, d]);
        assert_eq!(slab.remove(c).map(|s| s.id), Some(3));
        assert_eq!(slab.of_root(7), vec![a, d]);
        assert_eq!(slab.remove(a).map(|s| s.id), Some(1));
        assert_eq!(slab.of_root(7), vec![d]);
        // Freed slots are reused, and a reused slot joins its new person's chain at the end.
        let e = slab.insert(slot(5, 8));
        assert!(e == a || e == c);
        assert_eq!(slab.of_root(8), vec![b, e]);
        assert_eq!(slab.remove(d).map(|s| s.id), Some(4));
        assert!(slab.of_root(7).is_empty());
        assert!(slab.get(d).is_none());
        assert!(slab.remove(d).is_none(), "a slot is removed once");
        assert_eq!(slab.len(), 2);
        let ids: Vec<u64> = slab.iter().map(|(_, s)| s.id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&2) && ids.contains(&5));
    }

    #[test]
    fn slots_span_chunks() {
        let mut slab = Slab::default();
        let n = CHUNK as u64 * 2 + 10;
        let ids: Vec<SlotId> = (1..=n).map(|i| slab.insert(slot(i, (i % 3) as Ck))).collect();
        assert_eq!(slab.len(), n as usize);
        for (k, s) in ids.iter().enumerate() {
            assert_eq!(slab.get(*s).map(|s| s.id), Some(k as u64 + 1));
        }
        let total: usize = (0..3).map(|r| slab.of_root(r).len()).sum();
        assert_eq!(total, n as usize);
        for s in &ids {
            slab.remove(*s);
        }
        assert_eq!(slab.len(), 0);
        assert_eq!(slab.iter().count(), 0);
    }

    #[test]
    fn vars_round_trip_and_long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(200); // 400 bytes: kept whole
        let huge = "é".repeat(40_000); // 80,000 bytes
        let v = Vars::pack([("source", "ad"), ("", ""), ("city", long.as_str()), ("x", huge.as_str())]);
        let back = v.to_vec();
        assert_eq!(back[0], ("source".to_owned(), "ad".to_owned()));
        assert_eq!(back[1], (String::new(), String::new()));
        assert_eq!(back[2].1, long);
        assert_eq!(back[3].1, "é".repeat(32_767), "65,535 bytes is 32,767 two-byte characters");
        assert_eq!(Vars::default().iter().count(), 0);
    }

    #[test]
    fn a_slot_stays_small() {
        assert!(std::mem::size_of::<Slot>() <= 64, "{} B", std::mem::size_of::<Slot>());
    }
}
