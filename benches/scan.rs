//! Scanning merged parts: summing one numeric column (order amounts, a float with cents; order
//! item counts, an integer) over every chunk of a store of 4 million orders after merges.
//!
//! Target (foundation issue): at least 200 million values/s per core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxp_store::{Batch, ColumnData, FieldValue, NullableColumn, ScanRequest, Store, StoreOptions};

const ROWS: u64 = 4_000_000;

fn build() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), StoreOptions { auto_merge: false, ..StoreOptions::default() }).expect("open");
    let day = cxp_store::DAY;
    let start = cxp_store::now_ns() / day * day - 30 * day;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for block in 0..(ROWS / 100_000) {
        let mut batch = Batch::new("bench");
        for i in 0..100_000u64 {
            let n = block * 100_000 + i;
            let customer = format!("c-{}", next() % 200_000);
            let cents = (next() % 50_000 + 100) as f64;
            let ts = start + (n as i64) * (30 * day / ROWS as i64);
            batch
                .push_event(
                    "order",
                    ts - ts % 1_000_000,
                    [("customer", customer.as_str())],
                    [("amount", FieldValue::F64(cents / 100.0)), ("items", FieldValue::I64((next() % 9 + 1) as i64))],
                )
                .expect("valid");
        }
        store.write(batch).expect("write");
    }
    store.merge_all().expect("merge");
    (dir, store)
}

fn sum_f64(store: &Store) -> f64 {
    let mut total = 0.0;
    for batch in store.scan(ScanRequest::new("order").columns(["amount"])).expect("scan") {
        if let Some(NullableColumn { data: ColumnData::F64(v), .. }) = batch.expect("batch").column("amount") {
            total += v.iter().sum::<f64>();
        }
    }
    total
}

fn sum_i64(store: &Store) -> i64 {
    let mut total = 0;
    for batch in store.scan(ScanRequest::new("order").columns(["items"])).expect("scan") {
        if let Some(NullableColumn { data: ColumnData::I64(v), .. }) = batch.expect("batch").column("items") {
            total += v.iter().sum::<i64>();
        }
    }
    total
}

fn scan(c: &mut Criterion) {
    let (_dir, store) = build();
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(20);
    group.bench_function("sum_f64_amount", |b| b.iter(|| sum_f64(&store)));
    group.bench_function("sum_i64_items", |b| b.iter(|| sum_i64(&store)));
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
