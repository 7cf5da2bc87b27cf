//! Gradient histograms: for one tree node, the sums of gradients and hessians of its rows per
//! feature and bin. Every split of the node is judged from them alone.
//!
//! Bins of all features sit side by side in one flat array, each feature taking only the bins
//! it has (a count with 12 values takes 13 slots, not 256), so the histogram of a chunk of rows
//! stays in the L1 cache while the rows stream past. The builder walks a chunk's rows once,
//! each row's bins side by side (row-major), adding the row's gradient pair to one bin of
//! every feature: the features interleave, so two rows that fall in the same bin of a feature
//! do not wait on each other's store. A chunk (at most [`CHUNK`] rows) is summed in `f32`,
//! which halves the cache it needs and loses nothing that matters over so few rows, then added
//! into the node's `f64` sums. Only the smaller child of a split is built; the larger is its
//! parent minus it.
//!
//! Chunks are fixed by row count, not by thread count, and added in order: the sums are the
//! same on any number of threads.

use rayon::prelude::*;

/// Gradient and hessian sums of one bin.
pub type Sums = [f64; 2];

/// Where each feature's bins start in the flat array.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Per feature, its first slot; one more entry at the end (the total).
    pub offsets: Vec<usize>,
}

impl Layout {
    /// Slots for features of `bins[f]` bins each (bin 0 included).
    pub fn new(bins: impl IntoIterator<Item = usize>) -> Layout {
        let mut offsets = vec![0];
        for b in bins {
            offsets.push(offsets.last().copied().unwrap_or(0) + b);
        }
        Layout { offsets }
    }

    /// Slots in all.
    pub fn len(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    /// The slots of feature `f`.
    pub fn range(&self, f: usize) -> std::ops::Range<usize> {
        self.offsets[f]..self.offsets[f + 1]
    }
}

/// The histograms of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct Hist {
    /// Every feature's bins, as [`Layout`] places them.
    pub sums: Vec<Sums>,
}

/// Rows summed in `f32` before joining the node's `f64` sums; also the unit of parallel work.
pub const CHUNK: usize = 1 << 14;

impl Hist {
    /// Empty histograms of `slots` bins.
    pub fn zeros(slots: usize) -> Hist {
        Hist { sums: vec![[0.0; 2]; slots] }
    }

    /// The bins of feature `f`.
    pub fn feature(&self, layout: &Layout, f: usize) -> &[Sums] {
        &self.sums[layout.range(f)]
    }

    /// Takes `other` out: a parent's histograms minus its smaller child's are the larger
    /// child's.
    pub fn subtract(&mut self, other: &Hist) {
        for (x, y) in self.sums.iter_mut().zip(&other.sums) {
            x[0] -= y[0];
            x[1] -= y[1];
        }
    }

    /// The histograms of `rows`: `codes` is row-major with `layout.offsets.len() - 1` bins per
    /// row, `grad` the gradient pair per row. Large nodes are split across the current rayon
    /// pool.
    pub fn build(rows: &[u32], codes: &[u8], layout: &Layout, grad: &[[f32; 2]]) -> Hist {
        let mut out = Hist::zeros(layout.len());
        if rows.len() <= CHUNK {
            let mut local = vec![[0.0f32; 2]; layout.len()];
            accumulate(rows, codes, layout, grad, &mut local);
            out.add_chunk(&local);
            return out;
        }
        let parts: Vec<Vec<[f32; 2]>> = rows
            .par_chunks(CHUNK)
            .map(|c| {
                let mut local = vec![[0.0f32; 2]; layout.len()];
                accumulate(c, codes, layout, grad, &mut local);
                local
            })
            .collect();
        for p in &parts {
            out.add_chunk(p);
        }
        out
    }

    fn add_chunk(&mut self, chunk: &[[f32; 2]]) {
        for (x, y) in self.sums.iter_mut().zip(chunk) {
            x[0] += f64::from(y[0]);
            x[1] += f64::from(y[1]);
        }
    }
}

fn accumulate(rows: &[u32], codes: &[u8], layout: &Layout, grad: &[[f32; 2]], local: &mut [[f32; 2]]) {
    let width = layout.offsets.len() - 1;
    let offsets = &layout.offsets[..width];
    for &r in rows {
        let r = r as usize;
        let [g, h] = grad[r];
        let row = &codes[r * width..(r + 1) * width];
        for (&off, &c) in offsets.iter().zip(row) {
            let s = &mut local[off + c as usize];
            s[0] += g;
            s[1] += h;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_sum_by_bin_and_subtract_to_the_sibling() {
        // 3 features of 2, 4 and 4 bins; 5 rows.
        let layout = Layout::new([2, 4, 4]);
        let codes = [1u8, 0, 3, 0, 1, 3, 1, 1, 2, 0, 2, 2, 1, 0, 1];
        let grad = [[1.0f32, 0.5], [2.0, 0.25], [-1.0, 0.25], [0.5, 1.0], [4.0, 2.0]];
        let all = Hist::build(&[0, 1, 2, 3, 4], &codes, &layout, &grad);
        assert_eq!(all.feature(&layout, 0)[1], [1.0 - 1.0 + 4.0, 0.5 + 0.25 + 2.0]);
        assert_eq!(all.feature(&layout, 0)[0], [2.0 + 0.5, 0.25 + 1.0]);
        assert_eq!(all.feature(&layout, 1)[0], [1.0 + 4.0, 2.5]);
        assert_eq!(all.feature(&layout, 2)[3], [1.0 + 2.0, 0.75]);
        let left = Hist::build(&[1, 3], &codes, &layout, &grad);
        let mut parent = all.clone();
        parent.subtract(&left);
        let right = Hist::build(&[0, 2, 4], &codes, &layout, &grad);
        assert_eq!(parent, right);
    }

    #[test]
    fn parallel_build_equals_one_pass() {
        let n = 3 * CHUNK + 17;
        let layout = Layout::new([7, 7]);
        let codes: Vec<u8> = (0..n * 2).map(|i| (i * 31 % 7) as u8).collect();
        let grad: Vec<[f32; 2]> = (0..n).map(|i| [(i % 5) as f32 - 2.0, 0.25]).collect();
        let rows: Vec<u32> = (0..n as u32).collect();
        let par = Hist::build(&rows, &codes, &layout, &grad);
        let mut one = vec![[0.0f32; 2]; layout.len()];
        accumulate(&rows, &codes, &layout, &grad, &mut one);
        let mut seq = Hist::zeros(layout.len());
        seq.add_chunk(&one);
        assert_eq!(par, seq, "small integers and quarters are exact in both");
    }
}
