//! The schema of each measurement: which tags and fields it has, and each field's type.
//!
//! A field's type is fixed once seen, as in InfluxDB: a line that writes another type to it is
//! refused with a reason. Changes made while building a group commit are staged and become
//! visible only once the transaction has committed, so a failed commit leaves no trace.

use hashbrown::HashMap;

use redb::{ReadableTable, Table};
use serde::{Deserialize, Serialize};

use crate::batch::EventRef;
use crate::error::{Result, meta_err};
use crate::types::{ColumnKind, ColumnType};

/// One column of a measurement or part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Tag key or field key.
    pub name: String,
    /// Tag or field.
    pub kind: ColumnKind,
    /// Value type (always `Str` for tags).
    pub ty: ColumnType,
}

/// The columns a measurement has had so far, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasurementSchema {
    /// Column definitions.
    pub columns: Vec<ColumnDef>,
}

impl MeasurementSchema {
    /// The type of field `name`, if the measurement has it.
    pub fn field_type(&self, name: &str) -> Option<ColumnType> {
        self.columns.iter().find(|c| c.kind == ColumnKind::Field && c.name == name).map(|c| c.ty)
    }

    fn has_tag(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.kind == ColumnKind::Tag && c.name == name)
    }
}

/// Committed schemas plus the changes of the group commit being built.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    committed: HashMap<String, MeasurementSchema>,
    staged: HashMap<String, MeasurementSchema>,
}

impl Catalog {
    pub(crate) fn load(table: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Self> {
        let mut committed = HashMap::new();
        for entry in table.iter()? {
            let (k, v) = entry?;
            let schema: MeasurementSchema =
                postcard::from_bytes(v.value()).map_err(meta_err(format!("schema of {}", k.value())))?;
            committed.insert(k.value().to_owned(), schema);
        }
        Ok(Catalog { committed, staged: HashMap::new() })
    }

    /// Checks the event's field types and stages any new columns. On a conflict, returns the
    /// reason in InfluxDB's words and stages nothing.
    pub(crate) fn check_and_stage(&mut self, event: &EventRef<'_>) -> Result<(), String> {
        let current = self.staged.get(event.measurement).or_else(|| self.committed.get(event.measurement));
        let mut new_cols = Vec::new();
        for (key, value) in event.fields() {
            let ty = field_type(&value);
            match current.and_then(|s| s.field_type(key)) {
                Some(existing) if existing != ty => {
                    return Err(format!(
                        "field type conflict: input field \"{key}\" on measurement \"{}\" is type {ty}, already exists as type {existing}",
                        event.measurement
                    ));
                }
                Some(_) => {}
                None => new_cols.push(ColumnDef { name: key.to_owned(), kind: ColumnKind::Field, ty }),
            }
        }
        for (key, _) in event.tags() {
            if !current.is_some_and(|s| s.has_tag(key)) {
                new_cols.push(ColumnDef { name: key.to_owned(), kind: ColumnKind::Tag, ty: ColumnType::Str });
            }
        }
        if !new_cols.is_empty() {
            let staged = self
                .staged
                .entry(event.measurement.to_owned())
                .or_insert_with(|| self.committed.get(event.measurement).cloned().unwrap_or_default());
            staged.columns.extend(new_cols);
        }
        Ok(())
    }

    pub(crate) fn write_staged(&self, table: &mut Table<&'static str, &'static [u8]>) -> Result<()> {
        for (name, schema) in &self.staged {
            let bytes = postcard::to_allocvec(schema).map_err(meta_err(format!("schema of {name}")))?;
            table.insert(name.as_str(), bytes.as_slice())?;
        }
        Ok(())
    }

    pub(crate) fn commit(&mut self) {
        self.committed.extend(self.staged.drain());
    }

    pub(crate) fn rollback(&mut self) {
        self.staged.clear();
    }
}

/// The column type of a field value.
pub fn field_type(value: &cxp_lp::FieldValue<'_>) -> ColumnType {
    match value {
        cxp_lp::FieldValue::I64(_) => ColumnType::I64,
        cxp_lp::FieldValue::U64(_) => ColumnType::U64,
        cxp_lp::FieldValue::F64(_) => ColumnType::F64,
        cxp_lp::FieldValue::Bool(_) => ColumnType::Bool,
        cxp_lp::FieldValue::Str(_) => ColumnType::Str,
    }
}
