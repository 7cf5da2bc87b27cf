//! Timestamp precision: the unit a client's timestamps are written in.
//!
//! Line protocol carries bare integers; the unit comes from the request (`?precision=`) or, for
//! UDP, from configuration. Three generations of the InfluxDB API name the units differently, so
//! [`Precision::parse`] accepts all of their spellings.

use std::fmt;
use std::str::FromStr;

use crate::error::{ErrorKind, snippet};
use crate::value::digits_to_u64;

/// The unit of the timestamps in a body of line protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// Nanoseconds (the InfluxDB default).
    #[default]
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Minutes (InfluxDB 1.x only).
    Minutes,
    /// Hours (InfluxDB 1.x only).
    Hours,
}

/// The largest timestamp magnitude InfluxDB accepts, in nanoseconds. `i64::MIN` and its
/// neighbour are reserved there as sentinels, so the range is symmetric and one short of i64's.
pub const MAX_TIMESTAMP_NANOS: i64 = 9_223_372_036_854_775_806;

impl Precision {
    /// Every precision, finest first.
    pub const ALL: [Precision; 6] = [
        Precision::Nanoseconds,
        Precision::Microseconds,
        Precision::Milliseconds,
        Precision::Seconds,
        Precision::Minutes,
        Precision::Hours,
    ];

    /// Accepts v1 names n, u, ms, s, m, h; v2 names ns, us, ms, s; and "nanosecond",
    /// "microsecond", "millisecond", "second". Returns None otherwise.
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "n" | "ns" | "nanosecond" => Precision::Nanoseconds,
            "u" | "us" | "microsecond" => Precision::Microseconds,
            "ms" | "millisecond" => Precision::Milliseconds,
            "s" | "second" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// How many nanoseconds one unit of this precision is.
    pub const fn nanos_per_unit(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// Scales a timestamp in this precision to nanoseconds; None on overflow of the valid range
    /// (±[`MAX_TIMESTAMP_NANOS`]).
    pub fn to_nanos(self, value: i64) -> Option<i64> {
        value.checked_mul(self.nanos_per_unit()).filter(|ns| (-MAX_TIMESTAMP_NANOS..=MAX_TIMESTAMP_NANOS).contains(ns))
    }

    /// The short name used in messages: ns, us, ms, s, m or h.
    pub const fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "us",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A precision name that [`Precision::parse`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown precision \"{given}\"; expected one of n, ns, u, us, ms, s, m, h, \
     nanosecond, microsecond, millisecond, second"
)]
pub struct UnknownPrecision {
    /// The name that was given.
    pub given: String,
}

impl FromStr for Precision {
    type Err = UnknownPrecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Precision::parse(s).ok_or_else(|| UnknownPrecision { given: snippet(s) })
    }
}

/// Reads a timestamp token (`-?digits`) in `precision` and scales it to nanoseconds.
pub(crate) fn parse_timestamp(tok: &str, precision: Precision) -> Result<i64, ErrorKind> {
    let (neg, digits) = match tok.as_bytes().split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, tok.as_bytes()),
    };
    let magnitude = digits_to_u64(digits).ok_or_else(|| ErrorKind::InvalidTimestamp { text: snippet(tok) })?;
    magnitude
        .and_then(|m| if neg { 0i64.checked_sub_unsigned(m) } else { i64::try_from(m).ok() })
        .and_then(|v| precision.to_nanos(v))
        .ok_or_else(|| ErrorKind::TimestampOutOfRange { text: snippet(tok), precision })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_name_parses() {
        let cases = [
            ("n", Precision::Nanoseconds),
            ("ns", Precision::Nanoseconds),
            ("nanosecond", Precision::Nanoseconds),
            ("u", Precision::Microseconds),
            ("us", Precision::Microseconds),
            ("microsecond", Precision::Microseconds),
            ("ms", Precision::Milliseconds),
            ("millisecond", Precision::Milliseconds),
            ("s", Precision::Seconds),
            ("second", Precision::Seconds),
            ("m", Precision::Minutes),
            ("h", Precision::Hours),
        ];
        for (name, want) in cases {
            assert_eq!(Precision::parse(name), Some(want), "{name}");
            assert_eq!(name.parse::<Precision>(), Ok(want), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_valid_list() {
        for name in ["", "auto", "NS", "sec", "minute", "hour", "µs", " s"] {
            assert_eq!(Precision::parse(name), None, "{name:?}");
        }
        let err = "auto".parse::<Precision>().expect_err("auto is a v3-only name");
        assert_eq!(
            err.to_string(),
            "unknown precision \"auto\"; expected one of n, ns, u, us, ms, s, m, h, \
             nanosecond, microsecond, millisecond, second"
        );
    }

    #[test]
    fn default_is_nanoseconds() {
        assert_eq!(Precision::default(), Precision::Nanoseconds);
    }

    #[test]
    fn display_round_trips_through_parse() {
        for p in Precision::ALL {
            assert_eq!(Precision::parse(&p.to_string()), Some(p));
        }
    }

    #[test]
    fn scaling_multiplies_by_the_unit() {
        assert_eq!(Precision::Seconds.to_nanos(1_704_164_645), Some(1_704_164_645_000_000_000));
        assert_eq!(Precision::Milliseconds.to_nanos(-1), Some(-1_000_000));
        assert_eq!(Precision::Microseconds.to_nanos(7), Some(7_000));
        assert_eq!(Precision::Minutes.to_nanos(2), Some(120_000_000_000));
        assert_eq!(Precision::Hours.to_nanos(-2), Some(-7_200_000_000_000));
        assert_eq!(Precision::Nanoseconds.to_nanos(0), Some(0));
    }

    #[test]
    fn the_range_edges_are_exact() {
        let ns = Precision::Nanoseconds;
        assert_eq!(ns.to_nanos(MAX_TIMESTAMP_NANOS), Some(MAX_TIMESTAMP_NANOS));
        assert_eq!(ns.to_nanos(-MAX_TIMESTAMP_NANOS), Some(-MAX_TIMESTAMP_NANOS));
        assert_eq!(ns.to_nanos(i64::MAX), None);
        assert_eq!(ns.to_nanos(i64::MIN), None);
        assert_eq!(ns.to_nanos(i64::MIN + 1), None);
        // 9_223_372_036 s is 9_223_372_036_000_000_000 ns, inside; one more second is outside.
        assert_eq!(Precision::Seconds.to_nanos(9_223_372_036), Some(9_223_372_036_000_000_000));
        assert_eq!(Precision::Seconds.to_nanos(9_223_372_037), None);
        // The v1 client's classic mistake: ns values sent with precision=s.
        assert_eq!(Precision::Seconds.to_nanos(1_704_164_645_123_456_789), None);
        assert_eq!(Precision::Hours.to_nanos(2_562_047), Some(9_223_369_200_000_000_000));
        assert_eq!(Precision::Hours.to_nanos(2_562_048), None);
    }

    #[test]
    fn timestamps_parse_and_scale() {
        let ns = Precision::Nanoseconds;
        assert_eq!(parse_timestamp("1732406400000000000", ns), Ok(1_732_406_400_000_000_000));
        assert_eq!(parse_timestamp("-5", ns), Ok(-5));
        assert_eq!(parse_timestamp("0", ns), Ok(0));
        assert_eq!(parse_timestamp("1795513863447", Precision::Milliseconds), Ok(1_795_513_863_447_000_000));
        assert_eq!(parse_timestamp("9223372036854775806", ns), Ok(MAX_TIMESTAMP_NANOS));
        assert_eq!(parse_timestamp("-9223372036854775806", ns), Ok(-MAX_TIMESTAMP_NANOS));
        for text in ["9223372036854775807", "-9223372036854775807", "-9223372036854775808", "99999999999999999999999"] {
            assert_eq!(
                parse_timestamp(text, ns),
                Err(ErrorKind::TimestampOutOfRange { text: text.into(), precision: ns })
            );
        }
        assert_eq!(
            parse_timestamp("1704164645123456789", Precision::Seconds).map_err(|e| e.to_string()),
            Err("timestamp 1704164645123456789 out of range for precision s".into())
        );
        for text in ["", "-", "1.5", "+1", "12a", "1e9", "--1"] {
            assert_eq!(parse_timestamp(text, ns), Err(ErrorKind::InvalidTimestamp { text: text.into() }));
        }
    }
}
