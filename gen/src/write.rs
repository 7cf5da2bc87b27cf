//! Line-protocol formatting: one [`Line`] builder that appends to a caller's buffer, with the
//! escaping rules of each element and hand-written number formatting.
//!
//! Numbers are formatted by hand rather than with `write!` because this is the hot path of
//! the generator (several numbers per line, millions of lines per second) and because amounts
//! are integer cents, which need no float formatting at all.

/// Appends one line of line protocol to a buffer, element by element.
///
/// The builder enforces the order measurement, tags, fields, timestamp only with debug
/// assertions: every caller is inside this crate and the tests parse every line produced.
pub(crate) struct Line<'a> {
    out: &'a mut Vec<u8>,
    has_field: bool,
}

impl<'a> Line<'a> {
    /// Starts a line with `measurement`, a fixed identifier that needs no escaping.
    pub(crate) fn start(out: &'a mut Vec<u8>, measurement: &'static str) -> Self {
        debug_assert!(
            !measurement.is_empty() && !measurement.bytes().any(|b| matches!(b, b',' | b' ' | b'\\' | b'\n'))
        );
        out.extend_from_slice(measurement.as_bytes());
        Line { out, has_field: false }
    }

    fn tag_key(&mut self, key: &'static str) {
        debug_assert!(!self.has_field, "tags must precede fields");
        self.out.push(b',');
        self.out.extend_from_slice(key.as_bytes());
        self.out.push(b'=');
    }

    /// Adds a tag whose value is escaped (comma, equals sign, space and backslash).
    pub(crate) fn tag(&mut self, key: &'static str, value: &str) -> &mut Self {
        // Tag values cannot be empty, contain a newline or (for the common parser) end in
        // a backslash; none of our tables do, and a debug build says so loudly.
        debug_assert!(!value.is_empty() && !value.ends_with('\\') && !value.contains('\n'));
        self.tag_key(key);
        push_escaped(self.out, value, |b| matches!(b, b',' | b'=' | b' ' | b'\\'));
        self
    }

    /// Adds a tag of the shape `prefix` + decimal number, e.g. `customer=c-1042`.
    pub(crate) fn tag_id(&mut self, key: &'static str, prefix: &'static str, n: u64) -> &mut Self {
        self.tag_key(key);
        self.out.extend_from_slice(prefix.as_bytes());
        push_u64(self.out, n);
        self
    }

    fn field_key(&mut self, key: &'static str) {
        self.out.push(if self.has_field { b',' } else { b' ' });
        self.has_field = true;
        self.out.extend_from_slice(key.as_bytes());
        self.out.push(b'=');
    }

    /// Adds a string field whose value is escaped (double quote and backslash).
    pub(crate) fn str_field(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.str_with(key, |s| {
            s.text(value);
        })
    }

    /// Adds a string field built from pieces by `build`, without an intermediate `String`.
    pub(crate) fn str_with(&mut self, key: &'static str, build: impl FnOnce(&mut Str)) -> &mut Self {
        self.field_key(key);
        self.out.push(b'"');
        build(&mut Str { out: self.out });
        self.out.push(b'"');
        self
    }

    /// Adds a signed integer field (`34i`).
    pub(crate) fn int_field(&mut self, key: &'static str, value: u64) -> &mut Self {
        self.field_key(key);
        push_u64(self.out, value);
        self.out.push(b'i');
        self
    }

    /// Adds a float field with exactly two decimals from integer cents (`5899.00`).
    pub(crate) fn cents_field(&mut self, key: &'static str, cents: u64) -> &mut Self {
        self.field_key(key);
        push_cents(self.out, cents);
        self
    }

    /// Adds a boolean field spelled as given (`true`, `t`, `FALSE`, ...).
    pub(crate) fn bool_field(&mut self, key: &'static str, spelling: &'static str) -> &mut Self {
        self.field_key(key);
        self.out.extend_from_slice(spelling.as_bytes());
        self
    }

    /// Ends the line with its timestamp in nanoseconds and a newline.
    pub(crate) fn finish(&mut self, ts_ns: i64) {
        debug_assert!(self.has_field, "a line needs at least one field");
        self.out.push(b' ');
        if ts_ns < 0 {
            self.out.push(b'-');
        }
        push_u64(self.out, ts_ns.unsigned_abs());
        self.out.push(b'\n');
    }
}

/// The inside of a quoted string field, written piece by piece.
pub(crate) struct Str<'b> {
    out: &'b mut Vec<u8>,
}

impl Str<'_> {
    /// Appends text, escaping double quotes and backslashes.
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        push_escaped(self.out, s, |b| matches!(b, b'"' | b'\\'));
        self
    }

    /// Appends ASCII text with its first letter in upper case (`Zhangwei`).
    pub(crate) fn capitalized(&mut self, s: &str) -> &mut Self {
        let start = self.out.len();
        self.text(s);
        if let Some(b) = self.out.get_mut(start) {
            b.make_ascii_uppercase();
        }
        self
    }

    /// Appends ASCII text in upper case (`QQ.COM`).
    pub(crate) fn upper(&mut self, s: &str) -> &mut Self {
        let start = self.out.len();
        self.text(s);
        self.out[start..].make_ascii_uppercase();
        self
    }

    /// Appends a decimal number.
    pub(crate) fn num(&mut self, n: u64) -> &mut Self {
        push_u64(self.out, n);
        self
    }

    /// Appends a decimal number zero-padded to at least `width` digits.
    pub(crate) fn padded(&mut self, n: u64, width: usize) -> &mut Self {
        push_padded(self.out, n, width);
        self
    }
}

fn push_escaped(out: &mut Vec<u8>, s: &str, special: impl Fn(u8) -> bool) {
    // Escaping is rare; checking first keeps the common case a single copy.
    if !s.bytes().any(&special) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        if special(b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    push_padded(out, n, 1);
}

/// Appends `n` in decimal, zero-padded to at least `width` (at most 20) digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    out.extend_from_slice(&buf[start..]);
}

/// Appends integer cents as a decimal with exactly two places (`123` -> `1.23`).
pub(crate) fn push_cents(out: &mut Vec<u8>, cents: u64) {
    push_u64(out, cents / 100);
    out.push(b'.');
    push_padded(out, cents % 100, 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(build: impl FnOnce(&mut Line)) -> String {
        let mut out = Vec::new();
        build(&mut Line::start(&mut out, "m"));
        String::from_utf8(out).expect("builder writes UTF-8")
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, u64::MAX);
        out.push(b' ');
        push_padded(&mut out, 123, 6);
        out.push(b' ');
        push_padded(&mut out, 1_234_567, 6);
        out.push(b' ');
        push_cents(&mut out, 589_900);
        out.push(b' ');
        push_cents(&mut out, 5);
        assert_eq!(out, b"0 18446744073709551615 000123 1234567 5899.00 0.05".to_vec());
    }

    #[test]
    fn tags_escape_comma_equals_space_backslash() {
        let s = line(|l| {
            l.tag("city", "Washington, D.C.")
                .tag("name", "a=b c\\d")
                .tag_id("customer", "c-", 42)
                .int_field("n", 1)
                .finish(7);
        });
        assert_eq!(s, "m,city=Washington\\,\\ D.C.,name=a\\=b\\ c\\\\d,customer=c-42 n=1i 7\n");
    }

    #[test]
    fn string_fields_escape_quote_and_backslash_only() {
        let s = line(|l| {
            l.str_field("text", r#"说是"防水", a=b :-\"#)
                .cents_field("amount", 19_900)
                .bool_field("ok", "true")
                .str_with("email", |s| {
                    s.capitalized("zhangwei").num(7).text("@").upper("qq.com");
                })
                .finish(-5);
        });
        assert_eq!(s, "m text=\"说是\\\"防水\\\", a=b :-\\\\\",amount=199.00,ok=true,email=\"Zhangwei7@QQ.COM\" -5\n");
    }
}
