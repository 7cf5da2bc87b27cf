//! A rough lines-per-second figure, run on purpose:
//! `cargo test -p cxp-lp --release --test integration -- --ignored --nocapture`.
//! The real comparison with influxdb-line-protocol lives in the workspace's benches/parse.rs.

use std::time::Instant;

use cxp_lp::{ParseOptions, lines};

const EVENTS: [&str; 2] = [
    "order,customer=c-1042,channel=web,city=Shanghai amount=5899.5,items=3i,sku=\"A-17\" 1732406400000000000",
    "page_view,anon=d-77,channel=app path=\"/p/A-17\",dur=12i 1732406400000000000",
];

fn body(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.extend_from_slice(EVENTS[i % 2].as_bytes());
        out.push(b'\n');
    }
    out
}

fn best_rate(body: &[u8], n: usize, per_line: impl Fn(&[u8]) -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        let fields = per_line(body);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(fields, n / 2 * 5, "every line parsed");
        best = best.min(secs);
    }
    n as f64 / best
}

#[test]
#[ignore = "timing; run in release mode on purpose"]
fn throughput() {
    let n = 1_000_000;
    let input = body(n);
    let ours = best_rate(&input, n, |b| {
        lines(b, ParseOptions::default()).map(|p| p.result.map_or(0, |l| l.fields.len())).sum()
    });
    let text = std::str::from_utf8(&input).expect("ASCII");
    let theirs = best_rate(&input, n, |_| {
        influxdb_line_protocol::parse_lines(text).map(|p| p.map_or(0, |l| l.field_set.len())).sum()
    });
    println!(
        "cxp-lp: {:.2} M lines/s ({:.0} MB/s); influxdb-line-protocol: {:.2} M lines/s",
        ours / 1e6,
        ours * input.len() as f64 / n as f64 / 1e6,
        theirs / 1e6
    );
}

/// Inputs built to make a careless parser quadratic: every one must stay linear.
#[test]
#[ignore = "timing; run in release mode on purpose"]
fn hostile_inputs_stay_linear() {
    let unclosed: Vec<u8> = b"a s=\"x\n".repeat(200_000);
    let mut one_quote = b"a s=\"x\n".to_vec();
    one_quote.extend(b"m f=1i\n".repeat(200_000));
    let mut wide = b"m ".to_vec();
    for i in 0..6_000 {
        wide.extend(format!("f{i}=1i,").bytes());
    }
    wide.extend(b"last=1i\n");
    let wide = wide.repeat(20);
    let escapes = b"m\\ x,t\\,k=v\\=w s=\"\\\"q\\\\\",f=1 1\n".repeat(100_000);
    let multiline = b"m s=\"a\nb\nc\nd\",n=1i 1\n".repeat(50_000);
    let cases: [(&str, &[u8]); 5] = [
        ("unclosed strings", &unclosed),
        ("one quote, then plain lines", &one_quote),
        ("6000 fields per line", &wide),
        ("escapes everywhere", &escapes),
        ("multi-line strings", &multiline),
    ];
    for (name, input) in cases {
        let options = ParseOptions::default();
        let start = Instant::now();
        let count = lines(input, options).count();
        let secs = start.elapsed().as_secs_f64();
        let rate = input.len() as f64 / secs / 1e6;
        println!("{name}: {count} lines, {rate:.0} MB/s");
        assert!(rate > 20.0, "{name} is too slow: {rate:.1} MB/s");
    }
}
