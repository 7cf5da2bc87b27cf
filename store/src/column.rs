//! In-memory columns: what the writer builds, what codecs encode and what scans return.

use crate::bitmap::BitVec;
use crate::types::{ColumnType, Value};

/// Strings stored Arrow-style: one byte buffer and `len + 1` offsets into it. A column read
/// from a dictionary-coded chunk keeps the dictionary in that buffer and one code per row
/// instead (`codes`), so a scan does not copy every row's string, and a reader can work on
/// the few distinct values once rather than on every row ([`StrColumn::codes`]).
#[derive(Debug, Clone, Eq)]
pub struct StrColumn {
    offsets: Vec<usize>,
    bytes: String,
    codes: Option<Vec<u32>>,
}

impl Default for StrColumn {
    fn default() -> Self {
        StrColumn { offsets: vec![0], bytes: String::new(), codes: None }
    }
}

impl PartialEq for StrColumn {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl StrColumn {
    /// An empty string column.
    pub fn new() -> Self {
        Self::default()
    }

    /// A column of `codes` into `dictionary` (every code must be below its length).
    pub(crate) fn from_dictionary(dictionary: StrColumn, codes: Vec<u32>) -> Self {
        debug_assert!(dictionary.codes.is_none());
        debug_assert!(codes.iter().all(|&c| (c as usize) < dictionary.len()));
        StrColumn { offsets: dictionary.offsets, bytes: dictionary.bytes, codes: Some(codes) }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match &self.codes {
            Some(c) => c.len(),
            None => self.offsets.len() - 1,
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, k: usize) -> &str {
        &self.bytes[self.offsets[k]..self.offsets[k + 1]]
    }

    // Turns a dictionary-coded column into a plain one (before it is appended to).
    fn materialize(&mut self) {
        if self.codes.is_some() {
            let plain: StrColumn = self.iter().collect();
            *self = plain;
        }
    }

    /// Appends a value.
    pub fn push(&mut self, s: &str) {
        self.materialize();
        self.bytes.push_str(s);
        self.offsets.push(self.bytes.len());
    }

    /// The value at `index`.
    pub fn get(&self, index: usize) -> &str {
        match &self.codes {
            Some(c) => self.entry(c[index] as usize),
            None => self.entry(index),
        }
    }

    /// Total bytes of all values.
    pub fn byte_len(&self) -> usize {
        match &self.codes {
            Some(_) => self.iter().map(str::len).sum(),
            None => self.bytes.len(),
        }
    }

    /// Iterates over the values.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// For a dictionary-coded column: each row's code, and the number of distinct values
    /// ([`StrColumn::dictionary_value`] gives each).
    pub fn codes(&self) -> Option<(&[u32], usize)> {
        self.codes.as_deref().map(|c| (c, self.offsets.len() - 1))
    }

    /// Dictionary value `code` of a dictionary-coded column.
    pub fn dictionary_value(&self, code: u32) -> &str {
        self.entry(code as usize)
    }

    /// A new column of the rows at `rows`, in that order (sharing the dictionary of a coded
    /// column).
    pub fn gather(&self, rows: &[usize]) -> StrColumn {
        match &self.codes {
            Some(c) => StrColumn {
                offsets: self.offsets.clone(),
                bytes: self.bytes.clone(),
                codes: Some(rows.iter().map(|&r| c[r]).collect()),
            },
            None => rows.iter().map(|&r| self.get(r)).collect(),
        }
    }
}

impl<'a> FromIterator<&'a str> for StrColumn {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut col = StrColumn::new();
        for s in iter {
            col.push(s);
        }
        col
    }
}

/// The values of one column, typed. Null rows hold a default (0, false, "") and are marked in
/// the column's validity mask.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Signed integers.
    I64(Vec<i64>),
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Floats.
    F64(Vec<f64>),
    /// Booleans.
    Bool(BitVec),
    /// Strings.
    Str(StrColumn),
}

impl ColumnData {
    /// An empty column of type `ty`.
    pub fn new(ty: ColumnType) -> Self {
        match ty {
            ColumnType::I64 => ColumnData::I64(Vec::new()),
            ColumnType::U64 => ColumnData::U64(Vec::new()),
            ColumnType::F64 => ColumnData::F64(Vec::new()),
            ColumnType::Bool => ColumnData::Bool(BitVec::new()),
            ColumnType::Str => ColumnData::Str(StrColumn::new()),
        }
    }

    /// The column's type.
    pub fn column_type(&self) -> ColumnType {
        match self {
            ColumnData::I64(_) => ColumnType::I64,
            ColumnData::U64(_) => ColumnType::U64,
            ColumnData::F64(_) => ColumnType::F64,
            ColumnData::Bool(_) => ColumnType::Bool,
            ColumnData::Str(_) => ColumnType::Str,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::I64(v) => v.len(),
            ColumnData::U64(v) => v.len(),
            ColumnData::F64(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the type's default value (the placeholder of a null row).
    pub fn push_default(&mut self) {
        match self {
            ColumnData::I64(v) => v.push(0),
            ColumnData::U64(v) => v.push(0),
            ColumnData::F64(v) => v.push(0.0),
            ColumnData::Bool(v) => v.push(false),
            ColumnData::Str(v) => v.push(""),
        }
    }

    /// The value at `row`, ignoring validity.
    pub fn value(&self, row: usize) -> Value {
        match self {
            ColumnData::I64(v) => Value::I64(v[row]),
            ColumnData::U64(v) => Value::U64(v[row]),
            ColumnData::F64(v) => Value::F64(v[row]),
            ColumnData::Bool(v) => Value::Bool(v.get(row)),
            ColumnData::Str(v) => Value::Str(v.get(row).to_owned()),
        }
    }

    /// A new column holding the rows at `rows`, in that order.
    pub fn gather(&self, rows: &[usize]) -> ColumnData {
        match self {
            ColumnData::I64(v) => ColumnData::I64(rows.iter().map(|&r| v[r]).collect()),
            ColumnData::U64(v) => ColumnData::U64(rows.iter().map(|&r| v[r]).collect()),
            ColumnData::F64(v) => ColumnData::F64(rows.iter().map(|&r| v[r]).collect()),
            ColumnData::Bool(v) => ColumnData::Bool(rows.iter().map(|&r| v.get(r)).collect()),
            ColumnData::Str(v) => ColumnData::Str(v.gather(rows)),
        }
    }

    /// Appends every row of `other`, which must have the same type.
    pub fn extend_from(&mut self, other: &ColumnData) {
        match (self, other) {
            (ColumnData::I64(a), ColumnData::I64(b)) => a.extend_from_slice(b),
            (ColumnData::U64(a), ColumnData::U64(b)) => a.extend_from_slice(b),
            (ColumnData::F64(a), ColumnData::F64(b)) => a.extend_from_slice(b),
            (ColumnData::Bool(a), ColumnData::Bool(b)) => b.iter().for_each(|x| a.push(x)),
            (ColumnData::Str(a), ColumnData::Str(b)) => b.iter().for_each(|x| a.push(x)),
            (a, b) => {
                unreachable!("column types are fixed per measurement: {} vs {}", a.column_type(), b.column_type())
            }
        }
    }
}

/// A column with its validity: `valid` is `None` when every row is non-null.
#[derive(Debug, Clone, PartialEq)]
pub struct NullableColumn {
    /// The values.
    pub data: ColumnData,
    /// Which rows hold a value; `None` means all of them.
    pub valid: Option<BitVec>,
}

impl NullableColumn {
    /// An empty column.
    pub fn new(ty: ColumnType) -> Self {
        NullableColumn { data: ColumnData::new(ty), valid: None }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether `row` holds a value.
    pub fn is_valid(&self, row: usize) -> bool {
        self.valid.as_ref().is_none_or(|v| v.get(row))
    }

    /// The value at `row`, or `None` for a null.
    pub fn get(&self, row: usize) -> Option<Value> {
        self.is_valid(row).then(|| self.data.value(row))
    }

    /// Appends a null row.
    pub fn push_null(&mut self) {
        let len = self.data.len();
        self.valid.get_or_insert_with(|| BitVec::filled(len, true)).push(false);
        self.data.push_default();
    }

    /// Marks the row just appended to `data` as valid.
    pub fn mark_pushed(&mut self) {
        if let Some(v) = &mut self.valid {
            v.push(true);
        }
    }

    /// Pads with nulls up to `len` rows (a column first seen mid-part).
    pub fn pad_to(&mut self, len: usize) {
        while self.data.len() < len {
            self.push_null();
        }
    }

    /// A new column with the rows at `rows`, in that order.
    pub fn gather(&self, rows: &[usize]) -> NullableColumn {
        let valid = self.valid.as_ref().map(|v| rows.iter().map(|&r| v.get(r)).collect::<BitVec>());
        NullableColumn { data: self.data.gather(rows), valid: valid.filter(|v| !v.all()) }
    }

    /// Appends every row of `other` (same type).
    pub fn extend_from(&mut self, other: &NullableColumn) {
        let before = self.len();
        self.data.extend_from(&other.data);
        match (&mut self.valid, &other.valid) {
            (None, None) => {}
            (Some(a), None) => (0..other.len()).for_each(|_| a.push(true)),
            (mine, theirs) => {
                let a = mine.get_or_insert_with(|| BitVec::filled(before, true));
                match theirs {
                    Some(b) => b.iter().for_each(|x| a.push(x)),
                    None => (0..other.len()).for_each(|_| a.push(true)),
                }
            }
        }
    }
}
