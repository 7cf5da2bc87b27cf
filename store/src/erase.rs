//! Erasure (GDPR article 17): everything the store holds about one person, removed.
//!
//! In four steps, each its own transaction, so that a crash between them resumes instead of
//! leaving half a person behind:
//! 1. The writer, alone: identifiers, links, refusals, splits, opt-outs, the profile, and
//!    quarantined lines that name an identifier are deleted; the identifiers' digests are
//!    added to the suppression list; a receipt (keys and counts, no personal data) is written.
//!    The keys join the manifest's hidden set, so every scan and search leaves the person out
//!    from the moment this commits.
//! 2. Every part holding one of the keys is rewritten without its rows (merge lock held, so no
//!    merge brings old rows back).
//! 3. The search index deletes the person's documents and merges its segments.
//! 4. The receipt is marked finished and the keys leave the hidden set.
//!
//! At open, receipts not finished have their keys hidden and steps 2-4 run again (each is
//! idempotent). Bytes freed in the redb file are overwritten by `Store::compact`, which
//! copies the live data into a new file.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use redb::{Durability, ReadableDatabase, ReadableTable};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::codec::Effort;
use crate::error::{Result, StoreError, meta_err};
use crate::identity::Link;
use crate::merge::{MERGED_CHUNK_ROWS, read_part};
use crate::part::{EncodedPart, Level};
use crate::quarantine::QuarantineEntry;
use crate::store::Store;
use crate::suppress::{Suppressed, Suppression};
use crate::tables::{CUSTOMER_KEYS, ERASURES, LINKS, OPTED_OUT, PROFILES, QUARANTINE, REFUSALS, SPLITS};
use crate::types::Ck;
use crate::writer::{FRESH_CHUNK_ROWS, Request, Swap, Writer, now_ns};

/// Called with the keys of an erased person; see [`Store::on_erase`].
pub type EraseListener = Arc<dyn Fn(&[Ck]) -> Result<()> + Send + Sync>;

/// What an erasure removed. Holds no personal data: customer keys are numbers that mean
/// nothing once the identifiers they stood for are gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReceipt {
    /// Receipt number.
    pub id: u64,
    /// Who asked (a token id or an operator name, never the person's identifiers).
    pub by: String,
    /// When the erasure started, ns since the epoch.
    pub started_ns: i64,
    /// When every step finished; `None` while it runs (or was interrupted: it resumes at open).
    pub finished_ns: Option<i64>,
    /// The person's customer keys.
    pub keys: Vec<Ck>,
    /// Identifiers removed, per type name.
    pub identifiers: BTreeMap<String, u64>,
    /// Identity links removed.
    pub links: u64,
    /// Guardrail refusals removed.
    pub refusals: u64,
    /// Quarantined lines removed (those naming one of the identifiers).
    pub quarantined: u64,
    /// Whether the identifiers are refused at ingest from now on.
    pub suppressed: bool,
    /// Events removed from parts.
    pub events: u64,
    /// Parts rewritten (or dropped, when nothing else was in them).
    pub parts: u64,
}

/// Whether `raw` names `value` as a whole token: the bytes around it are not identifier
/// characters, so erasing `c-1` leaves lines about `c-12` alone.
pub fn mentions(raw: &[u8], value: &str) -> bool {
    let v = value.as_bytes();
    if v.is_empty() {
        return false;
    }
    let part_of_id = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'+') || b >= 0x80;
    memchr::memmem::find_iter(raw, v).any(|at| {
        let before = at.checked_sub(1).map(|i| raw[i]);
        let after = raw.get(at + v.len()).copied();
        // A value that itself starts or ends with such a character (a phone's `+`) is whole
        // on that side already.
        let open = before.is_none_or(|b| !part_of_id(b) || !part_of_id(v[0]));
        let close = after.is_none_or(|b| !part_of_id(b) || !part_of_id(v[v.len() - 1]));
        open && close
    })
}

/// Which raw lines name a person: those whose identifiers (found as the writer finds them,
/// through the dictionary) are the person's, and any line where one of the person's
/// identifiers appears as a whole word, unless it is a short number (customer `42` must not
/// take `amount=42` of someone else along). A line that does not parse is judged by words.
pub(crate) struct Naming<'a> {
    ids: std::collections::HashSet<(u8, &'a str)>,
    words: Vec<&'a str>,
    all: Vec<&'a str>,
    dict: Option<&'a crate::dict::Dictionary>,
    plan: &'a crate::identity::IdentityPlan,
}

impl<'a> Naming<'a> {
    pub(crate) fn new(
        ids: &'a [(Ck, u8, String)],
        dict: Option<&'a crate::dict::Dictionary>,
        plan: &'a crate::identity::IdentityPlan,
    ) -> Self {
        let short_number = |v: &str| v.len() < 7 && v.bytes().all(|b| b.is_ascii_digit());
        Naming {
            ids: ids.iter().map(|(_, k, v)| (*k, v.as_str())).collect(),
            words: ids.iter().map(|(_, _, v)| v.as_str()).filter(|v| !short_number(v)).collect(),
            all: ids.iter().map(|(_, _, v)| v.as_str()).collect(),
            dict,
            plan,
        }
    }

    pub(crate) fn names(&self, raw: &[u8]) -> bool {
        match crate::suppress::raw_identifiers(raw, self.dict, self.plan) {
            Some(found) => {
                found.iter().any(|(k, v)| self.ids.contains(&(*k, v.as_str())))
                    || self.words.iter().any(|w| mentions(raw, w))
            }
            None => self.all.iter().any(|w| mentions(raw, w)),
        }
    }
}

impl Writer {
    /// Step 1 for the person with root `root`: `None` when it has no identifiers left (erased
    /// already, or never seen).
    pub(crate) fn erase_begin(&mut self, root: Ck, by: &str) -> Result<Option<ErasureReceipt>> {
        // Profiles must include every committed event before they are dropped.
        self.drain_stage();
        let (keys, ids): (Vec<Ck>, Vec<(Ck, u8, String)>) = {
            let identity = crate::identity::resolve::read(&self.shared.identity);
            let keys = identity.graph.members(root);
            let ids = keys.iter().filter_map(|k| identity.index.get(*k).map(|(t, v)| (*k, t, v.to_owned()))).collect();
            (keys, ids)
        };
        if ids.is_empty() {
            return Ok(None);
        }
        let set: RoaringBitmap = keys.iter().copied().collect();
        let values: Vec<&str> = ids.iter().map(|(_, _, v)| v.as_str()).collect();
        let now = now_ns();
        let mut receipt =
            ErasureReceipt { by: by.to_owned(), started_ns: now, keys: keys.clone(), ..ErasureReceipt::default() };
        {
            let identity = crate::identity::resolve::read(&self.shared.identity);
            for (_, kind, _) in &ids {
                *receipt.identifiers.entry(identity.types.name(*kind).to_owned()).or_default() += 1;
            }
        }
        let digests: Vec<_> = ids.iter().map(|(_, t, v)| self.resolver.suppression.digest(*t, v)).collect();
        receipt.suppressed = self.resolver.suppression.enabled;
        let mut txn = self.shared.db.begin_write()?;
        txn.set_durability(Durability::Immediate).map_err(|e| StoreError::Format(e.to_string()))?;
        {
            let mut cks = txn.open_table(CUSTOMER_KEYS)?;
            let mut profiles = txn.open_table(PROFILES)?;
            let mut opted = txn.open_table(OPTED_OUT)?;
            let mut legacy = txn.open_table(crate::tables::IDENTITIES)?;
            for k in &keys {
                cks.remove(*k)?;
                profiles.remove(*k)?;
                opted.remove(*k)?;
            }
            for (_, kind, value) in &ids {
                legacy.remove((*kind, value.as_str()))?;
            }
            let mut links = txn.open_table(LINKS)?;
            let mut gone = Vec::new();
            for entry in links.iter()? {
                let (id, v) = entry?;
                let link: Link = postcard::from_bytes(v.value()).map_err(meta_err(format!("link {}", id.value())))?;
                if set.contains(link.a) || set.contains(link.b) {
                    gone.push(id.value());
                }
            }
            // Link ids are never reused (splits name links by id), even when the last go.
            let floor = links.last()?.map_or(0, |(k, _)| k.value() + 1);
            let mut splits = txn.open_table(SPLITS)?;
            for id in &gone {
                links.remove(*id)?;
                splits.remove(*id)?;
            }
            receipt.links = gone.len() as u64;
            crate::writer::raise_floor(&txn, crate::writer::LINK_FLOOR, floor)?;
            let mut refusals = txn.open_table(REFUSALS)?;
            let floor = refusals.last()?.map_or(0, |(k, _)| k.value() + 1);
            crate::writer::raise_floor(&txn, crate::writer::REFUSAL_FLOOR, floor)?;
            let mut gone = Vec::new();
            for entry in refusals.iter()? {
                let (id, v) = entry?;
                let r: crate::identity::Refusal =
                    postcard::from_bytes(v.value()).map_err(meta_err(format!("refusal {}", id.value())))?;
                if set.contains(r.key) || values.contains(&r.value.as_str()) {
                    gone.push(id.value());
                }
            }
            for id in &gone {
                refusals.remove(*id)?;
            }
            receipt.refusals = gone.len() as u64;
            let mut quarantine = txn.open_table(QUARANTINE)?;
            let naming = Naming::new(&ids, self.dictionary.as_deref(), &self.shared.plan);
            let mut gone = Vec::new();
            for entry in quarantine.iter()? {
                let (id, v) = entry?;
                let e: QuarantineEntry =
                    postcard::from_bytes(v.value()).map_err(meta_err(format!("quarantine entry {}", id.value())))?;
                if naming.names(&e.raw) {
                    gone.push(id.value());
                }
            }
            for id in &gone {
                quarantine.remove(*id)?;
            }
            receipt.quarantined = gone.len() as u64;
            let mut erasures = txn.open_table(ERASURES)?;
            receipt.id = erasures.last()?.map_or(1, |(k, _)| k.value() + 1);
            if receipt.suppressed {
                Suppression::write(&txn, &digests, &Suppressed { erasure: receipt.id, at: now })?;
            }
            let bytes = postcard::to_allocvec(&receipt).map_err(meta_err("erasure receipt"))?;
            erasures.insert(receipt.id, bytes.as_slice())?;
        }
        {
            // Look-ups by identifier stop finding the person just before the commit (undone if
            // it fails); scans from the commit on, as they take the manifest under this lock.
            let before = set_hidden(&self.shared, |h| h | &set);
            let mut current = self.shared.current.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = txn.commit() {
                drop(current);
                set_hidden(&self.shared, |_| (*before).clone());
                return Err(e.into());
            }
            let mut next = (**current).clone();
            next.hidden = Arc::new(&*next.hidden | &set);
            *current = Arc::new(next);
        }
        {
            let mut identity = crate::identity::resolve::write(&self.shared.identity);
            for k in &keys {
                identity.index.remove(*k);
            }
        }
        if receipt.suppressed {
            self.resolver.suppression.remember(digests);
        }
        for k in &keys {
            self.resolver.suppression.opted_out.remove(*k);
        }
        {
            let mut profiles = self.shared.profiles.write().unwrap_or_else(|p| p.into_inner());
            for k in &keys {
                profiles.drop_profile(*k);
            }
        }
        // The links are gone from the table: the graph (and the resolver's split pairs) follow.
        // The erasure has happened whatever fails from here: say so, but return its receipt.
        if let Err(e) = self.rebuild_graph() {
            self.report(format!("rebuilding the identity graph after erasure {}: {e}", receipt.id));
        }
        // Splits may be gone: the checkpoint records how many there are, so write one now.
        if let Err(e) = self.checkpoint(true) {
            self.report(format!("profile checkpoint after erasure {}: {e}", receipt.id));
        }
        Ok(Some(receipt))
    }

    /// Step 4: the receipt is finished; its keys stop being hidden (no row of them is left).
    pub(crate) fn erase_finish(&mut self, mut receipt: ErasureReceipt) -> Result<ErasureReceipt> {
        receipt.finished_ns = Some(now_ns());
        let mut txn = self.shared.db.begin_write()?;
        txn.set_durability(Durability::Immediate).map_err(|e| StoreError::Format(e.to_string()))?;
        {
            let bytes = postcard::to_allocvec(&receipt).map_err(meta_err("erasure receipt"))?;
            txn.open_table(ERASURES)?.insert(receipt.id, bytes.as_slice())?;
        }
        let mut current = self.shared.current.lock().unwrap_or_else(|p| p.into_inner());
        txn.commit()?;
        let mut next = (**current).clone();
        let keys: RoaringBitmap = receipt.keys.iter().copied().collect();
        next.hidden = Arc::new(&*next.hidden - &keys);
        *current = Arc::new(next);
        drop(current);
        // No identifier leads to these keys any more.
        set_hidden(&self.shared, |h| h - &keys);
        Ok(receipt)
    }

    /// Records that the person with root `root` opted out of (`out`) or back into processing.
    /// Returns the keys changed.
    pub(crate) fn opt_out(&mut self, root: Ck, out: bool) -> Result<Vec<Ck>> {
        let keys = crate::identity::resolve::read(&self.shared.identity).graph.members(root);
        let mut txn = self.shared.db.begin_write()?;
        txn.set_durability(Durability::Immediate).map_err(|e| StoreError::Format(e.to_string()))?;
        let now = now_ns();
        {
            let mut table = txn.open_table(OPTED_OUT)?;
            for k in &keys {
                if out {
                    table.insert(*k, now)?;
                } else {
                    table.remove(*k)?;
                }
            }
        }
        txn.commit()?;
        for k in &keys {
            if out {
                self.resolver.suppression.opted_out.insert(*k);
            } else {
                self.resolver.suppression.opted_out.remove(*k);
            }
        }
        Ok(keys)
    }
}

impl Store {
    /// Erases the person identified by `id` (any of their identifiers) and waits until every
    /// step is done. `by` says who asked, for the receipt. `None`: no such customer.
    pub fn erase(&self, id: &str, by: &str) -> Result<Option<ErasureReceipt>> {
        let _in_order = self.erasing.lock().unwrap_or_else(|p| p.into_inner());
        // One left unfinished (see `finish_erasures`) goes first.
        self.finish_pending()?;
        match self.begin(id, by)? {
            Some(receipt) => self.erase_rest(receipt).map(Some),
            None => Ok(None),
        }
    }

    /// Step 1 of [`Store::erase`] only: the person is hidden from every query and their
    /// identifiers, links and profile are gone when this returns; their events are removed by
    /// [`Store::finish_erasures`] or at the next open.
    pub fn erase_start(&self, id: &str, by: &str) -> Result<Option<ErasureReceipt>> {
        let _in_order = self.erasing.lock().unwrap_or_else(|p| p.into_inner());
        self.begin(id, by)
    }

    fn begin(&self, id: &str, by: &str) -> Result<Option<ErasureReceipt>> {
        let Some(ck) = self.customer_key(id)? else { return Ok(None) };
        let root = self.root(ck);
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        let (reply, rx) = sync_channel(1);
        tx.send(Request::Erase { root, by: by.to_owned(), reply }).map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Quarantined lines that name the person `id` identifies (the lines an erasure of them
    /// would delete). `None`: no such customer.
    pub fn quarantine_naming(&self, id: &str) -> Result<Option<Vec<QuarantineEntry>>> {
        let Some(ck) = self.customer_key(id)? else { return Ok(None) };
        let ids: Vec<(Ck, u8, String)> = {
            let identity = crate::identity::resolve::read(&self.shared.identity);
            let keys = identity.graph.members(ck);
            keys.iter().filter_map(|k| identity.index.get(*k).map(|(t, v)| (*k, t, v.to_owned()))).collect()
        };
        let naming = Naming::new(&ids, self.dictionary.as_deref(), &self.shared.plan);
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.quarantine(after, 10_000)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            out.extend(page.into_iter().filter(|e| naming.names(&e.raw)));
        }
        Ok(Some(out))
    }

    /// Every erasure receipt, oldest first.
    pub fn erasures(&self) -> Result<Vec<ErasureReceipt>> {
        let (_, txn) = self.shared.snapshot()?;
        read_receipts(&txn)
    }

    /// Refuses (`out`) or accepts again events carrying any identifier of the person `id`.
    /// `None`: no such customer.
    pub fn opt_out(&self, id: &str, out: bool) -> Result<Option<Vec<Ck>>> {
        let Some(ck) = self.customer_key(id)? else { return Ok(None) };
        let root = self.root(ck);
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        let (reply, rx) = sync_channel(1);
        tx.send(Request::OptOut { root, out, reply }).map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?.map(Some)
    }

    /// Whether the person `ck` belongs to opted out.
    pub fn opted_out(&self, ck: Ck) -> Result<bool> {
        let (_, txn) = self.shared.snapshot()?;
        let table = txn.open_table(OPTED_OUT)?;
        for k in self.members(ck) {
            if table.get(k)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Calls `forget` with the erased person's keys during every later erasure, before it is
    /// marked finished: what keeps its own data about customers (automation) removes theirs,
    /// and an error leaves the erasure unfinished, to be run again. Erasures finished at open
    /// came before any listener: read them with [`Store::erasures`].
    pub fn on_erase(&self, forget: EraseListener) {
        self.erase_listeners.lock().unwrap_or_else(|p| p.into_inner()).push(forget);
    }

    /// Steps 2-4 of every unfinished erasure (run at open too).
    pub fn finish_erasures(&self) -> Result<()> {
        let _in_order = self.erasing.lock().unwrap_or_else(|p| p.into_inner());
        self.finish_pending()
    }

    /// Whether an erasure is unfinished (it failed, or the store was closed during one).
    pub fn erasures_pending(&self) -> bool {
        !self.shared.snapshot().map(|(m, _)| m.hidden.is_empty()).unwrap_or(true)
    }

    fn finish_pending(&self) -> Result<()> {
        let (_, txn) = self.shared.snapshot()?;
        let pending: Vec<_> = read_receipts(&txn)?.into_iter().filter(|r| r.finished_ns.is_none()).collect();
        drop(txn);
        for receipt in pending {
            self.erase_rest(receipt)?;
        }
        Ok(())
    }

    fn erase_rest(&self, mut receipt: ErasureReceipt) -> Result<ErasureReceipt> {
        let keys: RoaringBitmap = receipt.keys.iter().copied().collect();
        let (events, parts) = self.rewrite_without(&keys)?;
        self.forget_scores(&keys)?;
        let listeners = self.erase_listeners.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for forget in listeners {
            forget(&receipt.keys)?;
        }
        receipt.events += events;
        receipt.parts += parts;
        match (&self.search_tx, self.path().parent()) {
            (Some(tx), _) => {
                let (reply, rx) = sync_channel(1);
                tx.send(crate::search::indexer::Work::Erase(receipt.id, receipt.keys.clone(), reply))
                    .map_err(|_| StoreError::WriterGone)?;
                rx.recv().map_err(|_| StoreError::WriterGone)??;
            }
            // Open without its index (the command line): the index on disk is this store's,
            // and nothing else has it open while the store is.
            (None, Some(dir)) => crate::search::indexer::offline(dir, std::slice::from_ref(&receipt), false)?,
            (None, None) => {}
        }
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        let (reply, rx) = sync_channel(1);
        tx.send(Request::EraseFinish { receipt, reply }).map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    // Step 2: rewrites every part holding one of `keys` without their rows, one swap per
    // part. Returns (rows removed, parts rewritten).
    fn rewrite_without(&self, keys: &RoaringBitmap) -> Result<(u64, u64)> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        // No merge may run meanwhile: it could swap in rows read before they were removed.
        let _one_at_a_time = self.shared.merging.lock().unwrap_or_else(|p| p.into_inner());
        let (manifest, txn) = self.shared.snapshot()?;
        let (mut rows, mut parts) = (0, 0);
        for part in manifest.all().filter(|p| !p.bitmap.is_disjoint(keys)) {
            let data = read_part(&txn, part)?;
            let keep: Vec<usize> = (0..data.len()).filter(|&r| !keys.contains(data.ck[r])).collect();
            rows += (data.len() - keep.len()) as u64;
            parts += 1;
            let mut added = Vec::new();
            if !keep.is_empty() {
                let (effort, chunk_rows) = match part.meta.level {
                    Level::Fresh => (Effort::Fresh, FRESH_CHUNK_ROWS),
                    _ => (Effort::Merged, MERGED_CHUNK_ROWS),
                };
                let mut encoded: EncodedPart = data.gather(&keep).encode(effort, chunk_rows);
                encoded.meta.measurement = part.meta.measurement.clone();
                encoded.meta.level = part.meta.level;
                encoded.meta.window_start = part.meta.window_start;
                added.push(encoded);
            }
            let (reply, done) = sync_channel(1);
            let swap = Swap { removed: vec![part.meta.id], added };
            tx.send(Request::Swap { swap, reply }).map_err(|_| StoreError::WriterGone)?;
            done.recv().map_err(|_| StoreError::WriterGone)??;
        }
        Ok((rows, parts))
    }
}

// Replaces the hidden keys of look-ups by `change(old)`; returns the old set.
fn set_hidden(
    shared: &crate::manifest::Shared,
    change: impl FnOnce(&RoaringBitmap) -> RoaringBitmap,
) -> Arc<RoaringBitmap> {
    let mut hidden = shared.hidden_keys.write().unwrap_or_else(|p| p.into_inner());
    let before = Arc::clone(&hidden);
    *hidden = Arc::new(change(&before));
    before
}

pub(crate) fn read_receipts(txn: &redb::ReadTransaction) -> Result<Vec<ErasureReceipt>> {
    let mut out = Vec::new();
    for entry in txn.open_table(ERASURES)?.iter()? {
        let (k, v) = entry?;
        out.push(postcard::from_bytes(v.value()).map_err(meta_err(format!("erasure receipt {}", k.value())))?);
    }
    Ok(out)
}

/// The keys of unfinished erasures, hidden from scans until they finish.
pub(crate) fn pending_keys(db: &redb::Database) -> Result<RoaringBitmap> {
    let txn = db.begin_read()?;
    Ok(read_receipts(&txn)?.iter().filter(|r| r.finished_ns.is_none()).flat_map(|r| r.keys.iter().copied()).collect())
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_whole_identifiers_only() {
        assert!(mentions(b"order,customer=c-1 amount=1", "c-1"));
        assert!(mentions(b"order customer=\"c-1\"", "c-1"));
        assert!(!mentions(b"order,customer=c-12 amount=1", "c-1"));
        assert!(!mentions(b"order,customer=xc-1 amount=1", "c-1"));
        assert!(mentions(b"signup phone=\"+8613800000000\"", "+8613800000000"));
        assert!(mentions(b"signup,phone=+8613800000000 x=1", "+8613800000000"));
        assert!(!mentions(b"signup phone=\"+86138000000001\"", "+8613800000000"));
        assert!(mentions("review name=\"张伟\",text=\"好\"".as_bytes(), "张伟"));
        assert!(!mentions(b"anything", ""));
    }
}
