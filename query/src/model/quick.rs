//! The fast scoring path for the common model shape (trees of depth 6 at most, 64 features at
//! most): each row is first coded against the model's own thresholds, one byte per feature,
//! then every tree is a complete depth-6 tree of byte tests in fixed-size arrays.
//!
//! Coding: for feature `f` with the distinct thresholds `T[0] < T[1] < ...` that the trees
//! test it against, a value `x` codes to `1 + #{j : T[j] < x}` and a missing value to 0. A
//! split `x > T[j]` is then `code > j + 1`. A split that sends missing values right reads a
//! second copy of the codes instead, `code - 1` in wrapping `u8` arithmetic, where a missing
//! value becomes 255 and goes right, and tests `> j`. Both copies sit in one 256-byte row
//! (features at `f` and `64 + f`), and every array is indexed by a `u8`, so the walk has no
//! bounds checks and no branches: a step is about six instructions, and 8 rows walk
//! together so that their loads overlap.

use super::booster::Booster;
use super::tree::{Node, Tree};

/// Deepest tree the fast path takes.
pub const DEPTH: usize = 6;
/// Widest row it takes.
pub const WIDTH: usize = 64;

/// One tree, by complete-tree position counted from 1 (splits at 1..64, leaves at 64..128,
/// children of `i` at `2i` and `2i + 1`); 256 slots so that a `u8` position needs no bounds
/// check.
#[derive(Debug, Clone, Copy)]
struct QuickTree {
    /// The code slot a split reads: the feature, plus 64 when missing values go right.
    slot: [u8; 256],
    /// Its threshold code, less one when missing values go right.
    threshold: [u8; 256],
    leaf: [f32; 256],
}

/// A model in the fast layout.
#[derive(Debug, Clone)]
pub struct Quick {
    base: f32,
    width: usize,
    /// Per feature, the distinct thresholds tested, ascending.
    cuts: Vec<Vec<f32>>,
    trees: Vec<QuickTree>,
}

impl Quick {
    /// The fast layout of `model` for rows of `width` features, if it fits.
    pub fn compile(model: &Booster, width: usize) -> Option<Quick> {
        if width > WIDTH || model.trees.iter().any(|t| t.depth() > DEPTH) {
            return None;
        }
        let mut cuts: Vec<Vec<f32>> = vec![Vec::new(); width];
        for n in model.trees.iter().flat_map(|t| &t.nodes).filter(|n| !n.is_leaf()) {
            cuts.get_mut(n.feature as usize)?.push(n.threshold);
        }
        for c in &mut cuts {
            c.sort_by(f32::total_cmp);
            c.dedup();
            if c.len() > 254 {
                return None;
            }
        }
        let mut q = Quick { base: model.base_margin, width, cuts, trees: Vec::with_capacity(model.trees.len()) };
        for t in &model.trees {
            let mut qt = QuickTree { slot: [0; 256], threshold: [u8::MAX; 256], leaf: [0.0; 256] };
            q.fill(&mut qt, t, 0, 1, 0);
            q.trees.push(qt);
        }
        Some(q)
    }

    // Places tree node `node` at complete-tree position `pos` of depth `d`.
    fn fill(&self, qt: &mut QuickTree, t: &Tree, node: usize, pos: usize, d: usize) {
        let n: &Node = &t.nodes[node];
        if d == DEPTH {
            qt.leaf[pos] = n.value;
            return;
        }
        if n.is_leaf() {
            // Padding: threshold 255 never sends anything right; the leaf's value everywhere.
            self.fill(qt, t, node, 2 * pos, d + 1);
            self.fill(qt, t, node, 2 * pos + 1, d + 1);
            return;
        }
        let f = n.feature as usize;
        let j = self.cuts[f].partition_point(|&c| c < n.threshold);
        let code = (j + 1) as u8;
        qt.slot[pos] = f as u8 + if n.missing_right { 64 } else { 0 };
        qt.threshold[pos] = code - u8::from(n.missing_right);
        self.fill(qt, t, n.left as usize, 2 * pos, d + 1);
        self.fill(qt, t, n.right as usize, 2 * pos + 1, d + 1);
    }

    /// The codes of a row: every feature's at `f`, less one (wrapping) at `64 + f`.
    #[inline]
    fn code(&self, row: &[f32], out: &mut [u8; 256]) {
        for (f, (&x, cuts)) in row.iter().zip(&self.cuts).enumerate() {
            let c = if x.is_nan() { 0 } else { (1 + cuts.partition_point(|&c| c < x)) as u8 };
            out[f] = c;
            out[64 + f] = c.wrapping_sub(1);
        }
    }

    /// Margins of rows (`x` row-major) into `out`.
    pub fn margins(&self, x: &[f32], out: &mut [f32]) {
        const LANES: usize = 8;
        const BLOCK: usize = 64;
        let w = self.width;
        // Whole blocks of 64 coded rows (the rows past the end code as zeros and are not
        // read back), so that every loop below has a fixed trip count: the compiler keeps the
        // eight walks in registers and unrolls them.
        let mut codes = [[0u8; 256]; BLOCK];
        let mut acc = [0f32; BLOCK];
        for (b, chunk) in out.chunks_mut(BLOCK).enumerate() {
            for (k, c) in codes.iter_mut().enumerate() {
                let r = b * BLOCK + k;
                match x.get(r * w..(r + 1) * w) {
                    Some(row) if k < chunk.len() => self.code(row, c),
                    _ => *c = [0; 256],
                }
            }
            acc.fill(self.base);
            // Tree by tree over the block, so that each tree stays in L1 while 64 rows walk it.
            for t in &self.trees {
                for (rows, ms) in codes.chunks_exact(LANES).zip(acc.chunks_exact_mut(LANES)) {
                    let mut idx = [1u8; LANES];
                    for _ in 0..DEPTH {
                        for (i, row) in idx.iter_mut().zip(rows) {
                            let c = row[usize::from(t.slot[usize::from(*i)])];
                            *i = 2 * *i + u8::from(c > t.threshold[usize::from(*i)]);
                        }
                    }
                    for (m, i) in ms.iter_mut().zip(idx) {
                        *m += t.leaf[usize::from(i)];
                    }
                }
            }
            chunk.copy_from_slice(&acc[..chunk.len()]);
        }
    }
}
