//! Reading events back: by measurement, time range, column projection and customer set,
//! skipping parts and chunks that cannot match. Results come as column batches, one per
//! chunk, never as rows.

use std::collections::VecDeque;
use std::sync::Arc;

use redb::{ReadOnlyTable, ReadTransaction};
use roaring::RoaringBitmap;

use crate::catalog::ColumnDef;
use crate::codec::{self, decode_system};
use crate::column::NullableColumn;
use crate::error::{Result, StoreError};
use crate::part::{COL_CK, COL_FIRST, COL_SEQ, COL_TS};
use crate::part::{ChunkMeta, PartInfo};
use crate::tables::PIECES;
use crate::types::Ck;

/// What to read.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// Measurement (event name).
    pub measurement: String,
    /// Inclusive start, ns.
    pub from: i64,
    /// Exclusive end, ns.
    pub to: i64,
    /// Tag and field columns to read by name (tags and fields of that name); `None` = all.
    pub columns: Option<Vec<String>>,
    /// Only these customers.
    pub customers: Option<RoaringBitmap>,
    /// Return event times.
    pub with_ts: bool,
    /// Return customer keys.
    pub with_ck: bool,
    /// Return sequence numbers.
    pub with_seq: bool,
    /// Only events with a sequence number at least this (0: all).
    pub min_seq: u64,
}

impl ScanRequest {
    /// Every event of `measurement`, every column, with ts, ck and seq.
    pub fn new(measurement: impl Into<String>) -> Self {
        ScanRequest {
            measurement: measurement.into(),
            from: i64::MIN,
            to: i64::MAX,
            columns: None,
            customers: None,
            with_ts: true,
            with_ck: true,
            with_seq: true,
            min_seq: 0,
        }
    }

    /// Restricts to events with a sequence number of at least `seq` (what was committed since
    /// a point a reader remembers); parts entirely before it are not read.
    pub fn from_seq(mut self, seq: u64) -> Self {
        self.min_seq = seq;
        self
    }

    /// Restricts to `[from, to)`.
    pub fn between(mut self, from: i64, to: i64) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    /// Reads only these tag/field columns, and no ts/ck/seq unless asked for again.
    pub fn columns<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(names.into_iter().map(Into::into).collect());
        self.with_ts = false;
        self.with_ck = false;
        self.with_seq = false;
        self
    }

    /// Restricts to the customers in `set`.
    pub fn customers(mut self, set: RoaringBitmap) -> Self {
        self.customers = Some(set);
        self
    }

    /// Also return ts, ck and seq.
    pub fn with_keys(mut self) -> Self {
        self.with_ts = true;
        self.with_ck = true;
        self.with_seq = true;
        self
    }

    fn chunk_matches(&self, chunk: &ChunkMeta) -> bool {
        chunk.max_ts >= self.from
            && chunk.min_ts < self.to
            && self.customers.as_ref().is_none_or(|c| c.range_cardinality(chunk.min_ck..=chunk.max_ck) > 0)
    }

    fn chunk_inside(&self, chunk: &ChunkMeta) -> bool {
        chunk.min_ts >= self.from && chunk.max_ts < self.to && self.customers.is_none()
    }
}

/// The rows of one chunk that matched, column by column.
#[derive(Debug, Clone)]
pub struct ColumnBatch {
    /// Part the rows come from.
    pub part: u64,
    /// Chunk index within the part.
    pub chunk: u32,
    /// Number of rows.
    pub rows: usize,
    /// Event times (empty unless requested).
    pub ts: Vec<i64>,
    /// Customer keys (empty unless requested).
    pub ck: Vec<Ck>,
    /// Sequence numbers (empty unless requested).
    pub seq: Vec<u64>,
    /// The projected tag and field columns present in this part.
    pub columns: Vec<(Arc<ColumnDef>, NullableColumn)>,
}

impl ColumnBatch {
    /// The field column `name` (or the tag, if there is no such field).
    pub fn column(&self, name: &str) -> Option<&NullableColumn> {
        let named = || self.columns.iter().filter(move |(d, _)| d.name == name);
        named().find(|(d, _)| d.kind == crate::types::ColumnKind::Field).or_else(|| named().next()).map(|(_, c)| c)
    }
}

type ChunkTable = ReadOnlyTable<(u64, u32), &'static [u8]>;

/// An iterator of column batches over a consistent snapshot.
pub struct Scan {
    table: Option<ChunkTable>,
    // Part, chunk, and the customers of the part to leave out (being erased).
    work: VecDeque<(Arc<PartInfo>, u32, Option<Arc<RoaringBitmap>>)>,
    request: ScanRequest,
    // Keeps the snapshot alive for as long as the scan runs.
    _txn: ReadTransaction,
}

impl Scan {
    /// A scan of `parts` that leaves out the customers in `hidden`.
    pub(crate) fn new(
        parts: Vec<Arc<PartInfo>>,
        hidden: &Arc<RoaringBitmap>,
        txn: ReadTransaction,
        request: ScanRequest,
    ) -> Result<Scan> {
        let table = match txn.open_table(PIECES) {
            Ok(t) => Some(t),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let mut work = VecDeque::new();
        for part in parts {
            let m = &part.meta;
            if m.max_ts < request.from || m.min_ts >= request.to || m.max_seq < request.min_seq {
                continue;
            }
            if let Some(c) = &request.customers
                && c.is_disjoint(&part.bitmap)
            {
                continue;
            }
            let hide = (!hidden.is_disjoint(&part.bitmap)).then(|| Arc::clone(hidden));
            for (i, chunk) in m.chunks.iter().enumerate() {
                if request.chunk_matches(chunk) {
                    work.push_back((Arc::clone(&part), i as u32, hide.clone()));
                }
            }
        }
        Ok(Scan { table, work, request, _txn: txn })
    }

    /// Number of chunks still to read (after pruning).
    pub fn chunks_left(&self) -> usize {
        self.work.len()
    }

    fn read(&self, part: &PartInfo, chunk: u32, hide: Option<&RoaringBitmap>) -> Result<Option<ColumnBatch>> {
        let Some(table) = &self.table else { return Ok(None) };
        let meta = &part.meta;
        let cm = &meta.chunks[chunk as usize];
        let blob = |col: usize| cm.read(table, meta.id, col);
        let sys_err = |name: &str| {
            let name = name.to_owned();
            move |source| StoreError::Chunk { part: meta.id, chunk, column: name, source }
        };
        let req = &self.request;
        // Some rows of the part may be older than the sequence asked for.
        let seq_filter = req.min_seq > meta.min_seq;
        let need_filter = !req.chunk_inside(cm) || hide.is_some() || seq_filter;
        let need_ts = req.with_ts || req.with_seq || need_filter;
        let need_ck = req.with_ck || (need_filter && (req.customers.is_some() || hide.is_some()));
        let ts: Vec<i64> =
            if need_ts { decode_system(blob(COL_TS)?.bytes()).map_err(sys_err("ts"))? } else { Vec::new() };
        // Merged parts store seq relative to ts, so it is decoded before the rows are picked.
        let seq: Vec<u64> = if req.with_seq || seq_filter {
            codec::decode_seq(blob(COL_SEQ)?.bytes(), &ts).map_err(sys_err("seq"))?
        } else {
            Vec::new()
        };
        let ck: Vec<Ck> =
            if need_ck { decode_system(blob(COL_CK)?.bytes()).map_err(sys_err("ck"))? } else { Vec::new() };
        for (len, needed, name) in
            [(ts.len(), need_ts, "ts"), (ck.len(), need_ck, "ck"), (seq.len(), req.with_seq || seq_filter, "seq")]
        {
            if needed {
                crate::part::check_rows(len, cm, meta.id, chunk, name)?;
            }
        }
        let rows: Option<Vec<usize>> = need_filter.then(|| {
            (0..cm.rows as usize)
                .filter(|&r| ts[r] >= req.from && ts[r] < req.to)
                .filter(|&r| req.customers.as_ref().is_none_or(|c| c.contains(ck[r])))
                .filter(|&r| hide.is_none_or(|h| !h.contains(ck[r])))
                .filter(|&r| !seq_filter || seq[r] >= req.min_seq)
                .collect()
        });
        if rows.as_ref().is_some_and(Vec::is_empty) {
            return Ok(None);
        }
        fn pick<T: Copy>(v: Vec<T>, rows: &Option<Vec<usize>>) -> Vec<T> {
            match rows {
                Some(rows) => rows.iter().map(|&r| v[r]).collect(),
                None => v,
            }
        }
        let mut batch = ColumnBatch {
            part: meta.id,
            chunk,
            rows: rows.as_ref().map_or(cm.rows as usize, Vec::len),
            ts: if req.with_ts { pick(ts, &rows) } else { Vec::new() },
            ck: if req.with_ck { pick(ck, &rows) } else { Vec::new() },
            seq: Vec::new(),
            columns: Vec::new(),
        };
        if req.with_seq {
            batch.seq = pick(seq, &rows);
        }
        for (i, def) in meta.columns.iter().enumerate() {
            if req.columns.as_ref().is_some_and(|names| !names.contains(&def.name)) {
                continue;
            }
            let bytes = blob(COL_FIRST + i)?;
            let col = codec::decode_column(bytes.bytes(), def.ty).map_err(sys_err(&def.name))?;
            crate::part::check_rows(col.len(), cm, meta.id, chunk, &def.name)?;
            let col = match &rows {
                Some(rows) => col.gather(rows),
                None => col,
            };
            batch.columns.push((Arc::new(def.clone()), col));
        }
        Ok(Some(batch))
    }
}

impl Iterator for Scan {
    type Item = Result<ColumnBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        while let Some((part, chunk, hide)) = self.work.pop_front() {
            match self.read(&part, chunk, hide.as_deref()) {
                Ok(Some(batch)) => return Some(Ok(batch)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}
