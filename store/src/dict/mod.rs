//! The data dictionary: canonical field names with their aliases (in any language), types and
//! normalisations, value maps, ranges, required fields per event, identifier and PII flags.
//! Configuration as code, in TOML; `default.toml` ships with the binary.
//!
//! Parsing reports every problem with its line and column, so `cxp dict check FILE` can
//! explain a broken file. Applying the dictionary to a batch (`apply.rs`) renames aliases,
//! normalises values, and refuses events that break a hard rule, naming the rule.

mod apply;
mod normalize;

use std::collections::BTreeMap;

// Probed for every tag and field of every event: foldhash, not SipHash.
use hashbrown::HashMap;

use cxp_lp::FieldValue;
use serde::Deserialize;
use toml::Spanned;

pub use apply::{DictStats, FieldStats};
pub use normalize::{FieldKind, Normalized, ValueMap, normalize};

/// The dictionary that ships with cxp: it covers the events of `cxp gen`.
pub const DEFAULT_DICTIONARY: &str = include_str!("../../dict/default.toml");

/// One problem in a dictionary file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, col {col}: {message}")]
pub struct DictError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, in plain words.
    pub message: String,
}

/// A canonical field.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Canonical name.
    pub name: String,
    /// How values are normalised.
    pub kind: FieldKind,
    /// Other names it arrives under.
    pub aliases: Vec<String>,
    /// Spelling -> code, if any.
    pub values: Option<ValueMap>,
    /// Hard lower bound.
    pub min: Option<f64>,
    /// Hard upper bound.
    pub max: Option<f64>,
    /// A value that cannot be normalised is a hard rule.
    pub strict: bool,
    /// Identity type this field carries (`customer`, `email`, `phone`, ...).
    pub identifier: Option<String>,
    /// Personal data.
    pub pii: bool,
    /// Counts toward profile completeness and is kept as a profile trait.
    pub profile: bool,
    /// Profiles keep the all-time sum of this (numeric) field per event.
    pub sum: bool,
}

/// A validated dictionary.
#[derive(Debug, Clone)]
pub struct Dictionary {
    fields: Vec<FieldSpec>,
    // Canonical names and aliases -> index in `fields`.
    names: HashMap<String, usize>,
    required: BTreeMap<String, Vec<String>>,
    country: phonenumber::country::Id,
    id_rules: BTreeMap<String, crate::identity::IdRule>,
    computed: Vec<crate::profile::ComputedSpec>,
    text: String,
}

/// Which dictionary a store applies (see [`crate::StoreOptions::dictionary`]).
#[derive(Debug, Clone, Default)]
pub enum DictionaryChoice {
    /// None: events are stored as they come, keyed by `customer` and `anon` only.
    #[default]
    Off,
    /// The one saved in the store by an earlier open, else the built-in one.
    Saved,
    /// This one, saved in the store so that later opens with `Saved` apply it too.
    Use(std::sync::Arc<Dictionary>),
    /// None, saved in the store so that later opens with `Saved` apply none either.
    Disable,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDict {
    version: Spanned<u32>,
    default_country: Option<Spanned<String>>,
    #[serde(default)]
    fields: BTreeMap<String, Spanned<RawField>>,
    #[serde(default)]
    events: BTreeMap<String, Spanned<RawEvent>>,
    #[serde(default)]
    identifiers: BTreeMap<String, Spanned<RawIdRule>>,
    #[serde(default)]
    computed: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdRule {
    max: Option<u32>,
    blocked: Option<Vec<String>>,
    priority: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(rename = "type")]
    kind: FieldKind,
    #[serde(default)]
    aliases: Vec<String>,
    values: Option<BTreeMap<String, Vec<String>>>,
    default: Option<toml::Value>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    strict: bool,
    identifier: Option<String>,
    #[serde(default)]
    pii: bool,
    #[serde(default)]
    profile: bool,
    #[serde(default)]
    sum: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    #[serde(default)]
    required: Vec<String>,
}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, col)
}

impl Dictionary {
    /// The dictionary that ships with cxp.
    pub fn builtin() -> Dictionary {
        Dictionary::parse(DEFAULT_DICTIONARY).expect("the shipped dictionary is checked by a test")
    }

    /// Parses and validates a dictionary, returning every problem found.
    pub fn parse(text: &str) -> Result<Dictionary, Vec<DictError>> {
        let raw: RawDict = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| position(text, s.start));
            vec![DictError { line, col, message: e.message().to_owned() }]
        })?;
        let mut errors = Vec::new();
        let mut err = |span: std::ops::Range<usize>, message: String| {
            let (line, col) = position(text, span.start);
            errors.push(DictError { line, col, message });
        };
        if *raw.version.get_ref() != 1 {
            err(
                raw.version.span(),
                format!("version {} is not supported (this build reads version 1)", raw.version.get_ref()),
            );
        }
        let country = match &raw.default_country {
            None => phonenumber::country::Id::CN,
            Some(c) => c.get_ref().parse().unwrap_or_else(|_| {
                err(c.span(), format!("default_country {:?} is not an ISO 3166 country code", c.get_ref()));
                phonenumber::country::Id::CN
            }),
        };
        let mut fields = Vec::new();
        let mut names: HashMap<String, usize> = HashMap::new();
        for (name, spanned) in &raw.fields {
            let span = spanned.span();
            let f = spanned.get_ref();
            if names.contains_key(name) {
                err(span.clone(), format!("field {name:?} is already an alias of another field"));
            }
            names.insert(name.clone(), fields.len());
            for alias in &f.aliases {
                if let Some(&other) = names.get(alias).filter(|&&i| i != fields.len()) {
                    let owner = raw.fields.keys().nth(other).map_or(alias.as_str(), String::as_str);
                    err(span.clone(), format!("alias {alias:?} of field {name:?} already names field {owner:?}"));
                } else {
                    names.insert(alias.clone(), fields.len());
                }
            }
            if let (Some(min), Some(max)) = (f.min, f.max)
                && min > max
            {
                err(span.clone(), format!("field {name:?}: min {min} is above max {max}"));
            }
            if (f.min.is_some() || f.max.is_some()) && !matches!(f.kind, FieldKind::Int | FieldKind::Float) {
                err(span.clone(), format!("field {name:?}: min and max apply to int and float fields only"));
            }
            let values = match &f.values {
                None => {
                    if f.default.is_some() {
                        err(span.clone(), format!("field {name:?}: default needs a values map"));
                    }
                    None
                }
                Some(map) => {
                    let mut vm = ValueMap::default();
                    let code = |k: &str| -> Result<FieldValue<'static>, String> {
                        match f.kind {
                            FieldKind::Int => k
                                .parse::<i64>()
                                .map(FieldValue::I64)
                                .map_err(|_| format!("field {name:?}: value code {k:?} is not an integer")),
                            FieldKind::String => Ok(FieldValue::Str(k.to_owned().into())),
                            _ => Err(format!("field {name:?}: values maps apply to int and string fields only")),
                        }
                    };
                    for (k, spellings) in map {
                        match code(k) {
                            Ok(c) => {
                                for s in spellings {
                                    if vm.map.insert(s.clone(), c.clone()).is_some() {
                                        err(span.clone(), format!("field {name:?}: spelling {s:?} is mapped twice"));
                                    }
                                }
                            }
                            Err(m) => err(span.clone(), m),
                        }
                    }
                    vm.default = match &f.default {
                        None => None,
                        Some(toml::Value::Integer(i)) if f.kind == FieldKind::Int => Some(FieldValue::I64(*i)),
                        Some(toml::Value::String(s)) if f.kind == FieldKind::String => {
                            Some(FieldValue::Str(s.clone().into()))
                        }
                        Some(other) => {
                            err(span.clone(), format!("field {name:?}: default {other} does not match type"));
                            None
                        }
                    };
                    Some(vm)
                }
            };
            fields.push(FieldSpec {
                name: name.clone(),
                kind: f.kind,
                aliases: f.aliases.clone(),
                values,
                min: f.min,
                max: f.max,
                strict: f.strict,
                identifier: f.identifier.clone(),
                pii: f.pii,
                profile: f.profile,
                sum: f.sum,
            });
        }
        let required = raw.events.iter().map(|(m, e)| (m.clone(), e.get_ref().required.clone())).collect();
        let mut id_rules = BTreeMap::new();
        for (ty, spanned) in &raw.identifiers {
            let r = spanned.get_ref();
            let declared = fields.iter().any(|f| f.identifier.as_deref() == Some(ty.as_str()));
            if !declared && !crate::identity::BUILTIN_TYPES.contains(&ty.as_str()) {
                err(spanned.span(), format!("identifiers.{ty}: no field carries identifier type {ty:?}"));
            }
            if r.max == Some(0) {
                err(spanned.span(), format!("identifiers.{ty}: max must be at least 1"));
            }
            let mut rule = crate::identity::IdRule::default_for(ty);
            rule.max = r.max.unwrap_or(rule.max);
            rule.priority = r.priority.unwrap_or(rule.priority);
            if let Some(b) = &r.blocked {
                rule.blocked = b.iter().map(|v| v.trim().to_owned()).collect();
            }
            id_rules.insert(ty.clone(), rule);
        }
        let mut computed = Vec::new();
        for (name, expr) in &raw.computed {
            match crate::profile::parse_computed(name, expr.get_ref()) {
                Ok(spec) => computed.push(spec),
                Err(why) => err(expr.span(), format!("computed.{why}")),
            }
        }
        if errors.is_empty() {
            Ok(Dictionary { fields, names, required, country, id_rules, computed, text: text.to_owned() })
        } else {
            Err(errors)
        }
    }

    /// The field called `name` (canonically or by an alias).
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.names.get(name).map(|&i| &self.fields[i])
    }

    /// Every canonical field.
    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    /// Fields required by events named `measurement`.
    pub fn required(&self, measurement: &str) -> &[String] {
        self.required.get(measurement).map_or(&[], Vec::as_slice)
    }

    /// Number of event definitions.
    pub fn event_count(&self) -> usize {
        self.required.len()
    }

    /// (field name, identifier type) of every field that carries an identifier.
    pub fn identifier_fields(&self) -> Vec<(String, String)> {
        self.fields.iter().filter_map(|f| f.identifier.clone().map(|t| (f.name.clone(), t))).collect()
    }

    /// Guardrails configured per identifier type (`[identifiers.TYPE]`); types not listed
    /// get [`crate::identity::IdRule::default_for`].
    pub fn identity_rules(&self) -> &BTreeMap<String, crate::identity::IdRule> {
        &self.id_rules
    }

    /// Computed traits (`[computed]`), by name.
    pub fn computed(&self) -> &[crate::profile::ComputedSpec] {
        &self.computed
    }

    /// The TOML it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Default country of national phone numbers.
    pub fn country(&self) -> phonenumber::country::Id {
        self.country
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_dictionary_is_valid() {
        let d = Dictionary::parse(DEFAULT_DICTIONARY).expect("valid");
        assert_eq!(d.field("性别").map(|f| f.name.as_str()), Some("gender"));
        assert_eq!(d.field("sex").map(|f| f.name.as_str()), Some("gender"));
        assert_eq!(d.field("手机号").and_then(|f| f.identifier.as_deref()), Some("phone"));
        assert_eq!(d.required("order"), ["amount".to_owned()]);
    }

    #[test]
    fn errors_name_their_line() {
        let cases: [(&str, &str); 7] = [
            ("version = 1\n[fields.a]\ntpye = \"int\"\n", "line 3, col 1: unknown field `tpye`"),
            ("version = 1\n[fields.a]\ntype = \"integer\"\n", "line 3, col 8: unknown variant `integer`"),
            ("version = 2\n", "line 1, col 11: version 2 is not supported"),
            ("version = 1\ndefault_country = \"XX\"\n", "line 2, col 19: default_country \"XX\" is not an ISO 3166"),
            (
                "version = 1\n[fields.a]\ntype = \"int\"\nmin = 5\nmax = 1\n",
                "line 2, col 1: field \"a\": min 5 is above max 1",
            ),
            (
                "version = 1\n[fields.a]\ntype = \"int\"\naliases = [\"x\"]\n[fields.b]\ntype = \"int\"\naliases = [\"x\"]\n",
                "line 5, col 1: alias \"x\" of field \"b\" already names field \"a\"",
            ),
            (
                "version = 1\n[fields.a]\ntype = \"int\"\nvalues = { one = [\"1\"] }\n",
                "field \"a\": value code \"one\" is not an integer",
            ),
        ];
        for (text, want) in cases {
            let errors = Dictionary::parse(text).expect_err(want);
            let got = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            assert!(got.contains(want), "want {want:?}, got {got:?}");
        }
        assert!(
            Dictionary::parse("version = 1\n[fields.a\n").expect_err("syntax")[0].to_string().starts_with("line 2")
        );
    }
}
