//! Runs `cxp_lp::lines` over arbitrary bytes and checks what must hold for any input.

#![no_main]

use cxp_lp::{ParseOptions, Precision, lines, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options, so limits and precisions get fuzzed too.
    let (options, input) = match data.split_first() {
        Some((&b, rest)) => {
            let options = ParseOptions {
                precision: Precision::ALL[usize::from(b % 6)],
                max_line_bytes: if b & 0x80 != 0 { 16 } else { 65_536 },
            };
            (options, rest)
        }
        None => (ParseOptions::default(), data),
    };
    let physical_lines = 1 + input.iter().filter(|&&b| b == b'\n').count();

    let mut last = 0;
    for parsed in lines(input, options) {
        assert!(parsed.line_no > last, "line numbers increase");
        assert!(parsed.line_no <= physical_lines, "line numbers stay in the input");
        assert!(!parsed.raw.is_empty(), "blank lines are skipped");
        last = parsed.line_no;
        match parsed.result {
            Ok(line) => {
                assert!(!line.measurement.is_empty(), "a measurement");
                assert!(!line.fields.is_empty(), "at least one field");
                assert!(line.tags.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
                if let Some(ts) = line.timestamp {
                    assert!(ts.unsigned_abs() <= cxp_lp::MAX_TIMESTAMP_NANOS.unsigned_abs());
                }
            }
            Err(e) => {
                assert!(e.line >= parsed.line_no && e.line <= physical_lines);
                assert!(e.col >= 1);
            }
        }
    }

    // The single-line entry point must not panic either.
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = parse_line(text, &options);
    }
});
