//! Throughput, run on purpose in release mode:
//! `cargo test -p cxp-gen --release -- --ignored --nocapture`.

use std::io::{self, Write};
use std::time::Instant;

use cxp_gen::{GenConfig, write_all};

/// Counts bytes and discards them.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn run(config: GenConfig) -> f64 {
    let started = Instant::now();
    let mut sink = Count(0);
    let lines = write_all(config, &mut sink).expect("counting never fails");
    let secs = started.elapsed().as_secs_f64();
    let rate = lines as f64 / secs;
    println!(
        "{} customers: {lines} lines, {} MB in {secs:.2} s = {:.2} M lines/s",
        config.customers,
        sink.0 / 1_000_000,
        rate / 1e6
    );
    assert_eq!(lines, config.events);
    rate
}

#[test]
#[ignore = "slow unless --release; run on purpose"]
fn ten_million_lines() {
    let rate = run(GenConfig { events: 10_000_000, ..GenConfig::default() });
    let big = run(GenConfig { customers: 1_000_000, events: 10_000_000, ..GenConfig::default() });
    if !cfg!(debug_assertions) {
        assert!(rate > 2e6 && big > 1e6, "{rate:.0} {big:.0} lines/s");
    }
}
