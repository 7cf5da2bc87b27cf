//! The writer's side of identity: keying events, allocating keys, and linking identifiers
//! within the guardrails.
//!
//! Links of a group commit become visible only after the commit, so while a group is built
//! the writer keeps its unions in an overlay over the committed graph: readers never see a
//! link that might still be rolled back.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use redb::Table;
use smallvec::SmallVec;

use super::{Found, Identity, IdentityPlan, identifiers};
use crate::batch::EventRef;
use crate::error::{Result, StoreError};
use crate::types::{Ck, NO_CUSTOMER};

/// A link refused by a guardrail, waiting for its transaction.
#[derive(Debug, Clone)]
pub(crate) struct PendingRefusal {
    pub(crate) key: Ck,
    pub(crate) kind: u8,
    pub(crate) value: String,
    pub(crate) reason: String,
}

/// A link accepted in this group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewLink {
    pub(crate) a: Ck,
    pub(crate) b: Ck,
}

/// What one event resolved to.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    pub(crate) ck: Ck,
    /// The tag the key makes redundant (left out of the part, restored on read).
    pub(crate) implied: Option<&'static str>,
    pub(crate) links: SmallVec<[NewLink; 2]>,
    pub(crate) refusals: SmallVec<[PendingRefusal; 1]>,
}

/// Writer-owned identity state.
#[derive(Debug)]
pub(crate) struct Resolver {
    pub(crate) plan: IdentityPlan,
    // Pairs an operator split: later events do not join them again.
    pub(crate) splits: HashSet<(Ck, Ck)>,
    // Splits of the current group, effective once it commits.
    pub(crate) pending_splits: Vec<(Ck, Ck)>,
    // First key allocated by the current group, to forget on rollback.
    first_new: Option<Ck>,
    // Overlay of this group's unions over committed roots: parent and members per group root.
    parent: HashMap<Ck, Ck>,
    members: HashMap<Ck, Vec<Ck>>,
    /// Unions to apply to the shared graph once the group commits.
    pub(crate) pending: Vec<NewLink>,
    /// Blocked identifier values seen by this group, per (type, value).
    pub(crate) blocked: HashMap<(u8, String), u64>,
    /// Identifiers refused at ingest.
    pub(crate) suppression: crate::suppress::Suppression,
}

/// The identity table of the group's transaction: key -> identifier. (The reverse look-up
/// is the in-RAM index, rebuilt from this table at open: writing both would double the
/// B-tree inserts of every new identifier.)
pub(crate) struct IdTables<'a, 't> {
    pub(crate) cks: &'a mut Table<'t, u32, (u8, &'static str)>,
}

impl Resolver {
    pub(crate) fn new(
        plan: IdentityPlan,
        splits: HashSet<(Ck, Ck)>,
        suppression: crate::suppress::Suppression,
    ) -> Self {
        Resolver {
            suppression,
            plan,
            splits,
            pending_splits: Vec::new(),
            first_new: None,
            parent: HashMap::new(),
            members: HashMap::new(),
            pending: Vec::new(),
            blocked: HashMap::new(),
        }
    }

    fn group_root(&self, mut r: Ck) -> Ck {
        while let Some(&p) = self.parent.get(&r) {
            r = p;
        }
        r
    }

    fn root(&self, id: &Identity, ck: Ck) -> Ck {
        self.group_root(id.graph.root(ck))
    }

    // Per-type counts of the identifiers of the set rooted at group root `r`.
    fn counts(&self, id: &Identity, r: Ck, into: &mut HashMap<u8, u32>) {
        let committed: &[Ck] = self.members.get(&r).map_or(std::slice::from_ref(&r), Vec::as_slice);
        for &c in committed {
            for m in id.graph.members(c) {
                if let Some((kind, _)) = id.index.get(m) {
                    *into.entry(kind).or_default() += 1;
                }
            }
        }
    }

    fn union(&mut self, ra: Ck, rb: Ck) {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent.insert(hi, lo);
        let moved = self.members.remove(&hi).unwrap_or_else(|| vec![hi]);
        self.members.entry(lo).or_insert_with(|| vec![lo]).extend(moved);
    }

    /// The key of `(kind, value)`, allocated (and recorded) when new.
    pub(crate) fn key_of(
        &mut self,
        shared: &RwLock<Identity>,
        kind: u8,
        value: &str,
        next_ck: &mut Ck,
        tables: &mut IdTables<'_, '_>,
    ) -> Result<Ck> {
        if let Some(ck) = read(shared).index.find(kind, value) {
            return Ok(ck);
        }
        let ck = *next_ck;
        *next_ck = next_ck.checked_add(1).ok_or(StoreError::CustomerKeysExhausted)?;
        tables.cks.insert(ck, (kind, value))?;
        write(shared).index.insert(ck, kind, value);
        self.first_new.get_or_insert(ck);
        Ok(ck)
    }

    /// Whether `event` carries a suppressed identifier (erased or opted out). Checked before
    /// `resolve`, which would allocate keys for identifiers it has not seen.
    pub(crate) fn suppressed(&self, shared: &RwLock<Identity>, event: &EventRef<'_>) -> bool {
        let mut found: SmallVec<[Found<'_>; 4]> = SmallVec::new();
        identifiers(&self.plan, event, &mut found, |_, _| {});
        let id = read(shared);
        found.iter().any(|f| self.suppression.refuses(id.index.find(f.kind, &f.value), f.kind, &f.value))
    }

    /// Keys `event` by its strongest identifier and links the others to it.
    pub(crate) fn resolve(
        &mut self,
        shared: &RwLock<Identity>,
        event: &EventRef<'_>,
        next_ck: &mut Ck,
        tables: &mut IdTables<'_, '_>,
    ) -> Result<Resolved> {
        let mut found: SmallVec<[Found<'_>; 4]> = SmallVec::new();
        let plan = &self.plan;
        let blocked = &mut self.blocked;
        identifiers(plan, event, &mut found, |kind, value| {
            *blocked.entry((kind, value.to_owned())).or_default() += 1;
        });
        let Some(primary) = found.first() else {
            return Ok(Resolved { ck: NO_CUSTOMER, ..Default::default() });
        };

        // Only a tag named like its type can be restored from the key on read.
        let name = self.plan.fields[primary.slot].0.as_str();
        // Built-in types keep their bytes forever (1-based, in `BUILTIN_TYPES` order).
        let implied = super::BUILTIN_TYPES
            .iter()
            .enumerate()
            .find(|(i, t)| primary.tag_only && **t == name && *i + 1 == usize::from(primary.kind))
            .map(|(_, t)| *t);
        let ck = self.key_of(shared, primary.kind, &primary.value, next_ck, tables)?;
        let mut out = Resolved { ck, implied, ..Default::default() };
        for other in found.iter().skip(1) {
            let ock = self.key_of(shared, other.kind, &other.value, next_ck, tables)?;
            let id = read(shared);
            let (ra, rb) = (self.root(&id, ck), self.root(&id, ock));
            if ra == rb {
                continue;
            }
            let pair = (ck.min(ock), ck.max(ock));
            let refuse = if self.splits.contains(&pair) || self.pending_splits.contains(&pair) {
                Some("an operator split these identifiers".to_owned())
            } else {
                let mut a = HashMap::new();
                let mut b = HashMap::new();
                self.counts(&id, ra, &mut a);
                self.counts(&id, rb, &mut b);
                let mut over: Vec<String> = Vec::new();
                for (kind, n) in &b {
                    let total = n + a.get(kind).copied().unwrap_or(0);
                    let max = self.plan.rule(*kind).max;
                    if total > max {
                        over.push(format!("{total} {} values (max {max})", id.types.name(*kind)));
                    }
                }
                over.sort();
                (!over.is_empty()).then(|| format!("the customer would have {}", over.join(", ")))
            };
            drop(id);
            match refuse {
                Some(reason) => out.refusals.push(PendingRefusal {
                    key: ck,
                    kind: other.kind,
                    value: other.value.clone().into_owned(),
                    reason,
                }),
                None => {
                    self.union(ra, rb);
                    let link = NewLink { a: ck, b: ock };
                    self.pending.push(link);
                    out.links.push(link);
                }
            }
        }
        Ok(out)
    }

    /// The group committed: its unions become visible. Returns the (surviving root,
    /// absorbed root) of each, for the profiles to follow.
    pub(crate) fn commit(&mut self, shared: &RwLock<Identity>) -> Vec<(Ck, Ck)> {
        self.splits.extend(self.pending_splits.drain(..));
        let mut merges = Vec::with_capacity(self.pending.len());
        if !self.pending.is_empty() {
            let mut id = write(shared);
            for link in &self.pending {
                let (ra, rb) = (id.graph.root(link.a), id.graph.root(link.b));
                if id.graph.union(link.a, link.b) {
                    merges.push((ra.min(rb), ra.max(rb)));
                }
            }
        }
        self.reset();
        merges
    }

    /// The group failed: forget its keys and unions.
    pub(crate) fn rollback(&mut self, shared: &RwLock<Identity>) {
        if let Some(first) = self.first_new {
            write(shared).index.truncate(first);
        }
        self.reset();
    }

    fn reset(&mut self) {
        self.pending_splits.clear();
        self.first_new = None;
        self.parent.clear();
        self.members.clear();
        self.pending.clear();
        self.blocked.clear();
    }
}

pub(crate) fn read(shared: &RwLock<Identity>) -> std::sync::RwLockReadGuard<'_, Identity> {
    shared.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write(shared: &RwLock<Identity>) -> std::sync::RwLockWriteGuard<'_, Identity> {
    shared.write().unwrap_or_else(|p| p.into_inner())
}
