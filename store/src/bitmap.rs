//! A plain growable bit set, used for null (validity) masks of columns.
//!
//! Roaring is the right tool for sparse sets of customers; validity masks are dense and
//! positional, so a word vector is both smaller and faster here.

/// A growable sequence of bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitVec {
    words: Vec<u64>,
    len: usize,
}

impl BitVec {
    /// An empty bit vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// `len` bits, all set to `value`.
    pub fn filled(len: usize, value: bool) -> Self {
        let fill = if value { u64::MAX } else { 0 };
        let mut bits = BitVec { words: vec![fill; len.div_ceil(64)], len };
        bits.clear_tail();
        bits
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one bit.
    pub fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        if bit {
            self.words[self.len / 64] |= 1 << (self.len % 64);
        }
        self.len += 1;
    }

    /// The bit at `index`; panics when out of range, like slice indexing.
    pub fn get(&self, index: usize) -> bool {
        assert!(index < self.len, "bit {index} out of range {}", self.len);
        self.words[index / 64] >> (index % 64) & 1 == 1
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether every bit is set (true for an empty vector).
    pub fn all(&self) -> bool {
        self.count_ones() == self.len
    }

    /// The bits as little-endian bytes, `len.div_ceil(8)` of them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        out.truncate(self.len.div_ceil(8));
        out
    }

    /// Reads `len` bits from bytes written by [`BitVec::to_bytes`]; `None` if too short.
    pub fn from_bytes(bytes: &[u8], len: usize) -> Option<Self> {
        if bytes.len() < len.div_ceil(8) {
            return None;
        }
        let mut words = vec![0u64; len.div_ceil(64)];
        for (i, b) in bytes[..len.div_ceil(8)].iter().enumerate() {
            words[i / 8] |= u64::from(*b) << (8 * (i % 8));
        }
        let mut bits = BitVec { words, len };
        bits.clear_tail();
        Some(bits)
    }

    /// Iterates over the bits.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    // Bits past `len` stay zero so that equality and counts need no masking.
    fn clear_tail(&mut self) {
        if !self.len.is_multiple_of(64)
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << (self.len % 64)) - 1;
        }
    }
}

impl FromIterator<bool> for BitVec {
    fn from_iter<I: IntoIterator<Item = bool>>(iter: I) -> Self {
        let mut bits = BitVec::new();
        for b in iter {
            bits.push(b);
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_and_bytes_round_trip() {
        let pattern: Vec<bool> = (0..133).map(|i| i % 3 == 0 || i == 130).collect();
        let bits: BitVec = pattern.iter().copied().collect();
        assert_eq!(bits.len(), 133);
        assert_eq!(bits.iter().collect::<Vec<_>>(), pattern);
        assert_eq!(bits.count_ones(), pattern.iter().filter(|b| **b).count());
        let back = BitVec::from_bytes(&bits.to_bytes(), 133).expect("enough bytes");
        assert_eq!(back, bits);
        assert!(BitVec::from_bytes(&[0u8; 2], 17).is_none());
    }

    #[test]
    fn filled_has_clean_tail() {
        let bits = BitVec::filled(70, true);
        assert!(bits.all());
        assert_eq!(bits.count_ones(), 70);
        assert_eq!(bits, (0..70).map(|_| true).collect());
    }
}
