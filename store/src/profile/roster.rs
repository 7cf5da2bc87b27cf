//! Who the customers are, by position: the root keys with a profile, ascending, and every
//! key's position. Every segment and analytic starts from it, so it is kept between queries
//! and rebuilt only when a key moved to another person, a profile went or the hidden keys
//! changed; customers who are new since it was built are appended (new keys are larger than
//! every older one, so the roots stay in order), and anything else rebuilds it.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::snapshot::NO_POSITION;
use super::table::ProfileTable;
use crate::identity::IdentityGraph;
use crate::types::Ck;

/// The roster, with what it was built from.
#[derive(Debug)]
pub(crate) struct Roster {
    pub(crate) roots: Arc<Vec<Ck>>,
    pub(crate) position: Arc<Vec<u32>>,
    graph: u64,
    table: u64,
    // Held, not only compared: the old set cannot be freed and a new one take its address.
    hidden: Arc<RoaringBitmap>,
    // Profiles in the table, hidden or not, and one past the largest key among them: a new
    // customer's key is at or past it. (Not the slot vector's length, which runs up to an
    // eighth ahead and would hide new customers below it.)
    profiles: usize,
    bound: usize,
}

impl Roster {
    /// The roster of `table` and `graph` without the keys in `hidden`, from `cache` when it is
    /// still true (extended by new customers), else built anew; `cache` is left current.
    pub(crate) fn current(
        cache: &mut Option<Roster>,
        table: &ProfileTable,
        graph: &IdentityGraph,
        hidden: &Arc<RoaringBitmap>,
    ) -> (Arc<Vec<Ck>>, Arc<Vec<u32>>) {
        let extended = cache.as_mut().is_some_and(|r| r.extend(table, graph, hidden));
        if !extended {
            *cache = Some(Roster::build(table, graph, hidden));
        }
        let r = cache.as_ref().expect("set above");
        (Arc::clone(&r.roots), Arc::clone(&r.position))
    }

    fn build(table: &ProfileTable, graph: &IdentityGraph, hidden: &Arc<RoaringBitmap>) -> Roster {
        let mut roots = Vec::with_capacity(table.len());
        let mut bound = 0;
        for k in table.keys() {
            bound = k as usize + 1;
            if hidden.is_empty() || !hidden.contains(k) {
                roots.push(k);
            }
        }
        let keys = graph.len().max(roots.last().map_or(0, |r| *r as usize + 1));
        let mut position = vec![NO_POSITION; keys];
        for (i, root) in roots.iter().enumerate() {
            position[*root as usize] = i as u32;
        }
        for ck in 0..keys {
            let root = graph.root(ck as Ck);
            if root != ck as Ck {
                position[ck] = position.get(root as usize).copied().unwrap_or(NO_POSITION);
            }
        }
        Roster {
            roots: Arc::new(roots),
            position: Arc::new(position),
            graph: graph.stamp(),
            table: table.stamp(),
            hidden: Arc::clone(hidden),
            profiles: table.len(),
            bound,
        }
    }

    // Appends the customers new since it was built; false when more than that changed.
    fn extend(&mut self, table: &ProfileTable, graph: &IdentityGraph, hidden: &Arc<RoaringBitmap>) -> bool {
        if self.graph != graph.stamp() || self.table != table.stamp() || !Arc::ptr_eq(&self.hidden, hidden) {
            return false;
        }
        let fresh: Vec<Ck> = (self.bound..table.key_bound()).map(|k| k as Ck).filter(|k| table.contains(*k)).collect();
        // A profile for a key below the scanned bound (one that had none) would belong in
        // the middle: only a rebuild puts it there.
        if table.len() != self.profiles + fresh.len() {
            return false;
        }
        let fresh_bound = fresh.last().map_or(0, |k| *k as usize + 1);
        if !fresh.is_empty() {
            let roots = Arc::make_mut(&mut self.roots);
            let position = Arc::make_mut(&mut self.position);
            for ck in fresh.into_iter().filter(|k| !hidden.contains(*k)) {
                // No union since the build, so a new key is its own person.
                if position.len() <= ck as usize {
                    position.resize(ck as usize + 1, NO_POSITION);
                }
                position[ck as usize] = roots.len() as u32;
                roots.push(ck);
            }
        }
        let keys = graph.len();
        if self.position.len() < keys {
            Arc::make_mut(&mut self.position).resize(keys, NO_POSITION);
        }
        self.profiles = table.len();
        self.bound = self.bound.max(fresh_bound);
        true
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    // The roster kept across random changes (new customers, merges, profiles going, keys
    // hidden, a profile for an old key) is always the one built from scratch.
    #[test]
    fn a_kept_roster_always_equals_one_built_anew() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut table = ProfileTable::default();
        let mut graph = IdentityGraph::default();
        let mut hidden = Arc::new(RoaringBitmap::new());
        let mut cache: Option<Roster> = None;
        let mut next: Ck = 1;
        let (mut appended, mut rebuilt) = (0, 0);
        for step in 0..3000 {
            match rng.random_range(0..20) {
                0 if next > 2 => {
                    // Two people turn out to be one: the larger root's profile goes.
                    let (a, b) = (rng.random_range(1..next), rng.random_range(1..next));
                    let (ra, rb) = (graph.root(a), graph.root(b));
                    if graph.union(a, b) {
                        table.remove(ra.max(rb));
                        table.update(ra.min(rb), |p| p.last_seen = step);
                    }
                }
                1 if next > 1 => {
                    table.remove(graph.root(rng.random_range(1..next)));
                }
                2 if next > 1 => {
                    let mut h = (*hidden).clone();
                    h.insert(graph.root(rng.random_range(1..next)));
                    hidden = Arc::new(h);
                }
                3 if next > 1 => {
                    // An old key's person gets a profile again (its root, as the stage does).
                    let root = graph.root(rng.random_range(1..next));
                    table.update(root, |p| p.first_seen = p.first_seen.min(step));
                }
                4 => {
                    // A key with no profile yet.
                    next += 1;
                }
                _ => {
                    table.update(next, |p| {
                        p.first_seen = step;
                        p.last_seen = step;
                    });
                    next += 1;
                }
            }
            // `current`, step by step, to see which way it went.
            let before = cache.as_ref().map_or(0, |r| r.roots.len());
            if cache.as_mut().is_some_and(|r: &mut Roster| r.extend(&table, &graph, &hidden)) {
                // Kept: count the times it took new customers in without a rebuild.
                if cache.as_ref().is_some_and(|r| r.roots.len() > before) {
                    appended += 1;
                }
            } else {
                cache = Some(Roster::build(&table, &graph, &hidden));
                rebuilt += 1;
            }
            let kept = cache.as_ref().expect("set above");
            let fresh = Roster::build(&table, &graph, &hidden);
            assert_eq!(kept.roots, fresh.roots, "roots at step {step}");
            // Keys past the shorter vector have no position in either.
            for ck in 0..kept.position.len().max(fresh.position.len()) {
                let p = |v: &Vec<u32>| v.get(ck).copied().unwrap_or(NO_POSITION);
                assert_eq!(p(&kept.position), p(&fresh.position), "position of key {ck} at step {step}");
            }
        }
        assert!(appended > 500 && rebuilt > 100, "both paths taken: {appended} appended, {rebuilt} rebuilt");
    }

    #[test]
    fn first_and_last_seen_follow_the_profiles() {
        let mut table = ProfileTable::default();
        table.update(4, |p| {
            p.first_seen = 10;
            p.last_seen = 20;
        });
        table.update(4, |p| p.last_seen = 30);
        let seen = |t: &ProfileTable, ck| (t.first_seen(ck), t.last_seen(ck));
        let unseen = (i64::MAX, i64::MIN);
        assert_eq!((seen(&table, 4), seen(&table, 3), seen(&table, 99)), ((10, 30), unseen, unseen));
        table.remove(4);
        assert_eq!(seen(&table, 4), unseen);
    }
}
