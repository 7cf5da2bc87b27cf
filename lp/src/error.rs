//! What can be wrong with one line, and where.
//!
//! Every error names a physical line and a byte column so that a person can find the offending
//! token in the request body. Messages are plain words and carry the offending text, because they
//! end up verbatim in quarantine rows and HTTP error bodies.

use std::fmt;

use crate::precision::Precision;

/// An error in one line, with its position.
///
/// `Display` gives `line 3, col 17: integer 9223372036854775808i out of range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based physical line of the offending token, counting every line of the input,
    /// including blank lines and comments.
    pub line: usize,
    /// 1-based byte column of the offending token's start in that physical line.
    pub col: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, col {}: {}", self.line, self.col, self.kind)
    }
}

impl std::error::Error for LineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Why a line was rejected.
///
/// Variants carrying `text` hold the offending token as written (escapes included), cut to
/// [`MAX_SNIPPET`] bytes so that a 60 KiB bad token does not become a 60 KiB message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The physical line exceeds [`crate::ParseOptions::max_line_bytes`]. Column 1.
    /// (A string running over several physical lines past the limit is
    /// [`ErrorKind::UnterminatedString`] instead.)
    #[error("line is {len} bytes, over the limit of {max}")]
    LineTooLong {
        /// Length of the line in bytes, without its terminator.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The line is not valid UTF-8; the column is that of the first invalid byte.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// [`crate::parse_line`] was given a blank line or a comment.
    #[error("blank line or comment")]
    Blank,
    /// The line starts with a delimiter instead of a measurement name.
    #[error("missing measurement")]
    MissingMeasurement,
    /// The measurement and tags are not followed by a field set. The column is where the
    /// field set should start.
    #[error("missing fields")]
    MissingFields,
    /// A comma in the tag set is not followed by a tag key.
    #[error("empty tag key")]
    EmptyTagKey,
    /// A tag key is not followed by `=`. The column is that of the key.
    #[error("tag key \"{key}\" is not followed by \"=\"")]
    TagWithoutEquals {
        /// The tag key as written.
        key: String,
    },
    /// A tag has an empty value; InfluxDB asks clients to omit such tags.
    #[error("empty value for tag \"{key}\" (omit the tag instead)")]
    EmptyTagValue {
        /// The tag key as written.
        key: String,
    },
    /// The same tag key appears twice (after unescaping). The column is the second one.
    #[error("duplicate tag key \"{key}\"")]
    DuplicateTag {
        /// The unescaped key.
        key: String,
    },
    /// A comma in the field set is not followed by a field key.
    #[error("empty field key")]
    EmptyFieldKey,
    /// A field key is not followed by `=`. The column is that of the key.
    #[error("field key \"{key}\" is not followed by \"=\"")]
    FieldWithoutEquals {
        /// The field key as written.
        key: String,
    },
    /// `key=` with nothing after the `=`.
    #[error("empty value for field \"{key}\"")]
    EmptyFieldValue {
        /// The field key as written.
        key: String,
    },
    /// The same field key appears twice (after unescaping). The column is the second one.
    #[error("duplicate field key \"{key}\"")]
    DuplicateField {
        /// The unescaped key.
        key: String,
    },
    /// A syntactically valid `i` integer outside the i64 range.
    #[error("integer {text} out of range")]
    IntegerOutOfRange {
        /// The value as written, suffix included.
        text: String,
    },
    /// A value ending in `i` that is not `-?digits`.
    #[error("invalid integer {text}")]
    InvalidInteger {
        /// The value as written.
        text: String,
    },
    /// A syntactically valid `u` integer above the u64 range.
    #[error("unsigned integer {text} out of range")]
    UnsignedOutOfRange {
        /// The value as written, suffix included.
        text: String,
    },
    /// A value ending in `u` that is not `digits` (negative values included).
    #[error("invalid unsigned integer {text}")]
    InvalidUnsigned {
        /// The value as written.
        text: String,
    },
    /// A float whose magnitude does not fit in an f64 (it would be infinite).
    #[error("float {text} out of range")]
    FloatOutOfRange {
        /// The value as written.
        text: String,
    },
    /// A value starting like a number that is not a valid float.
    #[error("invalid number {text}")]
    InvalidNumber {
        /// The value as written.
        text: String,
    },
    /// A spelling of true or false that InfluxDB does not accept, such as `tRUE`.
    #[error("invalid boolean {text}")]
    InvalidBoolean {
        /// The value as written.
        text: String,
    },
    /// A bare word that is neither a number nor a boolean (strings need double quotes).
    #[error("invalid field value {text}")]
    InvalidFieldValue {
        /// The value as written.
        text: String,
    },
    /// A string field whose closing quote never came within the input and the line length
    /// limit. The column is the opening quote.
    ///
    /// A string may continue over a raw newline, so a missing quote would otherwise make the
    /// next line's first quote close it and fail there; any failure on a later physical line
    /// of such a logical line is therefore reported as this error, at the string that crossed
    /// the newline. A genuine multi-line string followed by some other mistake is reported
    /// the same way.
    #[error("unterminated string")]
    UnterminatedString,
    /// Something other than a comma or whitespace right after a string field's closing quote.
    #[error("expected \",\" or space after field value, found {text}")]
    ExpectedSeparator {
        /// The text found, up to the next delimiter.
        text: String,
    },
    /// The timestamp is not `-?digits`.
    #[error("invalid timestamp {text}")]
    InvalidTimestamp {
        /// The timestamp as written.
        text: String,
    },
    /// The timestamp does not fit the valid range once scaled to nanoseconds.
    #[error("timestamp {text} out of range for precision {precision}")]
    TimestampOutOfRange {
        /// The timestamp as written.
        text: String,
        /// The precision it was read in.
        precision: Precision,
    },
    /// Non-whitespace text after the timestamp.
    #[error("unexpected text after timestamp: {text}")]
    TrailingText {
        /// The text after the timestamp.
        text: String,
    },
    /// [`crate::parse_line`] was given more than one line.
    #[error("unexpected newline outside a string")]
    UnexpectedNewline,
}

/// Longest offending text an [`ErrorKind`] carries, in bytes; longer text is cut at a character
/// boundary and ends in `...`.
pub const MAX_SNIPPET: usize = 64;

/// Copies `s` for an error message, shortened to [`MAX_SNIPPET`] bytes.
pub(crate) fn snippet(s: &str) -> String {
    if s.len() <= MAX_SNIPPET {
        return s.to_owned();
    }
    let mut end = MAX_SNIPPET;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_and_column() {
        let e =
            LineError { line: 3, col: 17, kind: ErrorKind::IntegerOutOfRange { text: "9223372036854775808i".into() } };
        assert_eq!(e.to_string(), "line 3, col 17: integer 9223372036854775808i out of range");
    }

    #[test]
    fn messages_are_plain_words() {
        let cases = [
            (ErrorKind::LineTooLong { len: 70000, max: 65536 }, "line is 70000 bytes, over the limit of 65536"),
            (ErrorKind::DuplicateTag { key: "x".into() }, "duplicate tag key \"x\""),
            (ErrorKind::DuplicateField { key: "x".into() }, "duplicate field key \"x\""),
            (
                ErrorKind::TimestampOutOfRange { text: "1704164645123456789".into(), precision: Precision::Seconds },
                "timestamp 1704164645123456789 out of range for precision s",
            ),
            (ErrorKind::UnterminatedString, "unterminated string"),
        ];
        for (kind, want) in cases {
            assert_eq!(kind.to_string(), want);
        }
    }

    #[test]
    fn snippets_are_cut_on_char_boundaries() {
        assert_eq!(snippet("abc"), "abc");
        let long = "é".repeat(40); // 80 bytes, two per char
        let cut = snippet(&long);
        assert_eq!(cut, format!("{}...", "é".repeat(32)));
        let odd = format!("a{}", "é".repeat(40)); // boundary at 64 falls inside a char
        assert_eq!(snippet(&odd), format!("a{}...", "é".repeat(31)));
    }
}
