//! Shape of the output: determinism, exact counts, time order, valid line protocol.

use std::collections::BTreeMap;

use cxp_gen::{GenConfig, Generator, generate, write_all};

use crate::util::{Field, config, fnv1a, parse};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

#[test]
fn same_config_same_bytes_other_seed_other_bytes() {
    let a = config(300, 20_000, 14, 1);
    let bytes = generate(a);
    assert_eq!(bytes, generate(a));
    let mut written = Vec::new();
    assert_eq!(write_all(a, &mut written).expect("Vec never fails"), 20_000);
    assert_eq!(written, bytes, "write_all and generate agree");
    assert_ne!(bytes, generate(GenConfig { seed: 2, ..a }));
    assert_ne!(bytes, generate(GenConfig { customers: 301, ..a }));
}

/// Pins the exact output of a small configuration. If this fails after an intended change
/// of the generator, update the constant (and say so in the change); otherwise something
/// made the output drift, which breaks reproducible benchmarks and fixtures.
#[test]
fn golden_hash() {
    let bytes = generate(config(500, 5_000, 30, 7));
    assert_eq!(bytes.len(), GOLDEN_LEN);
    assert_eq!(fnv1a(&bytes), GOLDEN_FNV1A, "output changed: {:#018x}", fnv1a(&bytes));
}
const GOLDEN_LEN: usize = 500_770;
const GOLDEN_FNV1A: u64 = 0x62b6_49b7_6d02_e7e1;

#[test]
fn exactly_events_lines() {
    for (customers, events, days) in
        [(1, 0, 1), (1, 1, 1), (0, 5, 0), (3, 10, 1), (50, 1_000, 2), (10_000, 7, 365), (100, 30_000, 1)]
    {
        let c = config(customers, events, days, 9);
        let bytes = generate(c);
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(lines, events, "{c:?}");
        parse(&bytes);
    }
}

#[test]
fn next_line_stops_and_leaves_the_buffer_alone() {
    let mut generator = Generator::new(config(10, 3, 1, 1));
    let mut out = Vec::new();
    assert!(generator.next_line(&mut out) && generator.next_line(&mut out));
    assert!(generator.next_line(&mut out));
    let len = out.len();
    assert!(!generator.next_line(&mut out) && !generator.next_line(&mut out));
    assert_eq!(out.len(), len);
}

#[test]
fn timestamps_ordered_and_inside_the_period() {
    for c in [
        config(200, 50_000, 3, 4),
        config(200, 50_000, 1, 4),
        GenConfig { start_ns: 1_700_000_123_456_789_012, ..config(50, 10_000, 10, 5) },
        GenConfig { start_ns: -DAY_NS / 3, ..config(50, 1_000, 2, 6) },
    ] {
        let events = parse(&generate(c));
        let end = c.start_ns + i64::from(c.days) * DAY_NS;
        let mut last = c.start_ns;
        for e in &events {
            assert!(e.ts >= last, "time went backwards: {e:?}");
            assert!(e.ts < end, "after the period: {e:?}");
            last = e.ts;
        }
        // Spread over the period, not bunched at its start.
        assert!(events[events.len() - 1].ts > end - DAY_NS / 4);
    }
}

#[test]
fn every_line_parses_and_field_types_are_stable() {
    let (_, events) = crate::util::big();
    let mut types: BTreeMap<(&str, &str), std::mem::Discriminant<Field>> = BTreeMap::new();
    for e in events {
        assert!(!e.fields.is_empty());
        for (k, v) in &e.fields {
            let t = std::mem::discriminant(v);
            let seen = *types.entry((&e.measurement, k)).or_insert(t);
            assert_eq!(seen, t, "{}.{k} changes type: {e:?}", e.measurement);
        }
    }
}

#[test]
fn amounts_have_two_decimals() {
    let bytes = generate(config(500, 20_000, 30, 3));
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    let mut seen = 0;
    for line in text.lines() {
        for key in ["amount=", "price=", "budget=", "spend="] {
            if let Some(i) = line.find(key) {
                let value: String = line[i + key.len()..].chars().take_while(|c| *c != ',' && *c != ' ').collect();
                let (int, frac) = value.split_once('.').expect("a decimal point");
                assert!(!int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()), "{line}");
                assert!(frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit()), "{line}");
                seen += 1;
            }
        }
    }
    assert!(seen > 2_000);
}

/// Values that need escaping come back from the reference parser exactly as meant.
#[test]
fn escaped_values_round_trip() {
    let (_, events) = crate::util::big();
    let has = |pred: &dyn Fn(&crate::util::Event) -> bool| events.iter().any(pred);
    assert!(has(&|e| e.tag("city") == Some("Washington, D.C.")));
    assert!(has(&|e| e.tag("city") == Some("Hong Kong")));
    assert!(has(&|e| e.tag("name") == Some("vip tier=gold")));
    assert!(has(&|e| e.tag("name") == Some("A\\B test 7")));
    assert!(has(&|e| e.str_field("text") == Some("meh :-\\")));
    assert!(has(&|e| e.str_field("text") == Some("说是\"防水\"的，下雨天还是进水了")));
    assert!(has(&|e| e.str_field("q") == Some("usb-c\\lightning cable")));
}
