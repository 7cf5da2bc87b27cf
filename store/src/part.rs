//! Parts: immutable columnar blocks of events of one measurement.
//!
//! A part is one metadata record (`PartMeta`) plus a byte stream holding every column chunk,
//! stored as pieces (see `pieces.rs`). Chunks split a part into row ranges that a scan can skip
//! by time or customer range and decode one column at a time.

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::batch::EventRef;
use crate::catalog::ColumnDef;
use crate::codec::{self, Effort};
use crate::column::{ColumnData, NullableColumn};
use crate::types::{Ck, ColumnKind, ColumnType};

/// Level of a part: fresh from a group commit, or merged into a time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Written by a group commit, in arrival order, cheap codecs.
    Fresh,
    /// Merged, one hour window, sorted by (ck, ts, seq).
    Hour,
    /// Merged, one day window, sorted by (ck, ts, seq).
    Day,
    /// Merged, one UTC calendar month, sorted by (ck, ts, seq).
    Month,
}

/// Min and max of a numeric column chunk, for pruning and reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Stat {
    /// No statistics (strings, booleans, all-null chunks).
    None,
    /// Signed range.
    I64(i64, i64),
    /// Unsigned range.
    U64(u64, u64),
    /// Float range.
    F64(f64, f64),
}

/// One column of one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkColumn {
    /// Codec byte (see `codec::Codec`).
    pub codec: u8,
    /// Where the chunk starts in the part's stream.
    pub offset: u64,
    /// Encoded size in bytes.
    pub bytes: u32,
    /// Null rows.
    pub nulls: u32,
    /// Value range of non-null rows.
    pub stat: Stat,
}

/// A row range of a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkMeta {
    /// Rows in the chunk.
    pub rows: u32,
    /// Earliest event time.
    pub min_ts: i64,
    /// Latest event time.
    pub max_ts: i64,
    /// Smallest customer key.
    pub min_ck: Ck,
    /// Largest customer key.
    pub max_ck: Ck,
    /// Per column, `ts`, `ck`, `seq` first, then the part's columns.
    pub columns: Vec<ChunkColumn>,
}

/// Index of `ts` in [`ChunkMeta::columns`].
pub const COL_TS: usize = 0;
/// Index of `ck` in [`ChunkMeta::columns`].
pub const COL_CK: usize = 1;
/// Index of `seq` in [`ChunkMeta::columns`].
pub const COL_SEQ: usize = 2;
/// Index of a part's first tag or field column in [`ChunkMeta::columns`].
pub const COL_FIRST: usize = 3;

impl ChunkMeta {
    /// Reads column `col` (one of the `COL_*` indices, or `COL_FIRST + i`) of chunk `chunk`
    /// of part `part`.
    pub(crate) fn read(
        &self,
        table: &redb::ReadOnlyTable<(u64, u32), &'static [u8]>,
        part: u64,
        col: usize,
    ) -> crate::error::Result<crate::pieces::Blob> {
        let c = self.columns.get(col).ok_or(crate::error::StoreError::MissingPiece { part, piece: u32::MAX })?;
        crate::pieces::read(table, part, c.offset, c.bytes)
    }
}

/// Checks that a decoded column has the rows its chunk metadata promises: a damaged file
/// must give an error, not misaligned rows or an out-of-bounds panic later.
pub(crate) fn check_rows(
    found: usize,
    chunk: &ChunkMeta,
    part: u64,
    index: u32,
    column: &str,
) -> crate::error::Result<()> {
    if found == chunk.rows as usize {
        return Ok(());
    }
    Err(crate::error::StoreError::Chunk {
        part,
        chunk: index,
        column: column.to_owned(),
        source: crate::codec::CodecError::Corrupt(format!("{found} rows where the part says {}", chunk.rows)),
    })
}

/// Metadata of a part, stored in the `parts` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartMeta {
    /// Part id (never reused).
    pub id: u64,
    /// Measurement (event name).
    pub measurement: String,
    /// Fresh or merged window.
    pub level: Level,
    /// Start of the window (ns), 0 for fresh parts.
    pub window_start: i64,
    /// Rows in the part.
    pub rows: u64,
    /// Earliest event time.
    pub min_ts: i64,
    /// Latest event time.
    pub max_ts: i64,
    /// Smallest sequence number.
    pub min_seq: u64,
    /// Largest sequence number.
    pub max_seq: u64,
    /// Tag and field columns.
    pub columns: Vec<ColumnDef>,
    /// Row ranges.
    pub chunks: Vec<ChunkMeta>,
    /// Serialized roaring bitmap of the part's customer keys.
    pub customers: Vec<u8>,
}

impl PartMeta {
    /// Total encoded bytes of all chunks.
    pub fn bytes(&self) -> u64 {
        self.chunks.iter().flat_map(|c| &c.columns).map(|c| u64::from(c.bytes)).sum()
    }
}

/// A part as held in memory by readers: its metadata and its decoded customer bitmap.
#[derive(Debug, Clone)]
pub struct PartInfo {
    /// Metadata (with `customers` emptied; see `bitmap`).
    pub meta: PartMeta,
    /// Customer keys present in the part.
    pub bitmap: RoaringBitmap,
}

impl PartInfo {
    /// Decodes the bitmap out of the metadata.
    pub fn new(mut meta: PartMeta) -> std::io::Result<PartInfo> {
        let bitmap = RoaringBitmap::deserialize_from(meta.customers.as_slice())?;
        meta.customers = Vec::new();
        Ok(PartInfo { meta, bitmap })
    }
}

/// Rows of one measurement in memory, column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartData {
    /// Event times.
    pub ts: Vec<i64>,
    /// Customer keys.
    pub ck: Vec<Ck>,
    /// Sequence numbers.
    pub seq: Vec<u64>,
    /// Tag and field columns, each `ts.len()` long.
    pub columns: Vec<(ColumnDef, NullableColumn)>,
}

impl PartData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Appends one event (its types already checked against the catalog). `implied` names the
    /// identity tag that `ck` already records: it is not stored again, and readers restore it.
    pub fn push_event(&mut self, event: &EventRef<'_>, ck: Ck, seq: u64, implied: Option<&str>) {
        let row = self.ts.len();
        self.ts.push(event.ts);
        self.ck.push(ck);
        self.seq.push(seq);
        for (key, value) in event.tags() {
            if implied == Some(key) {
                continue;
            }
            let col = self.column(key, ColumnKind::Tag, ColumnType::Str, row);
            if let ColumnData::Str(s) = &mut col.data {
                s.push(value);
                col.mark_pushed();
            }
        }
        for (key, value) in event.fields() {
            let col = self.column(key, ColumnKind::Field, crate::catalog::field_type(&value), row);
            match (&mut col.data, value) {
                (ColumnData::I64(v), cxp_lp::FieldValue::I64(x)) => v.push(x),
                (ColumnData::U64(v), cxp_lp::FieldValue::U64(x)) => v.push(x),
                (ColumnData::F64(v), cxp_lp::FieldValue::F64(x)) => v.push(x),
                (ColumnData::Bool(v), cxp_lp::FieldValue::Bool(x)) => v.push(x),
                (ColumnData::Str(v), cxp_lp::FieldValue::Str(x)) => v.push(&x),
                // The catalog refused type conflicts before this point.
                _ => continue,
            }
            col.mark_pushed();
        }
        for (_, col) in &mut self.columns {
            col.pad_to(row + 1);
        }
    }

    // The column for (key, kind), created (null-padded to `row`) on first use.
    fn column(&mut self, key: &str, kind: ColumnKind, ty: ColumnType, row: usize) -> &mut NullableColumn {
        let at = match self.columns.iter().position(|(d, _)| d.kind == kind && d.name == key) {
            Some(at) => at,
            None => {
                let mut col = NullableColumn::new(ty);
                col.pad_to(row);
                self.columns.push((ColumnDef { name: key.to_owned(), kind, ty }, col));
                self.columns.len() - 1
            }
        };
        &mut self.columns[at].1
    }

    /// Appends all rows of `other`, taking the union of the columns.
    pub fn append(&mut self, other: &PartData) {
        let before = self.len();
        self.ts.extend_from_slice(&other.ts);
        self.ck.extend_from_slice(&other.ck);
        self.seq.extend_from_slice(&other.seq);
        for (def, col) in &other.columns {
            let at = match self.columns.iter().position(|(d, _)| d.kind == def.kind && d.name == def.name) {
                Some(at) => at,
                None => {
                    let mut mine = NullableColumn::new(def.ty);
                    mine.pad_to(before);
                    self.columns.push((def.clone(), mine));
                    self.columns.len() - 1
                }
            };
            self.columns[at].1.extend_from(col);
        }
        let len = self.len();
        for (_, col) in &mut self.columns {
            col.pad_to(len);
        }
    }

    /// A new part with the rows at `rows`, in that order; columns that are all null there are
    /// dropped.
    pub fn gather(&self, rows: &[usize]) -> PartData {
        PartData {
            ts: rows.iter().map(|&r| self.ts[r]).collect(),
            ck: rows.iter().map(|&r| self.ck[r]).collect(),
            seq: rows.iter().map(|&r| self.seq[r]).collect(),
            columns: self
                .columns
                .iter()
                .map(|(d, c)| (d.clone(), c.gather(rows)))
                .filter(|(_, c)| c.valid.as_ref().is_none_or(|v| v.count_ones() > 0))
                .collect(),
        }
    }

    /// Encodes the rows into chunks. `max_rows` bounds a chunk's rows; strings also bound it
    /// by bytes so that no blob nears redb's 256 KiB page limit.
    pub fn encode(&self, effort: Effort, max_rows: usize) -> EncodedPart {
        let mut chunks = Vec::new();
        let mut stream = Vec::new();
        for range in self.chunk_ranges(max_rows) {
            let mut cols = Vec::with_capacity(3 + self.columns.len());
            let mut push = |bytes: Vec<u8>, nulls: u32, stat: Stat| {
                let offset = stream.len() as u64;
                cols.push(ChunkColumn { codec: bytes[0], offset, bytes: bytes.len() as u32, nulls, stat });
                stream.extend_from_slice(&bytes);
            };
            let ts = &self.ts[range.clone()];
            let ck = &self.ck[range.clone()];
            push(codec::encode_system(ts, effort), 0, stat_of(ts, Stat::I64));
            push(codec::encode_system(ck, effort), 0, Stat::None);
            push(codec::encode_seq(ts, &self.seq[range.clone()], effort), 0, Stat::None);
            for (_, col) in &self.columns {
                let nulls = col.valid.as_ref().map_or(0, |v| range.clone().filter(|r| !v.get(*r)).count());
                let stat = column_stat(col, range.clone());
                push(codec::encode_column(col, range.clone(), effort), nulls as u32, stat);
            }
            chunks.push(ChunkMeta {
                rows: range.len() as u32,
                min_ts: ts.iter().copied().min().unwrap_or(0),
                max_ts: ts.iter().copied().max().unwrap_or(0),
                min_ck: ck.iter().copied().min().unwrap_or(0),
                max_ck: ck.iter().copied().max().unwrap_or(0),
                columns: cols,
            });
        }
        let bitmap: RoaringBitmap = self.ck.iter().copied().collect();
        let mut customers = Vec::with_capacity(bitmap.serialized_size());
        bitmap.serialize_into(&mut customers).expect("writing to a Vec cannot fail");
        EncodedPart {
            meta: PartMeta {
                id: 0,
                measurement: String::new(),
                level: Level::Fresh,
                window_start: 0,
                rows: self.len() as u64,
                min_ts: self.ts.iter().copied().min().unwrap_or(0),
                max_ts: self.ts.iter().copied().max().unwrap_or(0),
                min_seq: self.seq.iter().copied().min().unwrap_or(0),
                max_seq: self.seq.iter().copied().max().unwrap_or(0),
                columns: self.columns.iter().map(|(d, _)| d.clone()).collect(),
                chunks,
                customers,
            },
            stream,
        }
    }

    fn chunk_ranges(&self, max_rows: usize) -> Vec<std::ops::Range<usize>> {
        // Bounds the memory one chunk takes to decode; redb values stay small whatever this is,
        // because part streams are stored as pieces.
        const MAX_STR_BYTES: usize = 2 << 20;
        let str_cols: Vec<_> = self
            .columns
            .iter()
            .filter_map(|(_, c)| match &c.data {
                ColumnData::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        let mut ranges = Vec::new();
        let mut start = 0;
        let mut sizes = vec![0usize; str_cols.len()];
        for row in 0..self.len() {
            let over = str_cols.iter().zip(&sizes).any(|(s, size)| size + s.get(row).len() + 4 > MAX_STR_BYTES);
            if row > start && (row - start >= max_rows || over) {
                ranges.push(start..row);
                start = row;
                sizes.iter_mut().for_each(|s| *s = 0);
            }
            for (s, size) in str_cols.iter().zip(&mut sizes) {
                *size += s.get(row).len() + 4;
            }
        }
        if start < self.len() {
            ranges.push(start..self.len());
        }
        ranges
    }
}

fn stat_of<T: Copy + PartialOrd>(values: &[T], make: fn(T, T) -> Stat) -> Stat {
    let mut it = values.iter().copied();
    let Some(first) = it.next() else { return Stat::None };
    let (lo, hi) = it.fold((first, first), |(lo, hi), v| (if v < lo { v } else { lo }, if v > hi { v } else { hi }));
    make(lo, hi)
}

fn column_stat(col: &NullableColumn, range: std::ops::Range<usize>) -> Stat {
    let rows: Vec<usize> = range.filter(|r| col.is_valid(*r)).collect();
    match &col.data {
        ColumnData::I64(v) => stat_of(&rows.iter().map(|&r| v[r]).collect::<Vec<_>>(), Stat::I64),
        ColumnData::U64(v) => stat_of(&rows.iter().map(|&r| v[r]).collect::<Vec<_>>(), Stat::U64),
        ColumnData::F64(v) => stat_of(&rows.iter().map(|&r| v[r]).collect::<Vec<_>>(), Stat::F64),
        _ => Stat::None,
    }
}

/// A part ready to be written: metadata (id, measurement and level still to be set) and its
/// stream, every column chunk one after another.
#[derive(Debug, Clone)]
pub struct EncodedPart {
    /// Metadata.
    pub meta: PartMeta,
    /// The chunks' bytes, at the offsets the metadata gives.
    pub stream: Vec<u8>,
}
