//! A fast InfluxDB line protocol parser, without I/O.
//!
//! [`lines`] walks a whole request body and yields every line, good or bad, with its line
//! number and raw bytes, so that the caller can store the good points and quarantine the rest.
//! A bad line never affects its neighbours. Elements without escapes borrow from the input,
//! and a typical line allocates nothing.
//!
//! ```
//! use cxp_lp::{FieldValue, ParseOptions, Precision, lines};
//!
//! let body = b"order,customer=c-1042,channel=web amount=5899.5,items=3i,sku=\"A-17\" 1732406400\n\
//!              order,customer=c-7 amount=oops 1732406401\n";
//! let options = ParseOptions { precision: Precision::Seconds, ..ParseOptions::default() };
//! let mut parsed = lines(body, options);
//!
//! let first = parsed.next().unwrap();
//! let line = first.result.unwrap();
//! assert_eq!(line.measurement, "order");
//! assert_eq!(line.tag("channel"), Some("web"));
//! assert_eq!(line.field("items"), Some(&FieldValue::I64(3)));
//! assert_eq!(line.timestamp, Some(1_732_406_400_000_000_000));
//!
//! let second = parsed.next().unwrap();
//! assert_eq!(second.raw, b"order,customer=c-7 amount=oops 1732406401");
//! assert_eq!(second.result.unwrap_err().to_string(), "line 2, col 27: invalid field value oops");
//! assert!(parsed.next().is_none());
//! ```
//!
//! # What is accepted
//!
//! `measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one point per line:
//!
//! - Lines end in `\n` or `\r\n`; the last may lack one. Blank lines and `#` comments (after
//!   optional blanks) are skipped but counted in line numbers. Spaces and tabs may lead and
//!   trail a line; one or more spaces separate its parts (tabs also before the timestamp).
//! - Backslashes are read pairwise. In the measurement, tag keys, tag values and field keys,
//!   `\,` `\ ` `\=` `\\` stand for the character; in string values only `\"` and `\\` do.
//!   Any other pair is kept as written (`C:\dir`, and `\n` stays two characters).
//! - Values: floats (`1`, `-1.5e-07`, `.5`), `12i` (i64), `12u` (u64), the ten InfluxDB
//!   booleans (`t`, `True`, `FALSE`, ...) and `"strings"`, which may hold raw newlines.
//! - Timestamps are integers in [`ParseOptions::precision`], scaled to nanoseconds and kept
//!   within ±[`MAX_TIMESTAMP_NANOS`].
//! - Rejected: an empty measurement, key or tag value, a line without fields, repeated tag
//!   or field keys, out-of-range numbers, `inf`/`nan`, invalid UTF-8, lines over
//!   [`ParseOptions::max_line_bytes`]. Every [`ErrorKind`] names the reason in plain words.
//!
//! After any error, parsing resumes on the physical line after the one where the bad line
//! started, so that a missing closing quote costs one line, not the rest of the body.
//!
//! The tests under `tests/integration/` pin every rule, and compare the parser with
//! InfluxData's `influxdb-line-protocol` crate; the differences are listed in
//! `tests/integration/differential.rs`.

mod error;
mod escape;
mod line;
mod lines;
mod parser;
mod precision;
mod value;

pub use error::{ErrorKind, LineError, MAX_SNIPPET};
pub use line::{DEFAULT_MAX_LINE_BYTES, Line, ParseOptions};
pub use lines::{Lines, ParsedLine, lines};
pub use parser::parse_line;
pub use precision::{MAX_TIMESTAMP_NANOS, Precision, UnknownPrecision};
pub use value::FieldValue;
