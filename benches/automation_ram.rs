//! What customers waiting in journeys cost in RAM: one million signups into the engine, each
//! leaving a customer waiting a day for a login, and the live heap that takes (bytes the
//! engine holds, counted by a wrapping allocator; the RSS growth is printed beside it but
//! includes what the allocator keeps of freed memory). The timed part is how fast the engine
//! takes them in.
//!
//! Target (automation issue): one million pending timers under 200 MB of RAM.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use cxp_query::automation::{Engine, Event, Host, parse};

mod support;

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

// stats_alloc already books a reallocation's growth or shrinkage in bytes_allocated or
// bytes_deallocated (bytes_reallocated is the same amount again, signed).
fn live_bytes() -> u64 {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated) as u64
}

/// Answers nothing (the rules have no conditions); UTC.
struct NoHost;

impl Host for NoHost {
    fn condition(&mut self, _: &str, _: u32, _: i64) -> Result<bool, String> {
        Ok(true)
    }
    fn next_time_of_day(&mut self, _: u32, _: u32, after: i64) -> i64 {
        after + 24 * 3_600_000_000_000
    }
    fn customer_id(&mut self, root: u32) -> String {
        root.to_string()
    }
}

/// An engine with `n` customers waiting, changes taken (as the daemon commits them) every
/// 10,000 events.
fn fill(n: u32) -> Engine {
    let defs = parse(support::AUTOMATION_RULES).expect("rules");
    let mut engine = Engine::new(defs.journeys.clone(), i64::MAX / 4);
    let t0 = 1_900_000_000_000_000_000i64;
    let fields = [("source", "ad".to_owned()), ("channel", "app".to_owned())];
    for r in 0..n {
        engine.on_event(&mut NoHost, &Event { root: r + 1, name: "signup", ts: t0, fields: &fields }, t0);
        if r % 10_000 == 0 {
            drop(engine.take_changes());
        }
    }
    drop(engine.take_changes());
    engine
}

fn ram(c: &mut Criterion) {
    let n = support::env("CXP_BENCH_PENDING", 1_000_000) as u32;
    let (rss, live) = (support::rss_bytes(), live_bytes());
    let engine = fill(n);
    let held = live_bytes().saturating_sub(live);
    eprintln!(
        "automation: {} customers waiting in a journey: {} MB live heap ({} B each), RSS grew {} MB",
        engine.instances(),
        held / 1_000_000,
        held / u64::from(n.max(1)),
        support::rss_bytes().saturating_sub(rss) / 1_000_000,
    );
    drop(engine);
    let mut g = c.benchmark_group("automation_ram");
    g.sample_size(10);
    g.bench_function(format!("enter_{n}_waiting"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                let engine = fill(n);
                total += started.elapsed();
                assert_eq!(engine.instances(), n as usize);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, ram);
criterion_main!(benches);
