//! Searching customers: a roaring bitmap of every matching person plus the best N with a
//! snippet of what matched.

use std::collections::HashMap;

use roaring::RoaringBitmap;
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value as _};
use tantivy::{TantivyDocument, Term};

use super::tokens::tokens;
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::types::Ck;

/// One of the best matches.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The person (root key).
    pub root: Ck,
    /// Relevance (BM25).
    pub score: f32,
    /// The text that matched, cut around the first matching word.
    pub snippet: String,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// Every matching person (root keys).
    pub customers: RoaringBitmap,
    /// The best matches, best first, one per person.
    pub top: Vec<SearchHit>,
    /// The index includes every event before this sequence number.
    pub indexed_seq: u64,
}

impl Store {
    /// Customers matching `query`: every word must match somewhere in the customer's
    /// documents (a name in the profile and a word in a review count together; Chinese is
    /// matched by character pairs, so `退款` finds `我要退款`), or the whole query is one of
    /// the customer's identifiers.
    pub fn search(&self, query: &str, limit: usize) -> Result<SearchResult> {
        let s = self.search.as_ref().ok_or_else(|| StoreError::Invalid("search is off for this store".into()))?;
        let f = s.fields;
        let indexed_seq = s.indexed_seq.load(std::sync::atomic::Ordering::Acquire);
        let mut words = tokens(query);
        words.sort();
        words.dedup();
        let whole = query.trim().to_lowercase();
        if whole.is_empty() {
            return Ok(SearchResult { customers: RoaringBitmap::new(), top: Vec::new(), indexed_seq });
        }
        // Customers being erased are out of every answer from the moment the erasure starts.
        let hidden = self.shared.snapshot()?.0.hidden.clone();
        let searcher = s.reader.searcher();
        let err = |e: tantivy::TantivyError| StoreError::Search(e.to_string());
        let mut columns = HashMap::new();
        let mut key_of = |addr: tantivy::DocAddress| -> Result<Option<Ck>> {
            let col = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(searcher.segment_reader(addr.segment_ord).fast_fields().u64("ck").map_err(err)?)
                }
            };
            Ok(col.first(addr.doc_id).and_then(|k| Ck::try_from(k).ok()).filter(|k| !hidden.contains(*k)))
        };
        let term =
            |field, w: &str, opt| -> Box<dyn Query> { Box::new(TermQuery::new(Term::from_field_text(field, w), opt)) };
        // People per word, intersected: rarest first keeps the running set small.
        let mut per_word = Vec::with_capacity(words.len());
        for w in &words {
            let docs = searcher.search(&*term(f.all, w, IndexRecordOption::Basic), &DocSetCollector).map_err(err)?;
            let mut people = RoaringBitmap::new();
            for addr in docs {
                if let Some(ck) = key_of(addr)? {
                    people.insert(self.root(ck));
                }
            }
            per_word.push(people);
        }
        per_word.sort_by_key(RoaringBitmap::len);
        let mut customers = per_word
            .split_first()
            .map_or_else(RoaringBitmap::new, |(first, rest)| rest.iter().fold(first.clone(), |acc, b| acc & b));
        let by_id = searcher.search(&*term(f.id, &whole, IndexRecordOption::Basic), &DocSetCollector).map_err(err)?;
        for addr in by_id {
            if let Some(ck) = key_of(addr)? {
                customers.insert(self.root(ck));
            }
        }
        // The best documents of matching people, one hit per person.
        let mut any: Vec<(Occur, Box<dyn Query>)> =
            words.iter().map(|w| (Occur::Should, term(f.all, w, IndexRecordOption::WithFreqs))).collect();
        any.push((Occur::Should, term(f.id, &whole, IndexRecordOption::Basic)));
        let top = searcher
            .search(&BooleanQuery::new(any), &TopDocs::with_limit(limit.max(1) * 8).order_by_score())
            .map_err(err)?;
        let mut hits = Vec::new();
        let mut seen = RoaringBitmap::new();
        for (score, addr) in top {
            let Some(ck) = key_of(addr)? else { continue };
            let root = self.root(ck);
            if !customers.contains(root) || !seen.insert(root) {
                continue;
            }
            let doc: TantivyDocument = searcher.doc(addr).map_err(err)?;
            let text = doc.get_first(f.all).and_then(|v| v.as_str()).unwrap_or_default();
            hits.push(SearchHit { root, score, snippet: snippet(text, &words) });
            if hits.len() == limit {
                break;
            }
        }
        Ok(SearchResult { customers, top: hits, indexed_seq })
    }

    /// Commits what the indexer has and waits until it is searchable (tests, tools).
    pub fn search_flush(&self) -> Result<()> {
        let tx = self.search_tx.as_ref().ok_or_else(|| StoreError::Invalid("search is off for this store".into()))?;
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        tx.send(super::indexer::Work::Flush(reply)).map_err(|_| StoreError::WriterGone)?;
        rx.recv().map_err(|_| StoreError::WriterGone)
    }
}

// About 60 characters of `text` around the first word of the query it contains. Matching
// runs on a lower-cased copy whose bytes map back to the original's characters (lower-casing
// can change a character's length), so the cut is always on a character boundary.
fn snippet(text: &str, words: &[String]) -> String {
    let mut lower = String::with_capacity(text.len());
    let mut origin: Vec<usize> = Vec::with_capacity(text.len());
    for (at, c) in text.char_indices() {
        let before = lower.len();
        lower.extend(c.to_lowercase());
        origin.extend(std::iter::repeat_n(at, lower.len() - before));
    }
    let found = words.iter().filter_map(|w| lower.find(w.as_str())).min();
    let at = found.and_then(|i| origin.get(i).copied()).unwrap_or(0);
    let start = text[..at].char_indices().rev().nth(20).map_or(0, |(i, _)| i);
    let line: String = text[start..].chars().take(60).map(|c| if c == '\n' { ' ' } else { c }).collect();
    line.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn snippets_cut_on_characters_whatever_lower_casing_does() {
        // The ohm sign lower-cases to 2 bytes from 3, dotted I to 3 bytes from 2.
        let text = "\u{2126}退款\u{130}";
        assert_eq!(snippet(text, &["退款".to_owned()]), text);
        let long = format!("{}我要退款", "很".repeat(40));
        assert!(snippet(&long, &["退款".to_owned()]).ends_with("我要退款"));
        assert_eq!(snippet("", &["x".to_owned()]), "");
    }
}
