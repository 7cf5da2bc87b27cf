//! Recommendations in the daemon: the co-occurrence state rebuilt from the store at start,
//! then kept current by a tap on committed events, on a thread of its own; questions are
//! answered from RAM under a read lock (microseconds), for the API, triggers and journeys.
//!
//! The tap is opened before the rebuild reads the store, with a watermark sequence number:
//! the rebuild reads the events below it, the tap brings the others (drained while the
//! rebuild runs), so none is counted twice or missed. The tap is lossy: if this thread falls
//! behind, ingest does not wait; groups dropped are counted and only make recommendations a
//! little less fresh.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cxp_query::recommend::{CoOccurrence, RecConfig, RecommendationDoc, Related, for_customer, rebuild};
use cxp_store::{Ck, FieldValue, Store, TapMode};
use tokio_util::sync::CancellationToken;

/// Events a lagging tap may hold before it drops groups.
const TAP_EVENTS: usize = 1_000_000;

/// The recommendation state of a daemon.
#[derive(Debug)]
pub struct Recommender {
    config: RecConfig,
    state: RwLock<CoOccurrence>,
    ready: AtomicBool,
    /// Groups the tap dropped while this was behind.
    pub dropped: AtomicU64,
}

impl Recommender {
    /// Starts following `store`: rebuilds from its events, then observes each committed one,
    /// until `cancel`.
    pub fn start(store: Arc<Store>, config: RecConfig, cancel: CancellationToken) -> std::io::Result<Arc<Recommender>> {
        let rec = Arc::new(Recommender {
            state: RwLock::new(config.state()),
            config,
            ready: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        // The tap first, then the watermark: events below it are read by the rebuild, the
        // others come through the tap (see `Store::committed_seq`).
        let tap = store.tap(1024, TapMode::Lossy(TAP_EVENTS));
        let watermark = store.committed_seq();
        let this = rec.clone();
        std::thread::Builder::new().name("cxp-recommend".into()).spawn(move || {
            let started = Instant::now();
            let mut fresh = this.config.state();
            // The tap is drained while the rebuild reads, so that it drops nothing meanwhile.
            let mut held = Vec::new();
            let rebuilt = std::thread::scope(|s| {
                let (cfg, stop) = (&this.config, &cancel);
                let job = s.spawn(|| {
                    rebuild(&store, cfg, &mut fresh, cxp_store::now_ns(), watermark, &|| stop.is_cancelled())
                });
                while !job.is_finished() {
                    if let Some(g) = tap.recv_timeout(Duration::from_millis(50)) {
                        held.push(g);
                    }
                }
                job.join().unwrap_or_else(|_| Ok(Default::default()))
            });
            drop(store);
            match rebuilt {
                Ok(r) if !r.stopped => {
                    tracing::info!(events = r.events, items = fresh.items(), took = ?started.elapsed(), "recommendations rebuilt");
                }
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "recommendations could not be rebuilt; starting from new events"),
            }
            *this.state.write().unwrap_or_else(|p| p.into_inner()) = fresh;
            for g in held {
                this.observe(&g, watermark);
            }
            this.ready.store(true, Ordering::Release);
            let mut last_sweep = Instant::now();
            while !cancel.is_cancelled() {
                if let Some(group) = tap.recv_timeout(Duration::from_millis(500)) {
                    this.observe(&group, watermark);
                }
                this.dropped.store(tap.dropped(), Ordering::Relaxed);
                if last_sweep.elapsed() > Duration::from_secs(60) {
                    this.state.write().unwrap_or_else(|p| p.into_inner()).sweep(cxp_store::now_ns());
                    last_sweep = Instant::now();
                }
            }
        })?;
        Ok(rec)
    }

    // The interactions of a committed group, from the watermark on.
    fn observe(&self, group: &cxp_store::Committed, watermark: u64) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        for (e, key) in group.events() {
            if key.seq < watermark {
                continue;
            }
            let Some(&weight) = self.config.events.get(e.measurement) else { continue };
            let item = match e.field(&self.config.item_field) {
                Some(FieldValue::Str(s)) => Some(s),
                _ => e.tag(&self.config.item_field).map(Into::into),
            };
            if let Some(item) = item {
                state.observe(key.root, &item, e.ts, weight);
            }
        }
    }

    /// Whether the rebuild at start has finished (before, answers are from new events only).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The configuration.
    pub fn config(&self) -> &RecConfig {
        &self.config
    }

    /// `k` items for person `who` (if known) looking at `item` (or at what they looked at
    /// lately).
    pub fn recommend(&self, who: Option<Ck>, item: Option<&str>, k: usize) -> Vec<Related> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        for_customer(&state, &self.config, who, item, k)
    }

    /// Items, customers remembered, pairs kept, observations (for status).
    pub fn sizes(&self) -> (usize, usize, usize, u64) {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        (s.items(), s.customers(), s.pairs(), s.observed())
    }

    /// The answer to `GET /api/v1/recommendations` (blocking: reads scores for the coupon).
    pub fn answer(
        &self,
        store: &Store,
        customer: Option<&str>,
        item: Option<&str>,
        k: usize,
    ) -> cxp_store::Result<RecommendationDoc> {
        let started = Instant::now();
        let root = match customer {
            Some(id) => store.customer_key(id)?.map(|ck| store.root(ck)),
            None => None,
        };
        let items = self.recommend(root, item, k);
        let coupon = match root {
            Some(r) => Some(self.config.coupon.decide(&store.scores_of(r)?)),
            None => None,
        };
        Ok(RecommendationDoc {
            item: item.map(str::to_owned),
            customer: customer.map(str::to_owned),
            root,
            items,
            coupon,
            took_us: started.elapsed().as_micros() as u64,
        })
    }
}
