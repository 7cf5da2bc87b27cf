//! Line-protocol parsing on the generator's lines: ours (`cxp_lp`) against InfluxData's
//! `influxdb-line-protocol`, one core, same input, same run.
//!
//! Target (foundation issue): at least 5 million typical event lines per second on one core,
//! and at least 2x InfluxData's parser to justify writing our own.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxp_gen::GenConfig;
use std::hint::black_box;

const LINES: u64 = 200_000;

fn input() -> Vec<u8> {
    cxp_gen::generate(GenConfig { customers: 20_000, events: LINES, days: 30, seed: 1, ..GenConfig::default() })
}

fn parse(c: &mut Criterion) {
    let input = input();
    let text = std::str::from_utf8(&input).expect("the generator writes UTF-8");
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(LINES));
    group.sample_size(20);
    group.bench_function("cxp_lp", |b| {
        b.iter(|| {
            let mut fields = 0usize;
            for parsed in cxp_lp::lines(black_box(&input), cxp_lp::ParseOptions::default()) {
                if let Ok(line) = parsed.result {
                    fields += line.fields.len() + line.tags.len();
                }
            }
            fields
        })
    });
    group.bench_function("influxdb_line_protocol", |b| {
        b.iter(|| {
            let mut fields = 0usize;
            for line in influxdb_line_protocol::parse_lines(black_box(text)).flatten() {
                fields += line.field_set.len() + line.series.tag_set.as_ref().map_or(0, |t| t.len());
            }
            fields
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
