//! Property tests: random lines survive writing and parsing, and no input makes the parser
//! panic or break its invariants.

use std::borrow::Cow;
use std::collections::HashSet;

use cxp_lp::{FieldValue, Line, MAX_TIMESTAMP_NANOS, ParseOptions, lines, parse_line};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;

use crate::util::{Style, to_lp, write_line};

/// Characters for names: every one that needs escaping, quotes and `#`, tabs and carriage
/// returns (literal inside names), multi-byte characters, and now and then anything at all.
/// Only `\n` is impossible in a name.
fn name_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => select(vec![
            ',', ' ', '=', '\\', '"', '\'', '#', '\t', '\r', 'a', 'z', 'Q', '0', '9', '_', '-',
            '.', '/', 'é', '上', '🦀',
        ]),
        1 => any::<char>().prop_filter("no newline in names", |c| *c != '\n'),
    ]
}

fn name() -> impl Strategy<Value = String> {
    vec(name_char(), 1..10).prop_map(String::from_iter)
}

/// A measurement cannot start with `#` (a comment) or a tab (leading blanks are skipped, and a
/// tab has no escape); a leading space is fine because it is escaped.
fn measurement() -> impl Strategy<Value = String> {
    name().prop_filter("not a comment or blank", |m| !m.starts_with(['#', '\t']))
}

fn string_value() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => select(vec!['"', '\\', '\n', '\r', ' ', ',', '=', 'a', 'é', '🦀']),
        1 => any::<char>(),
    ];
    vec(c, 0..12).prop_map(String::from_iter)
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        // Short decimals, the common case the fast path handles.
        (any::<i32>(), 0..7i32).prop_map(|(m, e)| f64::from(m) / 10f64.powi(e)),
    ]
}

fn value() -> impl Strategy<Value = FieldValue<'static>> {
    prop_oneof![
        any::<i64>().prop_map(FieldValue::I64),
        any::<u64>().prop_map(FieldValue::U64),
        float().prop_map(FieldValue::F64),
        any::<bool>().prop_map(FieldValue::Bool),
        string_value().prop_map(|s| FieldValue::Str(Cow::Owned(s))),
    ]
}

/// Keeps the first of each key, because repeated keys are an error.
fn unique<V>(pairs: Vec<(String, V)>) -> Vec<(String, V)> {
    let mut seen = HashSet::new();
    pairs.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect()
}

fn line() -> impl Strategy<Value = Line<'static>> {
    (
        measurement(),
        vec((name(), name()), 0..6),
        vec((name(), value()), 1..6),
        proptest::option::of(-MAX_TIMESTAMP_NANOS..=MAX_TIMESTAMP_NANOS),
    )
        .prop_map(|(m, tags, fields, timestamp)| Line {
            measurement: Cow::Owned(m),
            tags: unique(tags).into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(v))).collect(),
            fields: unique(fields).into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
            timestamp,
        })
}

fn style() -> impl Strategy<Value = Style> {
    (0..5usize, select(vec!["", " ", "\t", " \t "]), select(vec!["", " ", "\t", "  \t"]))
        .prop_map(|(bool_spelling, leading, trailing)| Style { bool_spelling, leading, trailing })
}

/// A line, how it is written, its terminator, and what comes before it (blank lines and
/// comments, which count in line numbers).
fn body_line() -> impl Strategy<Value = (Line<'static>, Style, &'static str, &'static str)> {
    (line(), style(), select(vec!["\n", "\r\n"]), select(vec!["", "\n", "# c\n", "  \r\n"]))
}

proptest! {
    #[test]
    fn a_written_line_parses_back(line in line(), style in style()) {
        let mut text = String::new();
        write_line(&line, style, &mut text);
        // `Line` is invariant in its lifetime (SmallVec's element type is a projection), so
        // lines are compared as owned copies.
        let parsed = parse_line(&text, &ParseOptions::default()).map(Line::into_owned);
        prop_assert_eq!(parsed, Ok(line), "text: {:?}", text);
    }

    #[test]
    fn a_written_body_parses_back_with_line_numbers(body in vec(body_line(), 1..8)) {
        let mut text = String::new();
        let mut want = Vec::new();
        for (line, style, terminator, filler) in &body {
            text.push_str(filler);
            let line_no = 1 + text.matches('\n').count();
            write_line(line, *style, &mut text);
            text.push_str(terminator);
            want.push((line_no, line.clone()));
        }
        let got: Vec<_> = lines(text.as_bytes(), ParseOptions::default())
            .map(|p| (p.line_no, p.result.map(Line::into_owned)))
            .collect();
        let want: Vec<_> = want.into_iter().map(|(n, l)| (n, Ok(l))).collect();
        prop_assert_eq!(got, want, "text: {:?}", text);
    }
}

/// Pieces of line protocol, whole lines among them, so that random concatenations hold good
/// lines, nearly good lines and garbage side by side.
const FRAGMENTS: &[&[u8]] = &[
    b"m f=1i\n",
    b"cpu,host=a x=1.5,s=\"v w\" 17\n",
    b"m s=\"a\nb\" 1\n",
    b"m",
    b" ",
    b",",
    b"=",
    b"t=v",
    b"f=1i",
    b"g=-2.5e3",
    b"b=T",
    b"u=3u",
    b"s=\"a b\"",
    b"\"",
    b"\\",
    b"\n",
    b"\r\n",
    b"\t",
    b"#",
    b" 17",
    b" -9",
    b"\xff",
    b"\xc3\xa9",
    b"\xe4\xb8",
];

/// Bytes that matter to the grammar, mixed with anything at all.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        4 => select(FRAGMENTS).prop_map(<[u8]>::to_vec),
        1 => vec(any::<u8>(), 1..4),
    ];
    vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

/// Checks everything that must hold for any input, and returns the number of good lines.
fn check_invariants(input: &[u8], options: ParseOptions) -> Result<usize, TestCaseError> {
    let physical_lines = 1 + input.iter().filter(|&&b| b == b'\n').count();
    let starts: Vec<usize> =
        std::iter::once(0).chain(input.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1)).collect();
    let mut last = 0;
    let mut good = 0;
    for parsed in lines(input, options) {
        prop_assert!(parsed.line_no > last, "line numbers increase");
        prop_assert!(parsed.line_no <= physical_lines);
        last = parsed.line_no;
        // raw is the start of its physical line.
        let start = starts[parsed.line_no - 1];
        prop_assert!(input[start..].starts_with(parsed.raw));
        prop_assert!(!parsed.raw.is_empty());
        match parsed.result {
            Ok(line) => {
                good += 1;
                prop_assert!(!line.measurement.is_empty());
                prop_assert!(!line.fields.is_empty());
                prop_assert!(line.tags.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
                prop_assert!(line.fields.iter().all(|(k, _)| !k.is_empty()));
                // Whatever was accepted survives a round trip through the writer.
                let text = to_lp(&line);
                // Escaping may lengthen the line past a small limit.
                let unlimited = ParseOptions { max_line_bytes: usize::MAX, ..options };
                let reparsed = parse_line(&text, &unlimited).map(Line::into_owned);
                prop_assert_eq!(reparsed, Ok(line.into_owned()), "rewritten: {:?}", text);
            }
            Err(e) => {
                prop_assert!(e.line >= parsed.line_no && e.line <= physical_lines);
                prop_assert!(e.col >= 1);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
    Ok(good)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_bytes_keep_the_invariants(input in hostile_bytes()) {
        check_invariants(&input, ParseOptions::default())?;
        // A small limit exercises the length checks, including inside multi-line strings.
        check_invariants(&input, ParseOptions { max_line_bytes: 12, ..ParseOptions::default() })?;
    }

    #[test]
    fn arbitrary_text_keeps_the_invariants(input in ".{0,120}") {
        check_invariants(input.as_bytes(), ParseOptions::default())?;
    }
}

#[test]
fn the_hostile_generator_finds_good_lines() {
    // Guards against a generator that only ever produces garbage, which would make the
    // round-trip check above vacuous.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut good = 0;
    for _ in 0..2000 {
        let input = hostile_bytes().new_tree(&mut runner).expect("generator").current();
        good += check_invariants(&input, ParseOptions::default()).expect("invariants");
    }
    assert!(good > 50, "only {good} good lines");
}
