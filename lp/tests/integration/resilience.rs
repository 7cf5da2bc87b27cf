//! A bad line never poisons its neighbours: after any error, parsing resumes at the physical
//! line right after the one where the failed logical line started.

use cxp_lp::{ParseOptions, lines};

use crate::util::outcomes;

/// Line numbers and, for errors, the displayed error; for good lines, the measurement.
fn summary(input: &[u8], options: ParseOptions) -> Vec<(usize, Result<String, String>)> {
    outcomes(input, options).into_iter().map(|(no, r)| (no, r.map(|l| l.measurement.into_owned()))).collect()
}

fn ok(no: usize, m: &str) -> (usize, Result<String, String>) {
    (no, Ok(m.to_owned()))
}

fn bad(no: usize, e: &str) -> (usize, Result<String, String>) {
    (no, Err(e.to_owned()))
}

#[test]
fn good_and_bad_lines_alternate() {
    let input = "good1 f=1i 1\n\
                 bad f=oops 2\n\
                 good2 f=2i 3\n\
                 # comment\n\
                 bad2 s=\"never closed\n\
                 page_view,anon=d-77 path=\"/p/A-17\",dur=12i 4\n\
                 good3 f=3i 5\n\
                 \n\
                 bad3 f=1 2 3\n\
                 good4 f=4i";
    assert_eq!(
        summary(input.as_bytes(), ParseOptions::default()),
        [
            ok(1, "good1"),
            bad(2, "line 2, col 7: invalid field value oops"),
            ok(3, "good2"),
            // The string would close at line 6's first quote; the follow-on error there is
            // reported as what it most likely is.
            bad(5, "line 5, col 8: unterminated string"),
            ok(6, "page_view"),
            ok(7, "good3"),
            bad(9, "line 9, col 12: unexpected text after timestamp: 3"),
            ok(10, "good4"),
        ]
    );
}

#[test]
fn an_unterminated_string_costs_one_line() {
    // No quote anywhere after it: the string runs to the end of the input.
    let input = "a s=\"x\nb f=1\nc f=2\n";
    assert_eq!(
        summary(input.as_bytes(), ParseOptions::default()),
        [bad(1, "line 1, col 5: unterminated string"), ok(2, "b"), ok(3, "c")]
    );
    // On the last line.
    assert_eq!(
        summary(b"a f=1\nb s=\"x", ParseOptions::default()),
        [ok(1, "a"), bad(2, "line 2, col 5: unterminated string")]
    );
    // Followed by a newline and nothing else.
    assert_eq!(summary(b"a s=\"x\n", ParseOptions::default()), [bad(1, "line 1, col 5: unterminated string")]);
    // Followed by lines full of strings.
    let input = "x s=\"oops,t=1i\ny s=\"a\",t=\"b\" 1\nz s=\"c\" 2";
    assert_eq!(
        summary(input.as_bytes(), ParseOptions::default()),
        [bad(1, "line 1, col 5: unterminated string"), ok(2, "y"), ok(3, "z")]
    );
}

#[test]
fn the_raw_text_of_a_rejected_line_is_its_first_physical_line() {
    let input = b"a s=\"x\nb f=1\n";
    let parsed: Vec<_> = lines(input, ParseOptions::default()).collect();
    assert_eq!(parsed[0].raw, b"a s=\"x");
    assert_eq!(parsed[1].raw, b"b f=1");
}

#[test]
fn an_error_after_a_multiline_string_resumes_inside_it() {
    // A real multi-line string followed by a bad timestamp: the error is reported at the
    // opening quote (the likelier cause in practice), and the continuation line is then read
    // as a line of its own, which fails on its own terms.
    let input = "m s=\"one\ntwo\" 12x\nn f=1";
    assert_eq!(
        summary(input.as_bytes(), ParseOptions::default()),
        [
            bad(1, "line 1, col 5: unterminated string"),
            bad(2, "line 2, col 6: field key \"12x\" is not followed by \"=\""),
            ok(3, "n"),
        ]
    );
    // An error before the string crosses the newline is reported as is.
    let input = "m f=1x,s=\"one\ntwo\"\nn f=1";
    assert_eq!(summary(input.as_bytes(), ParseOptions::default())[0], bad(1, "line 1, col 5: invalid number 1x"));
}

#[test]
fn the_string_that_cannot_be_closed_is_the_one_reported() {
    // The first string closes on line 2; the second never does.
    let input = "a s=\"one\ntwo\",t=\"three";
    assert_eq!(
        summary(input.as_bytes(), ParseOptions::default()),
        [bad(1, "line 2, col 8: unterminated string"), bad(2, "line 2, col 14: missing fields"),]
    );
}

#[test]
fn a_multiline_string_is_bounded_by_the_line_limit() {
    let options = ParseOptions { max_line_bytes: 16, ..ParseOptions::default() };
    // 9 + 1 + 6 = 16 bytes: just fits.
    let fits = "m s=\"abcd\ndef\" 1\n";
    assert_eq!(summary(fits.as_bytes(), options), [ok(1, "m")]);
    // One more byte and the string is unterminated within the limit.
    let over = "m s=\"abcd\ndefg\" 1\nn f=1";
    assert_eq!(
        summary(over.as_bytes(), options),
        [
            bad(1, "line 1, col 5: unterminated string"),
            bad(2, "line 2, col 7: field key \"1\" is not followed by \"=\""),
            ok(3, "n"),
        ]
    );
}

#[test]
fn invalid_utf8_inside_a_multiline_string() {
    let input = b"m s=\"a\nb\xff\" 1\nn f=1";
    let got = summary(input, ParseOptions::default());
    assert_eq!(got, [bad(1, "line 1, col 5: unterminated string"), bad(2, "line 2, col 2: invalid UTF-8"), ok(3, "n")]);
}

#[test]
fn line_numbers_count_every_physical_line() {
    let input = "\n# c\r\n\n  \t\nm f=1\r\n\r\nx\nm f=2";
    assert_eq!(
        summary(input.as_bytes(), ParseOptions::default()),
        [ok(5, "m"), bad(7, "line 7, col 2: missing fields"), ok(8, "m")]
    );
}

#[test]
fn lines_over_the_limit_are_skipped_alone() {
    let options = ParseOptions { max_line_bytes: 8, ..ParseOptions::default() };
    let input = "a f=1\nbbbbbbbb f=1\nc f=1\n# comments may be longer than the limit\nd f=1";
    assert_eq!(
        summary(input.as_bytes(), options),
        [ok(1, "a"), bad(2, "line 2, col 1: line is 12 bytes, over the limit of 8"), ok(3, "c"), ok(5, "d"),]
    );
}

#[test]
fn the_iterator_is_fused() {
    let mut it = lines(b"m f=1", ParseOptions::default());
    assert!(it.next().is_some());
    assert!(it.next().is_none());
    assert!(it.next().is_none());
}

#[test]
fn wide_lines_spill_without_loss() {
    let tags: Vec<String> = (0..20).map(|i| format!("t{i}=v{i}")).collect();
    let fields: Vec<String> = (0..20).map(|i| format!("f{i}={i}i")).collect();
    let input = format!("m,{} {} 1", tags.join(","), fields.join(","));
    let parsed = outcomes(input.as_bytes(), ParseOptions::default());
    let line = parsed[0].1.as_ref().expect("valid");
    assert_eq!(line.tags.len(), 20);
    assert_eq!(line.fields.len(), 20);
    assert_eq!(line.tag("t19"), Some("v19"));
}
