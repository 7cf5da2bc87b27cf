//! Batch scoring: the trees laid out as complete binary trees in flat arrays, walked without
//! branches.
//!
//! A tree of depth `d < D` is padded to depth `D`: below a leaf, splits that send everything
//! left (threshold +inf, missing left) lead to copies of the leaf's value. Every row then takes
//! exactly `D` steps per tree, `i = 2i + 1 + right`, with no data-dependent branch to
//! mispredict, and consecutive rows' walks overlap in the CPU. A model with a tree deeper than
//! [`MAX_COMPILED_DEPTH`] is walked node by node instead (a complete tree of depth 12 would be
//! 4,095 splits, mostly padding).

use super::booster::Booster;
use super::tree::Tree;

/// Deepest tree laid out complete.
pub const MAX_COMPILED_DEPTH: usize = 10;

/// A model compiled for scoring many rows.
#[derive(Debug, Clone)]
pub struct Forest {
    /// The fast layout, when the model fits it (`quick.rs`).
    quick: Option<super::quick::Quick>,
    width: usize,
    depth: usize,
    base: f32,
    /// Per tree, `2^depth - 1` splits.
    feature: Vec<u32>,
    threshold: Vec<f32>,
    missing_right: Vec<bool>,
    /// Per tree, `2^depth` leaf values.
    leaf: Vec<f32>,
    /// Trees too deep to lay out (walked node by node).
    deep: Vec<Tree>,
}

#[inline]
fn sigmoid(m: f32) -> f32 {
    1.0 / (1.0 + (-m).exp())
}

impl Forest {
    /// Lays out a model's trees, in the fast layout when they fit it.
    pub fn compile(model: &Booster) -> Forest {
        let mut f = Self::compile_generic(model);
        f.quick = super::quick::Quick::compile(model, model.features.len());
        f
    }

    /// Lays out a model's trees as padded float trees (all of them walked node by node, in
    /// boosting order, when one is too deep: float sums must add in the same order as the
    /// model's own).
    pub fn compile_generic(model: &Booster) -> Forest {
        let too_deep = model.trees.iter().any(|t| t.depth() > MAX_COMPILED_DEPTH);
        let depth = if too_deep { 0 } else { model.trees.iter().map(Tree::depth).max().unwrap_or(0) };
        let (splits, leaves) = ((1usize << depth) - 1, 1usize << depth);
        let mut f = Forest {
            quick: None,
            width: model.features.len(),
            depth,
            base: model.base_margin,
            feature: Vec::new(),
            threshold: Vec::new(),
            missing_right: Vec::new(),
            leaf: Vec::new(),
            deep: Vec::new(),
        };
        for t in &model.trees {
            if too_deep {
                f.deep.push(t.clone());
                continue;
            }
            let base = f.feature.len();
            f.feature.resize(base + splits, 0);
            f.threshold.resize(base + splits, f32::INFINITY);
            f.missing_right.resize(base + splits, false);
            let lbase = f.leaf.len();
            f.leaf.resize(lbase + leaves, 0.0);
            f.fill(t, 0, 0, 0, base, lbase);
        }
        f
    }

    // Places tree node `node` at complete-tree position `pos` of depth `d`.
    fn fill(&mut self, t: &Tree, node: usize, pos: usize, d: usize, base: usize, lbase: usize) {
        let n = &t.nodes[node];
        if d == self.depth {
            self.leaf[lbase + pos - ((1 << self.depth) - 1)] = n.value;
            return;
        }
        if n.is_leaf() {
            // Padding: everything goes left; every leaf below holds the value anyway.
            let (l, r) = (2 * pos + 1, 2 * pos + 2);
            self.fill(t, node, l, d + 1, base, lbase);
            self.fill(t, node, r, d + 1, base, lbase);
            return;
        }
        self.feature[base + pos] = n.feature;
        self.threshold[base + pos] = n.threshold;
        self.missing_right[base + pos] = n.missing_right;
        self.fill(t, n.left as usize, 2 * pos + 1, d + 1, base, lbase);
        self.fill(t, n.right as usize, 2 * pos + 2, d + 1, base, lbase);
    }

    /// Probabilities of rows (`x` row-major, `width` values per row) into `out`.
    pub fn predict(&self, x: &[f32], width: usize, out: &mut [f32]) {
        if let Some(q) = self.quick.as_ref().filter(|_| width == self.width) {
            q.margins(x, out);
            out.iter_mut().for_each(|m| *m = sigmoid(*m));
            return;
        }
        let (splits, leaves) = ((1usize << self.depth) - 1, 1usize << self.depth);
        let trees = self.leaf.len() / leaves;
        out.fill(self.base);
        // Blocks of rows per tree: a tree's arrays stay in L1 while the block walks it. Within
        // a block, LANES rows take each step together: their walks do not depend on each
        // other, so the CPU overlaps the loads of one row with those of the next instead of
        // waiting out each load in turn.
        const BLOCK: usize = 64;
        const LANES: usize = 8;
        for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
            let first = b * BLOCK;
            for t in 0..trees {
                let (feature, threshold, missing_right) = (
                    &self.feature[t * splits..(t + 1) * splits],
                    &self.threshold[t * splits..(t + 1) * splits],
                    &self.missing_right[t * splits..(t + 1) * splits],
                );
                let leaf = &self.leaf[t * leaves..(t + 1) * leaves];
                for (g, lanes) in chunk.chunks_mut(LANES).enumerate() {
                    let base = first + g * LANES;
                    let mut idx = [0usize; LANES];
                    let n = lanes.len();
                    for _ in 0..self.depth {
                        for (k, i) in idx.iter_mut().enumerate().take(n) {
                            let v = x[(base + k) * width + feature[*i] as usize];
                            let right = (v > threshold[*i]) | (v.is_nan() & missing_right[*i]);
                            *i = 2 * *i + 1 + usize::from(right);
                        }
                    }
                    for (m, i) in lanes.iter_mut().zip(idx) {
                        *m += leaf[i - splits];
                    }
                }
            }
            for (k, m) in chunk.iter_mut().enumerate() {
                let row = &x[(first + k) * width..(first + k + 1) * width];
                *m = sigmoid(self.deep.iter().fold(*m, |m, t| m + t.predict(row)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tree::Node;
    use super::*;

    #[test]
    fn compiled_scores_equal_walked_scores() {
        // An unbalanced tree (depth 2 on the left, a leaf on the right) and a stump.
        let t1 = Tree {
            nodes: vec![
                Node {
                    feature: 0,
                    threshold: 1.0,
                    missing_right: true,
                    left: 1,
                    right: 2,
                    value: 0.0,
                    gain: 1.0,
                    cover: 1.0,
                },
                Node {
                    feature: 1,
                    threshold: -0.5,
                    missing_right: false,
                    left: 3,
                    right: 4,
                    value: 0.0,
                    gain: 1.0,
                    cover: 1.0,
                },
                Node::leaf(0.7, 1.0),
                Node::leaf(-0.2, 1.0),
                Node::leaf(0.1, 1.0),
            ],
        };
        let t2 = Tree {
            nodes: vec![
                Node {
                    feature: 1,
                    threshold: 0.0,
                    missing_right: false,
                    left: 1,
                    right: 2,
                    value: 0.0,
                    gain: 1.0,
                    cover: 1.0,
                },
                Node::leaf(-0.3, 1.0),
                Node::leaf(0.4, 1.0),
            ],
        };
        let model = Booster::new(vec!["a".into(), "b".into()], -0.1, vec![t1, t2], vec![], 1, Default::default());
        let rows: Vec<[f32; 2]> = vec![
            [0.0, -1.0],
            [0.0, 0.0],
            [2.0, 5.0],
            [f32::NAN, -1.0],
            [0.5, f32::NAN],
            [1.0, -0.5],
            [f32::NAN, f32::NAN],
        ];
        let x: Vec<f32> = rows.iter().flatten().copied().collect();
        for forest in [Forest::compile(&model), Forest::compile_generic(&model)] {
            let mut out = vec![0.0; rows.len()];
            forest.predict(&x, 2, &mut out);
            for (r, p) in rows.iter().zip(&out) {
                assert_eq!(*p, model.predict(r), "{r:?}");
            }
        }
    }
}
