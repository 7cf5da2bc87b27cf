//! Gradient histograms: for one tree node, the sums of gradients and hessians of its rows per
//! feature and bin. Every split of the node is judged from them alone.
//!
//! The builder walks the node's rows once, each row's bins side by side (row-major), adding
//! the row's gradient pair to one bin of every feature: the features interleave, so two rows
//! that fall in the same bin of a feature do not wait on each other's store. Only the smaller
//! child of a split is built; the larger is its parent minus it.

use rayon::prelude::*;

/// Gradient and hessian sums of one bin.
pub type Sums = [f64; 2];

/// The histograms of one node: for each feature tested, 256 bins (bin 0: missing values).
#[derive(Debug, Clone)]
pub struct Hist {
    /// Per feature tested, per bin.
    pub bins: Vec<[Sums; 256]>,
}

/// Rows handled by one task: fewer are not worth a thread.
const CHUNK: usize = 1 << 14;

impl Hist {
    /// Empty histograms for `features` features.
    pub fn zeros(features: usize) -> Hist {
        Hist { bins: vec![[[0.0; 2]; 256]; features] }
    }

    /// Adds `other` in.
    pub fn add(&mut self, other: &Hist) {
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            for (x, y) in a.iter_mut().zip(b) {
                x[0] += y[0];
                x[1] += y[1];
            }
        }
    }

    /// Takes `other` out: a parent's histograms minus its smaller child's are the larger
    /// child's.
    pub fn subtract(&mut self, other: &Hist) {
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            for (x, y) in a.iter_mut().zip(b) {
                x[0] -= y[0];
                x[1] -= y[1];
            }
        }
    }

    /// The histograms of `rows`: `codes` is row-major with `width` bins per row, `grad` the
    /// gradient pair per row, `features` the columns to count (in the order of the result).
    /// Large node ranges are split across the current rayon pool into a number of chunks fixed
    /// by the thread count, summed in order: the same result on every run.
    pub fn build(rows: &[u32], codes: &[u8], width: usize, grad: &[[f32; 2]], features: &[usize]) -> Hist {
        let tasks = rayon::current_num_threads() * 2;
        if rows.len() <= CHUNK || tasks <= 2 {
            let mut h = Hist::zeros(features.len());
            h.accumulate(rows, codes, width, grad, features);
            return h;
        }
        let chunk = rows.len().div_ceil(tasks).max(CHUNK);
        let parts: Vec<Hist> = rows
            .par_chunks(chunk)
            .map(|c| {
                let mut h = Hist::zeros(features.len());
                h.accumulate(c, codes, width, grad, features);
                h
            })
            .collect();
        let mut parts = parts.into_iter();
        let mut first = parts.next().unwrap_or_else(|| Hist::zeros(features.len()));
        for p in parts {
            first.add(&p);
        }
        first
    }

    fn accumulate(&mut self, rows: &[u32], codes: &[u8], width: usize, grad: &[[f32; 2]], features: &[usize]) {
        if features.len() == width {
            // Every feature (no column sampling): the bins of a row are the slice itself.
            for &r in rows {
                let r = r as usize;
                let [g, h] = grad[r];
                let (g, h) = (f64::from(g), f64::from(h));
                let row = &codes[r * width..(r + 1) * width];
                for (bins, &c) in self.bins.iter_mut().zip(row) {
                    let s = &mut bins[c as usize];
                    s[0] += g;
                    s[1] += h;
                }
            }
        } else {
            for &r in rows {
                let r = r as usize;
                let [g, h] = grad[r];
                let (g, h) = (f64::from(g), f64::from(h));
                let row = &codes[r * width..(r + 1) * width];
                for (bins, &f) in self.bins.iter_mut().zip(features) {
                    let s = &mut bins[row[f] as usize];
                    s[0] += g;
                    s[1] += h;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_sum_by_bin_and_subtract_to_the_sibling() {
        // 3 features, 5 rows.
        let codes = [1u8, 0, 3, 2, 1, 3, 1, 1, 2, 2, 2, 2, 1, 0, 1];
        let grad = [[1.0f32, 0.5], [2.0, 0.25], [-1.0, 0.25], [0.5, 1.0], [4.0, 2.0]];
        let all = Hist::build(&[0, 1, 2, 3, 4], &codes, 3, &grad, &[0, 1, 2]);
        assert_eq!(all.bins[0][1], [1.0 - 1.0 + 4.0, 0.5 + 0.25 + 2.0]);
        assert_eq!(all.bins[0][2], [2.0 + 0.5, 0.25 + 1.0]);
        assert_eq!(all.bins[1][0], [1.0 + 4.0, 2.5]);
        let left = Hist::build(&[1, 3], &codes, 3, &grad, &[0, 1, 2]);
        let mut parent = all.clone();
        parent.subtract(&left);
        let right = Hist::build(&[0, 2, 4], &codes, 3, &grad, &[0, 1, 2]);
        assert_eq!(parent.bins, right.bins);
        // A subset of features, in the order asked.
        let some = Hist::build(&[0, 1, 2, 3, 4], &codes, 3, &grad, &[2, 0]);
        assert_eq!(some.bins[0], all.bins[2]);
        assert_eq!(some.bins[1], all.bins[0]);
    }

    #[test]
    fn parallel_build_equals_one_pass() {
        let n = 3 * CHUNK + 17;
        let codes: Vec<u8> = (0..n * 2).map(|i| (i * 31 % 7) as u8).collect();
        let grad: Vec<[f32; 2]> = (0..n).map(|i| [(i % 5) as f32 - 2.0, 0.25]).collect();
        let rows: Vec<u32> = (0..n as u32).collect();
        let par = Hist::build(&rows, &codes, 2, &grad, &[0, 1]);
        let mut one = Hist::zeros(2);
        one.accumulate(&rows, &codes, 2, &grad, &[0, 1]);
        assert_eq!(par.bins, one.bins);
    }
}
