//! Applying the dictionary to a batch: aliases renamed, values normalised, hard rules enforced
//! (the event goes to the quarantine with the rule's name), and counts kept per field.

use std::borrow::Cow;
use std::collections::BTreeMap;

use cxp_lp::FieldValue;

use super::normalize::as_text;
use super::{Dictionary, FieldSpec, Normalized, normalize};
use crate::batch::{Batch, EventRef, Reject};
use crate::lpwrite::format_event;

/// Counts of one field of one measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldStats {
    /// Values seen.
    pub seen: u64,
    /// Values rewritten (alias, map, format).
    pub normalized: u64,
    /// Values that could not be normalised and were kept as written (soft rule).
    pub invalid: u64,
    /// Events refused because of this field (hard rule).
    pub rejected: u64,
}

/// Counts per measurement, then canonical field. Nested so that counting probes with `&str`
/// and allocates only the first time a pair is seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DictStats {
    /// measurement -> field -> counts.
    pub fields: BTreeMap<String, BTreeMap<String, FieldStats>>,
}

impl DictStats {
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn field(&mut self, measurement: &str, field: &str) -> &mut FieldStats {
        if !self.fields.contains_key(measurement) {
            self.fields.insert(measurement.to_owned(), BTreeMap::new());
        }
        let per = self.fields.get_mut(measurement).expect("inserted above");
        if !per.contains_key(field) {
            per.insert(field.to_owned(), FieldStats::default());
        }
        per.get_mut(field).expect("inserted above")
    }
}

// Borrowed from the event and the dictionary wherever nothing changed: the common case
// allocates nothing per tag or field.
type Applied<'s> = (Vec<(&'s str, Cow<'s, str>)>, Vec<(&'s str, FieldValue<'s>)>);

impl Dictionary {
    /// The batch with the dictionary applied; refused events become rejects of the result.
    pub fn apply(&self, input: &Batch, stats: &mut DictStats) -> Batch {
        let mut out = input.empty_like();
        for event in input.events() {
            let pushed = match self.apply_event(&event, stats) {
                Ok((tags, fields)) => out
                    .push_event_at(
                        event.line,
                        event.measurement,
                        event.ts,
                        tags.iter().map(|(k, v)| (*k, v.as_ref())),
                        fields.iter().map(|(k, v)| (*k, v.clone())),
                    )
                    .map_err(|e| e.to_string()),
                Err(reason) => Err(reason),
            };
            if let Err(reason) = pushed {
                out.push_reject(Reject {
                    line: event.line,
                    reason,
                    raw: format_event(&event).into_bytes(),
                    precision: Some(cxp_lp::Precision::Nanoseconds),
                });
            }
        }
        out
    }

    /// One event's tags and fields after the dictionary, or the hard rule it breaks.
    pub fn apply_event<'s>(&'s self, event: &EventRef<'s>, stats: &mut DictStats) -> Result<Applied<'s>, String> {
        let m = event.measurement;
        let mut tags: Vec<(&'s str, Cow<'s, str>)> = Vec::with_capacity(event.tags().len());
        let mut fields: Vec<(&'s str, FieldValue<'s>)> = Vec::with_capacity(event.fields().len());
        let values = event
            .tags()
            .map(|(k, v)| (k, FieldValue::Str(v.into()), true))
            .chain(event.fields().map(|(k, v)| (k, v, false)));
        for (key, value, is_tag) in values {
            let Some(spec) = self.field(key) else {
                match is_tag {
                    true => tags.push((key, as_text(value))),
                    false => fields.push((key, value)),
                }
                continue;
            };
            let name = spec.name.as_str();
            let duplicate =
                if is_tag { tags.iter().any(|(k, _)| *k == name) } else { fields.iter().any(|(k, _)| *k == name) };
            if duplicate {
                stats.field(m, name).rejected += 1;
                return Err(format!("rule {name}.duplicate: {key:?} and another alias of {name:?} are both given"));
            }
            let (normalized, changed) = match self.normalize_value(m, spec, value, stats) {
                Ok(v) => v,
                Err(reason) => {
                    stats.field(m, name).rejected += 1;
                    return Err(reason);
                }
            };
            let st = stats.field(m, name);
            st.seen += 1;
            if changed || key != name {
                st.normalized += 1;
            }
            match is_tag {
                true => tags.push((name, as_text(normalized))),
                false => fields.push((name, normalized)),
            }
        }
        for req in self.required(m) {
            let canonical = self.field(req).map_or(req.as_str(), |f| f.name.as_str());
            if !tags.iter().any(|(k, _)| *k == canonical) && !fields.iter().any(|(k, _)| *k == canonical) {
                stats.field(m, canonical).rejected += 1;
                return Err(format!("rule {m}.required: {canonical:?} is missing"));
            }
        }
        Ok((tags, fields))
    }

    fn normalize_value<'s>(
        &self,
        m: &str,
        spec: &FieldSpec,
        value: FieldValue<'s>,
        stats: &mut DictStats,
    ) -> Result<(FieldValue<'s>, bool), String> {
        let name = spec.name.as_str();
        let (v, changed) = match normalize(spec.kind, &value, spec.values.as_ref(), self.country()) {
            Normalized::Same => (value, false),
            Normalized::Changed(v) => (v, true),
            Normalized::Invalid(why) if spec.strict => return Err(format!("rule {name}.format: {why}")),
            Normalized::Invalid(_) => {
                stats.field(m, name).invalid += 1;
                (value, false)
            }
        };
        let number = match &v {
            FieldValue::I64(x) => Some(*x as f64),
            FieldValue::U64(x) => Some(*x as f64),
            FieldValue::F64(x) => Some(*x),
            _ => None,
        };
        if let Some(x) = number {
            if let Some(min) = spec.min.filter(|min| x < *min) {
                return Err(format!("rule {name}.min: {x} is below {min}"));
            }
            if let Some(max) = spec.max.filter(|max| x > *max) {
                return Err(format!("rule {name}.max: {x} is above {max}"));
            }
        }
        Ok((v, changed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;

    fn batch(text: &str) -> Batch {
        let mut b = Batch::new("test");
        b.push_line_protocol(text.as_bytes(), cxp_lp::ParseOptions::default(), 0, 1);
        b
    }

    #[test]
    fn aliases_value_maps_and_formats_apply_at_ingest() {
        let dict = Dictionary::builtin();
        let mut stats = DictStats::default();
        let out = dict.apply(
            &batch("identify,customer=c-1 性别=\"女\",手机号=\"+86 138-0000-0000\",Email=\" ZW@Example.com \",生日=\"19900501\" 1\n"),
            &mut stats,
        );
        assert!(out.rejects().is_empty(), "{:?}", out.rejects());
        let e = out.events().next().expect("one event");
        assert_eq!(e.field("gender"), Some(FieldValue::I64(2)));
        assert_eq!(e.field("phone"), Some(FieldValue::Str("+8613800000000".into())));
        assert_eq!(e.field("email"), Some(FieldValue::Str("zw@example.com".into())));
        assert_eq!(e.field("birthday"), Some(FieldValue::Str("1990-05-01".into())));
        assert_eq!(e.line, 1);
        let g = stats.fields["identify"]["gender"];
        assert_eq!((g.seen, g.normalized, g.invalid, g.rejected), (1, 1, 0, 0));
    }

    #[test]
    fn hard_rules_send_the_line_to_the_quarantine_with_the_rule_name() {
        let dict = Dictionary::builtin();
        let mut stats = DictStats::default();
        let out = dict.apply(
            &batch("order,customer=c-1 amount=-5.0 1\norder,customer=c-1 items=1i 2\nreview,customer=c-1 rating=9i 3\norder,customer=c-2 amount=5i 4\n"),
            &mut stats,
        );
        let reasons: Vec<_> = out.rejects().iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (1, "rule amount.min: -5 is below 0"),
                (2, "rule order.required: \"amount\" is missing"),
                (3, "rule rating.max: 9 is above 5"),
            ]
        );
        let kept: Vec<_> = out.events().map(|e| e.field("amount")).collect();
        assert_eq!(kept, vec![Some(FieldValue::F64(5.0))], "an integer amount is widened, not a type conflict");
        assert_eq!(stats.fields["order"]["amount"].rejected, 2);
    }

    #[test]
    fn soft_rules_keep_the_value_and_count_it() {
        let dict = Dictionary::builtin();
        let mut stats = DictStats::default();
        let out = dict.apply(&batch("identify,customer=c-1 phone=\"12345\",sex=\"unknown\" 1\n"), &mut stats);
        let e = out.events().next().expect("kept");
        assert_eq!(e.field("phone"), Some(FieldValue::Str("12345".into())));
        assert_eq!(e.field("gender"), Some(FieldValue::I64(0)), "anything else is the 0 code");
        assert_eq!(stats.fields["identify"]["phone"].invalid, 1);
    }
}
