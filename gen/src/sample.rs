//! Random sampling that gives the same numbers on every platform.
//!
//! Only the ChaCha stream and integer arithmetic decide what is generated. Floats appear only
//! in [`inv_pow_eighths`], which uses square roots, products and quotients: IEEE 754 rounds
//! those correctly everywhere, unlike `exp`, `ln` or `powf`, which come from the platform's
//! libm and may differ in the last bit (and with them a sampled value, and the golden hash).
//! That is also why nothing here uses `rand_distr`.

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

/// The one random number generator of a stream.
pub(crate) type Rng = ChaCha8Rng;

/// A uniform integer in `0..n` (`n > 0`) by multiply-shift; the bias, below `n / 2^64`, is
/// irrelevant here and the method needs no rejection loop.
pub(crate) fn below(rng: &mut Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// True with probability `per_mille / 1000`.
pub(crate) fn chance(rng: &mut Rng, per_mille: u64) -> bool {
    below(rng, 1000) < per_mille
}

/// A uniform element of a non-empty slice.
pub(crate) fn choose<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[below(rng, items.len() as u64) as usize]
}

/// The index picked by `r` (any `u64`) from a small table of integer weights.
pub(crate) fn weighted_index(r: u64, weights: &[u32]) -> usize {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    let mut x = ((u128::from(r) * u128::from(total)) >> 64) as u64;
    for (i, &w) in weights.iter().enumerate() {
        if x < u64::from(w) {
            return i;
        }
        x -= u64::from(w);
    }
    weights.len() - 1
}

/// SplitMix64's finaliser: derives stable per-entity attributes (a customer's name, phone,
/// city) from an id without storing them.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `x^(-eighths/8)` for `x >= 1` from square roots only, so it is bit-identical everywhere.
pub(crate) fn inv_pow_eighths(x: f64, eighths: u32) -> f64 {
    let r2 = x.sqrt();
    let r4 = r2.sqrt();
    let r8 = r4.sqrt();
    let mut p = 1.0;
    for (bit, root) in [(4, r2), (2, r4), (1, r8)] {
        if eighths & bit != 0 {
            p *= root;
        }
    }
    // Whole powers by plain multiplication: `powi` may be lowered differently per target.
    for _ in 0..eighths / 8 {
        p *= x;
    }
    1.0 / p
}

/// Walker's alias table: O(1) sampling from a fixed discrete distribution, 8 bytes per
/// outcome. Built with exact integer arithmetic so the table is identical everywhere.
pub(crate) struct AliasTable {
    slots: Vec<Slot>,
}

#[derive(Clone, Copy)]
struct Slot {
    /// Keep this slot when the low 32 random bits are below this threshold.
    threshold: u32,
    alias: u32,
}

impl AliasTable {
    /// A table over `weights.len()` outcomes (at least one, at most `u32::MAX`), at least
    /// one weight non-zero.
    pub(crate) fn new(weights: &[u64]) -> Self {
        let n = weights.len();
        assert!(n > 0 && n <= u32::MAX as usize, "alias table size out of range");
        let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        assert!(total > 0, "alias table needs a non-zero weight");
        // Vose's method on weights scaled by n, so each slot's capacity is exactly `total`.
        let mut scaled: Vec<u128> = weights.iter().map(|&w| u128::from(w) * n as u128).collect();
        let mut slots = vec![Slot { threshold: u32::MAX, alias: 0 }; n];
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (0..n as u32).partition(|&i| scaled[i as usize] < total);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            let threshold = (scaled[s as usize] << 32) / total;
            slots[s as usize] = Slot { threshold: threshold as u32, alias: l };
            scaled[l as usize] -= total - scaled[s as usize];
            if scaled[l as usize] < total {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left is full up to rounding: it always keeps itself.
        for i in small.into_iter().chain(large) {
            slots[i as usize] = Slot { threshold: u32::MAX, alias: i };
        }
        AliasTable { slots }
    }

    /// The outcome selected by one random `u64`: high half picks the slot, low half decides
    /// between the slot and its alias.
    pub(crate) fn sample(&self, r: u64) -> u32 {
        let i = ((r >> 32) * self.slots.len() as u64) >> 32;
        let slot = self.slots[i as usize];
        if (r as u32) < slot.threshold { i as u32 } else { slot.alias }
    }

    /// Zipf weights `rank^(-eighths/8)`, assigned to outcomes in a random order so that
    /// popularity is not tied to id order.
    pub(crate) fn zipf_shuffled(n: usize, eighths: u32, rng: &mut Rng) -> Self {
        let mut weights: Vec<u64> =
            (1..=n).map(|rank| ((1u64 << 40) as f64 * inv_pow_eighths(rank as f64, eighths)) as u64 + 1).collect();
        shuffle(rng, &mut weights);
        AliasTable::new(&weights)
    }
}

/// Fisher-Yates with [`below`], so the permutation depends only on the stream.
pub(crate) fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn alias_table_matches_weights() {
        let weights = [1u64, 0, 3, 6];
        let table = AliasTable::new(&weights);
        let mut rng = Rng::seed_from_u64(1);
        let mut counts = [0u32; 4];
        let draws = 200_000;
        for _ in 0..draws {
            counts[table.sample(rng.next_u64()) as usize] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never drawn");
        for (i, &w) in weights.iter().enumerate() {
            let expected = f64::from(draws) * w as f64 / 10.0;
            let got = f64::from(counts[i]);
            assert!((got - expected).abs() < 0.02 * f64::from(draws), "{i}: {got} vs {expected}");
        }
    }

    #[test]
    fn inverse_powers() {
        assert_eq!(inv_pow_eighths(16.0, 4), 0.25);
        assert_eq!(inv_pow_eighths(256.0, 6), 1.0 / 64.0);
        assert_eq!(inv_pow_eighths(256.0, 8), 1.0 / 256.0);
        assert!((inv_pow_eighths(10.0, 7) - 10f64.powf(-0.875)).abs() < 1e-12);
    }

    #[test]
    fn weighted_index_covers_all() {
        let mut rng = Rng::seed_from_u64(2);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[weighted_index(rng.next_u64(), &[1, 2, 0])] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!(counts[1] > counts[0] * 3 / 2);
    }
}
