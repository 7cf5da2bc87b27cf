//! Recommendations in the daemon: the co-occurrence state rebuilt from the store at start,
//! then kept current by a tap on committed events, on a thread of its own; questions are
//! answered from RAM under a read lock (microseconds), for the API, triggers and journeys.
//!
//! The tap is opened before the rebuild reads the store, and events the rebuild already saw
//! (by sequence number) are skipped, so none is counted twice or missed. The tap is lossy:
//! if this thread falls behind, ingest does not wait; groups dropped are counted in
//! `/metrics` and only make recommendations a little less fresh.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cxp_query::recommend::{CoOccurrence, RecConfig, RecommendationDoc, Related, for_customer, rebuild};
use cxp_store::{Ck, FieldValue, Store, TapMode};
use tokio_util::sync::CancellationToken;

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
        let tap = store.tap(256, TapMode::Lossy);
        let this = rec.clone();
        std::thread::Builder::new().name("cxp-recommend".into()).spawn(move || {
            let started = Instant::now();
            let mut fresh = this.config.state();
            let seen = match rebuild(&store, &this.config, &mut fresh, cxp_store::now_ns()) {
                Ok(r) => {
                    tracing::info!(events = r.events, items = fresh.items(), took = ?started.elapsed(), "recommendations rebuilt");
                    r.max_seq
                }
                Err(e) => {
                    tracing::warn!(error = %e, "recommendations could not be rebuilt; starting from new events");
                    0
                }
            };
            *this.state.write().unwrap_or_else(|p| p.into_inner()) = fresh;
            this.ready.store(true, Ordering::Release);
            drop(store);
            let mut last_sweep = Instant::now();
            while !cancel.is_cancelled() {
                if let Some(group) = tap.recv_timeout(Duration::from_millis(500)) {
                    let mut state = this.state.write().unwrap_or_else(|p| p.into_inner());
                    for (e, key) in group.events() {
                        if key.seq <= seen && seen > 0 {
                            continue;
                        }
                        let Some(&weight) = this.config.events.get(e.measurement) else { continue };
                        let item = match e.field(&this.config.item_field) {
                            Some(FieldValue::Str(s)) => Some(s),
                            _ => e.tag(&this.config.item_field).map(Into::into),
                        };
                        if let Some(item) = item {
                            state.observe(key.root, &item, e.ts, weight);
                        }
                    }
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
            items,
            coupon,
            took_us: started.elapsed().as_micros() as u64,
        })
    }
}
