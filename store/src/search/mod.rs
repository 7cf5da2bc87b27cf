//! Customer search with tantivy: customers are indexed, not events (tantivy indexes a few
//! hundred thousand documents a second: too slow for every event, plenty for customers).
//!
//! Two kinds of documents: one profile document per person (identifiers and trait values,
//! replaced whenever the profile changes) and one text document per event that carries free
//! text (reviews, comments; append-only, keyed by the event's own customer key and mapped to
//! the person at query time, so identity merges need no reindexing of texts).
//!
//! The index lives next to the redb file and is derived data: every commit carries the redb
//! sequence number it includes, and an index that is missing, broken or behind is caught up
//! or rebuilt at open. redb always wins.

mod api;
pub(crate) mod indexer;
mod tokens;

pub use api::{SearchHit, SearchResult};

use tantivy::schema::{Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};

/// String fields whose values are free text worth searching (reviews, comments, messages).
pub const TEXT_FIELDS: [&str; 5] = ["text", "comment", "content", "review", "message"];

/// Directory of the index inside the data directory.
pub const SEARCH_DIR: &str = "search";

const TOKENIZER: &str = "cxp_cjk";
const ID_TOKENIZER: &str = "cxp_id";

/// The index schema's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Customer key of the document (root for profiles, event key for texts): fast, stored,
    /// and indexed so that an erasure deletes every document of a key.
    pub(crate) ck: Field,
    /// Root key of a profile document (absent on texts): what a replacement deletes by.
    pub(crate) profile: Field,
    /// Searchable text, CJK-aware tokens; stored for snippets.
    pub(crate) all: Field,
    /// Identifier values, whole and lower-cased.
    pub(crate) id: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let ck = b.add_u64_field("ck", tantivy::schema::FAST | STORED | tantivy::schema::INDEXED);
    let profile = b.add_u64_field("profile", INDEXED);
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let all = b.add_text_field("all", text);
    let ids = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(ID_TOKENIZER).set_index_option(IndexRecordOption::Basic),
    );
    let id = b.add_text_field("id", ids);
    (b.build(), Fields { ck, profile, all, id })
}

pub(crate) fn register_tokenizers(index: &tantivy::Index) {
    index.tokenizers().register(TOKENIZER, tokens::CjkTokenizer::default());
    let id = tantivy::tokenizer::TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(tantivy::tokenizer::LowerCaser)
        .build();
    index.tokenizers().register(ID_TOKENIZER, id);
}
