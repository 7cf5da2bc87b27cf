//! The parsed point and the options that shape parsing.
//!
//! `Line` borrows from the input: every element without escapes is a slice of the request
//! body, and its tags and fields live inline (eight of each) so that a typical line costs no
//! heap allocation. A consumer that keeps lines beyond the body calls [`Line::into_owned`].

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::precision::Precision;
use crate::value::FieldValue;

/// The default for [`ParseOptions::max_line_bytes`]: 64 KiB, InfluxDB's own string limit.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;

/// How to read a body of line protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// The unit of the timestamps; they are scaled to nanoseconds.
    pub precision: Precision,
    /// Longest accepted line in bytes, without its terminator (for a string spanning several
    /// physical lines: the whole logical line). Longer lines are reported and skipped.
    pub max_line_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { precision: Precision::Nanoseconds, max_line_bytes: DEFAULT_MAX_LINE_BYTES }
    }
}

/// One parsed point.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// The measurement name, unescaped.
    pub measurement: Cow<'a, str>,
    /// Tag keys and values, unescaped, in input order. Keys are unique and values non-empty.
    pub tags: SmallVec<[(Cow<'a, str>, Cow<'a, str>); 8]>,
    /// Field keys and values in input order; at least one, keys unique.
    pub fields: SmallVec<[(Cow<'a, str>, FieldValue<'a>); 8]>,
    /// Nanoseconds since the epoch, already scaled by the precision; None when the line has no
    /// timestamp.
    pub timestamp: Option<i64>,
}

impl<'a> Line<'a> {
    /// A line with nothing in it yet, for the parser to fill.
    pub(crate) fn empty() -> Self {
        Line { measurement: Cow::Borrowed(""), tags: SmallVec::new(), fields: SmallVec::new(), timestamp: None }
    }

    /// The value of tag `key`, if present.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }

    /// The value of field `key`, if present.
    pub fn field(&self, key: &str) -> Option<&FieldValue<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A copy that no longer borrows the input.
    pub fn into_owned(self) -> Line<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        Line {
            measurement: own(self.measurement),
            tags: self.tags.into_iter().map(|(k, v)| (own(k), own(v))).collect(),
            fields: self.fields.into_iter().map(|(k, v)| (own(k), v.into_owned())).collect(),
            timestamp: self.timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Line<'static> {
        Line {
            measurement: Cow::Borrowed("m"),
            tags: [("t", "v"), ("u", "w")].into_iter().map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))).collect(),
            fields: [("f", FieldValue::I64(1)), ("s", FieldValue::Str("x".into()))]
                .into_iter()
                .map(|(k, v)| (Cow::Borrowed(k), v))
                .collect(),
            timestamp: Some(1),
        }
    }

    #[test]
    fn lookups_by_key() {
        let line = sample();
        assert_eq!(line.tag("u"), Some("w"));
        assert_eq!(line.tag("f"), None);
        assert_eq!(line.field("s"), Some(&FieldValue::Str("x".into())));
        assert_eq!(line.field("t"), None);
    }

    #[test]
    fn into_owned_copies_everything() {
        let owned = sample().into_owned();
        assert_eq!(owned, sample());
        assert!(matches!(owned.measurement, Cow::Owned(_)));
        assert!(owned.tags.iter().all(|(k, v)| matches!((k, v), (Cow::Owned(_), Cow::Owned(_)))));
        assert!(matches!(owned.fields[1].1, FieldValue::Str(Cow::Owned(_))));
    }

    #[test]
    fn default_options() {
        let o = ParseOptions::default();
        assert_eq!(o.precision, Precision::Nanoseconds);
        assert_eq!(o.max_line_bytes, 65_536);
    }
}
