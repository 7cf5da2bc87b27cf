//! Profiles by customer key, each packed into one allocation.
//!
//! A profile as a struct is a handful of small heap blocks (counts, sums, traits and their
//! strings, day buckets), and malloc spends at least 32 bytes on each: at a million customers
//! that was most of the RAM. Packed with postcard (varints), an average profile is one block
//! of ~70 bytes. Reading one decodes it (a fraction of a microsecond); updating one decodes,
//! applies and re-encodes it. The packed bytes are also the checkpoint record, so a
//! checkpoint copies them and an open stores them without decoding.
//!
//! Keys are dense (assigned from 1 upwards), so the table is a vector indexed by key rather
//! than a hash table: 16 bytes per key instead of ~90 per profile after a doubling.
//!
//! Decoding and re-encoding on every event cost a third of the ingest rate, so the profiles
//! updated last stay decoded: a customer's events come in sessions, minutes apart, and a
//! session's events then cost one decode and one encode between them. The hot set is bounded
//! (first in, first out) and its profiles are authoritative over their packed slots.
//!
//! A few customers are heavy (thousands of events, many days of buckets): decoding their
//! record on every look-up took microseconds, so a profile whose record outgrows `BIG` stays
//! decoded for good. They are a few percent of customers and the ones looked up most.
//!
//! First and last seen are also kept unpacked, by key (16 bytes per key): segments and
//! analytics over every customer ask for them on each query, and decoding a million records
//! for two numbers took a third of a second.

use std::borrow::Cow;
use std::collections::VecDeque;

use hashbrown::HashMap;

use super::Profile;
use crate::types::Ck;

/// Decoded profiles kept at most.
const HOT: usize = 32768;

/// Records longer than this stay decoded.
const BIG: usize = 384;

/// First and last seen of a key without a profile.
const UNSEEN: (i64, i64) = (i64::MAX, i64::MIN);

/// The packed profiles.
#[derive(Debug)]
pub(crate) struct ProfileTable {
    // An empty slot record marks a profile that so far lives only in `hot`.
    slots: Vec<Option<Box<[u8]>>>,
    len: usize,
    hot: HashMap<Ck, Profile>,
    order: VecDeque<Ck>,
    big: HashMap<Ck, Profile>,
    scratch: Vec<u8>,
    // First and last seen by key, as in the profile; apart, so that a query reading one of
    // them reads half the bytes.
    first: Vec<i64>,
    last: Vec<i64>,
    // Changes when a profile goes (`crate::stamp`): the customer roster is rebuilt then.
    stamp: u64,
}

impl Default for ProfileTable {
    fn default() -> Self {
        ProfileTable {
            slots: Vec::new(),
            len: 0,
            hot: HashMap::new(),
            order: VecDeque::new(),
            big: HashMap::new(),
            scratch: Vec::new(),
            first: Vec::new(),
            last: Vec::new(),
            stamp: crate::stamp::fresh(),
        }
    }
}

impl ProfileTable {
    /// Changes whenever a profile is removed (new ones only add keys).
    pub(crate) fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Slots, present or not: every key with a profile is below this.
    pub(crate) fn key_bound(&self) -> usize {
        self.slots.len()
    }

    /// Whether `ck` has a profile.
    pub(crate) fn contains(&self, ck: Ck) -> bool {
        self.slots.get(ck as usize).is_some_and(Option::is_some)
    }

    /// First seen of `ck` without decoding its profile (`i64::MAX`: no profile).
    pub(crate) fn first_seen(&self, ck: Ck) -> i64 {
        self.first.get(ck as usize).copied().unwrap_or(UNSEEN.0)
    }

    /// Last seen of `ck` without decoding its profile (`i64::MIN`: no profile).
    pub(crate) fn last_seen(&self, ck: Ck) -> i64 {
        self.last.get(ck as usize).copied().unwrap_or(UNSEEN.1)
    }

    fn set_seen(&mut self, ck: Ck, first: i64, last: i64) {
        let i = ck as usize;
        if i >= self.first.len() {
            let want = (i + 1).max(self.first.len() + self.first.len() / 8);
            for (v, fill) in [(&mut self.first, UNSEEN.0), (&mut self.last, UNSEEN.1)] {
                v.reserve_exact(want - v.len());
                v.resize(want, fill);
            }
        }
        self.first[i] = first;
        self.last[i] = last;
    }
    /// People with a profile.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn slot(&self, ck: Ck) -> Option<&[u8]> {
        self.slots.get(ck as usize)?.as_deref()
    }

    /// The packed record of `ck` (the checkpoint record).
    pub(crate) fn raw(&self, ck: Ck) -> Option<Cow<'_, [u8]>> {
        match self.hot.get(&ck).or_else(|| self.big.get(&ck)) {
            Some(p) => postcard::to_allocvec(p).ok().map(Cow::Owned),
            None => self.slot(ck).map(Cow::Borrowed),
        }
    }

    /// The profile of `ck`.
    pub(crate) fn get(&self, ck: Ck) -> Option<Cow<'_, Profile>> {
        if let Some(p) = self.hot.get(&ck).or_else(|| self.big.get(&ck)) {
            return Some(Cow::Borrowed(p));
        }
        // Only this table writes these bytes, from a `Profile`: they always decode.
        postcard::from_bytes(self.slot(ck)?).ok().map(Cow::Owned)
    }

    /// Applies `f` to the profile of `ck` (a new one if it has none).
    pub(crate) fn update(&mut self, ck: Ck, f: impl FnOnce(&mut Profile)) {
        if let Some(p) = self.hot.get_mut(&ck).or_else(|| self.big.get_mut(&ck)) {
            f(p);
            let (first, last) = (p.first_seen, p.last_seen);
            self.set_seen(ck, first, last);
            return;
        }
        let mut p = self.get(ck).map_or_else(Profile::new, Cow::into_owned);
        f(&mut p);
        self.set_seen(ck, p.first_seen, p.last_seen);
        if self.slot(ck).is_none() {
            self.insert_raw(ck, Box::default());
        }
        self.hot.insert(ck, p);
        self.order.push_back(ck);
        while self.hot.len() > HOT {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(p) = self.hot.remove(&old) {
                self.pack(old, p);
            }
        }
    }

    /// Stores `p` packed, or decoded when it is big.
    fn pack(&mut self, ck: Ck, p: Profile) {
        // Into a slice, not through `io::Write`: a call per varint through it cost a third of
        // the ingest rate. A profile that does not fit doubles the buffer.
        if self.scratch.len() < 1024 {
            self.scratch.resize(1024, 0);
        }
        loop {
            match postcard::to_slice(&p, &mut self.scratch) {
                Ok(bytes) if bytes.len() > BIG => {
                    self.insert_raw(ck, Box::default());
                    self.big.insert(ck, p);
                    return;
                }
                Ok(bytes) => {
                    let packed = Box::from(&*bytes);
                    self.insert_raw(ck, packed);
                    return;
                }
                Err(postcard::Error::SerializeBufferFull) => {
                    let n = self.scratch.len() * 2;
                    self.scratch.resize(n, 0);
                }
                // Plain data serialises without other errors.
                Err(_) => return,
            }
        }
    }

    /// Loads a checkpoint record; false when it does not decode.
    pub(crate) fn load(&mut self, ck: Ck, packed: &[u8]) -> bool {
        let Ok(p) = postcard::from_bytes::<Profile>(packed) else { return false };
        self.set_seen(ck, p.first_seen, p.last_seen);
        if packed.len() > BIG {
            self.insert_raw(ck, Box::default());
            self.big.insert(ck, p);
        } else {
            // Small ones are decoded again when first used.
            self.insert_raw(ck, packed.into());
        }
        true
    }

    fn insert_raw(&mut self, ck: Ck, packed: Box<[u8]>) {
        let i = ck as usize;
        if i >= self.slots.len() {
            // Grow by an eighth, not by doubling: a million customers add up.
            let want = (i + 1).max(self.slots.len() + self.slots.len() / 8);
            self.slots.reserve_exact(want - self.slots.len());
            self.slots.resize(want, None);
        }
        if self.slots[i].replace(packed).is_none() {
            self.len += 1;
        }
    }

    pub(crate) fn remove(&mut self, ck: Ck) -> Option<Profile> {
        let old = self.slots.get_mut(ck as usize)?.take()?;
        self.len -= 1;
        self.set_seen(ck, UNSEEN.0, UNSEEN.1);
        self.stamp = crate::stamp::fresh();
        // Its key stays in `order` and is skipped when it comes up.
        match self.hot.remove(&ck).or_else(|| self.big.remove(&ck)) {
            Some(p) => Some(p),
            None => postcard::from_bytes(&old).ok(),
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = ProfileTable::default();
    }

    /// Keys with a profile, ascending.
    pub(crate) fn keys(&self) -> impl Iterator<Item = Ck> + '_ {
        self.slots.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| i as Ck)
    }

    /// Every profile, decoded one at a time.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Ck, Cow<'_, Profile>)> + '_ {
        self.keys().filter_map(|ck| Some((ck, self.get(ck)?)))
    }

    /// (bytes of the slot vector and the seen column, of the packed records, of the decoded hot
    /// and big profiles),
    /// each block as malloc spends it.
    pub(crate) fn memory(&self) -> (usize, usize, usize) {
        use super::api::block;
        let records = self.slots.iter().flatten().map(|r| block(r.len())).sum();
        let decoded = |m: &HashMap<Ck, Profile>| {
            block(m.capacity() * (std::mem::size_of::<(Ck, Profile)>() + 1))
                + m.values().map(Profile::heap_bytes).sum::<usize>()
        };
        let hot = decoded(&self.hot) + decoded(&self.big) + block(self.order.capacity() * std::mem::size_of::<Ck>());
        let table = self.slots.capacity() * std::mem::size_of::<Option<Box<[u8]>>>()
            + (self.first.capacity() + self.last.capacity()) * std::mem::size_of::<i64>();
        (table, records, hot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_and_keys_stay_dense() {
        let mut t = ProfileTable::default();
        let mut p = Profile::new();
        p.first_seen = 5;
        p.last_seen = 9;
        t.pack(3, p);
        t.update(3, |p| p.last_seen = 11);
        t.update(1, |p| p.first_seen = 1);
        assert_eq!(t.len(), 2);
        assert_eq!(t.keys().collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(t.get(3).map(|p| (p.first_seen, p.last_seen)), Some((5, 11)));
        assert!(t.get(2).is_none() && t.get(1000).is_none());
        assert_eq!(t.remove(3).map(|p| p.last_seen), Some(11));
        assert_eq!((t.len(), t.raw(3).is_some()), (1, false));
    }

    #[test]
    fn profiles_leaving_the_hot_set_are_packed_unchanged() {
        let mut t = ProfileTable::default();
        let n = (HOT * 2 + 5) as Ck;
        for ck in 1..=n {
            t.update(ck, |p| p.first_seen = i64::from(ck));
            t.update(ck, |p| p.last_seen = i64::from(ck) * 2);
        }
        assert_eq!((t.len(), t.hot.len()), (n as usize, HOT));
        for ck in 1..=n {
            let p = t.get(ck).expect("profile");
            assert_eq!((p.first_seen, p.last_seen), (i64::from(ck), i64::from(ck) * 2));
            let packed: Profile = postcard::from_bytes(&t.raw(ck).expect("record")).expect("decodes");
            assert_eq!(packed, *p);
        }
        // A hot profile removed leaves its key in the queue: it must be skipped, not packed.
        assert!(t.remove(n).is_some());
        t.update(n + 1, |_| ());
        for ck in n + 2..n + 2 + HOT as Ck {
            t.update(ck, |_| ());
        }
        assert!(t.get(n).is_none());
    }

    #[test]
    fn big_profiles_stay_decoded_and_checkpoint_like_the_rest() {
        let mut t = ProfileTable::default();
        let mut p = Profile::new();
        p.counts = (0..200).map(|i| (i, i, i)).collect();
        t.pack(7, p.clone());
        assert!(t.big.contains_key(&7) && t.slot(7).is_some_and(<[u8]>::is_empty));
        t.update(7, |p| p.last_seen = 3);
        p.last_seen = 3;
        assert_eq!(t.get(7).as_deref(), Some(&p));
        let packed: Profile = postcard::from_bytes(&t.raw(7).expect("record")).expect("decodes");
        assert_eq!(packed, p);
        assert_eq!((t.keys().collect::<Vec<_>>(), t.remove(7)), (vec![7], Some(p)));
        assert_eq!(t.len(), 0);
    }
}
