//! What a waiting customer costs the automation engine in memory, counted by a wrapping
//! allocator (so the figure is exact and the test does not depend on timing): a million
//! waiting must stay under 200 MB, and the layout was chosen for that (see
//! `automation/slab.rs`). Its own test binary, as the counting allocator is process-wide.

use cxp_query::automation::{Engine, Event, Host, parse};

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn live_bytes() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

struct NoHost;

impl Host for NoHost {
    fn condition(&mut self, _: &str, _: u32, _: i64) -> Result<bool, String> {
        Ok(true)
    }
    fn next_time_of_day(&mut self, _: u32, _: u32, after: i64) -> i64 {
        after
    }
    fn customer_id(&mut self, root: u32) -> String {
        root.to_string()
    }
}

const RULES: &str = r#"
[triggers.comeback]
event = "signup"
unless = { event = "login", within = "24h" }
send = { channel = "push", template = "p" }
[templates.p]
push = { title = "hi", body = "{{ link }}" }
"#;

#[test]
fn a_waiting_customer_costs_the_engine_under_200_bytes() {
    let defs = parse(RULES).expect("rules");
    let n = 200_000u32;
    let fields = [("source", "ad".to_owned()), ("channel", "app".to_owned())];
    let t0 = 1_900_000_000_000_000_000i64;
    let before = live_bytes();
    let mut engine = Engine::new(defs.journeys.clone(), i64::MAX / 4);
    for r in 0..n {
        engine.on_event(&mut NoHost, &Event { root: r + 1, name: "signup", ts: t0, fields: &fields }, t0);
        if r % 10_000 == 0 {
            drop(engine.take_changes());
        }
    }
    drop(engine.take_changes());
    assert_eq!(engine.instances(), n as usize);
    let each = (live_bytes() - before) / n as usize;
    assert!(each < 200, "{each} B per waiting customer");
    // And it is the engine that holds them: dropping it gives everything back.
    drop(engine);
    assert!(live_bytes() <= before + 4096, "{} B left after the engine is gone", live_bytes() - before);
}
