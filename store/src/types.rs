//! The vocabulary shared by every layer of the store: column kinds and types, and the dense
//! customer key.

use serde::{Deserialize, Serialize};

/// Dense customer key. `NO_CUSTOMER` marks an event stored without any identity (telemetry,
/// inventory, campaign events); real customers start at 1.
pub type Ck = u32;

/// The key of events that carry no identity.
pub const NO_CUSTOMER: Ck = 0;

/// Whether a column came from the tag set or the field set of its events.
///
/// Tags and fields live in separate name spaces, as in line protocol: a measurement may have a
/// tag `sku` and a field `sku`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ColumnKind {
    /// A tag: always a string, a low-cardinality dimension.
    Tag,
    /// A field: a typed value.
    Field,
}

/// The type of a column's values. A field's type is fixed per measurement once seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    /// Signed 64-bit integer (`12i`).
    I64,
    /// Unsigned 64-bit integer (`12u`).
    U64,
    /// IEEE-754 double (`12.5`).
    F64,
    /// Boolean (`true`).
    Bool,
    /// UTF-8 string (`"text"`, and every tag value).
    Str,
}

impl ColumnType {
    /// The name used in error messages, in line-protocol terms.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::I64 => "integer",
            ColumnType::U64 => "unsigned integer",
            ColumnType::F64 => "float",
            ColumnType::Bool => "boolean",
            ColumnType::Str => "string",
        }
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An owned value read back from the store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    /// Signed integer.
    I64(i64),
    /// Unsigned integer.
    U64(u64),
    /// Float; stored bit-exactly.
    F64(f64),
    /// Boolean.
    Bool(bool),
    /// String.
    Str(String),
}

/// The value as text: numbers as Rust prints them, booleans as `true`/`false`, strings as
/// they are.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::I64(x) => write!(f, "{x}"),
            Value::U64(x) => write!(f, "{x}"),
            Value::F64(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

impl Value {
    /// The value as a number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::I64(x) => Some(*x as f64),
            Value::U64(x) => Some(*x as f64),
            Value::F64(x) => Some(*x),
            Value::Bool(_) | Value::Str(_) => None,
        }
    }

    /// The column type this value belongs to.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Value::I64(_) => ColumnType::I64,
            Value::U64(_) => ColumnType::U64,
            Value::F64(_) => ColumnType::F64,
            Value::Bool(_) => ColumnType::Bool,
            Value::Str(_) => ColumnType::Str,
        }
    }
}
