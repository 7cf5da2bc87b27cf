//! Automation in the daemon: triggers and journeys run by the engine of `cxp_query::automation`
//! on committed events, segment changes and the clock, and every message delivered through a
//! durable outbox.
//!
//! One thread owns the engine (`runner.rs`): it reads committed events from a store tap
//! (catching up from its saved cursor after a restart or a dropped group), fires timers, reads
//! the live segments' change log, and makes each step's changes durable in one transaction
//! before anything is sent. One thread per channel delivers (`deliver.rs`): consent, caps and
//! quiet hours checked at send time, content rendered and fitted to the channel, handed to
//! the channel's sink, retried with backoff, dead letters after the last attempt, and every
//! decision kept for "why".

mod clock;
mod db;
mod deliver;
mod erase;
mod runner;
mod sinks;
mod state;
mod wal;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use cxp_query::api::{ChannelDoc, JourneyDoc, JourneyStepDoc, WhyRecord};
use cxp_query::automation::def::{Entry, Step};
use cxp_query::automation::{Channel, Definitions, Engine, Message};
use cxp_store::{Ck, Store};

pub use clock::Clock;
pub use sinks::signature;

use crate::live::LiveSegments;
use crate::recommend::Recommender;

/// How automation runs.
#[derive(Debug, Clone)]
pub struct AutomationOptions {
    /// Events older than this (against the clock) start nothing, ns.
    pub max_event_age: i64,
    /// Data directory (message files go to its `messages/`).
    pub data: PathBuf,
}

/// A channel's queue of messages waiting to go.
#[derive(Debug, Default)]
struct Queue {
    /// By (not before, id).
    waiting: Mutex<BTreeMap<(i64, u64), Message>>,
    ready: Condvar,
}

/// Automation of a daemon.
pub struct Automation {
    store: Arc<Store>,
    db: db::StateDb,
    defs: Arc<Definitions>,
    clock: Clock,
    engine: Mutex<Engine>,
    meta: Mutex<state::Meta>,
    live: Arc<LiveSegments>,
    recommender: Arc<Recommender>,
    queues: BTreeMap<Channel, Queue>,
    sends: Mutex<hashbrown::HashMap<Ck, Vec<(String, i64)>>>,
    counters: Mutex<BTreeMap<String, ChannelDoc>>,
    recent: Mutex<VecDeque<WhyRecord>>,
    dead: Mutex<VecDeque<WhyRecord>>,
    options: AutomationOptions,
    stop: AtomicBool,
    // Time from a committed event reaching the engine to its messages being durable in the
    // outbox, for events that queued one, ns.
    latency: Mutex<Option<hdrhistogram::Histogram<u64>>>,
}

/// Percentiles of the event-to-outbox latency, ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Latency {
    /// Events that queued a message.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Slowest.
    pub max: u64,
}

impl std::fmt::Debug for Automation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automation").field("journeys", &self.defs.journeys.len()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

const KEPT: usize = 200;

impl Automation {
    /// Loads the saved state and starts the engine thread and one delivery thread per channel.
    pub fn start(
        store: Arc<Store>,
        defs: Definitions,
        clock: Clock,
        live: Arc<LiveSegments>,
        recommender: Arc<Recommender>,
        options: AutomationOptions,
    ) -> Result<Arc<Automation>, cxp_store::StoreError> {
        let engine = Engine::new(defs.journeys.clone(), options.max_event_age);
        let db = db::StateDb::open(&options.data, &store)?;
        let auto = Arc::new(Automation {
            store,
            db,
            defs: Arc::new(defs),
            clock,
            engine: Mutex::new(engine),
            meta: Mutex::default(),
            live,
            recommender,
            queues: Channel::ALL.into_iter().map(|c| (c, Queue::default())).collect(),
            sends: Mutex::default(),
            counters: Mutex::new(
                Channel::ALL
                    .into_iter()
                    .map(|c| (c.name().to_owned(), ChannelDoc { channel: c.name().into(), ..ChannelDoc::default() }))
                    .collect(),
            ),
            recent: Mutex::default(),
            dead: Mutex::default(),
            options,
            stop: AtomicBool::new(false),
            latency: Mutex::new(hdrhistogram::Histogram::new(3).ok()),
        });
        let tap = auto.store.tap(4096, cxp_store::TapMode::Lossy(4_000_000));
        let watermark = auto.store.committed_seq();
        auto.restore(watermark)?;
        auto.listen_for_erasures()?;
        let this = auto.clone();
        std::thread::Builder::new()
            .name("cxp-automation".into())
            .spawn(move || runner::run(&this, tap))
            .map_err(|e| cxp_store::StoreError::Io { path: "automation thread".into(), source: e })?;
        for channel in Channel::ALL {
            let this = auto.clone();
            std::thread::Builder::new()
                .name(format!("cxp-send-{}", channel.name()))
                .spawn(move || deliver::run(&this, channel))
                .map_err(|e| cxp_store::StoreError::Io { path: "delivery thread".into(), source: e })?;
        }
        Ok(auto)
    }

    // The saved state, or a fresh start from `watermark` (history is not replayed).
    fn restore(&self, watermark: u64) -> Result<(), cxp_store::StoreError> {
        let loaded = state::load(&self.db)?;
        let mut engine = lock(&self.engine);
        let mut meta = lock(&self.meta);
        match loaded {
            Some(l) => {
                engine.restore(l.restored);
                for name in &l.meta.paused {
                    engine.set_paused(name, true);
                }
                *meta = l.meta;
                *lock(&self.sends) = l.sends;
                let mut counters = lock(&self.counters);
                for (k, v) in l.counters {
                    counters.insert(k, v);
                }
                for m in l.outbox {
                    self.enqueue(m);
                }
            }
            None => {
                meta.cursor = watermark;
                meta.segment_log = self.live.log_position();
            }
        }
        let now = self.clock.now();
        let settings = &self.defs.settings;
        engine.start_schedules(
            &|minute, after| {
                cxp_query::automation::policy::next_local_time(
                    &cxp_query::automation::policy::zone(None, settings),
                    minute,
                    after,
                )
            },
            now,
        );
        let mut entries = state::definitions(&engine)?;
        meta.schedules = engine.schedules().clone();
        entries.push((
            "auto.meta".into(),
            Some(serde_json::to_vec(&*meta).map_err(|e| cxp_store::StoreError::Format(e.to_string()))?),
        ));
        drop((engine, meta));
        self.db.put_state(entries)
    }

    fn enqueue(&self, m: Message) {
        if let Some(q) = self.queues.get(&m.channel) {
            lock(&q.waiting).insert((m.not_before, m.id), m);
            q.ready.notify_one();
        }
    }

    fn bump(&self, channel: Channel, f: impl FnOnce(&mut ChannelDoc)) {
        let mut c = lock(&self.counters);
        f(c.entry(channel.name().to_owned()).or_default());
    }

    /// Stops the threads (at shutdown).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        for q in self.queues.values() {
            q.ready.notify_all();
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether the engine has handled every event committed up to `seq` (the store's
    /// `committed_seq` at some moment): the test clock waits for this before it moves, so
    /// events written before a move are judged at the time before it, however late the
    /// engine's thread runs.
    pub fn handled(&self, seq: u64) -> bool {
        lock(&self.meta).cursor >= seq
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// A message's content for a customer, rendered and fitted to its channel, with the locale.
    pub fn content(
        &self,
        m: &Message,
        view: Option<&cxp_store::CustomerView>,
    ) -> Result<(cxp_query::automation::channel::Adapted, String), String> {
        deliver::content(self, m, view)
    }

    /// The definitions.
    pub fn definitions(&self) -> &Definitions {
        &self.defs
    }

    /// Every journey and trigger with its live counters.
    pub fn journeys(&self) -> Vec<JourneyDoc> {
        let engine = lock(&self.engine);
        engine.journeys().map(|j| journey_doc(&engine, j)).collect()
    }

    /// Pauses (`true`) or resumes a journey or trigger by name; `Ok(false)` when there is
    /// none by that name. Paused, nobody enters it and its customers stay where they are.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<bool, cxp_store::StoreError> {
        let mut engine = lock(&self.engine);
        if !engine.journeys().any(|j| j.name == name) {
            return Ok(false);
        }
        engine.set_paused(name, paused);
        let mut meta = lock(&self.meta);
        meta.paused = engine.paused().clone();
        let bytes = serde_json::to_vec(&*meta).map_err(|e| cxp_store::StoreError::Format(e.to_string()))?;
        drop((engine, meta));
        self.db.put_state(vec![("auto.meta".into(), Some(bytes))])?;
        Ok(true)
    }

    /// Per-channel counters with what waits in each queue.
    pub fn channels(&self) -> Vec<ChannelDoc> {
        let mut out: Vec<ChannelDoc> = lock(&self.counters).values().cloned().collect();
        for c in &mut out {
            if let Some(q) = Channel::parse(&c.channel).and_then(|ch| self.queues.get(&ch)) {
                c.queued = lock(&q.waiting).len() as u64;
            }
        }
        out
    }

    /// The latest messages and dead letters, newest first.
    pub fn recent(&self) -> (Vec<WhyRecord>, Vec<WhyRecord>) {
        (lock(&self.recent).iter().rev().cloned().collect(), lock(&self.dead).iter().rev().cloned().collect())
    }

    /// Every message decision about person `root`, newest first.
    pub fn why(&self, root: Ck) -> cxp_store::Result<Vec<WhyRecord>> {
        state::whys(&self.db, root)
    }

    /// Where a person is in journeys now.
    pub fn instances_of(&self, root: Ck) -> Vec<cxp_query::automation::Instance> {
        lock(&self.engine).instances_of(root)
    }

    /// Pending timers and instances.
    pub fn pending(&self) -> usize {
        lock(&self.engine).instances()
    }

    fn record_latency(&self, ns: u64) {
        if let Some(h) = lock(&self.latency).as_mut() {
            let _ = h.record(ns);
        }
    }

    /// The event-to-outbox latency since the last reset (and resets it when asked).
    pub fn enqueue_latency(&self, reset: bool) -> Latency {
        let mut g = lock(&self.latency);
        let Some(h) = g.as_mut() else { return Latency::default() };
        let l = Latency { count: h.len(), p50: h.value_at_quantile(0.5), p99: h.value_at_quantile(0.99), max: h.max() };
        if reset {
            h.reset();
        }
        l
    }

    fn remember(&self, w: WhyRecord) {
        let dead = w.state == "dead";
        let list = if dead { &self.dead } else { &self.recent };
        let mut l = lock(list);
        l.push_back(w);
        while l.len() > KEPT {
            l.pop_front();
        }
    }
}

/// A step in words.
fn describe(step: &Step, ids: &[String]) -> String {
    use cxp_query::automation::def::Next;
    let to = |n: &Next| match n {
        Next::Continue => "next".to_owned(),
        Next::Exit => "exit".to_owned(),
        Next::Step(k) => ids.get(*k).cloned().unwrap_or_default(),
    };
    let d = |ns: &i64| cxp_query::segment::duration(*ns);
    match step {
        Step::Wait(ns) => format!("wait {}", d(ns)),
        Step::WaitUntil(m) => format!("wait until {:02}:{:02}", m / 60, m % 60),
        Step::WaitFor { event, timeout, on_event } => {
            format!("wait up to {} for {} (then {})", d(timeout), event.event, to(on_event))
        }
        Step::Branch { condition, then, otherwise } => {
            format!("if {condition} then {} else {}", to(then), to(otherwise))
        }
        Step::Split { arms, experiment } => format!(
            "split {}{}",
            arms.iter().map(|(n, w, _)| format!("{n} {w}")).collect::<Vec<_>>().join(" / "),
            experiment.as_ref().map(|e| format!(" (experiment {e})")).unwrap_or_default()
        ),
        Step::Send { channel, template } => format!("send {} {template}", channel.name()),
        Step::SetTrait { name, value } => format!("set {name} = {value}"),
        Step::Goto(n) => format!("go to {}", to(n)),
    }
}

fn journey_doc(engine: &Engine, j: &cxp_query::automation::Journey) -> JourneyDoc {
    let stats = engine.stats(&j.name, j.version);
    let waiting = engine.waiting(&j.name, j.version);
    let steps = j
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let st = stats.steps.get(i).cloned().unwrap_or_default();
            JourneyStepDoc {
                id: j.step_ids[i].clone(),
                what: describe(s, &j.step_ids),
                entered: st.entered,
                waiting: waiting.get(i).copied().unwrap_or(0),
                passed: st.passed,
                exited: st.exited,
                converted: st.converted,
                errors: st.errors,
            }
        })
        .collect();
    let entry = match &j.entry {
        Entry::Event(m) => {
            format!("on {}{}", m.event, m.condition.as_ref().map(|c| format!(" where {c}")).unwrap_or_default())
        }
        Entry::SegmentEnter(s) => format!("on entering segment {s}"),
        Entry::SegmentExit(s) => format!("on leaving segment {s}"),
        Entry::List(l) => format!("{} listed customers", l.len()),
        Entry::Schedule { segment, minute_of_day, every_days } => {
            format!(
                "members of {segment} every {every_days} days at {:02}:{:02}",
                minute_of_day / 60,
                minute_of_day % 60
            )
        }
    };
    let experiment = j.steps.iter().find_map(|s| match s {
        Step::Split { experiment, .. } => experiment.clone(),
        _ => None,
    });
    JourneyDoc {
        name: j.name.clone(),
        description: j.description.clone(),
        version: j.version,
        trigger: j.trigger,
        entry,
        steps,
        attributing: waiting.last().copied().unwrap_or(0),
        conversion_rate: j
            .goal
            .as_ref()
            .map(|_| if stats.entered == 0 { 0.0 } else { stats.converted as f64 / stats.entered as f64 }),
        older: BTreeMap::new(),
        paused: engine.paused().contains(&j.name),
        experiment,
        stats,
    }
}
