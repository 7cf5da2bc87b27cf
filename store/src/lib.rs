//! cxp-store: the embedded columnar event store of cxp.
//!
//! Events arrive as [`Batch`]es (line protocol is parsed by `cxp-lp`; other protocols build
//! batches directly), go through one writer thread that group-commits them into redb as
//! immutable columnar parts, and come back through [`Store::scan`] as column batches pruned by
//! time and customer. Background merges turn fresh parts into time-window parts sorted by
//! (customer, time) and compressed with pco and dictionaries. Refused lines are kept in a
//! quarantine. redb is the only source of truth; everything in memory is rebuilt on open.
//!
//! ```no_run
//! use cxp_store::{Batch, ScanRequest, Store, StoreOptions};
//! let store = Store::open("data", StoreOptions::default())?;
//! let mut batch = Batch::new("example");
//! batch.push_line_protocol(b"order,customer=c-1 amount=5.5 1700000000000000000", Default::default(), 0, 1);
//! let receipt = store.write(batch)?; // durable when this returns
//! assert_eq!(receipt.accepted, 1);
//! for chunk in store.scan(ScanRequest::new("order").columns(["amount"]))? {
//!     let chunk = chunk?;
//!     println!("{} rows", chunk.rows);
//! }
//! # Ok::<(), cxp_store::StoreError>(())
//! ```

mod batch;
mod bitmap;
mod catalog;
mod codec;
mod column;
pub mod dict;
mod erase;
mod error;
mod events;
pub mod identity;
mod lpwrite;
mod manifest;
mod merge;
mod part;
mod pieces;
pub mod profile;
mod quarantine;
mod scan;
mod scores;
pub mod search;
mod seqcodec;
mod stage;
mod stamp;
mod state;
mod store;
mod suppress;
mod tables;
mod tap;
mod types;
mod window;
mod writer;

pub use batch::{Batch, EventError, EventRef, Mark, Reject};
pub use bitmap::BitVec;
pub use catalog::{ColumnDef, MeasurementSchema};
pub use codec::{Codec, CodecError};
pub use column::{ColumnData, NullableColumn, StrColumn};
pub use cxp_lp::{FieldValue, ParseOptions, Precision};
pub use erase::{EraseListener, ErasureReceipt, mentions};
pub use error::{Result, StoreError};
pub use events::{EventFilter, StoredEvent};
pub use identity::{IdRule, IdTypes, IdentityView, Link, Refusal, Split};
pub use lpwrite::format_event;
pub use merge::MergePolicy;
pub use part::{ChunkColumn, ChunkMeta, Level, PartMeta, Stat};
pub use profile::{Completeness, ComputedValue, CustomerSnapshot, CustomerView, NO_POSITION, TraitColumn, TraitView};
pub use quarantine::{QuarantineEntry, ReplayReport};
pub use scan::{ColumnBatch, Scan, ScanRequest};
pub use scores::{ScoreMeta, Scores};
pub use search::{SearchHit, SearchResult};
pub use state::{StateTable, apply_state, read_state, read_states};
pub use store::{FILE_NAME, FORMAT_VERSION, PendingWrite, Store, StoreOptions, StoreStats};
pub use suppress::Suppressed;
pub use tap::{Committed, EventKey, Tap, TapMode};
pub use types::{Ck, ColumnKind, ColumnType, NO_CUSTOMER, Value};
pub use window::{DAY, HOUR, month_bounds, window_of};
pub use writer::{WriteReceipt, now_ns};
