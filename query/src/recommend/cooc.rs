//! Item-to-item co-occurrence with time decay, updated one event at a time.
//!
//! Two items co-occur when one customer interacts with both within `window` of each other
//! (views, carts, orders, weighted). Every count decays with a half-life, so last season's
//! best sellers fade without a rebuild. Decay is kept exact and cheap with a moving scale:
//! an observation at time `t` adds `w * 2^((t - epoch) / half_life)`; every count shares the
//! same factor, so ratios (cosine, lift) need no decay at all, and the factor is folded into
//! the counts (the epoch moves) before it can overflow.
//!
//! Memory stays bounded: a customer remembers their last [`RECENT`] items for `window` (then
//! is forgotten by [`CoOccurrence::sweep`]), and an item keeps its [`NEIGHBOURS`] strongest
//! neighbours (weaker ones are pruned when twice as many have gathered: the counts of what
//! is pruned are lost, which only ever affects pairs too weak to be recommended).

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use cxp_store::Ck;

/// Items a customer remembers.
pub const RECENT: usize = 8;
/// Neighbours an item keeps.
pub const NEIGHBOURS: usize = 200;

/// How two items are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Similarity {
    /// `co(i, j) / sqrt(n(i) n(j))`: how much the two audiences overlap.
    Cosine,
    /// `co(i, j) N / (n(i) n(j))`: how much more often than by chance (favours niche pairs).
    Lift,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    /// The item.
    pub item: String,
    /// Similarity (or, from popularity, the item's share of all interactions).
    pub score: f64,
    /// Decayed weight of the pair (or of the item, from popularity).
    pub support: f64,
    /// `co-occurrence` or `popular` (the fallback for items with too few neighbours).
    pub source: String,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    item: u32,
    ts: i64,
    weight: f32,
}

/// The co-occurrence state.
#[derive(Debug, Clone)]
pub struct CoOccurrence {
    window: i64,
    half_life: i64,
    epoch: i64,
    names: Vec<Box<str>>,
    codes: HashMap<Box<str>, u32>,
    /// Decayed interaction weight per item.
    count: Vec<f64>,
    total: f64,
    pairs: Vec<HashMap<u32, f64>>,
    recent: HashMap<Ck, Vec<Seen>>,
    observed: u64,
    /// The latest observation's time.
    latest: i64,
}

impl CoOccurrence {
    /// Pairs within `window` ns of each other; counts halve every `half_life` ns.
    pub fn new(window: i64, half_life: i64) -> CoOccurrence {
        CoOccurrence {
            window: window.max(1),
            half_life: half_life.max(1),
            epoch: i64::MIN,
            names: Vec::new(),
            codes: HashMap::new(),
            count: Vec::new(),
            total: 0.0,
            pairs: Vec::new(),
            recent: HashMap::new(),
            observed: 0,
            latest: i64::MIN,
        }
    }

    fn code(&mut self, item: &str) -> u32 {
        if let Some(&c) = self.codes.get(item) {
            return c;
        }
        let c = self.names.len() as u32;
        self.names.push(item.into());
        self.codes.insert(item.into(), c);
        self.count.push(0.0);
        self.pairs.push(HashMap::new());
        c
    }

    // The growth factor of an observation at `ts`; moves the epoch when it gets large.
    fn scale(&mut self, ts: i64) -> f64 {
        if self.epoch == i64::MIN {
            self.epoch = ts;
        }
        let mut e = (ts - self.epoch) as f64 / self.half_life as f64;
        if e > 40.0 {
            // 2^40: fold the factor into every count and start again from here.
            let f = (-e).exp2();
            self.count.iter_mut().for_each(|c| *c *= f);
            self.total *= f;
            for p in &mut self.pairs {
                p.values_mut().for_each(|v| *v *= f);
            }
            self.epoch = ts;
            e = 0.0;
        }
        e.exp2()
    }

    /// Customer `who` interacted with `item` at `ts` with `weight` (a view 1, a cart 3, an
    /// order 5, say). Events may come a little out of order; a pair counts once per customer
    /// while both items are remembered, at the weaker of the two weights.
    pub fn observe(&mut self, who: Ck, item: &str, ts: i64, weight: f32) {
        self.observed += 1;
        self.latest = self.latest.max(ts);
        let code = self.code(item);
        let s = self.scale(ts);
        self.count[code as usize] += f64::from(weight) * s;
        self.total += f64::from(weight) * s;
        let window = self.window;
        let mut recent = self.recent.remove(&who).unwrap_or_default();
        recent.retain(|r| (ts - r.ts).abs() <= window);
        let prior = recent.iter().position(|r| r.item == code);
        let gained = match prior {
            // Seen before: only a stronger interaction (a cart after a view) adds to its pairs.
            Some(i) => {
                let before = recent[i].weight;
                recent[i].ts = recent[i].ts.max(ts);
                recent[i].weight = before.max(weight);
                (weight > before).then_some(before)
            }
            None => Some(0.0),
        };
        if let Some(before) = gained {
            for r in recent.iter().filter(|r| r.item != code) {
                let add = f64::from(r.weight.min(weight) - r.weight.min(before)) * s;
                if add > 0.0 {
                    self.bump(code, r.item, add);
                    self.bump(r.item, code, add);
                }
            }
        }
        if prior.is_none() {
            if recent.len() == RECENT {
                // Forget the oldest.
                if let Some(i) = recent.iter().enumerate().min_by_key(|(_, r)| r.ts).map(|(i, _)| i) {
                    recent.swap_remove(i);
                }
            }
            recent.push(Seen { item: code, ts, weight });
        }
        self.recent.insert(who, recent);
    }

    fn bump(&mut self, a: u32, b: u32, add: f64) {
        let m = &mut self.pairs[a as usize];
        *m.entry(b).or_insert(0.0) += add;
        if m.len() > 2 * NEIGHBOURS {
            let mut v: Vec<(u32, f64)> = m.drain().collect();
            v.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            v.truncate(NEIGHBOURS);
            m.extend(v);
        }
    }

    /// Forgets customers whose last item is older than the window before `now`.
    pub fn sweep(&mut self, now: i64) {
        let window = self.window;
        self.recent.retain(|_, r| r.iter().any(|s| now - s.ts <= window));
    }

    /// Items customer `who` interacted with lately, strongest first (orders before carts
    /// before views), with their weights.
    pub fn recent_of(&self, who: Ck) -> Vec<(String, f32)> {
        let mut v: Vec<(String, f32)> = self
            .recent
            .get(&who)
            .map(|r| r.iter().map(|s| (self.names[s.item as usize].to_string(), s.weight)).collect())
            .unwrap_or_default();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// The `k` items most related to `item` by `by`, leaving out `exclude` and pairs weaker
    /// than `min_support` (in current decayed weight); topped up with popular items.
    pub fn related(&self, item: &str, k: usize, by: Similarity, min_support: f64, exclude: &[&str]) -> Vec<Related> {
        let mut out = Vec::with_capacity(k);
        let now = self.decay_now();
        if let Some(&i) = self.codes.get(item) {
            let ni = self.count[i as usize];
            let mut scored: Vec<(f64, f64, u32)> = self.pairs[i as usize]
                .iter()
                .filter(|(_, co)| **co * now >= min_support)
                .filter(|(j, _)| !exclude.contains(&&*self.names[**j as usize]))
                .map(|(&j, &co)| {
                    let nj = self.count[j as usize];
                    let score = match by {
                        Similarity::Cosine => co / (ni * nj).sqrt(),
                        Similarity::Lift => co * self.total / (ni * nj),
                    };
                    (score, co * now, j)
                })
                .collect();
            scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
            out.extend(scored.into_iter().take(k).map(|(score, support, j)| Related {
                item: self.names[j as usize].to_string(),
                score,
                support,
                source: "co-occurrence".into(),
            }));
        }
        if out.len() < k {
            let have: Vec<String> = out.iter().map(|r| r.item.clone()).collect();
            let more = self.popular(
                k - out.len(),
                &[exclude, &[item], &have.iter().map(String::as_str).collect::<Vec<_>>()].concat(),
            );
            out.extend(more);
        }
        out
    }

    /// The `k` items with the most decayed interaction weight, leaving out `exclude`.
    pub fn popular(&self, k: usize, exclude: &[&str]) -> Vec<Related> {
        let now = self.decay_now();
        let mut v: Vec<(f64, u32)> = self
            .count
            .iter()
            .enumerate()
            .filter(|(j, _)| !exclude.contains(&&*self.names[*j]))
            .map(|(j, &c)| (c, j as u32))
            .collect();
        let k = k.min(v.len());
        if k == 0 {
            return Vec::new();
        }
        v.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.truncate(k);
        v.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter()
            .map(|(c, j)| Related {
                item: self.names[j as usize].to_string(),
                score: if self.total > 0.0 { c / self.total } else { 0.0 },
                support: c * now,
                source: "popular".into(),
            })
            .collect()
    }

    // Stored counts times this are the decayed counts at the latest observation.
    fn decay_now(&self) -> f64 {
        if self.latest == i64::MIN {
            return 1.0;
        }
        (-((self.latest - self.epoch) as f64 / self.half_life as f64)).exp2()
    }

    /// Items known.
    pub fn items(&self) -> usize {
        self.names.len()
    }

    /// Customers remembered.
    pub fn customers(&self) -> usize {
        self.recent.len()
    }

    /// Observations so far.
    pub fn observed(&self) -> u64 {
        self.observed
    }

    /// Item pairs kept (each direction counted).
    pub fn pairs(&self) -> usize {
        self.pairs.iter().map(HashMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000_000;
    const DAY: i64 = 24 * H;

    /// Pair weights by brute force: for every customer, every pair of distinct items within
    /// the window, at the weaker of the two strongest interactions, decayed to `at`.
    #[test]
    fn counts_agree_with_a_brute_force_count() {
        let mut c = CoOccurrence::new(7 * DAY, 30 * DAY);
        // (customer, item, hour, weight)
        let events = [
            (1, "A", 0, 1.0),
            (1, "B", 1, 1.0),
            (1, "B", 2, 3.0),
            (1, "C", 3, 5.0),
            (2, "A", 0, 1.0),
            (2, "B", 0, 5.0),
            (3, "A", 0, 1.0),
            (3, "D", 10 * 24, 1.0),
        ];
        for (who, item, h, w) in events {
            c.observe(who, item, h * H, w);
        }
        let co = |a: &str, b: &str| {
            let (i, j) = (c.codes[a], c.codes[b]);
            c.pairs[i as usize].get(&j).copied().unwrap_or(0.0) * c.decay_now()
        };
        let d = |h: i64| (-((10 * 24 - h) as f64 * H as f64 / (30 * DAY) as f64)).exp2();
        // Customer 1: A-B at 1 (the view), raised to... still 1 (A is a view); A-C 1; B-C 3
        // (B's cart). Customer 2: A-B 1. Customer 3: A and D are ten days apart: no pair.
        let ab = d(1) + d(0);
        assert!((co("A", "B") - ab).abs() < 1e-9, "{} vs {ab}", co("A", "B"));
        assert!((co("A", "C") - d(3)).abs() < 1e-9);
        // B-C: 1 at the view (hour 1 → counted when C arrives at hour 3: min(3, 5) = 3).
        assert!((co("B", "C") - 3.0 * d(3)).abs() < 1e-9);
        assert_eq!(co("A", "D"), 0.0);
        assert_eq!(co("B", "A"), co("A", "B"), "symmetric");
        // Popularity: B has 1 + 3 + 5 (its stronger interactions... every observation counts).
        let pop = c.popular(1, &[]);
        assert_eq!(pop[0].item, "B");
    }

    #[test]
    fn related_items_rank_by_similarity_and_fall_back_to_popular() {
        let mut c = CoOccurrence::new(7 * DAY, 30 * DAY);
        // 20 customers view phone then case; 5 view phone then charger; everyone views tv.
        for who in 0..20 {
            c.observe(who, "phone", 0, 1.0);
            c.observe(who, "case", H, 1.0);
        }
        for who in 20..25 {
            c.observe(who, "phone", 0, 1.0);
            c.observe(who, "charger", H, 1.0);
        }
        for who in 100..200 {
            c.observe(who, "tv", 2 * H, 1.0);
        }
        let r = c.related("phone", 3, Similarity::Cosine, 0.0, &[]);
        let names: Vec<&str> = r.iter().map(|x| x.item.as_str()).collect();
        assert_eq!(names, ["case", "charger", "tv"]);
        assert_eq!(r[2].source, "popular");
        // cosine(phone, case) = 20 / sqrt(25 * 20).
        // (The counts are a few minutes of decay apart: equal to a thousandth.)
        assert!((r[0].score - 20.0 / (25.0f64 * 20.0).sqrt()).abs() < 1e-3, "{}", r[0].score);
        let r = c.related("phone", 2, Similarity::Cosine, 0.0, &["case"]);
        assert_eq!(r[0].item, "charger");
        // An unknown item gets the best sellers.
        let r = c.related("nothing", 2, Similarity::Lift, 0.0, &[]);
        assert_eq!(r.iter().map(|x| x.item.as_str()).collect::<Vec<_>>(), ["tv", "phone"]);
    }

    #[test]
    fn old_pairs_fade_and_the_scale_never_overflows() {
        let mut c = CoOccurrence::new(DAY, DAY);
        c.observe(1, "old", 0, 1.0);
        c.observe(1, "older", H, 1.0);
        // A hundred half-lives later, a new pair: the old one weighs 2^-100 of it.
        let late = 100 * DAY;
        c.observe(2, "new", late, 1.0);
        c.observe(2, "newer", late + H, 1.0);
        let r = c.related("old", 1, Similarity::Cosine, 1e-6, &[]);
        assert_eq!(r[0].source, "popular", "the faded pair is below the minimum support");
        assert!(c.count.iter().all(|v| v.is_finite()));
        c.sweep(late + 2 * DAY);
        assert_eq!(c.customers(), 0);
    }
}
