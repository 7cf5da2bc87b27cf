//! Value normalisers of the data dictionary: one function per field type.

use std::collections::HashMap;

use cxp_lp::FieldValue;

/// How a dictionary field's values are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Signed integer (strings of digits are parsed; `values` may map spellings to codes).
    Int,
    /// Float (integers are widened, numeric strings parsed).
    Float,
    /// String (`values` may map spellings to one canonical spelling).
    String,
    /// Boolean (`true`/`false` strings in line-protocol spellings are parsed).
    Bool,
    /// Email address: trimmed, lower-cased, checked for shape.
    Email,
    /// Phone number: E.164, national numbers read in the default country.
    Phone,
    /// Date (`YYYY-MM-DD`) or time with an offset (RFC 3339, converted to UTC).
    Date,
}

/// The result of normalising one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// Already canonical.
    Same,
    /// Rewritten into this value.
    Changed(FieldValue<'static>),
    /// Not a valid value of the type (kept as written unless the field is strict).
    Invalid(String),
}

/// A value map: spelling -> code (`Int`) or canonical spelling (`String`), plus the default.
#[derive(Debug, Clone, Default)]
pub struct ValueMap {
    pub(crate) map: HashMap<String, FieldValue<'static>>,
    pub(crate) default: Option<FieldValue<'static>>,
}

/// A value as text, borrowing strings.
pub(crate) fn as_text(v: FieldValue<'_>) -> std::borrow::Cow<'_, str> {
    match v {
        FieldValue::Str(s) => s,
        FieldValue::I64(x) => x.to_string().into(),
        FieldValue::U64(x) => x.to_string().into(),
        FieldValue::F64(x) => x.to_string().into(),
        FieldValue::Bool(x) => x.to_string().into(),
    }
}

fn text(v: &FieldValue<'_>) -> String {
    as_text(v.clone()).into_owned()
}

fn changed_if(v: &FieldValue<'_>, new: FieldValue<'static>) -> Normalized {
    if *v == new { Normalized::Same } else { Normalized::Changed(new) }
}

/// Normalises `v` as a value of `kind`.
pub fn normalize(
    kind: FieldKind,
    v: &FieldValue<'_>,
    values: Option<&ValueMap>,
    country: phonenumber::country::Id,
) -> Normalized {
    if let Some(map) = values {
        return match map.map.get(text(v).trim()).or(map.default.as_ref()) {
            Some(code) => changed_if(v, code.clone()),
            None => Normalized::Invalid(format!("{} is not a known value", text(v))),
        };
    }
    match (kind, v) {
        (FieldKind::Int, FieldValue::I64(_)) => Normalized::Same,
        (FieldKind::Int, FieldValue::U64(x)) => i64::try_from(*x).map_or_else(
            |_| Normalized::Invalid(format!("{x} is too large")),
            |i| Normalized::Changed(FieldValue::I64(i)),
        ),
        (FieldKind::Int, other) => match text(other).trim().parse::<i64>() {
            Ok(i) => Normalized::Changed(FieldValue::I64(i)),
            Err(_) => Normalized::Invalid(format!("{} is not an integer", text(other))),
        },
        (FieldKind::Float, FieldValue::F64(_)) => Normalized::Same,
        (FieldKind::Float, FieldValue::I64(x)) => Normalized::Changed(FieldValue::F64(*x as f64)),
        (FieldKind::Float, FieldValue::U64(x)) => Normalized::Changed(FieldValue::F64(*x as f64)),
        (FieldKind::Float, other) => match text(other).trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Normalized::Changed(FieldValue::F64(f)),
            _ => Normalized::Invalid(format!("{} is not a number", text(other))),
        },
        (FieldKind::Bool, FieldValue::Bool(_)) => Normalized::Same,
        (FieldKind::Bool, other) => match text(other).trim() {
            "t" | "T" | "true" | "True" | "TRUE" | "1" => Normalized::Changed(FieldValue::Bool(true)),
            "f" | "F" | "false" | "False" | "FALSE" | "0" => Normalized::Changed(FieldValue::Bool(false)),
            t => Normalized::Invalid(format!("{t} is not a boolean")),
        },
        (FieldKind::String, FieldValue::Str(_)) => Normalized::Same,
        (FieldKind::String, other) => Normalized::Changed(FieldValue::Str(text(other).into())),
        (FieldKind::Email, v) => email(v),
        (FieldKind::Phone, v) => phone(v, country),
        (FieldKind::Date, v) => date(v),
    }
}

fn email(v: &FieldValue<'_>) -> Normalized {
    let raw = text(v);
    let e = raw.trim().to_lowercase();
    let shaped = e.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    });
    if !shaped || e.chars().any(char::is_whitespace) {
        return Normalized::Invalid(format!("{raw:?} is not an email address"));
    }
    changed_if(v, FieldValue::Str(e.into()))
}

// Parsing a phone number runs the crate's regular expressions (~1 µs); the same customers'
// numbers come back on every order, so each thread remembers recent answers.
const PHONE_CACHE: usize = 1 << 16;

type PhoneCache = (Option<phonenumber::country::Id>, hashbrown::HashMap<Box<str>, Option<Box<str>>>);

thread_local! {
    // Answers for one default country (a thread serving another one starts afresh).
    static PHONES: std::cell::RefCell<PhoneCache> = std::cell::RefCell::new((None, hashbrown::HashMap::new()));
}

fn phone(v: &FieldValue<'_>, country: phonenumber::country::Id) -> Normalized {
    let raw = text(v);
    let key = raw.trim();
    let e164 = PHONES.with(|cache| {
        {
            let c = cache.borrow();
            if c.0 == Some(country)
                && let Some(hit) = c.1.get(key)
            {
                return hit.clone();
            }
        }
        let parsed = match phonenumber::parse(Some(country), key) {
            Ok(n) if phonenumber::is_valid(&n) => {
                Some(n.format().mode(phonenumber::Mode::E164).to_string().into_boxed_str())
            }
            _ => None,
        };
        let mut c = cache.borrow_mut();
        if c.0 != Some(country) || c.1.len() >= PHONE_CACHE {
            c.1.clear();
            c.0 = Some(country);
        }
        c.1.insert(key.into(), parsed.clone());
        parsed
    });
    match e164 {
        Some(e) => changed_if(v, FieldValue::Str(String::from(e).into())),
        None => Normalized::Invalid(format!("{raw:?} is not a valid phone number")),
    }
}

fn date(v: &FieldValue<'_>) -> Normalized {
    let raw = text(v);
    let t = raw.trim();
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = time::Date::parse(t, &day) {
        return changed_if(v, FieldValue::Str(d.format(&day).unwrap_or_default().into()));
    }
    let compact = time::macros::format_description!("[year][month][day]");
    let slashed = time::macros::format_description!("[year]/[month]/[day]");
    if let Ok(d) = time::Date::parse(t, &compact).or_else(|_| time::Date::parse(t, &slashed)) {
        return Normalized::Changed(FieldValue::Str(d.format(&day).unwrap_or_default().into()));
    }
    let rfc = time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(t, &rfc) {
        Ok(dt) => {
            let utc = dt.to_offset(time::UtcOffset::UTC).format(&rfc).unwrap_or_default();
            changed_if(v, FieldValue::Str(utc.into()))
        }
        Err(_) => Normalized::Invalid(format!("{raw:?} is not a date (YYYY-MM-DD or RFC 3339)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id::CN;

    fn s(v: &str) -> FieldValue<'static> {
        FieldValue::Str(v.to_owned().into())
    }

    #[test]
    fn phones_become_e164() {
        for raw in ["13800000000", "138-0000-0000", "+86 138 0000 0000", "0086 138 0000 0000", "+8613800000000"] {
            let got = normalize(FieldKind::Phone, &s(raw), None, CN);
            assert!(matches!(got, Normalized::Changed(_) | Normalized::Same), "{raw}: {got:?}");
            let value = match got {
                Normalized::Changed(v) => v,
                _ => s(raw),
            };
            assert_eq!(value, s("+8613800000000"), "{raw}");
        }
        assert_eq!(
            normalize(FieldKind::Phone, &FieldValue::I64(13800000000), None, CN),
            Normalized::Changed(s("+8613800000000"))
        );
        assert_eq!(
            normalize(FieldKind::Phone, &s("+1 415 555 2671"), None, CN),
            Normalized::Changed(s("+14155552671"))
        );
        assert!(matches!(normalize(FieldKind::Phone, &s("12345"), None, CN), Normalized::Invalid(_)));
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalize(FieldKind::Email, &s("  ZW@Example.COM "), None, CN),
            Normalized::Changed(s("zw@example.com"))
        );
        assert_eq!(normalize(FieldKind::Email, &s("a@b.co"), None, CN), Normalized::Same);
        for bad in ["no-at.example.com", "@example.com", "a@b", "a@.com", "a b@c.com"] {
            assert!(matches!(normalize(FieldKind::Email, &s(bad), None, CN), Normalized::Invalid(_)), "{bad}");
        }
    }

    #[test]
    fn dates_become_iso_and_times_utc() {
        assert_eq!(normalize(FieldKind::Date, &s("1990-05-01"), None, CN), Normalized::Same);
        assert_eq!(normalize(FieldKind::Date, &s("19900501"), None, CN), Normalized::Changed(s("1990-05-01")));
        assert_eq!(normalize(FieldKind::Date, &s("1990/05/01"), None, CN), Normalized::Changed(s("1990-05-01")));
        assert_eq!(
            normalize(FieldKind::Date, &s("2024-01-02T08:04:05+08:00"), None, CN),
            Normalized::Changed(s("2024-01-02T00:04:05Z"))
        );
        assert!(matches!(normalize(FieldKind::Date, &s("1990-02-30"), None, CN), Normalized::Invalid(_)));
    }

    #[test]
    fn value_maps_code_every_spelling_and_default_the_rest() {
        let mut map = ValueMap::default();
        for (k, code) in [("male", 1), ("男", 1), ("M", 1), ("1", 1), ("female", 2), ("女", 2)] {
            map.map.insert(k.to_owned(), FieldValue::I64(code));
        }
        map.default = Some(FieldValue::I64(0));
        let g = |v: FieldValue<'static>| normalize(FieldKind::Int, &v, Some(&map), CN);
        assert_eq!(g(s("男")), Normalized::Changed(FieldValue::I64(1)));
        assert_eq!(g(s("女")), Normalized::Changed(FieldValue::I64(2)));
        assert_eq!(g(FieldValue::I64(1)), Normalized::Same);
        assert_eq!(g(s("unknown")), Normalized::Changed(FieldValue::I64(0)));
    }

    #[test]
    fn numbers_widen_and_parse() {
        assert_eq!(
            normalize(FieldKind::Float, &FieldValue::I64(5), None, CN),
            Normalized::Changed(FieldValue::F64(5.0))
        );
        assert_eq!(normalize(FieldKind::Int, &s(" 42 "), None, CN), Normalized::Changed(FieldValue::I64(42)));
        assert!(matches!(normalize(FieldKind::Int, &s("4x"), None, CN), Normalized::Invalid(_)));
        assert_eq!(normalize(FieldKind::Bool, &s("TRUE"), None, CN), Normalized::Changed(FieldValue::Bool(true)));
    }
}
