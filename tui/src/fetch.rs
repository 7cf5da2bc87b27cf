//! The fetch thread: all network I/O of the console, off the draw path. It reads what the
//! screen on show needs every refresh (slow reports less often), and on failure keeps the
//! last data, says why, and retries with jittered exponential backoff.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use cxp_query::api::{ExperimentResults, QueryDoc, SearchDoc, Status, WhyRecord};

use crate::client::{Client, FetchError, encode};
use crate::data::{Conn, Point, Sample, Snapshot, now_ns};
use crate::keymap::Tab;

/// Which view of the segments screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SegView {
    /// The segments.
    #[default]
    List,
    /// The RFM grid and named RFM segments.
    Rfm,
    /// k-means clusters.
    Clusters,
}

/// What the screen on show needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The screen.
    pub tab: Tab,
    /// Customer search text.
    pub search: Option<String>,
    /// The customer opened (an identifier or `#KEY`).
    pub customer: Option<String>,
    /// Keep the opened customer's timeline live.
    pub follow: bool,
    /// A segment expression being typed.
    pub draft: Option<String>,
    /// The experiment opened.
    pub experiment: Option<String>,
    /// Segments screen view.
    pub seg_view: SegView,
    /// KPI window, days.
    pub days: u32,
}

impl Default for Want {
    fn default() -> Self {
        Want {
            tab: Tab::Overview,
            search: None,
            customer: None,
            follow: true,
            draft: None,
            experiment: None,
            seg_view: SegView::List,
            days: 7,
        }
    }
}

/// From the screen to the fetch thread.
#[derive(Debug, Clone)]
pub enum Request {
    /// The screen needs this now.
    Want(Want),
    /// Refresh (or reconnect) now.
    Now,
    /// Refresh every this long.
    Every(Duration),
    /// Replay quarantined lines.
    Replay(Vec<u64>),
    /// Pause (`true`) or resume a journey.
    Pause(String, bool),
    /// End the thread.
    Stop,
}

/// From the fetch thread to the screen.
#[derive(Debug, Clone)]
pub enum Update {
    /// A refresh finished (or failed: the data is the last that was fetched).
    Data(Box<Snapshot>, Conn),
    /// The outcome of an action, in words.
    Flash(String),
}

/// Delay before attempt `attempt` (1-based) after failures: 0.5 s doubling to 30 s, with
/// `jitter` (0 to 1) spreading it by ±20% so consoles do not retry in step.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.saturating_sub(1).min(16) as i32);
    let capped = base.min(30.0);
    Duration::from_secs_f64(capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0)))
}

struct Fetcher {
    client: Client,
    want: Want,
    snap: Snapshot,
    // When each slow route was last read, and for which argument.
    last: HashMap<&'static str, (Instant, String)>,
    admin_known: bool,
}

enum Round {
    Ok,
    Down(String),
}

impl Fetcher {
    // Whether `route` with `arg` is due (not read within `every`, or read for another arg).
    fn due(&mut self, route: &'static str, arg: &str, every: Duration) -> bool {
        match self.last.get(route) {
            Some((at, a)) if a == arg && at.elapsed() < every => false,
            _ => {
                self.last.insert(route, (Instant::now(), arg.to_owned()));
                true
            }
        }
    }

    // Reads `path`; a route error is recorded for its panel, unreachability stops the round.
    fn get<T: serde::de::DeserializeOwned>(&mut self, key: &str, path: &str) -> Result<Option<T>, String> {
        match self.client.get::<T>(path) {
            Ok(v) => {
                self.snap.errors.remove(key);
                Ok(Some(v))
            }
            Err(e @ FetchError::Unreachable { .. }) => Err(e.to_string()),
            Err(e) => {
                self.snap.errors.insert(key.to_owned(), e.to_string());
                Ok(None)
            }
        }
    }

    fn round(&mut self) -> Round {
        match self.client.get::<Status>("/api/v1/status") {
            Ok(s) => {
                self.snap.errors.remove("status");
                if self.snap.history.is_empty() {
                    // Back-fill the chart with the daemon's last minute.
                    let n = s.events_per_s_history.len() as i64;
                    let now = now_ns();
                    for (i, v) in s.events_per_s_history.iter().enumerate() {
                        let at = now - (n - i as i64) * 1_000_000_000;
                        let p = Point { events_per_s: *v as f64, p99_us: s.latency.p99_us, rejects: s.rejects_total };
                        self.snap.sample(Sample { at, value: Some(p) });
                    }
                }
                let p = Point { events_per_s: s.events_per_s, p99_us: s.latency.p99_us, rejects: s.rejects_total };
                self.snap.sample(Sample { at: now_ns(), value: Some(p) });
                self.snap.status = Some(s);
            }
            Err(e) => return Round::Down(e.to_string()),
        }
        if !self.admin_known {
            match self.client.get::<serde_json::Value>("/api/v1/tokens") {
                Ok(_) => (self.snap.admin, self.admin_known) = (true, true),
                Err(FetchError::Status { .. }) => (self.snap.admin, self.admin_known) = (false, true),
                Err(e) => return Round::Down(e.to_string()),
            }
        }
        match self.screen() {
            Ok(()) => Round::Ok,
            Err(e) => Round::Down(e),
        }
    }

    fn screen(&mut self) -> Result<(), String> {
        let w = self.want.clone();
        let slow = Duration::from_secs(10);
        match w.tab {
            Tab::Overview => {
                let days = w.days.to_string();
                if self.due("kpi", &days, slow) {
                    let from = now_ns() - 2 * i64::from(w.days) * 86_400_000_000_000;
                    if let Some(k) = self.get("kpi", &format!("/api/v1/kpi/daily?from={from}"))? {
                        self.snap.kpi = Some(k);
                    }
                }
                if self.due("quality", "", slow)
                    && let Some(q) = self.get("quality", "/api/v1/quality")?
                {
                    self.snap.quality = Some(q);
                }
                if let Some(m) = self.get("messages", "/api/v1/messages")? {
                    self.snap.messages = Some(m);
                }
                if let Some(s) = self.get("segments", "/api/v1/segments")? {
                    self.snap.segments = s;
                }
            }
            Tab::Customers => {
                if let Some(q) = &w.search
                    && self.due("search", q, Duration::from_secs(5))
                {
                    let path = format!("/api/v1/customers?q={}&limit=50", encode(q));
                    self.snap.search = Some(match self.client.get::<SearchDoc>(&path) {
                        Ok(s) => Ok(s),
                        Err(e @ FetchError::Unreachable { .. }) => return Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    });
                }
                if let Some(id) = &w.customer
                    && (w.follow || self.due("customer", id, Duration::from_secs(3600)))
                {
                    let path = format!("/api/v1/customers/{}?events=100", encode(id));
                    self.snap.customer = Some(match self.client.get(&path) {
                        Ok(c) => Ok(c),
                        Err(e @ FetchError::Unreachable { .. }) => return Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    });
                    #[derive(serde::Deserialize)]
                    struct Why {
                        messages: Vec<WhyRecord>,
                    }
                    let path = format!("/api/v1/customers/{}/identity", encode(id));
                    self.snap.identity = self.get("identity", &path)?;
                    let path = format!("/api/v1/messages/why?customer={}", encode(id));
                    self.snap.customer_messages =
                        self.get::<Why>("why", &path)?.map(|w| w.messages).unwrap_or_default();
                }
            }
            Tab::Segments => {
                if let Some(s) = self.get("segments", "/api/v1/segments")? {
                    self.snap.segments = s;
                }
                if w.seg_view == SegView::Rfm
                    && self.due("rfm", "", Duration::from_secs(30))
                    && let Some(r) = self.get("rfm", "/api/v1/rfm")?
                {
                    self.snap.rfm = Some(r);
                }
                if w.seg_view == SegView::Clusters
                    && self.due("cluster", "", Duration::from_secs(60))
                    && let Some(c) = self.get("cluster", "/api/v1/cluster")?
                {
                    self.snap.clusters = Some(c);
                }
                match &w.draft {
                    Some(expr) if self.due("draft", expr, Duration::from_secs(5)) => {
                        let path = format!("/api/v1/query?expr={}&sample=0", encode(expr));
                        self.snap.draft = Some(match self.client.get::<QueryDoc>(&path) {
                            Ok(d) => Ok(d),
                            Err(e @ FetchError::Unreachable { .. }) => return Err(e.to_string()),
                            Err(FetchError::Status { message, .. }) => Err(message),
                            Err(e) => Err(e.to_string()),
                        });
                    }
                    Some(_) => {}
                    None => self.snap.draft = None,
                }
            }
            Tab::Journeys => {
                if let Some(j) = self.get("journeys", "/api/v1/journeys")? {
                    self.snap.journeys = j;
                }
            }
            Tab::Experiments => {
                if let Some(e) = self.get("experiments", "/api/v1/experiments")? {
                    self.snap.experiments = e;
                }
                let name =
                    w.experiment.clone().or_else(|| self.snap.experiments.first().map(|e| e.experiment.name.clone()));
                if let Some(name) = name
                    && self.due("results", &name, Duration::from_secs(5))
                {
                    let path = format!("/api/v1/experiments/{}/results", encode(&name));
                    self.snap.results = Some(match self.client.get::<ExperimentResults>(&path) {
                        Ok(r) => Ok(r),
                        Err(e @ FetchError::Unreachable { .. }) => return Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    });
                }
            }
            Tab::Messages => {
                if let Some(m) = self.get("messages", "/api/v1/messages")? {
                    self.snap.messages = Some(m);
                }
            }
            Tab::Quality => {
                if self.due("quality", "", Duration::from_secs(5))
                    && let Some(q) = self.get("quality", "/api/v1/quality")?
                {
                    self.snap.quality = Some(q);
                }
                if let Some(q) = self.get("quarantine", "/api/v1/quarantine?limit=200")? {
                    self.snap.quarantine = q;
                }
            }
            Tab::Models => {
                if self.due("models", "", Duration::from_secs(5))
                    && let Some(m) = self.get("models", "/api/v1/models")?
                {
                    self.snap.models = m;
                }
            }
        }
        Ok(())
    }

    fn pause(&mut self, name: &str, paused: bool) -> String {
        let action = if paused { "pause" } else { "resume" };
        match self.client.post(&format!("/api/v1/journeys/{}/{action}", encode(name)), &serde_json::json!({})) {
            Ok(_) => format!("{name}: {}", if paused { "paused" } else { "resumed" }),
            Err(e) => format!("{action} failed: {e}"),
        }
    }

    fn replay(&mut self, ids: &[u64]) -> String {
        match self.client.post("/api/v1/quarantine/replay", &serde_json::json!({ "ids": ids })) {
            Ok(r) => format!(
                "replayed: {} stored, {} still refused",
                r["stored"].as_u64().unwrap_or(0),
                r["still_rejected"].as_u64().unwrap_or(0)
            ),
            Err(e) => format!("replay failed: {e}"),
        }
    }
}

// Takes one request from the screen; false when the thread should end.
fn apply(f: &mut Fetcher, r: Request, tx: &Sender<Update>, every: &mut Duration, attempt: &mut u32) -> bool {
    let said = match r {
        Request::Want(w) => {
            // A new screen or selection is read at once; nothing waits on a stale cache.
            if w.tab != f.want.tab || w.search != f.want.search || w.customer != f.want.customer {
                f.last.clear();
            }
            f.want = w;
            return true;
        }
        Request::Now => {
            f.last.clear();
            *attempt = 0;
            return true;
        }
        Request::Every(d) => {
            *every = d;
            return true;
        }
        Request::Stop => return false,
        Request::Replay(ids) => {
            f.last.remove("quarantine");
            f.replay(&ids)
        }
        Request::Pause(name, paused) => f.pause(&name, paused),
    };
    tx.send(Update::Flash(said)).is_ok()
}

/// Runs the fetch thread until `Stop` or the screen goes away.
pub fn run(client: Client, rx: Receiver<Request>, tx: Sender<Update>, mut every: Duration) {
    let mut f =
        Fetcher { client, want: Want::default(), snap: Snapshot::default(), last: HashMap::new(), admin_known: false };
    let mut attempt = 0u32;
    let mut next = Instant::now();
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(r) => {
                if !apply(&mut f, r, &tx, &mut every, &mut attempt) {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        // Requests that came together are answered by one refresh.
        while let Ok(r) = rx.try_recv() {
            if !apply(&mut f, r, &tx, &mut every, &mut attempt) {
                return;
            }
        }
        let conn = match f.round() {
            Round::Ok => {
                attempt = 0;
                f.snap.at = now_ns();
                next = Instant::now() + every;
                Conn::Live
            }
            Round::Down(error) => {
                attempt += 1;
                f.admin_known = false;
                f.snap.sample(Sample { at: now_ns(), value: None });
                let jitter = f64::from(now_ns().rem_euclid(1000) as u32) / 1000.0;
                let delay = backoff(attempt, jitter);
                next = Instant::now() + delay;
                Conn::Down { error, attempt, retry_at: now_ns() + delay.as_nanos() as i64 }
            }
        };
        if tx.send(Update::Data(Box::new(f.snap.clone()), conn)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_thirty_seconds_with_bounded_jitter() {
        assert_eq!(backoff(1, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(2, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(4, 0.5), Duration::from_secs(4));
        assert_eq!(backoff(20, 0.5), Duration::from_secs(30));
        assert_eq!(backoff(u32::MAX, 0.5), Duration::from_secs(30));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(400));
        assert_eq!(backoff(1, 1.0), Duration::from_millis(600));
    }

    #[test]
    fn a_daemon_that_is_not_there_is_reported_down_with_a_retry_time() {
        let (req_tx, req_rx) = std::sync::mpsc::channel();
        let (tx, rx) = std::sync::mpsc::channel();
        let client = Client::new("127.0.0.1:9", None).expect("client");
        let t = std::thread::spawn(move || run(client, req_rx, tx, Duration::from_millis(100)));
        let Ok(Update::Data(snap, Conn::Down { attempt, error, retry_at })) = rx.recv_timeout(Duration::from_secs(10))
        else {
            panic!("expected a failed round");
        };
        assert_eq!(attempt, 1);
        assert!(error.contains("unreachable"), "{error}");
        assert!(retry_at > now_ns());
        assert_eq!(snap.history.back().map(|s| s.value), Some(None), "a gap in the chart");
        req_tx.send(Request::Stop).expect("stop");
        t.join().expect("join");
    }
}
