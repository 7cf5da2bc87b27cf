//! What several benches share: sizes from the environment, and loading generated line
//! protocol into a store the way producers do (blocks of 8 MiB, a few in flight, each durable).

#![allow(dead_code)] // each bench uses part of it

use cxp_store::{Batch, ParseOptions, Store};

/// `name` from the environment as a number, else `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Writes line protocol `lp` into `store`, three blocks in flight, and waits until all of it
/// is durable.
pub fn ingest(store: &Store, lp: &[u8]) {
    let mut rest = lp;
    let mut pending = std::collections::VecDeque::new();
    while !rest.is_empty() {
        let cut = rest.iter().take(8 << 20).rposition(|b| *b == b'\n').map_or(rest.len(), |p| p + 1);
        let mut batch = Batch::new("bench");
        batch.push_line_protocol(&rest[..cut], ParseOptions::default(), 0, 1);
        pending.push_back(store.write_async(batch).expect("queue"));
        if pending.len() > 2 {
            pending.pop_front().expect("pending").wait().expect("durable");
        }
        rest = &rest[cut..];
    }
    for p in pending {
        p.wait().expect("durable");
    }
}

/// Resident memory of this process, bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The automation benches' rules: a welcome SMS at signup, and a come-back push to those who
/// have not logged in 24 hours later (so every signup leaves a customer waiting a day).
pub const AUTOMATION_RULES: &str = r#"
[settings]
quiet_hours = "none"
[triggers.welcome]
event = "signup"
send = { channel = "sms", template = "t" }
[triggers.comeback]
event = "signup"
unless = { event = "login", within = "24h" }
send = { channel = "push", template = "p" }
[templates.t]
sms = "{{ salutation }} {{ link }} {{ opt_out }}"
[templates.p]
push = { title = "hi", body = "{{ link }}" }
"#;
