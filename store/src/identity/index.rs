//! Identifier -> customer key, and back, in RAM.
//!
//! A store with a million customers holds four or five million identifiers (ids, devices,
//! emails, phones, cards). A `HashMap<String, u32>` spends ~60 bytes on each; here every
//! identifier is written once into an arena (kind byte, length, bytes), a table of keys is
//! hashed by identifier, and `offsets` maps a key back to its arena entry: ~25 bytes each.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::types::Ck;

/// The identifiers of a store, by kind and value, with the key each was given.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    // Entries: kind, value length (LEB128), value bytes.
    arena: Vec<u8>,
    // Key -> arena offset + 1 (0: no identifier, e.g. key 0).
    offsets: Vec<u32>,
    table: HashTable<Ck>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl IdIndex {
    fn hash(hasher: &hashbrown::DefaultHashBuilder, kind: u8, id: &str) -> u64 {
        hasher.hash_one((kind, id))
    }

    fn entry_at(arena: &[u8], offset: u32) -> (u8, &str) {
        let at = offset as usize - 1;
        let kind = arena[at];
        let (len, n) = read_len(&arena[at + 1..]);
        let start = at + 1 + n;
        // Written from a &str by `insert`, so always valid UTF-8.
        let id = std::str::from_utf8(&arena[start..start + len]).unwrap_or("");
        (kind, id)
    }

    /// The identifier key `ck` was allocated for.
    pub(crate) fn get(&self, ck: Ck) -> Option<(u8, &str)> {
        let off = *self.offsets.get(ck as usize)?;
        (off != 0).then(|| Self::entry_at(&self.arena, off))
    }

    /// The key of identifier `(kind, id)`.
    pub(crate) fn find(&self, kind: u8, id: &str) -> Option<Ck> {
        let hash = Self::hash(&self.hasher, kind, id);
        self.table.find(hash, |&ck| self.get(ck) == Some((kind, id))).copied()
    }

    /// Records that `ck` stands for `(kind, id)`. Keys are inserted in increasing order.
    pub(crate) fn insert(&mut self, ck: Ck, kind: u8, id: &str) {
        let offset = self.arena.len() as u32 + 1;
        self.arena.push(kind);
        write_len(&mut self.arena, id.len());
        self.arena.extend_from_slice(id.as_bytes());
        if self.offsets.len() <= ck as usize {
            self.offsets.resize(ck as usize + 1, 0);
        }
        self.offsets[ck as usize] = offset;
        let hash = Self::hash(&self.hasher, kind, id);
        let (arena, offsets, hasher) = (&self.arena, &self.offsets, &self.hasher);
        self.table.insert_unique(hash, ck, |&other| {
            let (k, v) = Self::entry_at(arena, offsets[other as usize]);
            Self::hash(hasher, k, v)
        });
    }

    /// Forgets every key from `first` on (the keys of a write that did not commit).
    pub(crate) fn truncate(&mut self, first: Ck) {
        let Some(&start) = self.offsets.get(first as usize) else { return };
        for ck in first as usize..self.offsets.len() {
            let off = self.offsets[ck];
            if off == 0 {
                continue;
            }
            let (kind, id) = Self::entry_at(&self.arena, off);
            let hash = Self::hash(&self.hasher, kind, id);
            if let Ok(entry) = self.table.find_entry(hash, |&k| k as usize == ck) {
                entry.remove();
            }
        }
        self.offsets.truncate(first as usize);
        if start != 0 {
            self.arena.truncate(start as usize - 1);
        }
    }

    /// Forgets key `ck`'s identifier (an erasure), overwriting its bytes in the arena.
    pub(crate) fn remove(&mut self, ck: Ck) {
        let Some(&off) = self.offsets.get(ck as usize) else { return };
        if off == 0 {
            return;
        }
        let (kind, id) = Self::entry_at(&self.arena, off);
        let hash = Self::hash(&self.hasher, kind, id);
        let len = id.len();
        if let Ok(entry) = self.table.find_entry(hash, |&k| k == ck) {
            entry.remove();
        }
        let at = off as usize - 1;
        let (_, n) = read_len(&self.arena[at + 1..]);
        // Zeros are valid UTF-8: `truncate` can still walk over this entry.
        self.arena[at + 1 + n..at + 1 + n + len].fill(0);
        self.offsets[ck as usize] = 0;
    }

    /// Number of identifiers.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Bytes held (for the memory budget).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.offsets.capacity() * 4 + self.table.capacity() * (4 + 1)
    }
}

fn write_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_len(bytes: &[u8]) -> (usize, usize) {
    let mut len = 0usize;
    for (i, b) in bytes.iter().enumerate().take(5) {
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (len, i + 1);
        }
    }
    (len, bytes.len().min(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_value_and_by_key_and_forgets_a_rolled_back_tail() {
        let mut index = IdIndex::default();
        let long = "x".repeat(300);
        index.insert(1, 1, "c-1");
        index.insert(2, 2, "c-1");
        index.insert(3, 3, &long);
        assert_eq!(index.find(1, "c-1"), Some(1));
        assert_eq!(index.find(2, "c-1"), Some(2), "kinds are separate namespaces");
        assert_eq!(index.find(3, &long), Some(3));
        assert_eq!(index.get(3), Some((3, long.as_str())));
        assert_eq!(index.get(0), None);
        index.truncate(2);
        assert_eq!((index.find(2, "c-1"), index.find(3, &long), index.len()), (None, None, 1));
        index.insert(2, 4, "+8613800000000");
        assert_eq!(index.get(2), Some((4, "+8613800000000")));
        for ck in 3..10_000u32 {
            index.insert(ck, 1, &format!("c-{ck}"));
        }
        assert!((3..10_000u32).all(|ck| index.find(1, &format!("c-{ck}")) == Some(ck)));
        assert_eq!(index.find(1, "c-10000"), None);
        index.remove(4711);
        assert_eq!((index.find(1, "c-4711"), index.get(4711)), (None, None));
        assert_eq!(index.find(1, "c-501"), Some(501));
        assert!(!index.arena.windows(6).any(|w| w == b"c-4711"), "the bytes are overwritten");
        index.remove(4711);
        index.truncate(9000);
        assert_eq!((index.find(1, "c-8999"), index.find(1, "c-9000")), (Some(8999), None));
    }
}
