//! Answering a segment expression from the store at a query time: compile, read each leaf
//! (from the profile snapshot where it can, by scanning parts where it must), evaluate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cxp_store::{Ck, CustomerSnapshot, Store, StoreError, TraitColumn};
use fixedbitset::FixedBitSet;
use hashbrown::HashMap;
use roaring::RoaringBitmap;

use super::ast::Agg;
use super::leaf::{Leaf, LeafData, NO_TIME, RfmPart};
use super::plan::{Names, Plan, compile, compile_number};
use super::scan::{AggScan, ScanStats, aggregate, behavioural, pad};
use super::{ParseError, evaluate, evaluate_number};
use crate::analytics::rfm::{self, Rfm, RfmOptions};

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The expression (of the query, or of a named segment it refers to) does not compile.
    #[error("{}{}", segment.as_ref().map(|s| format!("in segment {s:?}: ")).unwrap_or_default(), error.render(expr))]
    Invalid {
        /// The expression.
        expr: String,
        /// What is wrong, and where.
        error: ParseError,
        /// The named segment it belongs to, if not the query itself.
        segment: Option<String>,
    },
    /// Named segments refer to each other in a circle.
    #[error("segments refer to each other in a circle: {}", path.join(" -> "))]
    Cycle {
        /// The names, from the first back to it.
        path: Vec<String>,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How one leaf was read, for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The leaf, as the language writes it.
    pub what: String,
    /// Where its values came from.
    pub source: String,
    /// Time spent.
    pub took: Duration,
    /// Rows scanned.
    pub rows: u64,
    /// Chunks decoded.
    pub chunks: u64,
}

/// The customers of an expression at a query time.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Root keys of the members.
    pub members: RoaringBitmap,
    /// The compiled expression.
    pub plan: Plan,
    /// How each leaf was read, in order.
    pub steps: Vec<Step>,
    /// Customers the expression was evaluated over (people with an event before `at`).
    pub universe: u64,
    /// Time spent in all.
    pub took: Duration,
    /// The query time.
    pub at: i64,
}

/// Named segment definitions: name -> expression.
pub type Definitions = BTreeMap<String, String>;

/// What names mean in `store`: its dictionary's computed traits, the events it has seen, and
/// the named segments in `defs`.
pub fn names(store: &Store, defs: &Definitions) -> Result<Names, StoreError> {
    let computed = store.dictionary().map(|d| d.computed().to_vec()).unwrap_or_default();
    let events =
        store.schemas()?.into_iter().map(|(m, s)| (m, s.columns.into_iter().map(|c| c.name).collect())).collect();
    Ok(Names { computed, events, segments: Some(defs.keys().cloned().collect()) })
}

/// Answers `expr` over `store` at `at`, with the named segments in `defs`.
pub fn query(store: &Store, expr: &str, at: i64, defs: &Definitions) -> Result<Answer, QueryError> {
    let started = Instant::now();
    let names = names(store, defs)?;
    let invalid = |expr: &str, segment: Option<&str>| {
        let (expr, segment) = (expr.to_owned(), segment.map(str::to_owned));
        move |error| QueryError::Invalid { expr, error, segment }
    };
    let plan = compile(expr, &names).map_err(invalid(expr, None))?;
    let mut ev = Eval::open(store, at, defs, &names, &plan.leaves)?;
    let data = ev.leaves(&plan.leaves)?;
    let bits = evaluate(&plan, &data, &ev.universe, at);
    let members = RoaringBitmap::from_sorted_iter(bits.ones().map(|p| ev.snap.roots[p]))
        .expect("positions ascend, and so do their roots");
    Ok(Answer {
        members,
        plan,
        steps: ev.steps,
        universe: ev.universe.count_ones(..) as u64,
        took: started.elapsed(),
        at,
    })
}

/// Checks `expr` against `store` and the named segments in `defs` without evaluating it: it
/// compiles, and so does every segment it refers to, with no circle among them.
pub fn check(store: &Store, expr: &str, defs: &Definitions) -> Result<(), QueryError> {
    let names = names(store, defs)?;
    let plan =
        compile(expr, &names).map_err(|error| QueryError::Invalid { expr: expr.to_owned(), error, segment: None })?;
    collect(&plan.leaves, defs, &names, &mut HashMap::new(), &mut Vec::new())
}

/// The members of several expressions at one time, each answered on its own (one that does
/// not compile or refers to segments in a circle is an error for it alone) and all read
/// together: the profile snapshot and every leaf they share are read once, which is what keeps
/// many live segments cheap.
pub fn query_many(
    store: &Store,
    exprs: &[String],
    at: i64,
    defs: &Definitions,
) -> Result<Vec<Result<RoaringBitmap, QueryError>>, QueryError> {
    let names = names(store, defs)?;
    let mut out: Vec<Result<Plan, QueryError>> = exprs
        .iter()
        .map(|e| {
            let plan =
                compile(e, &names).map_err(|error| QueryError::Invalid { expr: e.clone(), error, segment: None })?;
            collect(&plan.leaves, defs, &names, &mut HashMap::new(), &mut Vec::new())?;
            Ok(plan)
        })
        .collect();
    let leaves: Vec<Leaf> = out.iter().flatten().flat_map(|p| p.leaves.iter().cloned()).collect();
    // Every plan passed the checks on its own, so only the store can fail here.
    let mut ev = Eval::open(store, at, defs, &names, &leaves)?;
    let mut answers = Vec::with_capacity(out.len());
    for plan in out.drain(..) {
        answers.push(plan.and_then(|plan| {
            let data = ev.leaves(&plan.leaves)?;
            let bits = evaluate(&plan, &data, &ev.universe, at);
            Ok(RoaringBitmap::from_sorted_iter(bits.ones().map(|p| ev.snap.roots[p]))
                .expect("positions ascend, and so do their roots"))
        }));
    }
    Ok(answers)
}

/// Numbers of every customer (see [`numbers`]).
#[derive(Debug, Clone)]
pub struct Numbers {
    /// The customers (people with an event before `at`), by root key, ascending.
    pub roots: Vec<Ck>,
    /// Per expression, its value for each customer (NaN: missing).
    pub values: Vec<Vec<f64>>,
    /// How each leaf was read.
    pub steps: Vec<Step>,
}

/// The numeric expressions `exprs` (`spend_30d`, `count(order, 90d)`, `trait.age`) for every
/// customer of `store` at `at`.
pub fn numbers(store: &Store, exprs: &[String], at: i64, defs: &Definitions) -> Result<Numbers, QueryError> {
    let names = names(store, defs)?;
    let plans = exprs
        .iter()
        .map(|e| {
            compile_number(e, &names).map_err(|error| QueryError::Invalid { expr: e.clone(), error, segment: None })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let all: Vec<Leaf> = plans.iter().flat_map(|p| p.leaves.iter().cloned()).collect();
    let mut ev = Eval::open(store, at, defs, &names, &all)?;
    let n = ev.snap.len();
    let keep: Vec<usize> = ev.universe.ones().collect();
    let mut values = Vec::with_capacity(plans.len());
    for p in &plans {
        let data = ev.leaves(&p.leaves)?;
        let v = evaluate_number(p, &data, n);
        values.push(keep.iter().map(|i| v[*i]).collect());
    }
    Ok(Numbers { roots: keep.iter().map(|i| ev.snap.roots[*i]).collect(), values, steps: ev.steps })
}

fn collect(
    leaves: &[Leaf],
    defs: &Definitions,
    names: &Names,
    plans: &mut HashMap<String, Plan>,
    stack: &mut Vec<String>,
) -> Result<(), QueryError> {
    for leaf in leaves {
        let Leaf::Segment(name) = leaf else { continue };
        if stack.contains(name) {
            let mut path = stack.clone();
            path.push(name.clone());
            return Err(QueryError::Cycle { path });
        }
        if plans.contains_key(name) {
            continue;
        }
        let Some(expr) = defs.get(name) else { continue };
        let p = compile(expr, names).map_err(|error| QueryError::Invalid {
            expr: expr.clone(),
            error,
            segment: Some(name.clone()),
        })?;
        stack.push(name.clone());
        collect(&p.leaves, defs, names, plans, stack)?;
        stack.pop();
        plans.insert(name.clone(), p);
    }
    Ok(())
}

struct Eval<'s> {
    store: &'s Store,
    at: i64,
    historical: bool,
    snap: CustomerSnapshot,
    universe: FixedBitSet,
    traits: Vec<String>,
    plans: HashMap<String, Plan>,
    cache: HashMap<Leaf, Arc<LeafData>>,
    steps: Vec<Step>,
    rfm: Option<Rfm>,
}

impl<'s> Eval<'s> {
    // Reads the customers, and the traits of every plan that `leaves` need (named segments,
    // recursively).
    fn open(store: &'s Store, at: i64, defs: &Definitions, names: &Names, leaves: &[Leaf]) -> Result<Self, QueryError> {
        let mut plans: HashMap<String, Plan> = HashMap::new();
        let mut stack = Vec::new();
        collect(leaves, defs, names, &mut plans, &mut stack)?;
        let mut traits: Vec<String> = Vec::new();
        let (mut first, mut last) = (false, false);
        for leaf in plans.values().flat_map(|p| &p.leaves).chain(leaves) {
            match leaf {
                Leaf::Trait(t) if !traits.contains(t) => traits.push(t.clone()),
                Leaf::FirstSeen => first = true,
                Leaf::LastSeen => last = true,
                _ => {}
            }
        }
        // Customers whose first event is at or after `at` do not exist yet; when every event
        // is older than `at` (a query about now) nobody needs to be decoded to know that.
        let newest = store.time_range()?.map_or(i64::MIN, |(_, b)| b);
        let historical = newest >= at;
        let t = Instant::now();
        // A historical query scans for last seen, and needs first seen for its universe.
        let (first, last) = (first || historical, last && !historical);
        let snap = store.snapshot_of(first, last, &traits);
        let mut universe = FixedBitSet::with_capacity(snap.len());
        if historical {
            for (i, f) in snap.first_seen.iter().enumerate() {
                universe.set(i, *f < at);
            }
        } else {
            universe.insert_range(..);
        }
        let step = Step {
            what: "customers".into(),
            source: format!("profile snapshot{}", if !traits.is_empty() { " (decoded)" } else { "" }),
            took: t.elapsed(),
            rows: 0,
            chunks: 0,
        };
        Ok(Eval {
            store,
            at,
            historical,
            snap,
            universe,
            traits,
            plans,
            cache: HashMap::new(),
            steps: vec![step],
            rfm: None,
        })
    }

    fn leaves(&mut self, leaves: &[Leaf]) -> Result<Vec<Arc<LeafData>>, QueryError> {
        let mut out = Vec::with_capacity(leaves.len());
        for leaf in leaves {
            if !self.cache.contains_key(leaf) {
                let data = Arc::new(self.read(leaf)?);
                self.cache.insert(leaf.clone(), data);
            }
            out.push(Arc::clone(&self.cache[leaf]));
        }
        Ok(out)
    }

    fn step(&mut self, what: &Leaf, source: impl Into<String>, t: Instant, stats: ScanStats) {
        self.steps.push(Step {
            what: what.describe(),
            source: source.into(),
            took: t.elapsed(),
            rows: stats.rows,
            chunks: stats.chunks,
        });
    }

    fn read(&mut self, leaf: &Leaf) -> Result<LeafData, QueryError> {
        let t = Instant::now();
        let n = self.snap.len();
        let at = self.at;
        let mut stats = ScanStats::default();
        let data = match leaf {
            Leaf::Agg { func, event, field, window } => {
                let events = match event {
                    Some(e) => vec![e.clone()],
                    None => behavioural(self.store)?,
                };
                let from = window.map_or(i64::MIN, |w| at.saturating_sub(w));
                let spec = AggScan { func: *func, field: field.as_deref(), from, to: at };
                let mut d = aggregate(self.store, &self.snap, &events, spec, &mut stats)?;
                pad(&mut d, n);
                let what = if events.len() == 1 { events[0].clone() } else { format!("{} events", events.len()) };
                self.step(leaf, format!("scan of {what}"), t, stats);
                d
            }
            Leaf::FirstSeen => {
                let d =
                    LeafData::Time(self.snap.first_seen.iter().map(|f| if *f < at { *f } else { NO_TIME }).collect());
                self.step(leaf, "profiles", t, stats);
                d
            }
            Leaf::LastSeen if !self.historical => {
                self.step(leaf, "profiles", t, stats);
                // Read once: the leaf's data is cached from here on.
                LeafData::Time(std::mem::take(&mut self.snap.last_seen))
            }
            Leaf::LastSeen => {
                // Some events are at or after `at`: the profile's last event may be one of them.
                let events = behavioural(self.store)?;
                let spec = AggScan { func: Agg::Last, field: None, from: i64::MIN, to: at };
                let mut d = aggregate(self.store, &self.snap, &events, spec, &mut stats)?;
                pad(&mut d, n);
                self.step(leaf, format!("scan of {} events (history)", events.len()), t, stats);
                d
            }
            Leaf::Trait(name) => {
                let i = self.traits.iter().position(|x| x == name).expect("every trait of every plan was read");
                let col = std::mem::take(&mut self.snap.traits[i]);
                self.step(leaf, "profiles", t, stats);
                LeafData::Value(col)
            }
            Leaf::Score(model) => {
                // Not scored yet (no model trained): nobody has a score, as a trait nobody has.
                let col = self.store.scores(model)?;
                let mut values = vec![f64::NAN; n];
                if let Some(c) = &col {
                    // By key, to the person now: a person scored under one key who merged with
                    // another since keeps the score (their root's own first).
                    for (ck, v) in c.iter() {
                        if let Some(p) = self.snap.position_of(ck)
                            && (values[p].is_nan() || self.snap.roots[p] == ck)
                        {
                            values[p] = f64::from(v);
                        }
                    }
                }
                let source = match &col {
                    Some(c) => format!("scores of model version {}", c.meta.version),
                    None => "no scores yet".into(),
                };
                self.step(leaf, source, t, stats);
                LeafData::Num(values)
            }
            Leaf::Search(q) => {
                let found = self.store.search(q, 1)?;
                let mut set = FixedBitSet::with_capacity(n);
                for root in &found.customers {
                    if let Some(p) = self.snap.position_of(root) {
                        set.insert(p);
                    }
                }
                self.step(leaf, format!("search index ({} customers)", found.customers.len()), t, stats);
                LeafData::Set(set)
            }
            Leaf::Segment(name) => {
                let plan = self.plans.get(name).cloned();
                let set = match plan {
                    // Unknown: nobody (compile-time checks caught typos where they could).
                    None => FixedBitSet::with_capacity(n),
                    Some(plan) => {
                        let data = self.leaves(&plan.leaves)?;
                        evaluate(&plan, &data, &self.universe, at)
                    }
                };
                self.step(leaf, "named segment", t, stats);
                LeafData::Set(set)
            }
            Leaf::Rfm(part) => {
                if self.rfm.is_none() {
                    self.rfm = Some(rfm::rfm(self.store, &self.snap, &RfmOptions::at(at))?);
                }
                let r = self.rfm.as_ref().expect("computed above");
                let score = |s: &[u8]| s.iter().map(|x| if *x == 0 { f64::NAN } else { f64::from(*x) }).collect();
                let d = match part {
                    RfmPart::R => LeafData::Num(score(&r.r)),
                    RfmPart::F => LeafData::Num(score(&r.f)),
                    RfmPart::M => LeafData::Num(score(&r.m)),
                    RfmPart::Segment => LeafData::Value(TraitColumn {
                        num: vec![f64::NAN; n],
                        text: r.segment.iter().map(|s| if *s == u8::MAX { u32::MAX } else { u32::from(*s) }).collect(),
                        texts: rfm::SEGMENTS.iter().map(|s| (*s).to_owned()).collect(),
                    }),
                };
                self.step(leaf, "RFM of orders", t, stats);
                d
            }
        };
        Ok(data)
    }
}

impl Answer {
    /// Members.
    pub fn count(&self) -> u64 {
        self.members.len()
    }

    /// Up to `n` members, smallest keys first.
    pub fn sample(&self, n: usize) -> Vec<Ck> {
        self.members.iter().take(n).collect()
    }
}
