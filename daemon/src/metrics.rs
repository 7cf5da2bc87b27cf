//! Ingest counters for `/api/v1/status` and `/metrics`: events per second over the last minute,
//! acknowledgement latency (an hdrhistogram from a request's arrival to durable), rejects by
//! reason, overload answers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cxp_query::api::Latency;
use hdrhistogram::Histogram;

/// Seconds of events-per-second history kept.
const HISTORY: usize = 60;

/// Live ingest counters.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// Events stored since start.
    pub events: AtomicU64,
    /// Refused lines and events since start.
    pub rejects: AtomicU64,
    /// Requests answered 429/503.
    pub overloaded: AtomicU64,
    /// UDP datagrams dropped because ingest was behind.
    pub udp_dropped: AtomicU64,
    /// Events refused because they carry an erased or opted-out identifier.
    pub suppressed: AtomicU64,
    /// Batches on their way to the writer.
    pub in_flight: AtomicU64,
    /// Open TCP line-protocol connections.
    pub tcp_connections: AtomicU64,
    /// HTTP requests by (route, status).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    reasons: Mutex<BTreeMap<String, u64>>,
    latency: Mutex<Histogram<u64>>,
    // (second since start, events stored in it)
    per_second: Mutex<VecDeque<(u64, u64)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            events: AtomicU64::new(0),
            rejects: AtomicU64::new(0),
            overloaded: AtomicU64::new(0),
            udp_dropped: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            tcp_connections: AtomicU64::new(0),
            requests: Mutex::default(),
            reasons: Mutex::default(),
            // 1 µs to 1 hour, 3 significant digits.
            latency: Mutex::new(Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid")),
            per_second: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Distinct reasons counted; later ones count as "other" (a label per reason must not grow
/// without bound).
const MAX_REASONS: usize = 200;

/// A reason's kind: the text before any detail (after `:` or `(`), without the column prefix,
/// quoted values and numbers (they can be personal data, and they would make a group per
/// line), so that counts group by rule.
pub fn reason_kind(reason: &str) -> String {
    let r = reason.strip_prefix("col ").and_then(|r| r.split_once(": ")).map_or(reason, |(_, rest)| rest);
    let end = r.find(['(', ':']).unwrap_or(r.len());
    let mut kind = String::with_capacity(end);
    let mut quoted = false;
    for c in r[..end].chars() {
        match c {
            '"' => {
                if !quoted {
                    kind.push_str("\"…\"");
                }
                quoted = !quoted;
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {
                if !kind.ends_with('#') {
                    kind.push('#');
                }
            }
            c => kind.push(c),
        }
    }
    let kind = kind.trim();
    if kind.is_empty() { "other".to_owned() } else { kind.chars().take(60).collect() }
}

impl Metrics {
    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// A batch became durable: `events` stored, `rejected` reasons, `took` since arrival.
    pub fn stored(&self, events: u64, rejected: &[String], took: Duration) {
        self.events.fetch_add(events, Ordering::Relaxed);
        self.rejects.fetch_add(rejected.len() as u64, Ordering::Relaxed);
        if !rejected.is_empty() {
            let mut reasons = lock(&self.reasons);
            for r in rejected {
                let mut kind = reason_kind(r);
                if reasons.len() >= MAX_REASONS && !reasons.contains_key(&kind) {
                    kind = "other".to_owned();
                }
                *reasons.entry(kind).or_default() += 1;
            }
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        lock(&self.latency).saturating_record(us);
        let now = self.started.elapsed().as_secs();
        let mut per = lock(&self.per_second);
        match per.back_mut() {
            Some((s, n)) if *s == now => *n += events,
            _ => per.push_back((now, events)),
        }
        while per.front().is_some_and(|(s, _)| *s + HISTORY as u64 <= now) {
            per.pop_front();
        }
    }

    /// An HTTP request was answered.
    pub fn request(&self, route: &'static str, status: u16) {
        *lock(&self.requests).entry((route, status)).or_default() += 1;
    }

    /// Requests by (route, status).
    pub fn requests(&self) -> BTreeMap<(&'static str, u16), u64> {
        lock(&self.requests).clone()
    }

    /// Refused lines by reason kind.
    pub fn reasons(&self) -> BTreeMap<String, u64> {
        lock(&self.reasons).clone()
    }

    /// Acknowledgement latency so far.
    pub fn latency(&self) -> Latency {
        let h = lock(&self.latency);
        Latency {
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            count: h.len(),
        }
    }

    /// Events stored per second for the last minute, oldest first (the current second last).
    pub fn history(&self) -> Vec<u64> {
        let now = self.started.elapsed().as_secs();
        let per = lock(&self.per_second);
        let first = now.saturating_sub(HISTORY as u64 - 1);
        (first..=now).map(|s| per.iter().find(|(t, _)| *t == s).map_or(0, |(_, n)| *n)).collect()
    }

    /// Events per second over the last 10 whole seconds.
    pub fn rate(&self) -> f64 {
        let h = self.history();
        let whole = &h[h.len().saturating_sub(11)..h.len().saturating_sub(1)];
        let secs = whole.len().min(self.started.elapsed().as_secs() as usize).max(1);
        whole.iter().rev().take(secs).sum::<u64>() as f64 / secs as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_group_by_rule_not_by_line() {
        assert_eq!(reason_kind("col 7: expected '=' after tag key"), "expected '=' after tag key");
        assert_eq!(reason_kind("field \"zhang@example.com\" is out of range: -1"), "field \"…\" is out of range");
        assert_eq!(reason_kind("line is 1048577 bytes, over 1048576"), "line is # bytes, over #");
        assert_eq!(reason_kind("required field amount missing (rule order.required)"), "required field amount missing");
    }

    #[test]
    fn latency_and_rates_are_counted() {
        let m = Metrics::default();
        m.stored(10, &["bad".into()], Duration::from_millis(2));
        m.stored(5, &[], Duration::from_millis(4));
        assert_eq!(m.events.load(Ordering::Relaxed), 15);
        assert_eq!(m.reasons().get("bad"), Some(&1));
        let l = m.latency();
        assert_eq!(l.count, 2);
        assert!(l.max_us >= 4000 && l.p50_us >= 1990, "{l:?}");
        assert_eq!(m.history().iter().sum::<u64>(), 15);
    }
}
