//! Shared helpers: parsing shortcuts and a small line protocol writer for round trips.

use std::fmt::Write;

use cxp_lp::{FieldValue, Line, LineError, ParseOptions, ParsedLine, lines};

/// Parses `input` with default options and returns every line's result.
pub fn parse_all(input: &str) -> Vec<ParsedLine<'_>> {
    lines(input.as_bytes(), ParseOptions::default()).collect()
}

/// The only line of `input`, which must parse.
pub fn one(input: &str) -> Line<'_> {
    let mut all = parse_all(input);
    assert_eq!(all.len(), 1, "one line expected in {input:?}");
    match all.remove(0).result {
        Ok(line) => line,
        Err(e) => panic!("{input:?} should parse, got: {e}"),
    }
}

/// The error of the only line of `input`, displayed.
pub fn error(input: &str) -> String {
    first_error(lines(input.as_bytes(), ParseOptions::default()).collect())
}

/// The error of the only line in `parsed`, displayed.
pub fn first_error(mut parsed: Vec<ParsedLine<'_>>) -> String {
    assert_eq!(parsed.len(), 1, "one line expected");
    match parsed.remove(0).result {
        Ok(line) => panic!("should fail, parsed as {line:?}"),
        Err(e) => e.to_string(),
    }
}

/// Every result of `input` as `Ok(line)` or the displayed error.
pub fn outcomes(input: &[u8], options: ParseOptions) -> Vec<(usize, Result<Line<'_>, String>)> {
    lines(input, options).map(|p| (p.line_no, p.result.map_err(|e: LineError| e.to_string()))).collect()
}

/// How the writer spells things that have several spellings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// Index into the five spellings of each boolean.
    pub bool_spelling: usize,
    /// Spaces and tabs before the measurement.
    pub leading: &'static str,
    /// Spaces and tabs after the last element.
    pub trailing: &'static str,
}

const TRUE: [&str; 5] = ["t", "T", "true", "True", "TRUE"];
const FALSE: [&str; 5] = ["f", "F", "false", "False", "FALSE"];

/// Writes `line` as line protocol, escaping every character that needs it.
pub fn write_line(line: &Line<'_>, style: Style, out: &mut String) {
    out.push_str(style.leading);
    escape_name(&line.measurement, out);
    for (k, v) in &line.tags {
        out.push(',');
        escape_name(k, out);
        out.push('=');
        escape_name(v, out);
    }
    for (i, (k, v)) in line.fields.iter().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        escape_name(k, out);
        out.push('=');
        match v {
            FieldValue::I64(x) => write!(out, "{x}i").expect("write to String"),
            FieldValue::U64(x) => write!(out, "{x}u").expect("write to String"),
            // Debug prints the shortest text that reads back to the same f64.
            FieldValue::F64(x) => write!(out, "{x:?}").expect("write to String"),
            FieldValue::Bool(true) => out.push_str(TRUE[style.bool_spelling % 5]),
            FieldValue::Bool(false) => out.push_str(FALSE[style.bool_spelling % 5]),
            FieldValue::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    if let Some(ts) = line.timestamp {
        write!(out, " {ts}").expect("write to String");
    }
    out.push_str(style.trailing);
}

/// The line protocol text of `line` in the default style.
pub fn to_lp(line: &Line<'_>) -> String {
    let mut out = String::new();
    write_line(line, Style::default(), &mut out);
    out
}

fn escape_name(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, ',' | ' ' | '=' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}
