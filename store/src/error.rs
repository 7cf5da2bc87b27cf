//! Errors of the store. One enum for the whole engine: every operation touches the same redb
//! file and the callers (CLI, daemon) map them the same way.

use crate::codec::CodecError;

/// Anything that can go wrong inside the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// redb failed (I/O, a full disk, a damaged file).
    #[error("storage: {0}")]
    Storage(#[from] redb::Error),
    /// The file is not a cxp store, or was written by a newer version.
    #[error("{0}")]
    Format(String),
    /// A column chunk could not be decoded.
    #[error("part {part}, chunk {chunk}, column {column}: {source}")]
    Chunk {
        /// Part id.
        part: u64,
        /// Chunk index within the part.
        chunk: u32,
        /// Column name.
        column: String,
        /// What the codec found.
        source: CodecError,
    },
    /// A piece of a part's stream that its metadata points into is missing or short.
    #[error("part {part}, piece {piece}: missing or truncated")]
    MissingPiece {
        /// Part id.
        part: u64,
        /// Piece index.
        piece: u32,
    },
    /// A metadata record could not be decoded.
    #[error("{what}: {source}")]
    Meta {
        /// Which record (e.g. `part 17`, `schema of order`).
        what: String,
        /// Decoder error.
        source: postcard::Error,
    },
    /// All 2^32 - 1 customer keys are in use.
    #[error("customer keys exhausted: this store holds 2^32 - 1 identifiers")]
    CustomerKeysExhausted,
    /// A commit failed after it may have reached the disk (redb cannot tell): the batches of
    /// the group may or may not be stored. Reopen the store before writing again.
    #[error("commit failed, its batches may or may not be durable (reopen the store): {0}")]
    CommitUncertain(String),
    /// The writer thread has stopped (after a panic or at shutdown): nothing more can be
    /// written through this handle.
    #[error("the store's writer has stopped")]
    WriterGone,
    /// The customer search index failed (it is rebuilt from redb at the next open).
    #[error("search index: {0}")]
    Search(String),
    /// The request names something that does not exist or cannot be done (an unknown link,
    /// a link already split).
    #[error("{0}")]
    Invalid(String),
    /// An I/O error outside redb (the data directory itself).
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);

/// Short alias used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn meta_err(what: impl Into<String>) -> impl FnOnce(postcard::Error) -> StoreError {
    let what = what.into();
    move |source| StoreError::Meta { what, source }
}
