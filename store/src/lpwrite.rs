//! Writes events back as line protocol: used to keep an event that the writer refused (a type
//! conflict) in the quarantine in the form it arrived in.

use std::fmt::Write;

use cxp_lp::FieldValue;

use crate::batch::EventRef;

/// The event as one line of line protocol with a nanosecond timestamp.
pub fn format_event(event: &EventRef<'_>) -> String {
    let mut out = String::new();
    escape(&mut out, event.measurement, &[',', ' ']);
    for (k, v) in event.tags() {
        out.push(',');
        escape(&mut out, k, &[',', '=', ' ']);
        out.push('=');
        escape(&mut out, v, &[',', '=', ' ']);
    }
    for (i, (k, v)) in event.fields().enumerate() {
        out.push(if i == 0 { ' ' } else { ',' });
        escape(&mut out, k, &[',', '=', ' ']);
        out.push('=');
        let _ = match v {
            FieldValue::I64(x) => write!(out, "{x}i"),
            FieldValue::U64(x) => write!(out, "{x}u"),
            FieldValue::F64(x) => write!(out, "{x:?}"),
            FieldValue::Bool(x) => write!(out, "{x}"),
            FieldValue::Str(s) => {
                out.push('"');
                escape(&mut out, &s, &['"']);
                out.push('"');
                Ok(())
            }
        };
    }
    let _ = write!(out, " {}", event.ts);
    out
}

// Backslashes are always doubled: the parser reads backslash runs pairwise.
fn escape(out: &mut String, s: &str, special: &[char]) {
    for c in s.chars() {
        if c == '\\' || special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;

    #[test]
    fn formatted_events_parse_back_identically() {
        let mut b = Batch::new("t");
        b.push_event(
            "a b,c",
            -5,
            [("k=1", "v,2 \\"), ("city", "上海")],
            [
                ("s", FieldValue::Str("say \"hi\" \\ there".into())),
                ("f", FieldValue::F64(1e-7)),
                ("i", FieldValue::I64(-3)),
                ("u", FieldValue::U64(7)),
                ("b", FieldValue::Bool(false)),
            ],
        )
        .expect("valid");
        let line = format_event(&b.events().next().expect("one event"));
        let mut back = Batch::new("t");
        back.push_line_protocol(line.as_bytes(), cxp_lp::ParseOptions::default(), 0, 1);
        assert!(back.rejects().is_empty(), "{line}: {:?}", back.rejects());
        let (a, z) = (b.events().next().expect("a"), back.events().next().expect("z"));
        assert_eq!((a.measurement, a.ts), (z.measurement, z.ts));
        assert_eq!(a.tags().collect::<Vec<_>>(), z.tags().collect::<Vec<_>>());
        assert_eq!(a.fields().collect::<Vec<_>>(), z.fields().collect::<Vec<_>>());
    }
}
