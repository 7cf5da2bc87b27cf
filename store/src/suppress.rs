//! Suppression: identifiers refused at ingest because their customer was erased or opted out.
//!
//! An erased customer's identifiers are gone from the store, so they are remembered only as
//! salted SHA-256 digests: enough to recognise the phone number when it comes back, not to
//! read it. An opted-out customer is still stored; their keys are listed instead. Refused
//! events are counted, never quarantined: a quarantine line would keep the very data the
//! customer asked not to be kept.

use std::collections::HashSet;

use redb::{ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Result, meta_err};
use crate::tables::{META, OPTED_OUT, SUPPRESSED};
use crate::types::Ck;

const SALT_KEY: &str = "suppression_salt";

/// A digest of one identifier.
pub(crate) type Digest32 = [u8; 32];

/// Why an identifier is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    /// The erasure that suppressed it.
    pub erasure: u64,
    /// When, in ns since the epoch.
    pub at: i64,
}

/// The writer's suppression state.
#[derive(Debug, Default)]
pub(crate) struct Suppression {
    /// Refuse suppressed identifiers at all (`StoreOptions::suppression`).
    pub(crate) enabled: bool,
    salt: [u8; 16],
    digests: HashSet<Digest32>,
    /// Keys of customers who opted out.
    pub(crate) opted_out: RoaringBitmap,
}

impl Suppression {
    /// Loads the digests and opted-out keys; creates the salt of a new store.
    pub(crate) fn load(db: &redb::Database, enabled: bool) -> Result<Suppression> {
        let txn = db.begin_read()?;
        let salt = read_salt(&txn)?;
        let salt = match salt {
            Some(s) => s,
            None => {
                let salt: [u8; 16] = rand::random();
                let w = db.begin_write()?;
                w.open_table(META)?.insert(SALT_KEY, salt.as_slice())?;
                w.commit()?;
                salt
            }
        };
        let mut digests = HashSet::new();
        for entry in txn.open_table(SUPPRESSED)?.iter()? {
            let (k, _) = entry?;
            if let Ok(d) = Digest32::try_from(k.value()) {
                digests.insert(d);
            }
        }
        let mut opted_out = RoaringBitmap::new();
        for entry in txn.open_table(OPTED_OUT)?.iter()? {
            opted_out.insert(entry?.0.value());
        }
        Ok(Suppression { enabled, salt, digests, opted_out })
    }

    /// Whether any check is needed (most stores suppress nothing).
    pub(crate) fn active(&self) -> bool {
        self.enabled && (!self.digests.is_empty() || !self.opted_out.is_empty())
    }

    /// The salted digest of identifier `(kind, value)`.
    pub(crate) fn digest(&self, kind: u8, value: &str) -> Digest32 {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update([kind]);
        h.update(value.as_bytes());
        h.finalize().into()
    }

    /// Whether an identifier with key `known` (if it has one) is refused.
    pub(crate) fn refuses(&self, known: Option<Ck>, kind: u8, value: &str) -> bool {
        match known {
            Some(ck) => self.opted_out.contains(ck),
            None => !self.digests.is_empty() && self.digests.contains(&self.digest(kind, value)),
        }
    }

    /// Records digests of erased identifiers in `txn`; [`Suppression::remember`] after commit.
    pub(crate) fn write(txn: &WriteTransaction, digests: &[Digest32], record: &Suppressed) -> Result<()> {
        let mut table = txn.open_table(SUPPRESSED)?;
        let bytes = postcard::to_allocvec(record).map_err(meta_err("suppression"))?;
        for d in digests {
            table.insert(d.as_slice(), bytes.as_slice())?;
        }
        Ok(())
    }

    /// Digests committed by an erasure.
    pub(crate) fn remember(&mut self, digests: impl IntoIterator<Item = Digest32>) {
        self.digests.extend(digests);
    }
}

fn read_salt(txn: &ReadTransaction) -> Result<Option<[u8; 16]>> {
    let meta = txn.open_table(META)?;
    let Some(v) = meta.get(SALT_KEY)? else { return Ok(None) };
    let salt = <[u8; 16]>::try_from(v.value()).map_err(|_| crate::StoreError::Format("suppression salt".into()))?;
    Ok(Some(salt))
}

/// The identifiers (type, value as stored) that the events of raw line protocol carry: tags
/// and fields renamed and normalised by `dict` as at ingest (without its hard rules, which
/// are why many quarantined lines are there). `None` when the line does not parse.
pub(crate) fn raw_identifiers(
    raw: &[u8],
    dict: Option<&crate::dict::Dictionary>,
    plan: &crate::identity::IdentityPlan,
) -> Option<Vec<(u8, String)>> {
    use crate::dict::{Normalized, normalize};
    use cxp_lp::FieldValue;
    let mut batch = crate::Batch::new("");
    batch.push_line_protocol(raw, cxp_lp::ParseOptions::default(), 0, 1);
    if batch.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for event in batch.events() {
        let values = event.tags().map(|(k, v)| (k, FieldValue::Str(v.into()))).chain(event.fields());
        for (key, value) in values {
            let (name, value) = match dict.and_then(|d| d.field(key).map(|spec| (d, spec))) {
                Some((d, spec)) => {
                    let value = match normalize(spec.kind, &value, spec.values.as_ref(), d.country()) {
                        Normalized::Changed(v) => v,
                        Normalized::Same | Normalized::Invalid(_) => value,
                    };
                    (spec.name.as_str(), value)
                }
                None => (key, value),
            };
            let Some(slot) = plan.slot_of(name) else { continue };
            let text = match value {
                FieldValue::Str(s) => s.into_owned(),
                FieldValue::I64(i) => i.to_string(),
                FieldValue::U64(u) => u.to_string(),
                _ => continue,
            };
            let kind = plan.fields[slot].1;
            if !plan.rule(kind).blocks(&text) {
                out.push((kind, text));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_depend_on_salt_kind_and_value() {
        let a = Suppression { enabled: true, salt: [1; 16], ..Default::default() };
        let b = Suppression { enabled: true, salt: [2; 16], ..Default::default() };
        assert_eq!(a.digest(4, "+8613800000000"), a.digest(4, "+8613800000000"));
        assert_ne!(a.digest(4, "+8613800000000"), b.digest(4, "+8613800000000"));
        assert_ne!(a.digest(4, "+8613800000000"), a.digest(1, "+8613800000000"));
        let mut s = a;
        assert!(!s.active());
        s.remember([s.digest(4, "+8613800000000")]);
        assert!(s.active());
        assert!(s.refuses(None, 4, "+8613800000000"));
        assert!(!s.refuses(None, 4, "+8613800000001"));
        assert!(!s.refuses(Some(7), 4, "+8613800000000"), "a known key is checked against opt-outs only");
        s.opted_out.insert(7);
        assert!(s.refuses(Some(7), 1, "c-7"));
    }
}
