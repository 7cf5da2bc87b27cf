//! Splitting a body into lines, and the iterator over their parse results.
//!
//! A bad line must never poison its neighbours: after any error the iterator resumes at the
//! physical line right after the one where the failed logical line started. So a missing
//! closing quote costs one line, not the rest of the request.

use std::iter::FusedIterator;

use crate::error::{ErrorKind, LineError};
use crate::line::{Line, ParseOptions};
use crate::parser::Parser;

/// One physical line: `input[start..end]` is its content without the terminator (a `\r`
/// before the `\n` is part of the terminator), `next` is where the following line starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Physical {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) next: usize,
}

/// The physical line starting at `start`.
#[inline]
pub(crate) fn split(input: &[u8], start: usize) -> Physical {
    let (mut end, next) = match memchr::memchr(b'\n', &input[start..]) {
        Some(i) => (start + i, start + i + 1),
        None => (input.len(), input.len()),
    };
    if end > start && input[end - 1] == b'\r' {
        end -= 1;
    }
    Physical { start, end, next }
}

/// The content of `phys` as text, or the offset within it of the first invalid UTF-8 byte.
#[inline]
pub(crate) fn text<'a>(input: &'a [u8], whole: Option<&'a str>, phys: &Physical) -> Result<&'a str, usize> {
    // Line boundaries are ASCII, so slicing valid text there always succeeds.
    if let Some(s) = whole.and_then(|w| w.get(phys.start..phys.end)) {
        return Ok(s);
    }
    std::str::from_utf8(&input[phys.start..phys.end]).map_err(|e| e.valid_up_to())
}

/// Number of leading spaces and tabs.
#[inline]
pub(crate) fn leading_blanks(bytes: &[u8]) -> usize {
    skip_blanks(bytes, 0)
}

/// The first position at or after `i` that is not a space or tab.
#[inline]
pub(crate) fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// The first position at or after `i` that is a space or tab (or the end).
#[inline]
pub(crate) fn skip_non_blanks(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|&b| b != b' ' && b != b'\t') {
        i += 1;
    }
    i
}

/// One logical line of input and what came of parsing it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine<'a> {
    /// 1-based number of the physical line where this logical line starts.
    pub line_no: usize,
    /// The logical line's bytes without the final line terminator, leading blanks included; for
    /// an error, only its first physical line. Kept verbatim for quarantining rejected lines.
    pub raw: &'a [u8],
    /// The parsed point, or why the line was rejected.
    pub result: Result<Line<'a>, LineError>,
}

/// Iterates over the lines of `input`, skipping blank lines and `#` comments.
///
/// Accepts `\n` and `\r\n` terminators, leading and trailing spaces and tabs, and a missing
/// final newline. Every other line yields a [`ParsedLine`], good or bad, in input order.
pub fn lines(input: &[u8], options: ParseOptions) -> Lines<'_> {
    Lines {
        input,
        // One validation pass over the whole body is much cheaper than one per line; when it
        // fails, lines are validated one by one so that only the bad ones are rejected.
        whole: std::str::from_utf8(input).ok(),
        pos: 0,
        line_no: 1,
        options,
    }
}

/// The iterator returned by [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    input: &'a [u8],
    whole: Option<&'a str>,
    pos: usize,
    /// Number of the physical line starting at `pos`.
    line_no: usize,
    options: ParseOptions,
}

impl<'a> Lines<'a> {
    /// Byte offset where the next line to be read starts.
    pub fn offset(&self) -> usize {
        self.pos
    }

    fn reject(&self, phys: &Physical, col: usize, kind: ErrorKind) -> ParsedLine<'a> {
        ParsedLine {
            line_no: self.line_no,
            raw: &self.input[phys.start..phys.end],
            result: Err(LineError { line: self.line_no, col, kind }),
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = ParsedLine<'a>;

    fn next(&mut self) -> Option<ParsedLine<'a>> {
        while self.pos < self.input.len() {
            let phys = split(self.input, self.pos);
            let content = &self.input[phys.start..phys.end];
            let lead = leading_blanks(content);
            if lead == content.len() || content[lead] == b'#' {
                self.pos = phys.next;
                self.line_no += 1;
                continue;
            }

            let parsed = if content.len() > self.options.max_line_bytes {
                let kind = ErrorKind::LineTooLong { len: content.len(), max: self.options.max_line_bytes };
                self.reject(&phys, 1, kind)
            } else {
                match text(self.input, self.whole, &phys) {
                    Err(bad) => self.reject(&phys, bad + 1, ErrorKind::InvalidUtf8),
                    Ok(text) => {
                        let mut parser = Parser::new(self.input, self.whole, &self.options, phys, text, self.line_no);
                        // The line is parsed in place, in the value this function returns:
                        // moving a `Line` is a memcpy of over 800 bytes.
                        let mut parsed = ParsedLine { line_no: self.line_no, raw: content, result: Ok(Line::empty()) };
                        if let Ok(line) = &mut parsed.result
                            && let Err(e) = parser.parse_into(lead, line)
                        {
                            parsed.result = Err(e);
                        }
                        if parsed.result.is_ok() {
                            parsed.raw = &self.input[phys.start..parser.end()];
                            self.pos = parser.next();
                            self.line_no = parser.line_no() + 1;
                            return Some(parsed);
                        }
                        parsed
                    }
                }
            };
            // Every error resumes on the next physical line, whatever the parser consumed.
            self.pos = phys.next;
            self.line_no += 1;
            return Some(parsed);
        }
        None
    }
}

impl FusedIterator for Lines<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_strips_cr_only_before_the_terminator() {
        let input = b"a\r\nb\rc\nd\r";
        let p = split(input, 0);
        assert_eq!((p.start, p.end, p.next), (0, 1, 3));
        let p = split(input, 3);
        assert_eq!((p.start, p.end, p.next), (3, 6, 7));
        let p = split(input, 7);
        assert_eq!((p.start, p.end, p.next), (7, 8, 9));
    }

    #[test]
    fn blanks_are_spaces_and_tabs() {
        assert_eq!(leading_blanks(b" \t x"), 3);
        assert_eq!(skip_blanks(b"a  \tb", 1), 4);
        assert_eq!(skip_non_blanks(b"123\t", 0), 3);
        assert_eq!(skip_non_blanks(b"123", 0), 3);
    }

    #[test]
    fn text_reports_the_first_invalid_byte() {
        let input = b"ok\nm\xffx";
        let p = split(input, 3);
        assert_eq!(text(input, None, &p), Err(1));
        let p = split(input, 0);
        assert_eq!(text(input, None, &p), Ok("ok"));
    }

    #[test]
    fn empty_and_comment_only_inputs_yield_nothing() {
        for input in ["", "\n", "\r\n", " \t \n\n", "# a\n  # b\r\n#c"] {
            assert_eq!(lines(input.as_bytes(), ParseOptions::default()).count(), 0, "{input:?}");
        }
    }

    #[test]
    fn offset_tracks_the_resume_point() {
        let mut it = lines(b"m f=1\nm f=2\n", ParseOptions::default());
        assert_eq!(it.offset(), 0);
        it.next();
        assert_eq!(it.offset(), 6);
        it.next();
        assert_eq!(it.offset(), 12);
        assert!(it.next().is_none());
    }
}
