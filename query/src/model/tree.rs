//! A regression tree of a boosted model: binary splits on one feature's value, with a learned
//! direction for missing values, and a margin contribution in every leaf.

use serde::{Deserialize, Serialize};

/// A node: a split (`left` and `right` set) or a leaf (`value`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature tested (splits).
    pub feature: u32,
    /// Values `<= threshold` go left (splits).
    pub threshold: f32,
    /// Where missing values go (splits).
    pub missing_right: bool,
    /// Children (splits); `u32::MAX` for a leaf.
    pub left: u32,
    /// Right child.
    pub right: u32,
    /// Margin added by a leaf.
    pub value: f32,
    /// Loss reduction of the split (splits): what feature importance adds up.
    pub gain: f32,
    /// Sum of hessians of the training rows that reached the node.
    pub cover: f32,
}

impl Node {
    /// A leaf.
    pub fn leaf(value: f32, cover: f32) -> Node {
        Node {
            feature: 0,
            threshold: 0.0,
            missing_right: false,
            left: u32::MAX,
            right: u32::MAX,
            value,
            gain: 0.0,
            cover,
        }
    }

    /// Whether this is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.left == u32::MAX
    }

    /// Whether a value goes to the right child.
    #[inline]
    pub fn goes_right(&self, v: f32) -> bool {
        if v.is_nan() { self.missing_right } else { v > self.threshold }
    }
}

/// A tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes; children come after their parent.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The leaf a row of raw feature values lands in.
    #[inline]
    pub fn leaf_of(&self, x: &[f32]) -> usize {
        let mut i = 0usize;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf() {
                return i;
            }
            i = if n.goes_right(x[n.feature as usize]) { n.right } else { n.left } as usize;
        }
    }

    /// The tree's margin for a row.
    #[inline]
    pub fn predict(&self, x: &[f32]) -> f32 {
        self.nodes[self.leaf_of(x)].value
    }

    /// Depth: edges on the longest path from the root to a leaf.
    pub fn depth(&self) -> usize {
        fn walk(t: &Tree, i: usize) -> usize {
            let n = &t.nodes[i];
            if n.is_leaf() { 0 } else { 1 + walk(t, n.left as usize).max(walk(t, n.right as usize)) }
        }
        if self.nodes.is_empty() { 0 } else { walk(self, 0) }
    }

    /// Leaves.
    pub fn leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_leaf()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_follow_the_learned_direction() {
        let split = Node {
            feature: 1,
            threshold: 2.5,
            missing_right: true,
            left: 1,
            right: 2,
            value: 0.0,
            gain: 1.0,
            cover: 3.0,
        };
        let t = Tree { nodes: vec![split, Node::leaf(-1.0, 1.0), Node::leaf(1.0, 2.0)] };
        assert_eq!(t.predict(&[0.0, 2.5]), -1.0);
        assert_eq!(t.predict(&[0.0, 2.6]), 1.0);
        assert_eq!(t.predict(&[0.0, f32::NAN]), 1.0);
        assert_eq!((t.depth(), t.leaves()), (1, 2));
    }
}
