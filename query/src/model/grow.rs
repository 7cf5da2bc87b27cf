//! Growing one tree, depth by depth, from the histograms of each level's nodes.
//!
//! Rows live in one array of row ids; a node owns a contiguous range of it, and a split
//! partitions the range in place (stably, so rows stay in ascending order and the histogram
//! builder reads the table front to back). The nodes of a level own disjoint ranges, so their
//! splits are chosen, partitioned and counted in parallel. At each level the smaller child of
//! every split is counted; the larger one is its parent's histograms minus the smaller's.

use rayon::prelude::*;

use super::binning::Binned;
use super::hist::{Hist, Layout, Sums};
use super::train::Params;
use super::tree::{Node, Tree};

/// What one tree is grown from.
pub(crate) struct Grower<'a> {
    pub binned: &'a Binned,
    pub layout: &'a Layout,
    pub grad: &'a [[f32; 2]],
    pub params: &'a Params,
    /// Features this tree may split on (column sampling).
    pub features: Vec<usize>,
}

/// A leaf of the grown tree and the rows (a range of the row array) that reached it.
pub(crate) struct LeafRows {
    pub value: f32,
    pub start: usize,
    pub end: usize,
}

/// A node of the current level, waiting for its split to be chosen.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    sums: Sums,
    hist: Hist,
}

/// The best split of a node.
#[derive(Debug, Clone, Copy)]
struct Split {
    feature: usize,
    /// Bins `1..=bin` go left.
    bin: u8,
    missing_right: bool,
    gain: f64,
    left: Sums,
    right: Sums,
}

impl Grower<'_> {
    fn leaf_value(&self, s: Sums) -> f32 {
        let w = -s[0] / (s[1] + self.params.lambda) * self.params.learning_rate;
        // No rows (an empty sample with lambda 0): no contribution rather than NaN.
        if w.is_finite() { w as f32 } else { 0.0 }
    }

    fn score(&self, s: Sums) -> f64 {
        s[0] * s[0] / (s[1] + self.params.lambda)
    }

    /// The best split of a node from its histograms, if any improves the loss by more than
    /// `gamma` with both children heavy enough.
    fn best_split(&self, open: &Open) -> Option<Split> {
        let p = self.params;
        let total = open.sums;
        let parent = self.score(total);
        let mut best: Option<Split> = None;
        for &f in &self.features {
            let h = open.hist.feature(self.layout, f);
            let missing = h[0];
            let mut acc = [0.0f64; 2];
            // Thresholds: every bin but the last (whose right side would be empty).
            for (t, bin) in h.iter().enumerate().take(h.len().saturating_sub(1)).skip(1) {
                acc[0] += bin[0];
                acc[1] += bin[1];
                // Missing values to the left, then to the right; without any, the direction
                // is decided below by cover.
                for missing_right in [false, true] {
                    if missing_right && missing[1] == 0.0 {
                        continue;
                    }
                    let left = if missing_right { acc } else { [acc[0] + missing[0], acc[1] + missing[1]] };
                    let right = [total[0] - left[0], total[1] - left[1]];
                    // An empty side is no split (and with lambda 0 its score would be 0/0).
                    if left[1] < p.min_child_weight
                        || right[1] < p.min_child_weight
                        || left[1] <= 0.0
                        || right[1] <= 0.0
                    {
                        continue;
                    }
                    let gain = self.score(left) + self.score(right) - parent;
                    if gain.is_finite() && best.is_none_or(|b| gain > b.gain) {
                        best = Some(Split { feature: f, bin: t as u8, missing_right, gain, left, right });
                    }
                }
            }
        }
        let mut best = best.filter(|b| b.gain > p.gamma.max(1e-6))?;
        if open.hist.feature(self.layout, best.feature)[0][1] == 0.0 {
            // No missing value reached this node: unseen ones follow the heavier side.
            best.missing_right = best.right[1] > best.left[1];
        }
        Some(best)
    }

    /// Grows a tree over `rows` (the sampled row ids, ascending), reordering them so that
    /// each leaf's rows are contiguous.
    pub(crate) fn grow(&self, rows: &mut [u32]) -> (Tree, Vec<LeafRows>) {
        let hist = Hist::build(rows, &self.binned.codes, self.layout, self.grad);
        let mut sums = [0.0f64; 2];
        // Every row is in exactly one bin of the first feature.
        for s in hist.feature(self.layout, 0) {
            sums[0] += s[0];
            sums[1] += s[1];
        }
        let mut tree = Tree { nodes: vec![Node::leaf(0.0, sums[1] as f32)] };
        let mut leaves = Vec::new();
        let mut level = vec![Open { node: 0, start: 0, end: rows.len(), sums, hist }];
        for depth in 0..=self.params.max_depth {
            let last = depth == self.params.max_depth;
            let splits: Vec<Option<Split>> =
                level.par_iter().map(|o| if last { None } else { self.best_split(o) }).collect();
            // Partition every split node's rows, in parallel over the level's disjoint ranges
            // (cut from the row array in the order of their starts).
            let mut order: Vec<usize> = (0..level.len()).filter(|&i| splits[i].is_some()).collect();
            order.sort_unstable_by_key(|&i| level[i].start);
            let mut parts: Vec<(usize, &mut [u32], Split)> = Vec::with_capacity(order.len());
            let mut rest: &mut [u32] = rows;
            let mut at = 0;
            for i in order {
                let (open, s) = (&level[i], splits[i].expect("filtered above"));
                let (_, tail) = rest.split_at_mut(open.start - at);
                let (mine, tail) = tail.split_at_mut(open.end - open.start);
                (rest, at) = (tail, open.end);
                parts.push((i, mine, s));
            }
            let mut mid_of = vec![0usize; level.len()];
            let done: Vec<(usize, usize)> = parts
                .into_par_iter()
                .map(|(i, mine, s)| (i, partition(mine, self.binned.column(s.feature), s.bin, s.missing_right)))
                .collect();
            for (i, m) in done {
                mid_of[i] = m;
            }
            let mut next: Vec<Open> = Vec::new();
            // (index into `next` of the smaller child, of the larger child)
            let mut pairs: Vec<(usize, usize)> = Vec::new();
            for (i, (open, split)) in level.into_iter().zip(splits).enumerate() {
                let Some(s) = split else {
                    let value = self.leaf_value(open.sums);
                    tree.nodes[open.node] = Node::leaf(value, open.sums[1] as f32);
                    leaves.push(LeafRows { value, start: open.start, end: open.end });
                    continue;
                };
                let mid = open.start + mid_of[i];
                let (l, r) = (tree.nodes.len(), tree.nodes.len() + 1);
                tree.nodes[open.node] = Node {
                    feature: s.feature as u32,
                    threshold: self.binned.bins[s.feature].cuts[s.bin as usize - 1],
                    missing_right: s.missing_right,
                    left: l as u32,
                    right: r as u32,
                    value: 0.0,
                    gain: s.gain as f32,
                    cover: open.sums[1] as f32,
                };
                tree.nodes.push(Node::leaf(0.0, s.left[1] as f32));
                tree.nodes.push(Node::leaf(0.0, s.right[1] as f32));
                let left_small = mid - open.start <= open.end - mid;
                let (small, large) = if left_small {
                    ((l, open.start, mid, s.left), (r, mid, open.end, s.right))
                } else {
                    ((r, mid, open.end, s.right), (l, open.start, mid, s.left))
                };
                pairs.push((next.len(), next.len() + 1));
                // The smaller child's histograms are counted below; the parent's go to the
                // larger child, to be reduced by them.
                next.push(Open { node: small.0, start: small.1, end: small.2, sums: small.3, hist: Hist::zeros(0) });
                next.push(Open { node: large.0, start: large.1, end: large.2, sums: large.3, hist: open.hist });
            }
            if next.is_empty() {
                break;
            }
            if depth + 1 < self.params.max_depth {
                let rows_ro: &[u32] = rows;
                let built: Vec<Hist> = pairs
                    .par_iter()
                    .map(|&(s, _)| {
                        let o = &next[s];
                        Hist::build(&rows_ro[o.start..o.end], &self.binned.codes, self.layout, self.grad)
                    })
                    .collect();
                for ((s, l), h) in pairs.iter().zip(built) {
                    next[*l].hist.subtract(&h);
                    next[*s].hist = h;
                }
            }
            level = next;
        }
        (tree, leaves)
    }
}

/// Stable partition of `rows` by the split on `column` (the feature's bin of every row): the
/// rows going left first. Returns their count.
fn partition(rows: &mut [u32], column: &[u8], bin: u8, missing_right: bool) -> usize {
    let mut right = Vec::with_capacity(rows.len() / 2);
    let mut w = 0;
    for i in 0..rows.len() {
        let r = rows[i];
        let b = column[r as usize];
        let left = if b == 0 { !missing_right } else { b <= bin };
        if left {
            rows[w] = r;
            w += 1;
        } else {
            right.push(r);
        }
    }
    rows[w..].copy_from_slice(&right);
    w
}
