//! Field values: the five line protocol types and how bare (unquoted) tokens are read.
//!
//! Numbers are hot: a typical event line has two or three. Integers are accumulated with
//! checked arithmetic in one pass; floats are checked against the line protocol grammar first
//! (Rust's `f64::from_str` also accepts `inf`, `nan` and `+1`, which InfluxDB refuses) and the
//! short decimals that dominate real data are converted without the general algorithm.

use std::borrow::Cow;

use crate::error::{ErrorKind, snippet};

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// A signed integer, written `12i`.
    I64(i64),
    /// An unsigned integer, written `12u`.
    U64(u64),
    /// A float, written `12`, `1.5` or `-1.5e-07`. Always finite.
    F64(f64),
    /// A boolean, written `t`, `true`, `F`, `FALSE` and so on.
    Bool(bool),
    /// A string, written `"..."`, with `\"` and `\\` already unescaped.
    Str(Cow<'a, str>),
}

impl FieldValue<'_> {
    /// A copy that no longer borrows the input.
    pub fn into_owned(self) -> FieldValue<'static> {
        match self {
            FieldValue::I64(v) => FieldValue::I64(v),
            FieldValue::U64(v) => FieldValue::U64(v),
            FieldValue::F64(v) => FieldValue::F64(v),
            FieldValue::Bool(v) => FieldValue::Bool(v),
            FieldValue::Str(s) => FieldValue::Str(Cow::Owned(s.into_owned())),
        }
    }

    /// The type's name as InfluxDB spells it: integer, unsigned, float, boolean or string.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::I64(_) => "integer",
            FieldValue::U64(_) => "unsigned",
            FieldValue::F64(_) => "float",
            FieldValue::Bool(_) => "boolean",
            FieldValue::Str(_) => "string",
        }
    }
}

/// Reads a non-empty unquoted field value token: a number or a boolean.
pub(crate) fn parse_bare(tok: &str) -> Result<FieldValue<'static>, ErrorKind> {
    let bytes = tok.as_bytes();
    match bytes.first() {
        Some(b'0'..=b'9' | b'-' | b'.' | b'+') => parse_number(tok),
        Some(b't' | b'T' | b'f' | b'F') => parse_bool(tok),
        _ => Err(ErrorKind::InvalidFieldValue { text: snippet(tok) }),
    }
}

fn parse_bool(tok: &str) -> Result<FieldValue<'static>, ErrorKind> {
    match tok {
        "t" | "T" | "true" | "True" | "TRUE" => Ok(FieldValue::Bool(true)),
        "f" | "F" | "false" | "False" | "FALSE" => Ok(FieldValue::Bool(false)),
        // A near miss such as `tRUE` gets the more helpful message; other words were
        // probably meant to be strings.
        _ if ["t", "f", "true", "false"].iter().any(|w| tok.eq_ignore_ascii_case(w)) => {
            Err(ErrorKind::InvalidBoolean { text: snippet(tok) })
        }
        _ => Err(ErrorKind::InvalidFieldValue { text: snippet(tok) }),
    }
}

fn parse_number(tok: &str) -> Result<FieldValue<'static>, ErrorKind> {
    let bytes = tok.as_bytes();
    match bytes.last() {
        Some(b'i') => {
            let body = &bytes[..bytes.len() - 1];
            let (neg, digits) = match body.split_first() {
                Some((b'-', rest)) => (true, rest),
                _ => (false, body),
            };
            let magnitude = digits_to_u64(digits).ok_or_else(|| ErrorKind::InvalidInteger { text: snippet(tok) })?;
            let value = match magnitude {
                Some(m) if neg => 0i64.checked_sub_unsigned(m),
                Some(m) => i64::try_from(m).ok(),
                None => None,
            };
            value.map(FieldValue::I64).ok_or_else(|| ErrorKind::IntegerOutOfRange { text: snippet(tok) })
        }
        Some(b'u') => {
            let digits = &bytes[..bytes.len() - 1];
            digits_to_u64(digits)
                .ok_or_else(|| ErrorKind::InvalidUnsigned { text: snippet(tok) })?
                .map(FieldValue::U64)
                .ok_or_else(|| ErrorKind::UnsignedOutOfRange { text: snippet(tok) })
        }
        _ => parse_float(tok).map(FieldValue::F64),
    }
}

/// Reads `digits` as a u64. The outer None means "not all digits" (or empty), the inner None
/// means the number is too large.
#[inline]
pub(crate) fn digits_to_u64(digits: &[u8]) -> Option<Option<u64>> {
    if digits.is_empty() {
        return None;
    }
    // Up to 19 digits cannot overflow a u64 (10^19 - 1 < 2^64), so the common case (a 19-digit
    // nanosecond timestamp) validates and accumulates in one loop without overflow checks.
    if digits.len() <= 19 {
        let mut acc: u64 = 0;
        for &d in digits {
            let v = d.wrapping_sub(b'0');
            if v > 9 {
                return None;
            }
            acc = acc * 10 + u64::from(v);
        }
        return Some(Some(acc));
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut acc: u64 = 0;
    for &d in digits {
        let Some(next) = acc.checked_mul(10).and_then(|a| a.checked_add(u64::from(d - b'0'))) else {
            return Some(None);
        };
        acc = next;
    }
    Some(Some(acc))
}

/// Powers of ten that f64 represents exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Parses a float in the grammar `-?(d+(.d*)?|.d+)([eE][+-]?d+)?`.
pub(crate) fn parse_float(tok: &str) -> Result<f64, ErrorKind> {
    let invalid = || ErrorKind::InvalidNumber { text: snippet(tok) };
    let b = tok.as_bytes();
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    if neg {
        i = 1;
    }
    // The significand, accumulated for the fast path; `digits` counts every digit read.
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        digits += 1;
        i += 1;
    }
    let mut frac_digits = 0usize;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            frac_digits += 1;
            i += 1;
        }
        digits += frac_digits;
    }
    if digits == 0 {
        return Err(invalid());
    }
    let mut has_exp = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        has_exp = true;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return Err(invalid());
        }
    }
    if i != b.len() {
        return Err(invalid());
    }
    // Clinger's fast path: with at most 15 digits the significand is exact in an f64, and so is
    // 10^frac_digits, so one correctly rounded division gives the correctly rounded result.
    if !has_exp && digits <= 15 {
        // mantissa < 10^15 < 2^53, so the conversion is exact.
        let v = mantissa as f64 / EXACT_POW10[frac_digits];
        return Ok(if neg { -v } else { v });
    }
    let v: f64 = tok.parse().map_err(|_| invalid())?;
    if v.is_finite() { Ok(v) } else { Err(ErrorKind::FloatOutOfRange { text: snippet(tok) }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(s: &str) -> Result<FieldValue<'static>, String> {
        parse_bare(s).map_err(|e| e.to_string())
    }

    #[test]
    fn floats_in_every_documented_form() {
        let cases = [
            ("1", 1.0),
            ("1.0", 1.0),
            ("-1.5e-07", -1.5e-07),
            ("1e10", 1e10),
            ("1E+10", 1e10),
            ("-0.5", -0.5),
            ("5899.5", 5899.5),
            ("0.1", 0.1),
            ("19.99", 19.99),
            ("1.", 1.0),
            (".5", 0.5),
            ("-.5", -0.5),
            ("974385152.000000", 974_385_152.0),
            ("-1.234456e+78", -1.234456e+78),
            ("123456789012345678901234567890", 1.2345678901234568e29),
        ];
        for (s, want) in cases {
            assert_eq!(bare(s), Ok(FieldValue::F64(want)), "{s}");
        }
        let Ok(FieldValue::F64(z)) = bare("-0") else { panic!("-0 is a float") };
        assert!(z == 0.0 && z.is_sign_negative());
    }

    #[test]
    fn invalid_floats_are_refused() {
        for s in ["+1", ".", "-", "1.2.3", "1e", "1e+", "-e5", "1x", "0x10", "1_000", "--1"] {
            assert_eq!(bare(s), Err(format!("invalid number {s}")), "{s}");
        }
        for s in ["inf", "nan", "NaN", "infinity", "e5"] {
            assert_eq!(bare(s), Err(format!("invalid field value {s}")), "{s}");
        }
        assert_eq!(bare("-inf"), Err("invalid number -inf".to_owned()));
        assert_eq!(bare("1e400"), Err("float 1e400 out of range".to_owned()));
        assert_eq!(bare("-1e400"), Err("float -1e400 out of range".to_owned()));
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(bare("3i"), Ok(FieldValue::I64(3)));
        assert_eq!(bare("-0i"), Ok(FieldValue::I64(0)));
        assert_eq!(bare("007i"), Ok(FieldValue::I64(7)));
        assert_eq!(bare("9223372036854775807i"), Ok(FieldValue::I64(i64::MAX)));
        assert_eq!(bare("-9223372036854775808i"), Ok(FieldValue::I64(i64::MIN)));
        assert_eq!(bare("9223372036854775808i"), Err("integer 9223372036854775808i out of range".to_owned()));
        assert_eq!(bare("-9223372036854775809i"), Err("integer -9223372036854775809i out of range".to_owned()));
        assert_eq!(bare("99999999999999999999999i"), Err("integer 99999999999999999999999i out of range".to_owned()));
        for s in ["1.5i", "i1", "-i", "+1i", "1ui", "1 i", "0x1i"] {
            let want =
                if s.starts_with('i') { format!("invalid field value {s}") } else { format!("invalid integer {s}") };
            assert_eq!(bare(s), Err(want), "{s}");
        }
    }

    #[test]
    fn unsigned_integers_are_range_checked() {
        assert_eq!(bare("0u"), Ok(FieldValue::U64(0)));
        assert_eq!(bare("108913123234u"), Ok(FieldValue::U64(108_913_123_234)));
        assert_eq!(bare("18446744073709551615u"), Ok(FieldValue::U64(u64::MAX)));
        assert_eq!(
            bare("18446744073709551616u"),
            Err("unsigned integer 18446744073709551616u out of range".to_owned())
        );
        assert_eq!(bare("-1u"), Err("invalid unsigned integer -1u".to_owned()));
        assert_eq!(bare("-0u"), Err("invalid unsigned integer -0u".to_owned()));
        assert_eq!(bare("1.0u"), Err("invalid unsigned integer 1.0u".to_owned()));
    }

    #[test]
    fn booleans_accept_exactly_the_ten_spellings() {
        for s in ["t", "T", "true", "True", "TRUE"] {
            assert_eq!(bare(s), Ok(FieldValue::Bool(true)), "{s}");
        }
        for s in ["f", "F", "false", "False", "FALSE"] {
            assert_eq!(bare(s), Ok(FieldValue::Bool(false)), "{s}");
        }
        for s in ["tRUE", "tRue", "fALSE", "FaLsE"] {
            assert_eq!(bare(s), Err(format!("invalid boolean {s}")), "{s}");
        }
        for s in ["yes", "test", "tr", "falsey", "on"] {
            assert_eq!(bare(s), Err(format!("invalid field value {s}")), "{s}");
        }
    }

    #[test]
    fn the_fast_float_path_agrees_with_the_standard_library() {
        // Exhaustive over a grid of short decimals, where the fast path is taken.
        for int in [0u64, 1, 9, 42, 5899, 123_456, 99_999_999] {
            for frac in ["", "0", "5", "05", "1", "99", "123456", "000001"] {
                let s = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
                let want: f64 = s.parse().expect("valid");
                assert_eq!(parse_float(&s), Ok(want), "{s}");
                let neg = format!("-{s}");
                assert_eq!(parse_float(&neg), Ok(-want), "{neg}");
            }
        }
        // 15 significant digits: the last width the fast path takes.
        for s in ["999999999999999", "0.00000000000001", "1.23456789012345", "9007199.25474099"] {
            assert_eq!(parse_float(s), Ok(s.parse::<f64>().expect("valid")), "{s}");
        }
    }

    #[test]
    fn into_owned_keeps_the_value() {
        let v = FieldValue::Str(Cow::Borrowed("x"));
        assert_eq!(v.clone().into_owned(), v);
        assert_eq!(v.type_name(), "string");
        assert_eq!(FieldValue::U64(1).type_name(), "unsigned");
    }
}
