//! Parsing one logical line.
//!
//! A logical line is normally one physical line. The exception is a string field holding a raw
//! newline (the influxdb-client v2 Python library sends them unescaped, and InfluxDB accepts
//! them), so the parser can step to the next physical line, but only from inside a string.
//!
//! The parser works on the bytes of an already validated `&str` and slices it at ASCII
//! delimiters, so every element that needs no unescaping is a borrowed slice of the input.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::{ErrorKind, LineError, snippet};
use crate::escape::{self, KEY, MEASUREMENT, TAG_VALUE};
use crate::line::{Line, ParseOptions};
use crate::lines::{self as physical, Physical};
use crate::precision::parse_timestamp;
use crate::value::{FieldValue, parse_bare};

/// Parses a single line (no newline inside except within a quoted string field).
///
/// Leading and trailing spaces and tabs and one trailing line terminator are accepted. Blank
/// lines and comments are errors here; [`crate::lines`] skips them.
pub fn parse_line<'a>(line: &'a str, options: &ParseOptions) -> Result<Line<'a>, LineError> {
    let input = line.as_bytes();
    let phys = physical::split(input, 0);
    let err = |pos: usize, kind| LineError { line: 1, col: pos + 1, kind };
    let lead = physical::leading_blanks(&input[..phys.end]);
    if lead == phys.end || input[lead] == b'#' {
        return Err(err(lead, ErrorKind::Blank));
    }
    if phys.end > options.max_line_bytes {
        let kind = ErrorKind::LineTooLong { len: phys.end, max: options.max_line_bytes };
        return Err(err(0, kind));
    }
    let text = physical::text(input, Some(line), &phys).map_err(|bad| err(bad, ErrorKind::InvalidUtf8))?;
    let mut parser = Parser::new(input, Some(line), options, phys, text, 1);
    let parsed = parser.parse(lead)?;
    // Anything after the logical line must be blank: this function parses exactly one line.
    match input[parser.next()..].iter().position(|b| !b.is_ascii_whitespace()) {
        None => Ok(parsed),
        Some(_) => {
            Err(LineError { line: parser.line_no, col: parser.text.len() + 1, kind: ErrorKind::UnexpectedNewline })
        }
    }
}

/// Past this many keys, duplicate detection switches from a linear search to a hash set.
const LINEAR_MAX: usize = 32;

/// Detects repeated keys in a tag set or field set. Real sets are short and searched linearly
/// (no allocation); a hostile line with thousands of fields must not cost quadratic time.
#[derive(Default)]
struct Seen {
    set: Option<HashSet<String>>,
}

impl Seen {
    /// Whether `key` is among `existing`, the keys pushed so far; every call that returns
    /// false must be followed by pushing `key`.
    #[inline]
    fn repeated<V>(&mut self, existing: &[(Cow<'_, str>, V)], key: &str) -> bool {
        if existing.len() < LINEAR_MAX {
            return existing.iter().any(|(k, _)| k == key);
        }
        let set = self.set.get_or_insert_with(|| existing.iter().map(|(k, _)| k.to_string()).collect());
        !set.insert(key.to_owned())
    }
}

/// The state of parsing one logical line: where it is in the input and which physical line it
/// is reading.
pub(crate) struct Parser<'a, 'o> {
    input: &'a [u8],
    /// The whole input as text when it is all valid UTF-8, which saves validating line by line.
    whole: Option<&'a str>,
    options: &'o ParseOptions,
    logical_start: usize,
    /// The physical line being read, without its terminator.
    text: &'a str,
    phys: Physical,
    line_no: usize,
    /// Line and column of the opening quote of the latest string that reached the end of its
    /// physical line.
    crossed: Option<(usize, usize)>,
}

impl<'a, 'o> Parser<'a, 'o> {
    /// A parser positioned on the physical line `phys`, whose content is `text`.
    pub(crate) fn new(
        input: &'a [u8],
        whole: Option<&'a str>,
        options: &'o ParseOptions,
        phys: Physical,
        text: &'a str,
        line_no: usize,
    ) -> Self {
        Parser { input, whole, options, logical_start: phys.start, text, phys, line_no, crossed: None }
    }

    /// Where the input continues after the logical line (valid after [`Parser::parse`]).
    pub(crate) fn next(&self) -> usize {
        self.phys.next
    }

    /// End offset in the input of the logical line's content (valid after a successful parse).
    pub(crate) fn end(&self) -> usize {
        self.phys.end
    }

    /// The number of the physical line the parser stopped on.
    pub(crate) fn line_no(&self) -> usize {
        self.line_no
    }

    /// Parses the logical line whose measurement starts at byte `lead` of the first physical
    /// line.
    pub(crate) fn parse(&mut self, lead: usize) -> Result<Line<'a>, LineError> {
        let mut line = Line::empty();
        self.parse_into(lead, &mut line).map(|()| line)
    }

    /// Like [`Parser::parse`], but fills `line` (which must be empty) in place: a `Line` is
    /// over 800 bytes, and on the hot path every move of one is a memcpy. On error `line` holds
    /// whatever was parsed before the error.
    #[inline]
    pub(crate) fn parse_into(&mut self, lead: usize, line: &mut Line<'a>) -> Result<(), LineError> {
        self.parse_inner(lead, line).map_err(|e| match self.crossed {
            // A string read across a newline and then a failure further down: by far the
            // most likely story is a missing closing quote, with the next line's quote
            // taken for the closing one. Saying so beats reporting the follow-on error.
            Some((line, col)) if e.line > line => LineError { line, col, kind: ErrorKind::UnterminatedString },
            _ => e,
        })
    }

    fn err(&self, pos: usize, kind: ErrorKind) -> LineError {
        LineError { line: self.line_no, col: pos + 1, kind }
    }

    fn parse_inner(&mut self, lead: usize, line: &mut Line<'a>) -> Result<(), LineError> {
        let text = self.text;
        let bytes = text.as_bytes();

        let (end, escaped) = escape::scan_name(bytes, lead, MEASUREMENT);
        if end == lead {
            return Err(self.err(lead, ErrorKind::MissingMeasurement));
        }
        line.measurement = escape::name(&text[lead..end], escaped);
        let mut pos = end;

        let tags = &mut line.tags;
        let mut seen = Seen::default();
        while bytes.get(pos) == Some(&b',') {
            let key_start = pos + 1;
            let (key_end, key_esc) = escape::scan_name(bytes, key_start, KEY);
            if key_end == key_start {
                return Err(self.err(key_start, ErrorKind::EmptyTagKey));
            }
            let raw_key = &text[key_start..key_end];
            if bytes.get(key_end) != Some(&b'=') {
                let kind = ErrorKind::TagWithoutEquals { key: snippet(raw_key) };
                return Err(self.err(key_start, kind));
            }
            let value_start = key_end + 1;
            let (value_end, value_esc) = escape::scan_name(bytes, value_start, TAG_VALUE);
            if value_end == value_start {
                let kind = ErrorKind::EmptyTagValue { key: snippet(raw_key) };
                return Err(self.err(value_start, kind));
            }
            let key = escape::name(raw_key, key_esc);
            if seen.repeated(tags, &key) {
                let kind = ErrorKind::DuplicateTag { key: snippet(&key) };
                return Err(self.err(key_start, kind));
            }
            tags.push((key, escape::name(&text[value_start..value_end], value_esc)));
            pos = value_end;
        }

        // The series ends at a space or at the end of the line. Only spaces separate it from
        // the fields: a tab is an ordinary character in a field key.
        while bytes.get(pos) == Some(&b' ') {
            pos += 1;
        }
        if physical::skip_blanks(bytes, pos) == bytes.len() {
            return Err(self.err(pos, ErrorKind::MissingFields));
        }

        let fields = &mut line.fields;
        let mut seen = Seen::default();
        loop {
            // A string field may have moved the parser to a later physical line.
            let text = self.text;
            let bytes = text.as_bytes();
            let key_start = pos;
            let (key_end, key_esc) = escape::scan_name(bytes, key_start, KEY);
            if key_end == key_start {
                return Err(self.err(key_start, ErrorKind::EmptyFieldKey));
            }
            let raw_key = &text[key_start..key_end];
            if bytes.get(key_end) != Some(&b'=') {
                let kind = ErrorKind::FieldWithoutEquals { key: snippet(raw_key) };
                return Err(self.err(key_start, kind));
            }
            let key = escape::name(raw_key, key_esc);
            if seen.repeated(fields, &key) {
                let kind = ErrorKind::DuplicateField { key: snippet(&key) };
                return Err(self.err(key_start, kind));
            }
            let value_start = key_end + 1;
            let value = if bytes.get(value_start) == Some(&b'"') {
                let (s, after) = self.string_value(value_start)?;
                pos = after;
                FieldValue::Str(s)
            } else {
                let end = escape::scan_token(bytes, value_start);
                if end == value_start {
                    let kind = ErrorKind::EmptyFieldValue { key: snippet(raw_key) };
                    return Err(self.err(value_start, kind));
                }
                pos = end;
                parse_bare(&text[value_start..end]).map_err(|k| self.err(value_start, k))?
            };
            fields.push((key, value));

            let text = self.text;
            let bytes = text.as_bytes();
            match bytes.get(pos) {
                Some(b',') => pos += 1,
                Some(b' ' | b'\t') | None => break,
                Some(_) => {
                    // Only a string's closing quote can be followed by anything else.
                    let end = escape::scan_token(bytes, pos);
                    let kind = ErrorKind::ExpectedSeparator { text: snippet(&text[pos..end]) };
                    return Err(self.err(pos, kind));
                }
            }
        }

        let text = self.text;
        let bytes = text.as_bytes();
        pos = physical::skip_blanks(bytes, pos);
        let timestamp = if pos == bytes.len() {
            None
        } else {
            let end = physical::skip_non_blanks(bytes, pos);
            let ts = parse_timestamp(&text[pos..end], self.options.precision).map_err(|k| self.err(pos, k))?;
            let rest = physical::skip_blanks(bytes, end);
            if rest != bytes.len() {
                let kind = ErrorKind::TrailingText { text: snippet(&text[rest..]) };
                return Err(self.err(rest, kind));
            }
            Some(ts)
        };

        line.timestamp = timestamp;
        Ok(())
    }

    /// Reads the string field whose opening quote is at `quote`; returns it and the position
    /// after its closing quote (on the physical line the parser is then on).
    #[inline]
    fn string_value(&mut self, quote: usize) -> Result<(Cow<'a, str>, usize), LineError> {
        let text = self.text;
        let mut escaped = false;
        match escape::scan_string(text.as_bytes(), quote + 1, &mut escaped) {
            Some(close) => {
                let raw = &text[quote + 1..close];
                let s = if escaped { Cow::Owned(escape::unescape_string(raw)) } else { Cow::Borrowed(raw) };
                Ok((s, close + 1))
            }
            None => self.multiline_string(quote),
        }
    }

    /// The rare case of a string holding a raw line terminator: keeps reading physical lines
    /// until the closing quote, within the input and the line length limit.
    #[cold]
    fn multiline_string(&mut self, quote: usize) -> Result<(Cow<'a, str>, usize), LineError> {
        let unterminated = self.err(quote, ErrorKind::UnterminatedString);
        // Remember this string before trying: if it cannot be closed, the error is its own.
        self.crossed = Some((unterminated.line, unterminated.col));
        let mut out = String::new();
        escape::unescape_string_into(&self.text[quote + 1..], &mut out);
        loop {
            if self.phys.next >= self.input.len() {
                return Err(unterminated);
            }
            let next = physical::split(self.input, self.phys.next);
            if next.end - self.logical_start > self.options.max_line_bytes {
                return Err(unterminated);
            }
            let Ok(text) = physical::text(self.input, self.whole, &next) else {
                return Err(unterminated);
            };
            // The terminator is part of the string, exactly as sent.
            out.push_str(if self.phys.next - self.phys.end == 2 { "\r\n" } else { "\n" });
            self.text = text;
            self.phys = next;
            self.line_no += 1;

            let mut escaped = false;
            match escape::scan_string(text.as_bytes(), 0, &mut escaped) {
                Some(close) => {
                    escape::unescape_string_into(&text[..close], &mut out);
                    return Ok((Cow::Owned(out), close + 1));
                }
                None => escape::unescape_string_into(text, &mut out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Line<'_>, String> {
        parse_line(s, &ParseOptions::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_typical_event_line() {
        let line = parse(
            "order,customer=c-1042,channel=web,city=Shanghai \
             amount=5899.5,items=3i,sku=\"A-17\" 1732406400000000000",
        )
        .expect("valid");
        assert_eq!(line.measurement, "order");
        assert_eq!(line.tag("customer"), Some("c-1042"));
        assert_eq!(line.tag("channel"), Some("web"));
        assert_eq!(line.tag("city"), Some("Shanghai"));
        assert_eq!(line.field("amount"), Some(&FieldValue::F64(5899.5)));
        assert_eq!(line.field("items"), Some(&FieldValue::I64(3)));
        assert_eq!(line.field("sku"), Some(&FieldValue::Str("A-17".into())));
        assert_eq!(line.timestamp, Some(1_732_406_400_000_000_000));
        assert!(line.tags.iter().all(|(k, v)| matches!(k, Cow::Borrowed(_)) && matches!(v, Cow::Borrowed(_))));
        assert!(!line.tags.spilled() && !line.fields.spilled());
    }

    #[test]
    fn parse_line_takes_exactly_one_line() {
        assert!(parse("m f=1\n").is_ok());
        assert!(parse("m f=1\r\n").is_ok());
        assert_eq!(parse("m f=1\nm f=2"), Err("line 1, col 6: unexpected newline outside a string".into()));
        assert_eq!(parse("  "), Err("line 1, col 3: blank line or comment".into()));
        assert_eq!(parse("# c"), Err("line 1, col 1: blank line or comment".into()));
        let line = parse("m s=\"a\nb\"").expect("valid");
        assert_eq!(line.field("s"), Some(&FieldValue::Str("a\nb".into())));
    }

    #[test]
    fn many_fields_use_the_hash_set_for_duplicates() {
        let mut s = String::from("m ");
        for i in 0..100 {
            s.push_str(&format!("f{i}={i}i,"));
        }
        s.push_str("f99=1i");
        assert_eq!(parse(&s).map(|_| ()), Err(format!("line 1, col {}: duplicate field key \"f99\"", s.len() - 5)));
        let ok = &s[..s.len() - 7];
        assert_eq!(parse(ok).map(|l| l.fields.len()), Ok(100));
    }
}
