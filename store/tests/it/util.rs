//! Shared helpers.

use cxp_store::{Batch, ParseOptions, Store, StoreOptions};

pub fn open(dir: &std::path::Path) -> Store {
    Store::open(dir, StoreOptions { auto_merge: false, ..StoreOptions::default() }).expect("open store")
}

pub fn lp(store: &Store, text: &str) -> cxp_store::WriteReceipt {
    let mut batch = Batch::new("test");
    batch.push_line_protocol(text.as_bytes(), ParseOptions::default(), 1_000, 1);
    store.write(batch).expect("write")
}

/// Opens with the data dictionary that ships with cxp.
pub fn open_governed(dir: &std::path::Path) -> Store {
    let dictionary =
        cxp_store::dict::DictionaryChoice::Use(std::sync::Arc::new(cxp_store::dict::Dictionary::builtin()));
    Store::open(dir, StoreOptions { auto_merge: false, dictionary, ..StoreOptions::default() }).expect("open store")
}
