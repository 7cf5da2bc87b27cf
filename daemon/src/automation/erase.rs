//! Erasure reaches automation: when the store erases a person, their journeys end, messages
//! still waiting for them are dropped, and their "why" records and recent sends are deleted
//! from `automation.redb` (and its log is overwritten). The store calls [`Automation::forget`] during each erasure, before
//! marking it finished (an error leaves it unfinished, to run again); erasures that finished
//! while automation was not listening (at open, or before this version) are swept at start.

use std::sync::{Arc, Weak};

use cxp_store::{Ck, StoreError};

use super::state::{outbox_key, sends_key};
use super::{Automation, lock, runner};

impl Automation {
    /// Removes what automation holds about the erased people `roots`.
    pub fn forget(self: &Arc<Self>, roots: &[Ck]) -> Result<(), StoreError> {
        if roots.is_empty() {
            return Ok(());
        }
        runner::step(self, 0, false, |engine, _, _| engine.forget(roots));
        let mut entries: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        for q in self.queues.values() {
            lock(&q.waiting).retain(|_, m| {
                let keep = !roots.contains(&m.root);
                if !keep {
                    entries.push((outbox_key(m.id), None));
                }
                keep
            });
        }
        for root in roots {
            for (key, _) in self.db.states(&format!("auto.w/{root:08x}/"))? {
                entries.push((key, None));
            }
            entries.push((sends_key(*root), None));
            lock(&self.sends).remove(root);
        }
        self.db.put_state(entries)?;
        // The log held the person's messages and why-records as they were written.
        self.db.scrub_log()?;
        for list in [&self.recent, &self.dead] {
            lock(list).retain(|w| !roots.contains(&w.root));
        }
        Ok(())
    }

    /// Listens to the store's erasures from now on, and forgets the people of those that
    /// finished since the last one seen.
    pub(super) fn listen_for_erasures(self: &Arc<Self>) -> Result<(), StoreError> {
        // Weak: the store must not keep automation alive (and automation holds the store).
        let weak: Weak<Automation> = Arc::downgrade(self);
        self.store.on_erase(Arc::new(move |keys: &[Ck]| match weak.upgrade() {
            Some(auto) => auto.forget(keys),
            None => Ok(()),
        }));
        let seen = lock(&self.meta).erasures_seen;
        let mut last = seen;
        for receipt in self.store.erasures()?.into_iter().filter(|r| r.id > seen) {
            self.forget(&receipt.keys)?;
            last = last.max(receipt.id);
        }
        if last > seen {
            let mut meta = lock(&self.meta);
            meta.erasures_seen = last;
            let bytes = serde_json::to_vec(&*meta).map_err(|e| StoreError::Format(e.to_string()))?;
            drop(meta);
            self.db.put_state(vec![("auto.meta".into(), Some(bytes))])?;
        }
        Ok(())
    }
}
