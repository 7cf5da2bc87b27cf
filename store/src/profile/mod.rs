//! Customer profiles: one per person (a root customer key), in RAM, updated by the writer as
//! each group commits: traits (latest value wins, with its time and source), first and last
//! seen, counts per event and channel, sums, consent, and the day buckets that computed traits
//! are answered from.
//!
//! Profiles are derived data: the events say everything. They are checkpointed with the
//! sequence number they include (`checkpoint.rs`); on open, events after it are replayed, and a
//! checkpoint that does not match the configuration is thrown away and rebuilt.

mod api;
pub(crate) mod checkpoint;
mod record;
pub(crate) mod replay;
mod roster;
mod series;
mod snapshot;
mod spec;
mod table;

// hashbrown's default hasher: these maps are probed for every event, SipHash costs 2-3x.
use hashbrown::{HashMap, HashSet};
use std::sync::Arc;

pub use api::{Completeness, ComputedValue, CustomerView, TraitView};
pub(crate) use record::{Profile, Row};
pub(crate) use roster::Roster;
pub use snapshot::{CustomerSnapshot, NO_POSITION, TraitColumn};
pub use spec::{Agg, ComputedSpec, parse_computed, parse_window};
pub(crate) use table::ProfileTable;

use crate::types::Ck;

/// Strings interned to ids (event names, trait names, sources, categorical values).
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub(crate) fn from_names(names: Vec<String>) -> Self {
        let mut i = Interner::default();
        for n in names {
            i.id(&n);
        }
        i
    }

    /// The id of `parts` joined by `sep`, without allocating when it is known.
    pub(crate) fn id_joined(&mut self, a: &str, sep: char, b: &str, scratch: &mut String) -> u32 {
        scratch.clear();
        scratch.push_str(a);
        scratch.push(sep);
        scratch.push_str(b);
        if let Some(&id) = self.ids.get(scratch.as_str()) {
            return id;
        }
        let joined = std::mem::take(scratch);
        let id = self.id(&joined);
        *scratch = joined;
        id
    }

    pub(crate) fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub(crate) fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    pub(crate) fn all(&self) -> Vec<String> {
        self.names.iter().map(|s| s.to_string()).collect()
    }
}

/// How one series of day buckets is kept.
#[derive(Debug, Clone)]
pub(crate) struct SeriesDef {
    pub(crate) event: String,
    pub(crate) field: Option<String>,
    pub(crate) kind: series::SeriesKind,
    /// Days of buckets kept before the newest (0: all-time aggregates only).
    pub(crate) keep_days: i64,
}

/// What profiles keep, from the data dictionary.
#[derive(Debug, Clone, Default)]
pub struct ProfileConfig {
    pub(crate) computed: Vec<ComputedSpec>,
    // Series per computed trait (index into `series`).
    pub(crate) spec_series: Vec<usize>,
    pub(crate) series: Vec<SeriesDef>,
    by_event: HashMap<String, Vec<(usize, SeriesDef)>>,
    pub(crate) sum_fields: Vec<String>,
    pub(crate) profile_fields: HashSet<String>,
    pub(crate) has_profile_fields: bool,
    /// Fingerprint of all of the above: a checkpoint made under another one is rebuilt.
    pub(crate) fingerprint: u64,
}

impl ProfileConfig {
    /// The configuration of `dict` (none: counts, first/last seen and `identify` traits).
    pub fn new(dict: Option<&crate::dict::Dictionary>) -> Self {
        let mut cfg = ProfileConfig::default();
        let Some(dict) = dict else {
            cfg.fingerprint = fnv(b"no dictionary");
            return cfg;
        };
        cfg.computed = dict.computed().to_vec();
        for spec in &cfg.computed {
            // Counts and first/last times need events only; numbers need numbers; the rest values.
            let kind = match (&spec.field, spec.agg.numeric()) {
                (None, _) => series::SeriesKind::Count,
                (Some(_), true) => series::SeriesKind::Num,
                (Some(_), false) => series::SeriesKind::Values,
            };
            let days = spec.window.map_or(0, |w| (w + crate::window::DAY - 1) / crate::window::DAY + 1);
            let found =
                cfg.series.iter().position(|s| s.event == spec.event && s.field == spec.field && s.kind == kind);
            let i = match found {
                Some(i) => i,
                None => {
                    cfg.series.push(SeriesDef {
                        event: spec.event.clone(),
                        field: spec.field.clone(),
                        kind,
                        keep_days: 0,
                    });
                    cfg.series.len() - 1
                }
            };
            cfg.series[i].keep_days = cfg.series[i].keep_days.max(days);
            cfg.spec_series.push(i);
        }
        for (i, s) in cfg.series.iter().enumerate() {
            cfg.by_event.entry(s.event.clone()).or_default().push((i, s.clone()));
        }
        cfg.sum_fields = dict.fields().iter().filter(|f| f.sum).map(|f| f.name.clone()).collect();
        cfg.profile_fields = dict.fields().iter().filter(|f| f.profile).map(|f| f.name.clone()).collect();
        cfg.has_profile_fields = !cfg.profile_fields.is_empty();
        cfg.fingerprint = fnv(dict.text().as_bytes());
        cfg
    }

    pub(crate) fn series_of(&self, event: &str) -> &[(usize, SeriesDef)] {
        self.by_event.get(event).map_or(&[], Vec::as_slice)
    }

    /// The computed traits.
    pub fn computed(&self) -> &[ComputedSpec] {
        &self.computed
    }
}

// FNV-1a: stable across builds, unlike std's hasher.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Every profile, and what changed since the last checkpoint.
#[derive(Debug)]
pub(crate) struct Profiles {
    pub(crate) cfg: Arc<ProfileConfig>,
    pub(crate) names: Interner,
    pub(crate) values: Interner,
    pub(crate) map: ProfileTable,
    pub(crate) dirty: HashSet<Ck>,
    pub(crate) removed: HashSet<Ck>,
    // The next checkpoint rewrites every record (profiles were rebuilt from the events).
    pub(crate) full: bool,
    scratch: String,
}

impl Profiles {
    pub(crate) fn new(cfg: Arc<ProfileConfig>) -> Self {
        Profiles {
            cfg,
            names: Interner::default(),
            values: Interner::default(),
            map: ProfileTable::default(),
            dirty: HashSet::new(),
            removed: HashSet::new(),
            full: false,
            scratch: String::new(),
        }
    }

    /// Applies one event of customer `root`.
    pub(crate) fn apply(&mut self, root: Ck, row: &Row<'_>) {
        let (cfg, names, values, scratch) = (&self.cfg, &mut self.names, &mut self.values, &mut self.scratch);
        self.map.update(root, |p| p.apply(row, cfg, names, values, scratch));
        self.dirty.insert(root);
    }

    /// Keys `lo` and `hi` turned out to be one person with root `lo`.
    pub(crate) fn union(&mut self, lo: Ck, hi: Ck) {
        let Some(theirs) = self.map.remove(hi) else { return };
        self.removed.insert(hi);
        self.dirty.remove(&hi);
        let cfg = &self.cfg;
        self.map.update(lo, |p| p.merge(theirs, cfg));
        self.dirty.insert(lo);
    }

    /// A checkpoint was written.
    pub(crate) fn checkpointed(&mut self) {
        self.dirty.clear();
        self.removed.clear();
        self.full = false;
    }

    /// Forgets a profile (it is rebuilt from events).
    pub(crate) fn drop_profile(&mut self, root: Ck) {
        if self.map.remove(root).is_some() {
            self.removed.insert(root);
        }
        self.dirty.remove(&root);
    }
}
