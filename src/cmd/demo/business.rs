//! The demo's shop: one generated stream (`cxp-gen`) whose past is loaded as history and
//! whose future is played live, at a chosen rate and with the wall clock's timestamps,
//! through the daemon's real HTTP ingest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cxp_gen::{GenConfig, Generator};
use cxp_store::now_ns;

const DAY: i64 = 86_400_000_000_000;

/// What the live feed did.
#[derive(Debug, Default)]
pub struct Feed {
    /// Events acknowledged by the daemon.
    pub sent: AtomicU64,
    /// Requests that failed (the daemon was behind or gone).
    pub failed: AtomicU64,
}

/// The shop's size and pace.
#[derive(Debug, Clone, Copy)]
pub struct Shop {
    /// Customers.
    pub customers: u64,
    /// Events of history.
    pub history_events: u64,
    /// Days of history.
    pub history_days: u32,
    /// Live events per second.
    pub rate: u64,
    /// Seed.
    pub seed: u64,
}

/// A client of the daemon's line-protocol endpoint.
pub struct Writer {
    http: reqwest::blocking::Client,
    url: String,
    token: String,
}

impl Writer {
    /// For the daemon at `addr`.
    pub fn new(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<Writer> {
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Writer { http, url: format!("http://{addr}/write?precision=ns"), token: token.to_owned() })
    }

    /// Writes `lines`; the daemon's refusal as an error.
    pub fn write(&self, lines: &[u8]) -> anyhow::Result<()> {
        let r = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .body(lines.to_vec())
            .send()
            .context("writing to the daemon")?;
        let status = r.status();
        // 400 means some lines were refused (and quarantined): the rest are stored.
        if !(status.is_success() || status.as_u16() == 400) {
            anyhow::bail!("the daemon answered {status}: {}", r.text().unwrap_or_default());
        }
        Ok(())
    }
}

// The timestamp of a line: its last space-separated token.
fn ts_of(line: &[u8]) -> Option<(usize, i64)> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let at = body.iter().rposition(|b| *b == b' ')?;
    let ts = std::str::from_utf8(&body[at + 1..]).ok()?.parse().ok()?;
    Some((at, ts))
}

/// The shop's past: `history_days` up to `now`.
pub fn history(shop: Shop, now: i64) -> Generator {
    Generator::new(GenConfig {
        customers: shop.customers,
        events: shop.history_events,
        days: shop.history_days,
        seed: shop.seed,
        start_ns: now - i64::from(shop.history_days) * DAY,
    })
}

/// The shop's future, an hour of it at `rate`, from `start`. The same seed gives the same
/// people (identifiers, names) as the history, so the live customers are the known ones; a
/// month of their lives is played within the hour, so that journeys visibly act.
pub fn future(shop: Shop, seed: u64, start: i64) -> Generator {
    Generator::new(GenConfig {
        customers: shop.customers,
        events: shop.rate.max(1) * 3_600,
        days: 30,
        seed,
        start_ns: start,
    })
}

/// Loads the past (before `now`) through `w`, in blocks; returns the events sent.
pub fn backfill(mut g: Generator, now: i64, w: &Writer, progress: &dyn Fn(u64)) -> anyhow::Result<u64> {
    let mut block = Vec::with_capacity(4 << 20);
    let mut line = Vec::new();
    let mut sent = 0u64;
    loop {
        line.clear();
        if !g.next_line(&mut line) {
            break;
        }
        if ts_of(&line).is_some_and(|(_, ts)| ts >= now) {
            continue;
        }
        block.extend_from_slice(&line);
        sent += 1;
        if block.len() >= 2 << 20 {
            w.write(&block)?;
            block.clear();
            progress(sent);
        }
    }
    if !block.is_empty() {
        w.write(&block)?;
    }
    progress(sent);
    Ok(sent)
}

/// Plays the future at `rate` events/s with wall-clock timestamps until `stop`: a batch
/// every 100 ms. When the hour of future runs out, the next hour begins.
pub fn live(shop: Shop, w: &Writer, stop: &Arc<AtomicBool>, feed: &Feed) {
    let per_tick = (shop.rate / 10).max(1) as usize;
    let mut seed = shop.seed;
    let mut g = future(shop, seed, now_ns());
    let started = Instant::now();
    let mut tick = 0u64;
    let mut line = Vec::new();
    let mut batch = Vec::with_capacity(per_tick * 120);
    while !stop.load(Ordering::Relaxed) {
        batch.clear();
        let mut n = 0;
        let mut ts = now_ns();
        while n < per_tick {
            line.clear();
            if !g.next_line(&mut line) {
                seed += 1;
                g = future(shop, seed, now_ns());
                continue;
            }
            let Some((at, _)) = ts_of(&line) else { continue };
            // Now, one ns apart, so the events keep their order.
            batch.extend_from_slice(&line[..at]);
            batch.extend_from_slice(format!(" {ts}\n").as_bytes());
            ts += 1;
            n += 1;
        }
        match w.write(&batch) {
            Ok(()) => drop(feed.sent.fetch_add(n as u64, Ordering::Relaxed)),
            Err(_) => drop(feed.failed.fetch_add(1, Ordering::Relaxed)),
        }
        tick += 1;
        let due = started + Duration::from_millis(100 * tick);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ends_before_now_and_the_future_starts_then_with_the_same_people() {
        let now = 1_796_637_600_000_000_000;
        let shop = Shop { customers: 200, history_events: 5_000, history_days: 10, rate: 10, seed: 7 };
        let mut g = history(shop, now);
        let mut line = Vec::new();
        let mut past = String::new();
        while g.next_line(&mut line) {}
        past.push_str(&String::from_utf8_lossy(&line));
        for l in past.lines() {
            let (_, ts) = ts_of(l.as_bytes()).expect("a timestamp");
            assert!((now - 10 * DAY..now).contains(&ts), "{l}");
        }
        assert_eq!(past.lines().count(), 5_000);
        let mut f = future(shop, 7, now);
        line.clear();
        assert!(f.next_line(&mut line));
        assert!(ts_of(&line).expect("ts").1 >= now);
        // c-1's phone is the same number in both (written as messily as shoppers type it):
        // the same seed gives the same people.
        let phone = |text: &str| -> Option<String> {
            let l = text.lines().find(|l| l.contains("customer=c-1 ") && l.contains("phone="))?;
            let raw = l.split("phone=\"").nth(1)?.split('"').next()?;
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            Some(digits[digits.len().saturating_sub(11)..].to_owned())
        };
        let mut more = Vec::new();
        while f.next_line(&mut more) {}
        let future_text = String::from_utf8_lossy(&more).into_owned();
        if let (Some(a), Some(b)) = (phone(&past), phone(&future_text)) {
            assert_eq!(a, b);
        }
        assert_eq!(ts_of(b"order,customer=c-1 amount=5 123\n"), Some((27, 123)));
    }
}
