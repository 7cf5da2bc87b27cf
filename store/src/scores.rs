//! Model scores per customer: named columns of one `f32` per customer key (`churn`,
//! `purchase`), written whole by a scoring job and read by segments (`score.churn > 0.7`),
//! the 360 view, triggers and journeys.
//!
//! Scores are derived data with their own life: a model scores everyone at once, at a time of
//! its own, so they are not events (an event would move the customer's last-seen time) and not
//! profile traits (profiles are rebuilt from events). They live in the app-state table, cut
//! into pieces of 4,096 keys so that no value outgrows a 16 KiB page (see `pieces.rs`), and in
//! RAM as a dense column by key, loaded on first use.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::types::Ck;

const PREFIX: &str = "cxp.scores/";
const PIECE: usize = 4096;

/// One score column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreMeta {
    /// Name (`churn`).
    pub name: String,
    /// Version of the model that scored.
    pub version: u32,
    /// Time the features were taken at, ns.
    pub at: i64,
    /// When the scores were written, ns.
    pub written: i64,
    /// Customers scored.
    pub customers: u64,
    /// Length of the column (the largest key scored, plus one).
    pub slots: u64,
}

/// A score column in RAM.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// What it is.
    pub meta: ScoreMeta,
    /// By customer key (a person's root key when scored); NaN: not scored.
    values: Vec<f32>,
}

impl Scores {
    /// The score of key `ck`, if it was scored.
    pub fn get(&self, ck: Ck) -> Option<f32> {
        self.values.get(ck as usize).copied().filter(|v| !v.is_nan())
    }

    /// Every scored key with its score, by key.
    pub fn iter(&self) -> impl Iterator<Item = (Ck, f32)> + '_ {
        self.values.iter().enumerate().filter(|(_, v)| !v.is_nan()).map(|(k, v)| (k as Ck, *v))
    }
}

fn meta_key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

fn piece_key(name: &str, piece: usize) -> String {
    format!("{PREFIX}{name}/{piece:06}")
}

fn encode_piece(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl Store {
    /// Replaces score column `name` by `scores` (root key, score), all in one durable
    /// transaction; keys of erased customers are left out.
    pub fn put_scores(&self, name: &str, version: u32, at: i64, scores: &[(Ck, f32)]) -> Result<ScoreMeta> {
        if name.is_empty() || name.contains('/') {
            return Err(StoreError::Format(format!("score name {name:?}: must be non-empty, without '/'")));
        }
        // Under the erasure lock: an erasure that finished while the scores were computed has
        // removed its keys' identifiers, and one that starts now waits for this write and then
        // forgets what it wrote.
        let _no_erasure = self.erasing.lock().unwrap_or_else(|p| p.into_inner());
        let hidden = self.shared.hidden_keys.read().unwrap_or_else(|p| p.into_inner()).clone();
        let len = scores.iter().map(|s| s.0 as usize + 1).max().unwrap_or(0);
        let mut values = vec![f32::NAN; len];
        let mut customers = 0u64;
        for &(ck, v) in scores {
            if !hidden.contains(ck) && !v.is_nan() && self.customer_id(ck).is_some() {
                values[ck as usize] = v;
                customers += 1;
            }
        }
        let meta =
            ScoreMeta { name: name.to_owned(), version, at, written: crate::now_ns(), customers, slots: len as u64 };
        let old_pieces = match self.scores(name)? {
            Some(old) => (old.meta.slots as usize).div_ceil(PIECE),
            None => 0,
        };
        let mut entries = Vec::new();
        let new_pieces = values.len().div_ceil(PIECE);
        for (i, chunk) in values.chunks(PIECE).enumerate() {
            entries.push((piece_key(name, i), Some(encode_piece(chunk))));
        }
        for i in new_pieces..old_pieces {
            entries.push((piece_key(name, i), None));
        }
        let encoded = postcard::to_stdvec(&meta).map_err(|e| StoreError::Format(e.to_string()))?;
        entries.push((meta_key(name), Some(encoded)));
        self.put_state(entries)?;
        let column = Arc::new(Scores { meta: meta.clone(), values });
        self.scores_cache().insert(name.to_owned(), column);
        Ok(meta)
    }

    /// Score column `name`, if a model has written it.
    pub fn scores(&self, name: &str) -> Result<Option<Arc<Scores>>> {
        if let Some(s) = self.scores_cache().get(name) {
            return Ok(Some(Arc::clone(s)));
        }
        let Some(meta) = self.state(&meta_key(name))? else { return Ok(None) };
        let meta: ScoreMeta =
            postcard::from_bytes(&meta).map_err(|e| StoreError::Format(format!("scores {name}: {e}")))?;
        let mut values = Vec::new();
        for (_, bytes) in self.states(&format!("{PREFIX}{name}/"))? {
            values.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        }
        let column = Arc::new(Scores { meta, values });
        self.scores_cache().insert(name.to_owned(), Arc::clone(&column));
        Ok(Some(column))
    }

    /// Every score column's description.
    pub fn score_columns(&self) -> Result<Vec<ScoreMeta>> {
        let mut out = Vec::new();
        for (key, bytes) in self.states(PREFIX)? {
            if key[PREFIX.len()..].contains('/') {
                continue;
            }
            out.push(postcard::from_bytes(&bytes).map_err(|e| StoreError::Format(format!("{key}: {e}")))?);
        }
        Ok(out)
    }

    /// The scores of person `root` (by its root key, or any member's), by name.
    pub fn scores_of(&self, root: Ck) -> Result<BTreeMap<String, f32>> {
        let members = self.members(root);
        let mut out = BTreeMap::new();
        for meta in self.score_columns()? {
            if let Some(col) = self.scores(&meta.name)? {
                // Scored as another member's root before two identities merged: any will do,
                // the root's first.
                let v = std::iter::once(root).chain(members.iter().copied()).find_map(|k| col.get(k));
                if let Some(v) = v {
                    out.insert(meta.name, v);
                }
            }
        }
        Ok(out)
    }

    /// Removes `keys` from every score column (an erasure; the caller holds the erasure lock,
    /// which `put_scores` takes too).
    pub(crate) fn forget_scores(&self, keys: &roaring::RoaringBitmap) -> Result<()> {
        for meta in self.score_columns()? {
            let Some(col) = self.scores(&meta.name)? else { continue };
            let mut values = col.values.clone();
            let mut touched = std::collections::BTreeSet::new();
            for k in keys {
                if let Some(v) = values.get_mut(k as usize)
                    && !v.is_nan()
                {
                    *v = f32::NAN;
                    touched.insert(k as usize / PIECE);
                }
            }
            if touched.is_empty() {
                continue;
            }
            let mut meta = col.meta.clone();
            meta.customers = values.iter().filter(|v| !v.is_nan()).count() as u64;
            let mut entries: Vec<(String, Option<Vec<u8>>)> = touched
                .iter()
                .map(|&p| {
                    (
                        piece_key(&meta.name, p),
                        Some(encode_piece(&values[p * PIECE..((p + 1) * PIECE).min(values.len())])),
                    )
                })
                .collect();
            let encoded = postcard::to_stdvec(&meta).map_err(|e| StoreError::Format(e.to_string()))?;
            entries.push((meta_key(&meta.name), Some(encoded)));
            self.put_state(entries)?;
            self.scores_cache().insert(meta.name.clone(), Arc::new(Scores { meta, values }));
        }
        Ok(())
    }

    fn scores_cache(&self) -> std::sync::MutexGuard<'_, hashbrown::HashMap<String, Arc<Scores>>> {
        self.shared.scores.lock().unwrap_or_else(|p| p.into_inner())
    }
}
