//! Identity links: which customer keys are one person.
//!
//! An event that carries two identifiers (an `identify` with an anonymous id and a customer
//! id, say) links their keys. Links are appended to the `links` table in the same transaction
//! as the event and never rewritten; a union-find over customer keys, rebuilt from them at open,
//! maps any key to its root. Events keep the key they were written with, so a merge of two
//! customers never touches a part.

use serde::{Deserialize, Serialize};

use crate::types::Ck;

/// One link, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Link id (increasing).
    pub id: u64,
    /// First key (the event's own key).
    pub a: Ck,
    /// Second key.
    pub b: Ck,
    /// Sequence number of the event that carried both identifiers.
    pub seq: u64,
    /// That event's time, ns.
    pub ts: i64,
    /// That event's name.
    pub measurement: String,
    /// Where the event came from.
    pub source: String,
}

/// Union-find over customer keys; the smallest key of a set is its root, so roots are stable
/// and deterministic (the identifier seen first).
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<Ck>,
}

impl UnionFind {
    /// The root of `x` (a key never linked is its own root).
    pub fn root(&self, mut x: Ck) -> Ck {
        while let Some(&p) = self.parent.get(x as usize) {
            if p == x {
                break;
            }
            x = p;
        }
        x
    }

    /// Whether `a` and `b` are one customer.
    pub fn same(&self, a: Ck, b: Ck) -> bool {
        self.root(a) == self.root(b)
    }

    /// Joins the sets of `a` and `b`; returns false when they already were one.
    pub fn union(&mut self, a: Ck, b: Ck) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        let need = hi as usize + 1;
        if self.parent.len() < need {
            let from = self.parent.len() as Ck;
            self.parent.extend(from..need as Ck);
        }
        self.parent[hi as usize] = lo;
        // Point `a` and `b` straight at the root so that chains stay short.
        for x in [a, b] {
            if (x as usize) < self.parent.len() {
                self.parent[x as usize] = lo;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_the_smallest_key_and_unions_are_transitive() {
        let mut uf = UnionFind::default();
        assert_eq!(uf.root(7), 7);
        assert!(uf.union(7, 3));
        assert!(uf.union(9, 7));
        assert!(!uf.union(3, 9), "already one customer");
        assert_eq!((uf.root(3), uf.root(7), uf.root(9)), (3, 3, 3));
        assert!(uf.union(1, 12));
        assert!(uf.union(12, 9));
        assert!([1, 3, 7, 9, 12].iter().all(|&k| uf.root(k) == 1));
        assert!(!uf.same(1, 2));
    }
}
