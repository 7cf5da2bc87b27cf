//! Feature binning: each feature's values cut into at most 255 quantile bins, so that a tree
//! split is chosen from a histogram of bins instead of from sorted values (the "hist" method of
//! XGBoost and LightGBM).
//!
//! Bin 0 holds missing values (NaN). Bin `b >= 1` holds the values `v` with
//! `cuts[b - 2] < v <= cuts[b - 1]` (no lower bound for bin 1, no upper bound for the last), so
//! a split "bins `1..=t` go left" is the float test `v <= cuts[t - 1]`, which is what trees keep
//! and what scoring evaluates on raw values: a model never needs its bins after training.

use super::dataset::Dataset;

/// Largest number of bins per feature, the missing bin included (bins are `u8`).
pub const MAX_BINS: usize = 256;

/// Values read per feature to place the cuts (every k-th row): quantiles of a quarter million
/// values are within 0.2% of the exact ones, and sorting all rows of a large table per feature
/// would cost more than training.
const SAMPLE: usize = 1 << 18;

/// The cuts of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBins {
    /// Upper bounds of bins `1..`, ascending; the last bin has none.
    pub cuts: Vec<f32>,
}

impl FeatureBins {
    /// Bins of values: at most `max_bins - 1` (bin 0 is for missing values), at quantiles of
    /// the values' distribution; every distinct value has its own bin when there are few.
    pub fn fit(values: &mut [f32], max_bins: usize) -> FeatureBins {
        let slots = max_bins.clamp(2, MAX_BINS) - 1;
        let mut v: Vec<f32> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_unstable_by(f32::total_cmp);
        // Distinct values with their counts.
        let mut distinct: Vec<(f32, usize)> = Vec::new();
        for x in v {
            match distinct.last_mut() {
                Some((last, n)) if *last == x => *n += 1,
                _ => distinct.push((x, 1)),
            }
        }
        if distinct.len() <= slots {
            let cuts = distinct.iter().take(distinct.len().saturating_sub(1)).map(|d| d.0).collect();
            return FeatureBins { cuts };
        }
        let total: usize = distinct.iter().map(|d| d.1).sum();
        let mut cuts = Vec::with_capacity(slots - 1);
        let mut seen = 0usize;
        let mut next = 1usize;
        for (i, &(x, n)) in distinct.iter().enumerate() {
            seen += n;
            // A cut after this value when it reaches the next quantile; a heavy value that
            // spans several quantiles gets one bin, and the targets move past it.
            if seen * slots >= next * total && i + 1 < distinct.len() {
                cuts.push(x);
                while next * total <= seen * slots {
                    next += 1;
                }
                if cuts.len() == slots - 1 {
                    break;
                }
            }
        }
        FeatureBins { cuts }
    }

    /// The bin of `v`.
    #[inline]
    pub fn bin(&self, v: f32) -> u8 {
        if v.is_nan() {
            0
        } else {
            // At most 254 cuts: the bin fits in a u8.
            (self.cuts.partition_point(|&c| c < v) + 1) as u8
        }
    }

    /// Bins in use, the missing bin included.
    pub fn len(&self) -> usize {
        self.cuts.len() + 2
    }

    /// Whether the feature has a single value (nothing to split on).
    pub fn is_empty(&self) -> bool {
        self.cuts.is_empty()
    }
}

/// A table's features binned: one byte per value, row-major like the table (what histograms
/// read, a row at a time) and column by column (what a split reads, one feature of its rows).
#[derive(Debug, Clone)]
pub struct Binned {
    /// Cuts per feature.
    pub bins: Vec<FeatureBins>,
    /// `rows * features` bins, row after row.
    pub codes: Vec<u8>,
    /// The same, feature after feature.
    pub columns: Vec<u8>,
    /// Features per row.
    pub width: usize,
    /// Rows.
    pub rows: usize,
}

impl Binned {
    /// Fits the cuts on `data` and bins it.
    pub fn fit(data: &Dataset, max_bins: usize) -> Binned {
        let (rows, width) = (data.rows(), data.width());
        let stride = rows.div_ceil(SAMPLE).max(1);
        let bins: Vec<FeatureBins> = (0..width)
            .map(|f| {
                let mut sample: Vec<f32> = (0..rows).step_by(stride).map(|r| data.x[r * width + f]).collect();
                FeatureBins::fit(&mut sample, max_bins)
            })
            .collect();
        let codes = Self::codes(&bins, data);
        let mut columns = vec![0u8; codes.len()];
        for (r, row) in codes.chunks_exact(width.max(1)).enumerate() {
            for (f, &c) in row.iter().enumerate() {
                columns[f * rows + r] = c;
            }
        }
        Binned { bins, codes, columns, width, rows }
    }

    /// The bins of feature `f`, one per row.
    pub fn column(&self, f: usize) -> &[u8] {
        &self.columns[f * self.rows..(f + 1) * self.rows]
    }

    /// Bins `data` with cuts fitted elsewhere (a validation set binned like the training set).
    pub fn codes(bins: &[FeatureBins], data: &Dataset) -> Vec<u8> {
        let width = data.width();
        data.x.iter().enumerate().map(|(i, &v)| bins[i % width].bin(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_a_bin_each() {
        let mut v = vec![3.0, 1.0, f32::NAN, 2.0, 1.0, 3.0];
        let b = FeatureBins::fit(&mut v, 256);
        assert_eq!(b.cuts, vec![1.0, 2.0]);
        assert_eq!(
            [b.bin(f32::NAN), b.bin(0.5), b.bin(1.0), b.bin(1.5), b.bin(2.0), b.bin(3.0), b.bin(9.0)],
            [0, 1, 1, 2, 2, 3, 3]
        );
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn quantile_bins_are_balanced_and_heavy_values_stay_whole() {
        // 10,000 distinct values into 9 non-missing bins: about 1,111 each.
        let mut v: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        let b = FeatureBins::fit(&mut v, 10);
        assert_eq!(b.cuts.len(), 8);
        let mut counts = [0usize; 10];
        for x in 0..10_000 {
            counts[b.bin(x as f32) as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((1100..=1125).contains(c), "{counts:?}");
        }
        // Half the values are 0: one bin for them, the rest spread over the others.
        let mut v: Vec<f32> = (0..10_000).map(|i| if i < 5_000 { 0.0 } else { i as f32 }).collect();
        let b = FeatureBins::fit(&mut v, 10);
        assert_eq!(b.cuts[0], 0.0);
        assert!(b.cuts.len() >= 5, "{:?}", b.cuts);
    }

    #[test]
    fn cuts_agree_with_the_float_test() {
        let mut v: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32 / 7.0).collect();
        let b = FeatureBins::fit(&mut v, 32);
        for t in 1..b.len() - 1 {
            let cut = b.cuts[t - 1];
            for &x in &v {
                assert_eq!(b.bin(x) as usize <= t, x <= cut);
            }
        }
    }
}
