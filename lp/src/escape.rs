//! Finding where an element ends, and undoing backslash escapes.
//!
//! Scanning and unescaping are separate on purpose: the scan only notes *whether* a backslash
//! occurred, so the common element without one is returned as a borrowed slice and the copy
//! is paid only by elements that need it.
//!
//! Backslashes are read pairwise everywhere: a backslash and the byte after it form one unit.
//! If that byte is one the element may escape, the pair stands for it; otherwise both are kept
//! literally (so `C:\dir` stays `C:\dir`, and `\n` in a string stays two characters).

use std::borrow::Cow;

/// Stops the measurement: `,` and space (an unescaped `=` is part of the name).
pub(crate) const MEASUREMENT: u8 = 1;
/// Stops a tag key or field key: `=`, `,` and space.
pub(crate) const KEY: u8 = 2;
/// Stops a tag value: `,` and space (an unescaped `=` is part of the value).
pub(crate) const TAG_VALUE: u8 = 4;
/// Stops a non-string field value or a timestamp: `,`, space and tab.
pub(crate) const VALUE: u8 = 8;

/// Per-byte stop sets; a backslash is in every name set so the scan can step over escapes.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b',' as usize] = MEASUREMENT | KEY | TAG_VALUE | VALUE;
    t[b' ' as usize] = MEASUREMENT | KEY | TAG_VALUE | VALUE;
    t[b'=' as usize] = KEY;
    t[b'\t' as usize] = VALUE;
    t[b'\\' as usize] = MEASUREMENT | KEY | TAG_VALUE;
    t
};

/// The characters a backslash escapes in measurements, tag keys, tag values and field keys.
#[inline]
fn name_escapable(b: u8) -> bool {
    matches!(b, b',' | b' ' | b'=' | b'\\')
}

/// Scans a name starting at `i` up to the first unescaped byte in the `stop` set.
/// Returns the end (exclusive) and whether the name contains a backslash.
#[inline]
pub(crate) fn scan_name(bytes: &[u8], mut i: usize, stop: u8) -> (usize, bool) {
    let mut escaped = false;
    while let Some(&b) = bytes.get(i) {
        if CLASS[b as usize] & stop != 0 {
            if b != b'\\' {
                return (i, escaped);
            }
            escaped = true;
            // The escaped byte can never end the name; a backslash at the very end is literal.
            i += 2;
        } else {
            i += 1;
        }
    }
    (bytes.len(), escaped)
}

/// Scans a field value or timestamp token up to a comma, space or tab.
#[inline]
pub(crate) fn scan_token(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        if CLASS[b as usize] & VALUE != 0 {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// A name as the caller should see it: borrowed unless it had escapes.
#[inline]
pub(crate) fn name(raw: &str, escaped: bool) -> Cow<'_, str> {
    if escaped { Cow::Owned(unescape(raw, name_escapable)) } else { Cow::Borrowed(raw) }
}

/// Where a string field's closing quote is: scans from `i` (just after the opening quote).
/// Returns the index of the closing quote, or None if the line ended first.
/// `escaped` is set when a backslash was seen.
#[inline]
pub(crate) fn scan_string(bytes: &[u8], mut i: usize, escaped: &mut bool) -> Option<usize> {
    while i < bytes.len() {
        match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
            Some(off) if bytes[i + off] == b'"' => return Some(i + off),
            Some(off) => {
                *escaped = true;
                i += off + 2;
            }
            None => break,
        }
    }
    None
}

/// Undoes string field escapes: `\"` and `\\` only.
pub(crate) fn unescape_string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    unescape_string_into(raw, &mut out);
    out
}

/// Appends `raw` to `out` with string field escapes undone.
pub(crate) fn unescape_string_into(raw: &str, out: &mut String) {
    unescape_into(raw, |b| b == b'"' || b == b'\\', out);
}

/// Undoes pairwise escapes of the bytes `escapable` accepts; other pairs stay as written.
fn unescape(raw: &str, escapable: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(raw.len());
    unescape_into(raw, escapable, &mut out);
    out
}

fn unescape_into(raw: &str, escapable: impl Fn(u8) -> bool, out: &mut String) {
    let bytes = raw.as_bytes();
    let mut run = 0; // start of the pending literal run
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'\\', &bytes[i..]) {
        let at = i + off;
        match bytes.get(at + 1) {
            Some(&next) if escapable(next) => {
                // `run` and `at` both sit next to ASCII bytes, so they are char boundaries.
                out.push_str(&raw[run..at]);
                out.push(char::from(next));
                run = at + 2;
                i = at + 2;
            }
            // A backslash before anything else (or at the end) is literal, and so is the
            // character after it: the pair is consumed together.
            _ => i = at + 2,
        }
        if i >= bytes.len() {
            break;
        }
    }
    out.push_str(&raw[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &str) -> String {
        unescape(raw, name_escapable)
    }

    #[test]
    fn name_escapes_follow_the_pairwise_rule() {
        // The table from the line protocol reference.
        assert_eq!(names(r"\"), r"\");
        assert_eq!(names(r"\\"), r"\");
        assert_eq!(names(r"\\\"), r"\\");
        assert_eq!(names(r"\\\\"), r"\\");
        assert_eq!(names(r"\\\\\"), r"\\\");
        assert_eq!(names(r"eu\ west"), "eu west");
        assert_eq!(names(r"shop\,id"), "shop,id");
        assert_eq!(names(r"s\=1"), "s=1");
        assert_eq!(names(r"C:\\dir"), r"C:\dir");
        assert_eq!(names(r"C:\dir"), r"C:\dir");
        assert_eq!(names(r"C:\dir\ "), r"C:\dir ");
        assert_eq!(names(r#"a\"b"#), r#"a\"b"#);
        assert_eq!(names(r"\\\d"), r"\\d");
        assert_eq!(names(r"\é\,"), r"\é,");
    }

    #[test]
    fn string_escapes_are_only_quote_and_backslash() {
        assert_eq!(unescape_string(r#"say \"hi\"\\ok\nline2"#), r#"say "hi"\ok\nline2"#);
        assert_eq!(unescape_string(r"a\,b\ c\=d"), r"a\,b\ c\=d");
        assert_eq!(unescape_string(r"\\\\"), r"\\");
        assert_eq!(unescape_string(r"end\"), r"end\");
    }

    #[test]
    fn scan_name_stops_at_unescaped_delimiters() {
        let b = br"eu\ west,x=1 f";
        assert_eq!(scan_name(b, 0, TAG_VALUE), (8, true));
        assert_eq!(scan_name(b"a=b,c d", 0, TAG_VALUE), (3, false));
        assert_eq!(scan_name(b"a=b,c d", 0, KEY), (1, false));
        assert_eq!(scan_name(b"m=x f", 0, MEASUREMENT), (3, false));
        assert_eq!(scan_name(br"m\\,t", 0, MEASUREMENT), (3, true));
        assert_eq!(scan_name(br"m\", 0, MEASUREMENT), (2, true));
        assert_eq!(scan_name(b"", 0, KEY), (0, false));
    }

    #[test]
    fn scan_token_stops_at_comma_space_and_tab() {
        assert_eq!(scan_token(b"12i,x", 0), 3);
        assert_eq!(scan_token(b"1.5 9", 0), 3);
        assert_eq!(scan_token(b"17\t", 0), 2);
        assert_eq!(scan_token(b"17", 0), 2);
    }

    #[test]
    fn scan_string_skips_escaped_quotes() {
        let mut esc = false;
        assert_eq!(scan_string(br#"ab" x"#, 0, &mut esc), Some(2));
        assert!(!esc);
        assert_eq!(scan_string(br#"a\"b\\" x"#, 0, &mut esc), Some(6));
        assert!(esc);
        let mut esc = false;
        assert_eq!(scan_string(br#"abc\"#, 0, &mut esc), None);
        assert_eq!(scan_string(br#"abc\""#, 0, &mut esc), None);
        assert_eq!(scan_string(b"", 0, &mut esc), None);
    }

    #[test]
    fn names_without_escapes_are_borrowed() {
        assert!(matches!(name("plain", false), Cow::Borrowed("plain")));
        assert_eq!(name(r"a\ b", true), "a b");
    }
}
