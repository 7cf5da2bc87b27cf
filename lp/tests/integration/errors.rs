//! What invalid line protocol means: every error, with its exact message and column.

use cxp_lp::{ErrorKind, LineError, ParseOptions, Precision, lines, parse_line};

use crate::util::{error, first_error};

/// Each input is one line; the expected text is the error's `Display`.
fn check(cases: &[(&str, &str)]) {
    for (input, want) in cases {
        assert_eq!(error(input), *want, "input: {input:?}");
        // parse_line reports the same thing for a single line.
        let direct = parse_line(input, &ParseOptions::default()).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(direct, Err((*want).to_owned()), "parse_line({input:?})");
    }
}

#[test]
fn the_example_from_the_brief() {
    let input = "a f=1\nb f=2\nm,host=ab x=1,f=9223372036854775808i 1";
    let errors: Vec<String> = lines(input.as_bytes(), ParseOptions::default())
        .filter_map(|p| p.result.err())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors, ["line 3, col 17: integer 9223372036854775808i out of range"]);
}

#[test]
fn structure_errors() {
    check(&[
        ("m", "line 1, col 2: missing fields"),
        ("m,t=1", "line 1, col 6: missing fields"),
        ("m  \t", "line 1, col 4: missing fields"),
        (r"m\ f=1", "line 1, col 7: missing fields"),
        // Only a space separates; a tab is part of the measurement, as in InfluxDB.
        ("m\tf=1", "line 1, col 6: missing fields"),
        (",t=1 f=1", "line 1, col 1: missing measurement"),
        ("  ,t=1 f=1", "line 1, col 3: missing measurement"),
        ("m,=v f=1", "line 1, col 3: empty tag key"),
        ("m, f=1", "line 1, col 3: empty tag key"),
        ("m,t=1, f=1", "line 1, col 7: empty tag key"),
        ("m,t f=1", "line 1, col 3: tag key \"t\" is not followed by \"=\""),
        ("m,a,b=1 f=1", "line 1, col 3: tag key \"a\" is not followed by \"=\""),
        ("m,t=,u=1 f=1", "line 1, col 5: empty value for tag \"t\" (omit the tag instead)"),
        ("m,t= f=1", "line 1, col 5: empty value for tag \"t\" (omit the tag instead)"),
        ("m,t=1,t=2 f=1", "line 1, col 7: duplicate tag key \"t\""),
        (r"m,a\ b=1,a\ b=2 f=1", "line 1, col 10: duplicate tag key \"a b\""),
        ("m =1", "line 1, col 3: empty field key"),
        ("m f=1,", "line 1, col 7: empty field key"),
        ("m f=1,,g=2", "line 1, col 7: empty field key"),
        ("m f", "line 1, col 3: field key \"f\" is not followed by \"=\""),
        ("m f=1,g 5", "line 1, col 7: field key \"g\" is not followed by \"=\""),
        ("m a,b=1", "line 1, col 3: field key \"a\" is not followed by \"=\""),
        ("m f=", "line 1, col 5: empty value for field \"f\""),
        ("m f=,g=1", "line 1, col 5: empty value for field \"f\""),
        ("m f= 1", "line 1, col 5: empty value for field \"f\""),
        ("m f=1,f=2", "line 1, col 7: duplicate field key \"f\""),
        (r"m a\=b=1,a\=b=2", "line 1, col 10: duplicate field key \"a=b\""),
        ("m f=1,g=2,f=\"x\"", "line 1, col 11: duplicate field key \"f\""),
    ]);
}

#[test]
fn value_errors_point_at_the_value() {
    check(&[
        ("m f=9223372036854775808i", "line 1, col 5: integer 9223372036854775808i out of range"),
        ("m f=-9223372036854775809i", "line 1, col 5: integer -9223372036854775809i out of range"),
        ("m f=1.5i", "line 1, col 5: invalid integer 1.5i"),
        ("m f=--1i", "line 1, col 5: invalid integer --1i"),
        ("m g=1,f=18446744073709551616u", "line 1, col 9: unsigned integer 18446744073709551616u out of range"),
        ("m f=-1u", "line 1, col 5: invalid unsigned integer -1u"),
        ("m f=inf", "line 1, col 5: invalid field value inf"),
        ("m f=-inf", "line 1, col 5: invalid number -inf"),
        ("m f=nan", "line 1, col 5: invalid field value nan"),
        ("m f=NaN", "line 1, col 5: invalid field value NaN"),
        ("m f=+1", "line 1, col 5: invalid number +1"),
        ("m f=.", "line 1, col 5: invalid number ."),
        ("m f=1.2.3", "line 1, col 5: invalid number 1.2.3"),
        ("m f=1e", "line 1, col 5: invalid number 1e"),
        ("m f=0x1F", "line 1, col 5: invalid number 0x1F"),
        ("m f=1e400", "line 1, col 5: float 1e400 out of range"),
        ("m f=tRUE", "line 1, col 5: invalid boolean tRUE"),
        ("m f=fALSe", "line 1, col 5: invalid boolean fALSe"),
        ("m f=yes", "line 1, col 5: invalid field value yes"),
        ("m f=hello", "line 1, col 5: invalid field value hello"),
        ("m f='x'", "line 1, col 5: invalid field value 'x'"),
        ("m f=\"abc", "line 1, col 5: unterminated string"),
        ("m f=\"abc\\\"", "line 1, col 5: unterminated string"),
        ("m f=\"abc\"x", "line 1, col 10: expected \",\" or space after field value, found x"),
        ("m f=\"a\"\"b\"", "line 1, col 8: expected \",\" or space after field value, found \"b\""),
    ]);
}

#[test]
fn timestamp_errors() {
    check(&[
        ("m f=1 12a", "line 1, col 7: invalid timestamp 12a"),
        ("m f=1 1.5", "line 1, col 7: invalid timestamp 1.5"),
        ("m f=1 1,2", "line 1, col 7: invalid timestamp 1,2"),
        ("m f=1 -", "line 1, col 7: invalid timestamp -"),
        ("m f=1 9223372036854775807", "line 1, col 7: timestamp 9223372036854775807 out of range for precision ns"),
        ("m f=1 -9223372036854775807", "line 1, col 7: timestamp -9223372036854775807 out of range for precision ns"),
        ("m f=1 1 2", "line 1, col 9: unexpected text after timestamp: 2"),
        ("m f=1 1 # note", "line 1, col 9: unexpected text after timestamp: # note"),
    ]);
    // The v1 Python client passes ns integers through unchanged under precision=s.
    let options = ParseOptions { precision: Precision::Seconds, ..ParseOptions::default() };
    let input = "orders,region=us amount=5.0 1704164645123456789";
    assert_eq!(
        first_error(lines(input.as_bytes(), options).collect()),
        "line 1, col 29: timestamp 1704164645123456789 out of range for precision s"
    );
    let options = ParseOptions { precision: Precision::Hours, ..ParseOptions::default() };
    assert_eq!(
        first_error(lines(b"m f=1 2562048", options).collect()),
        "line 1, col 7: timestamp 2562048 out of range for precision h"
    );
}

#[test]
fn line_length_limit() {
    let options = ParseOptions { max_line_bytes: 10, ..ParseOptions::default() };
    // Exactly at the limit is fine, and the terminator does not count.
    assert!(lines(b"m f=123456\r\n", options).all(|p| p.result.is_ok()));
    let got: Vec<_> =
        lines(b"m f=1234567\nm f=1", options).map(|p| (p.line_no, p.result.map_err(|e| e.to_string()))).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], (1, Err("line 1, col 1: line is 11 bytes, over the limit of 10".to_owned())));
    assert!(got[1].1.is_ok());
    assert_eq!(
        parse_line("m f=1234567", &options).map(|_| ()),
        Err(LineError { line: 1, col: 1, kind: ErrorKind::LineTooLong { len: 11, max: 10 } })
    );
    // The default is 64 KiB.
    let long = format!("m s=\"{}\"", "x".repeat(65_536));
    assert_eq!(error(&long), format!("line 1, col 1: line is {} bytes, over the limit of 65536", long.len()));
}

#[test]
fn invalid_utf8_points_at_the_first_bad_byte() {
    let input = b"a f=1\nb,t=\xff\xfe f=1\nc f=\"\xe4\xb8\" 1\nd f=2";
    let got: Vec<_> = lines(input, ParseOptions::default())
        .map(|p| (p.line_no, p.raw, p.result.map(|_| ()).map_err(|e| e.to_string())))
        .collect();
    assert_eq!(
        got,
        [
            (1, &b"a f=1"[..], Ok(())),
            (2, &b"b,t=\xff\xfe f=1"[..], Err("line 2, col 5: invalid UTF-8".to_owned())),
            (3, &b"c f=\"\xe4\xb8\" 1"[..], Err("line 3, col 6: invalid UTF-8".to_owned())),
            (4, &b"d f=2"[..], Ok(())),
        ]
    );
}

#[test]
fn long_offending_text_is_shortened() {
    let digits = "9".repeat(100);
    let input = format!("m f={digits}i");
    let shown = format!("{}...", &format!("{digits}i")[..64]);
    assert_eq!(error(&input), format!("line 1, col 5: integer {shown} out of range"));
}

#[test]
fn errors_expose_structured_parts() {
    let e = parse_line("m,t=1,t=2 f=1", &ParseOptions::default()).expect_err("duplicate");
    assert_eq!((e.line, e.col), (1, 7));
    assert_eq!(e.kind, ErrorKind::DuplicateTag { key: "t".into() });
    // LineError is a std error whose source is the kind.
    let source = std::error::Error::source(&e).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("duplicate tag key \"t\""));
}
