//! Which customer keys are one person: a union-find over keys, plus each set's members as a
//! circular list, so that a profile can list its identifiers and a guardrail can count them
//! without a map per customer (8 bytes per key in all).

use crate::types::Ck;

/// The identity graph. A key beyond the vectors is a set of its own.
#[derive(Debug, Clone)]
pub(crate) struct IdentityGraph {
    parent: Vec<Ck>,
    // Next member of the key's set; the members of a set form one cycle.
    next: Vec<Ck>,
    // Changes with every union (`crate::stamp`): the customer roster is rebuilt when it does.
    stamp: u64,
}

impl Default for IdentityGraph {
    fn default() -> Self {
        IdentityGraph { parent: Vec::new(), next: Vec::new(), stamp: crate::stamp::fresh() }
    }
}

impl IdentityGraph {
    /// Changes whenever a key moves to another person.
    pub(crate) fn stamp(&self) -> u64 {
        self.stamp
    }

    /// The root of `x`: the smallest key of its set, so roots are stable and deterministic
    /// (the identifier seen first stands for the customer).
    pub(crate) fn root(&self, mut x: Ck) -> Ck {
        while let Some(&p) = self.parent.get(x as usize) {
            if p == x {
                break;
            }
            x = p;
        }
        x
    }

    fn grow(&mut self, need: usize) {
        if self.parent.len() < need {
            let from = self.parent.len() as Ck;
            self.parent.extend(from..need as Ck);
            self.next.extend(from..need as Ck);
        }
    }

    /// Joins the sets of `a` and `b`; false when they already were one.
    pub(crate) fn union(&mut self, a: Ck, b: Ck) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.grow(a.max(b).max(hi) as usize + 1);
        self.parent[hi as usize] = lo;
        // Point `a` and `b` straight at the root so that chains stay short.
        self.parent[a as usize] = lo;
        self.parent[b as usize] = lo;
        // Swapping one successor of each cycle splices the two cycles into one.
        self.next.swap(ra as usize, rb as usize);
        self.stamp = crate::stamp::fresh();
        true
    }

    /// Every key of the set `x` belongs to, `x`'s root first.
    pub(crate) fn members(&self, x: Ck) -> Vec<Ck> {
        let root = self.root(x);
        let mut out = vec![root];
        let mut at = self.next.get(root as usize).copied().unwrap_or(root);
        while at != root {
            out.push(at);
            at = self.next[at as usize];
        }
        out.sort_unstable();
        out
    }

    /// Keys the graph knows of (keys past this are sets of their own).
    pub(crate) fn len(&self) -> usize {
        self.parent.len()
    }

    /// Bytes held (for the memory budget).
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.parent.capacity() + self.next.capacity()) * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_the_smallest_key_and_members_follow_every_union() {
        let mut g = IdentityGraph::default();
        assert_eq!((g.root(7), g.members(7)), (7, vec![7]));
        assert!(g.union(7, 3));
        assert!(g.union(9, 7));
        assert!(!g.union(3, 9), "already one customer");
        assert_eq!((g.root(3), g.root(7), g.root(9)), (3, 3, 3));
        assert!(g.union(1, 12));
        assert!(g.union(12, 9));
        assert!([1, 3, 7, 9, 12].iter().all(|&k| g.root(k) == 1));
        assert_eq!(g.members(9), vec![1, 3, 7, 9, 12]);
        assert_eq!(g.members(2), vec![2]);
    }

    #[test]
    fn random_unions_match_a_naive_partition() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut g = IdentityGraph::default();
        let mut label: Vec<u32> = (0..200).collect();
        for _ in 0..150 {
            let (a, b) = (rng.random_range(1..200u32), rng.random_range(1..200u32));
            g.union(a, b);
            let (la, lb) = (label[a as usize], label[b as usize]);
            for l in &mut label {
                if *l == lb {
                    *l = la;
                }
            }
        }
        for x in 1..200u32 {
            let want: Vec<u32> = (1..200u32).filter(|&y| label[y as usize] == label[x as usize]).collect();
            assert_eq!(g.members(x), want);
            assert_eq!(g.root(x), want[0]);
        }
    }
}
