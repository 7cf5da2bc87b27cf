//! The in-memory list of live parts, and the snapshot that pairs it with a redb read
//! transaction so that a reader never sees a part list that disagrees with its data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use redb::{Database, ReadTransaction, ReadableDatabase};

use crate::error::Result;
use crate::part::PartInfo;

/// Live parts by measurement, each list in id order.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Measurement -> parts.
    pub parts: BTreeMap<String, Vec<Arc<PartInfo>>>,
    /// Customer keys being erased: their rows may still be in parts (an erasure rewrites
    /// them after hiding them), and every scan leaves them out.
    pub(crate) hidden: Arc<roaring::RoaringBitmap>,
}

impl Manifest {
    /// Adds a part.
    pub(crate) fn add(&mut self, part: PartInfo) {
        // Part ids only grow, and `load` reads them in key order: pushing keeps lists sorted.
        self.parts.entry(part.meta.measurement.clone()).or_default().push(Arc::new(part));
    }

    /// Removes parts by id.
    pub(crate) fn remove(&mut self, ids: &[u64]) {
        for list in self.parts.values_mut() {
            list.retain(|p| !ids.contains(&p.meta.id));
        }
        self.parts.retain(|_, list| !list.is_empty());
    }

    /// Every live part.
    pub fn all(&self) -> impl Iterator<Item = &Arc<PartInfo>> {
        self.parts.values().flatten()
    }
}

/// State shared by the store handle, the writer and the merger.
pub(crate) struct Shared {
    pub(crate) db: Database,
    // Held by the writer across commit + manifest swap, and by readers across begin_read +
    // clone, so that the two always match.
    pub(crate) current: Mutex<Arc<Manifest>>,
    // The background merger has no one to return errors to; `Store::stats` reports them.
    pub(crate) last_merge_error: Mutex<Option<String>>,
    // Set at close. The writer holds a wake sender too, so the merger cannot rely on its wake
    // channel disconnecting.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    // One merge at a time (background merger or `merge_all`), so that two never pick the
    // same parts.
    pub(crate) merging: Mutex<()>,
    // Parts whose merge failed (unreadable chunks): skipped by later merges.
    pub(crate) unmergeable: Mutex<std::collections::HashSet<u64>>,
    // Which customer keys are one person; the writer adds links after their commit.
    pub(crate) identity: std::sync::RwLock<crate::identity::Identity>,
    // One profile per person, updated by the writer after each commit.
    pub(crate) profiles: std::sync::RwLock<crate::profile::Profiles>,
    // Which tags and fields carry identifiers (fixed for the life of the handle).
    pub(crate) plan: crate::identity::IdentityPlan,
    // The keys of `Manifest::hidden`, for look-ups by identifier, which must not wait for the
    // manifest's lock (the writer holds it across a commit). Set before an erasure commits.
    pub(crate) hidden_keys: std::sync::RwLock<Arc<roaring::RoaringBitmap>>,
    // The customers by position, kept between snapshots (`profile/roster.rs`).
    pub(crate) roster: Mutex<Option<crate::profile::Roster>>,
    // Every sequence number below this is committed and applied to profiles.
    pub(crate) committed_seq: std::sync::atomic::AtomicU64,
    // Subscribers to committed groups (`tap.rs`).
    pub(crate) taps: Mutex<Vec<crate::tap::TapSender>>,
    // Model score columns read so far (`scores.rs`).
    pub(crate) scores: Mutex<hashbrown::HashMap<String, Arc<crate::scores::Scores>>>,
}

impl Shared {
    pub(crate) fn snapshot(&self) -> Result<(Arc<Manifest>, ReadTransaction)> {
        let guard = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.db.begin_read()?;
        Ok((Arc::clone(&guard), txn))
    }
}
