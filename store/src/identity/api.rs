//! The store's identity API: look a customer up by any identifier, explain why identifiers
//! are one customer, undo a link, and list what the guardrails refused.

use redb::ReadableTable;

use super::resolve::read;
use super::{IdTypes, Link, Refusal, Split};
use crate::dict::{FieldKind, Normalized, normalize};
use crate::error::{Result, StoreError, meta_err};
use crate::store::Store;
use crate::tables::{BLOCKED, LINKS, REFUSALS, SPLITS};
use crate::types::Ck;
use crate::writer::Request;

/// One customer's identifiers and the links that make them one (see [`Store::identity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityView {
    /// The key standing for the customer.
    pub root: Ck,
    /// Every linked identifier: key, type, value.
    pub identifiers: Vec<(Ck, String, String)>,
    /// The links that join them, oldest first.
    pub links: Vec<Link>,
    /// Links of these identifiers that an operator split, with the split.
    pub splits: Vec<(Link, Split)>,
    /// Links of these identifiers that a guardrail refused.
    pub refusals: Vec<Refusal>,
}

impl Store {
    /// The key of identifier `id` of any type, strongest type first (`customer` ids, cards,
    /// emails, phones, devices). With a data dictionary, `id` is also tried as the dictionary
    /// normalises it, so ` ZW@Example.com` finds `zw@example.com` and `13800000000` finds
    /// `+8613800000000`. `#KEY` names a customer by key.
    pub fn customer_key(&self, id: &str) -> Result<Option<Ck>> {
        let found = self.find_key(id)?;
        // A person being erased is gone from the first step's commit on, before the in-memory
        // index forgets their identifiers.
        let hidden = self.shared.hidden_keys.read().unwrap_or_else(|p| p.into_inner());
        Ok(found.filter(|ck| !hidden.contains(*ck)))
    }

    fn find_key(&self, id: &str) -> Result<Option<Ck>> {
        let identity = read(&self.shared.identity);
        if let Some(ck) = identity.find_any(self.shared.plan.lookup.iter().copied(), id) {
            return Ok(Some(ck));
        }
        // `#KEY`: the customer key itself, as search hits and segment members give it (what
        // a role that sees identifiers masked can still open).
        if let Some(ck) = id.strip_prefix('#').and_then(|k| k.parse::<Ck>().ok())
            && identity.index.get(ck).is_some()
        {
            return Ok(Some(ck));
        }
        let Some(dict) = &self.dictionary else { return Ok(None) };
        for spec in dict.fields() {
            let (Some(ty), true) = (&spec.identifier, matches!(spec.kind, FieldKind::Email | FieldKind::Phone)) else {
                continue;
            };
            let Some(kind) = identity.types.kind(ty) else { continue };
            if let Normalized::Changed(cxp_lp::FieldValue::Str(v)) =
                normalize(spec.kind, &cxp_lp::FieldValue::Str(id.into()), None, dict.country())
                && let Some(ck) = identity.index.find(kind, &v)
            {
                return Ok(Some(ck));
            }
        }
        Ok(None)
    }

    /// The identifier (type, value) a customer key was allocated for.
    pub fn customer_id(&self, ck: Ck) -> Option<(String, String)> {
        let identity = read(&self.shared.identity);
        identity.index.get(ck).map(|(kind, id)| (identity.types.name(kind).to_owned(), id.to_owned()))
    }

    /// The customer key that stands for the whole person `ck` belongs to (the first key of
    /// the linked identifiers).
    pub fn root(&self, ck: Ck) -> Ck {
        read(&self.shared.identity).graph.root(ck)
    }

    /// Every key of the person `ck` belongs to, smallest (the root) first.
    pub fn members(&self, ck: Ck) -> Vec<Ck> {
        read(&self.shared.identity).graph.members(ck)
    }

    /// Identifiers known and the RAM their index and graph hold, in bytes.
    pub fn identity_memory(&self) -> (usize, usize) {
        let id = read(&self.shared.identity);
        (id.index.len(), id.index.heap_bytes() + id.graph.heap_bytes())
    }

    /// The identifier types of this store, with their stored bytes.
    pub fn identifier_types(&self) -> IdTypes {
        read(&self.shared.identity).types.clone()
    }

    /// Why identifiers are one customer: every identifier linked with `id`, the links that
    /// join them (each with the event that carried both), the links an operator split and
    /// those a guardrail refused. `None` for an unknown identifier.
    pub fn identity(&self, id: &str) -> Result<Option<IdentityView>> {
        let Some(ck) = self.customer_key(id)? else { return Ok(None) };
        let members = self.members(ck);
        let (_, txn) = self.shared.snapshot()?;
        let mut splits = std::collections::HashMap::new();
        for entry in txn.open_table(SPLITS)?.iter()? {
            let (k, v) = entry?;
            let split: Split = postcard::from_bytes(v.value()).map_err(meta_err(format!("split {}", k.value())))?;
            splits.insert(split.link, split);
        }
        let mut view = IdentityView {
            root: members[0],
            identifiers: Vec::new(),
            links: Vec::new(),
            splits: Vec::new(),
            refusals: Vec::new(),
        };
        for entry in txn.open_table(LINKS)?.iter()? {
            let (k, v) = entry?;
            let link: Link = postcard::from_bytes(v.value()).map_err(meta_err(format!("link {}", k.value())))?;
            if members.binary_search(&link.a).is_err() && members.binary_search(&link.b).is_err() {
                continue;
            }
            match splits.remove(&link.id) {
                Some(split) => view.splits.push((link, split)),
                None => view.links.push(link),
            }
        }
        for entry in txn.open_table(REFUSALS)?.iter()? {
            let (k, v) = entry?;
            let r: Refusal = postcard::from_bytes(v.value()).map_err(meta_err(format!("refusal {}", k.value())))?;
            if members.binary_search(&r.key).is_ok() {
                view.refusals.push(r);
            }
        }
        let identity = read(&self.shared.identity);
        for m in members {
            if let Some((kind, value)) = identity.index.get(m) {
                view.identifiers.push((m, identity.types.name(kind).to_owned(), value.to_owned()));
            }
        }
        Ok(Some(view))
    }

    /// The key pairs of every link made by an event before `ts` and not split since: the
    /// identity graph as it stood then (what a model trained as of `ts` may know).
    pub fn links_before(&self, ts: i64) -> Result<Vec<(Ck, Ck)>> {
        let (_, txn) = self.shared.snapshot()?;
        let mut split = std::collections::HashSet::new();
        for entry in txn.open_table(SPLITS)?.iter()? {
            let (k, v) = entry?;
            let s: Split = postcard::from_bytes(v.value()).map_err(meta_err(format!("split {}", k.value())))?;
            split.insert(s.link);
        }
        let mut out = Vec::new();
        for entry in txn.open_table(LINKS)?.iter()? {
            let (k, v) = entry?;
            let link: Link = postcard::from_bytes(v.value()).map_err(meta_err(format!("link {}", k.value())))?;
            if link.ts < ts && !split.contains(&link.id) {
                out.push((link.a, link.b));
            }
        }
        Ok(out)
    }

    /// Undoes identity link `link`: the identifiers it joined are apart again (unless other
    /// links still join them), the pair is not linked again by later events, and the links
    /// table keeps the link with a split record. Returns the link undone.
    pub fn split_link(&self, link: u64, reason: &str) -> Result<Link> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        tx.send(Request::Split { link, reason: reason.to_owned(), reply }).map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Links refused by a guardrail, oldest first, with id greater than `after`.
    pub fn refusals(&self, after: u64, limit: usize) -> Result<Vec<Refusal>> {
        let (_, txn) = self.shared.snapshot()?;
        let table = txn.open_table(REFUSALS)?;
        let mut out = Vec::new();
        for entry in table.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = entry?;
            out.push(postcard::from_bytes(v.value()).map_err(meta_err(format!("refusal {}", k.value())))?);
        }
        Ok(out)
    }

    /// Blocked identifier values seen, as (type, value, events), most frequent first.
    pub fn blocked_identifiers(&self) -> Result<Vec<(String, String, u64)>> {
        let (_, txn) = self.shared.snapshot()?;
        let types = self.identifier_types();
        let mut out = Vec::new();
        for entry in txn.open_table(BLOCKED)?.iter()? {
            let (k, v) = entry?;
            let (kind, value) = k.value();
            out.push((types.name(kind).to_owned(), value.to_owned(), v.value()));
        }
        out.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.cmp(b)));
        Ok(out)
    }
}
