//! Named segment definitions: from configuration files (config as code) and through the API
//! (kept in the store), merged into one set of definitions.
//!
//! A file maps names to expressions, or to tables with an expression and a description:
//!
//! ```toml
//! platinum = "sum(order.amount, 30d) > 5000 and did(any, 30d)"
//!
//! [churn_risk]
//! expr = "did(order, 180d) and not did(any, 30d)"
//! description = "Bought this half-year, silent for a month"
//! ```

use std::collections::BTreeMap;

use cxp_store::{Store, StoreError};
use serde::Deserialize;

use super::Definitions;
use crate::api::SegmentDef;

/// Where a definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefSource {
    /// A configuration file.
    File,
    /// `POST /api/v1/segments`, kept in the store.
    Api,
}

impl DefSource {
    /// `file` or `api`.
    pub fn name(self) -> &'static str {
        match self {
            DefSource::File => "file",
            DefSource::Api => "api",
        }
    }
}

/// One named segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSpec {
    /// The definition.
    pub def: SegmentDef,
    /// Where it comes from.
    pub source: DefSource,
}

/// Why definitions could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DefsError {
    /// The file is not valid TOML of the expected shape.
    #[error("{0}")]
    Toml(String),
    /// A name is not a valid segment name.
    #[error("segment {0:?}: a name is letters, digits and '_', starting with a letter or '_'")]
    Name(String),
    /// An expression does not parse.
    #[error("segment {name:?}: {}", error.render(expr))]
    Expr {
        /// The segment.
        name: String,
        /// Its expression.
        expr: String,
        /// What is wrong.
        error: super::ParseError,
    },
    /// A name defined twice.
    #[error("segment {0:?} is defined in the configuration: redefine it there")]
    Taken(String),
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Expr(String),
    Full {
        expr: String,
        #[serde(default)]
        description: String,
    },
}

/// Whether `name` may name a segment.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Checks one definition: its name and that its expression parses.
pub fn check(def: &SegmentDef) -> Result<(), DefsError> {
    if !valid_name(&def.name) {
        return Err(DefsError::Name(def.name.clone()));
    }
    super::parse(&def.expr).map_err(|error| DefsError::Expr {
        name: def.name.clone(),
        expr: def.expr.clone(),
        error,
    })?;
    Ok(())
}

/// The definitions of a segments file.
pub fn parse_file(text: &str) -> Result<Vec<SegmentSpec>, DefsError> {
    let map: BTreeMap<String, Entry> = toml::from_str(text).map_err(|e| DefsError::Toml(e.to_string()))?;
    map.into_iter()
        .map(|(name, entry)| {
            let (expr, description) = match entry {
                Entry::Expr(e) => (e, String::new()),
                Entry::Full { expr, description } => (expr, description),
            };
            let def = SegmentDef { name, expr, description };
            check(&def)?;
            Ok(SegmentSpec { def, source: DefSource::File })
        })
        .collect()
}

const PREFIX: &str = "segment.def.";

/// The definitions made through the API, from the store.
pub fn stored(store: &Store) -> Result<Vec<SegmentSpec>, DefsError> {
    let mut out = Vec::new();
    for (key, bytes) in store.states(PREFIX)? {
        let def: SegmentDef = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Invalid(format!("state {key}: not a segment definition: {e}")))?;
        out.push(SegmentSpec { def, source: DefSource::Api });
    }
    Ok(out)
}

/// Keeps `def` in the store (replacing one of the same name).
pub fn save(store: &Store, def: &SegmentDef) -> Result<(), DefsError> {
    check(def)?;
    let bytes = serde_json::to_vec(def).map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.put_state(vec![(format!("{PREFIX}{}", def.name), Some(bytes))])?;
    Ok(())
}

/// Removes the stored definition `name`; false when there was none.
pub fn remove(store: &Store, name: &str) -> Result<bool, DefsError> {
    let key = format!("{PREFIX}{name}");
    if store.state(&key)?.is_none() {
        return Ok(false);
    }
    store.put_state(vec![(key, None)])?;
    Ok(true)
}

/// File definitions first, then stored ones whose names the files do not take.
pub fn merge(files: Vec<SegmentSpec>, stored: Vec<SegmentSpec>) -> Vec<SegmentSpec> {
    let mut out = files;
    for s in stored {
        if !out.iter().any(|f| f.def.name == s.def.name) {
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.def.name.cmp(&b.def.name));
    out
}

/// Name -> expression, for the evaluator.
pub fn definitions(specs: &[SegmentSpec]) -> Definitions {
    specs.iter().map(|s| (s.def.name.clone(), s.def.expr.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_take_both_forms_and_refuse_what_is_wrong() {
        let specs = parse_file(
            "platinum = \"sum(order.amount, 30d) > 5000 and did(any, 30d)\"\n[quiet]\nexpr = \"not did(any, 30d)\"\ndescription = \"Silent for a month\"\n",
        )
        .expect("valid");
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[1].def.name, "quiet");
        assert_eq!(specs[1].def.description, "Silent for a month");
        let e = parse_file("bad = \"sum(order.amount, 30d > 5\"").expect_err("bad expression");
        assert!(e.to_string().starts_with("segment \"bad\": sum(order.amount, 30d > 5\n"), "{e}");
        let e = parse_file("\"with space\" = \"did(any)\"").expect_err("bad name");
        assert!(e.to_string().contains("a name is letters"), "{e}");
        let e = parse_file("x = 5").expect_err("not a string");
        assert!(e.to_string().contains("line 1"), "{e}");
        assert!(valid_name("会员_vip2"));
    }
}
