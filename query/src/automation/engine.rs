//! The automation engine: which customers are where in which journey, driven by events,
//! segment changes and the clock.
//!
//! It is a pure state machine. The caller feeds it committed events ([`Engine::on_event`]),
//! segment entries and exits, and the time ([`Engine::on_time`]); it answers with the changes
//! to make durable together, in one transaction ([`Changes`]: instances written and removed,
//! messages for the outbox, traits to set, exposures to log). Conditions and time zones are
//! asked of a [`Host`], so the same engine runs in the daemon, in a dry-run replay of past
//! events and in tests with a fake host.
//!
//! Per event: exits first (an order takes the customer out of the cart journey), then waits
//! for that event, then goals (conversions within the attribution window), then entries. A
//! customer who finished a journey with a goal stays (at the step after the last) until the
//! attribution window closes, so a late conversion still counts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cxp_store::Ck;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use super::def::{Entry, EventMatch, Journey, Next, Reentry, Step};
use super::instance::{Effect, Instance, Message, Wait};
use super::slab::{Slab, Slot, SlotId, Vars, WaitKind};

/// What the engine asks of its surroundings.
pub trait Host {
    /// Whether person `root` matches segment expression `expr` at `at`.
    fn condition(&mut self, expr: &str, root: Ck, at: i64) -> Result<bool, String>;
    /// The first time after `after` that is `minute` minutes past midnight in the customer's
    /// time zone.
    fn next_time_of_day(&mut self, root: Ck, minute: u32, after: i64) -> i64;
    /// The identifier a split hashes (sticky per customer).
    fn customer_id(&mut self, root: Ck) -> String;
}

/// An event as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The person.
    pub root: Ck,
    /// Event name.
    pub name: &'a str,
    /// Event time, ns.
    pub ts: i64,
    /// Tag and field values as text.
    pub fields: &'a [(&'a str, String)],
}

/// Counters of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStats {
    /// Customers who reached it.
    pub entered: u64,
    /// Customers who went past it.
    pub passed: u64,
    /// Customers who left the journey while at it (an exit event, or its own exit).
    pub exited: u64,
    /// Customers who converted after it was their last message.
    pub converted: u64,
    /// Failed conditions and similar errors at it.
    pub errors: u64,
}

/// Counters of one journey version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyStats {
    /// Customers who entered.
    pub entered: u64,
    /// Customers who went through every step.
    pub completed: u64,
    /// Customers who left early.
    pub exited: u64,
    /// Customers who reached the goal within its window.
    pub converted: u64,
    /// Entries refused by the re-entry policy.
    pub refused: u64,
    /// Messages queued.
    pub sent: u64,
    /// Per step.
    pub steps: Vec<StepStats>,
    /// Messages and conversions per template: (sent, converted).
    pub by_template: BTreeMap<String, (u64, u64)>,
    /// Entries and conversions per split arm: (entered, converted).
    pub by_arm: BTreeMap<String, (u64, u64)>,
}

/// What to make durable, together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Instances created or changed (by id).
    pub upserted: BTreeMap<u64, Instance>,
    /// Instances gone.
    pub removed: BTreeSet<u64>,
    /// Messages for the outbox.
    pub messages: Vec<Message>,
    /// Other effects.
    pub effects: Vec<Effect>,
    /// Journeys whose counters changed.
    pub stats: BTreeSet<(String, u32)>,
    /// Journeys entered once and for all (reentry = never), by name, with the person.
    pub entered_once: Vec<(String, Ck)>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.upserted.is_empty()
            && self.removed.is_empty()
            && self.messages.is_empty()
            && self.effects.is_empty()
            && self.stats.is_empty()
            && self.entered_once.is_empty()
    }
}

/// The engine.
#[derive(Debug, Default)]
pub struct Engine {
    /// Every version known: the current ones and those customers are still in. A slot's `jv`
    /// is an index here; versions are never dropped while the engine lives.
    versions: Vec<Arc<Journey>>,
    /// Journey name -> (version, index in `versions`).
    version_ix: HashMap<String, Vec<(u32, u32)>>,
    /// The current version of each journey.
    current: BTreeMap<String, u32>,
    slab: Slab,
    /// Split arm names taken (a slot's `arm` is 1 + index here).
    arms: Vec<String>,
    arm_ix: HashMap<String, u16>,
    /// Waits by (time, instance id, slot): those due together fire in the order the
    /// customers entered, whatever slots they took.
    timers: BTreeSet<(i64, u64, SlotId)>,
    /// Instances changed since the last [`Engine::take_changes`] (id -> slot); they are
    /// written out as [`Instance`]s then, in their final state.
    dirty: BTreeMap<u64, SlotId>,
    /// Scheduled entries: journey -> next run.
    schedules: BTreeMap<String, i64>,
    /// Customers who entered a journey that allows one entry only.
    once: HashMap<String, roaring::RoaringBitmap>,
    stats: HashMap<(String, u32), JourneyStats>,
    next_id: u64,
    next_message: u64,
    changes: Changes,
    /// Events older than this (against the clock) do not start anything, ns.
    max_event_age: i64,
    /// Journeys an operator paused: nobody enters, and their customers stay where they are
    /// (timers held in `held`, events ignored) until resumed.
    paused: BTreeSet<String>,
    /// Timers of instances of paused journeys.
    held: BTreeSet<(i64, u64, SlotId)>,
}

const MAX_VARS: usize = 8;
const MAX_VAR_CHARS: usize = 32;

fn matches(m: &EventMatch, ev: &Event<'_>) -> bool {
    m.event == ev.name && m.fields.iter().all(|(k, v)| ev.fields.iter().any(|(fk, fv)| fk == k && fv == v))
}

// The first `n` characters of `s`.
fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

impl Engine {
    /// An engine running `journeys` (the current definitions); events older than
    /// `max_event_age` ns against the clock start nothing (history being imported is not a
    /// customer acting now).
    pub fn new(journeys: Vec<Journey>, max_event_age: i64) -> Engine {
        let mut e = Engine { next_id: 1, next_message: 1, max_event_age, ..Engine::default() };
        for j in journeys {
            e.current.insert(j.name.clone(), j.version);
            e.register(j);
        }
        e
    }

    // Adds a version (unless known); its index.
    fn register(&mut self, j: Journey) -> u32 {
        if let Some(jv) = self.jv(&j.name, j.version) {
            return jv;
        }
        let jv = self.versions.len() as u32;
        self.version_ix.entry(j.name.clone()).or_default().push((j.version, jv));
        self.versions.push(Arc::new(j));
        jv
    }

    fn jv(&self, name: &str, version: u32) -> Option<u32> {
        self.version_ix.get(name)?.iter().find(|(v, _)| *v == version).map(|(_, jv)| *jv)
    }

    fn current_jv(&self, name: &str) -> Option<u32> {
        self.current.get(name).and_then(|v| self.jv(name, *v))
    }

    // The current versions whose entry `starts` accepts.
    fn starting(&self, starts: impl Fn(&Entry) -> bool) -> Vec<u32> {
        self.current
            .iter()
            .filter_map(|(n, v)| self.jv(n, *v))
            .filter(|jv| starts(&self.versions[*jv as usize].entry))
            .collect()
    }

    /// Brings back the state of a previous run: the definitions of versions customers are
    /// still in, instances, one-time entries, counters, next ids and schedules. An instance
    /// of a version whose definition is gone cannot go on: it is dropped (and deleted with
    /// the next changes).
    pub fn restore(&mut self, state: Restored) {
        for j in state.old_versions {
            self.register(j);
        }
        for i in state.instances {
            self.next_id = self.next_id.max(i.id + 1);
            let Some(jv) = self.jv(&i.journey, i.version) else {
                self.changes.removed.insert(i.id);
                continue;
            };
            let vars = Vars::pack(i.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let mut slot = Slot::new(i.id, i.root, jv, i.entered, vars);
            slot.step = i.step;
            slot.converted = i.converted;
            slot.arm = i.arm.as_deref().map_or(0, |a| self.intern_arm(a));
            (slot.wait, slot.due) = match i.wait {
                Wait::None => (WaitKind::None, 0),
                Wait::Until(t) => (WaitKind::Until, t),
                Wait::Event(t) => (WaitKind::Event, t),
            };
            let s = self.slab.insert(slot);
            self.index(s);
        }
        self.once = state.once;
        self.stats = state.stats;
        self.next_message = self.next_message.max(state.next_message);
        self.schedules = state.schedules;
    }

    // 1 + the index of arm name `name` (0, no arm, only once 65,535 names are taken).
    fn intern_arm(&mut self, name: &str) -> u16 {
        if let Some(k) = self.arm_ix.get(name) {
            return *k;
        }
        let Ok(k) = u16::try_from(self.arms.len() + 1) else { return 0 };
        self.arms.push(name.to_owned());
        self.arm_ix.insert(name.to_owned(), k);
        k
    }

    fn arm_name(&self, arm: u16) -> Option<&str> {
        (arm > 0).then(|| self.arms.get(usize::from(arm) - 1).map(String::as_str)).flatten()
    }

    // The saved and outside form of a slot.
    fn instance(&self, s: &Slot) -> Instance {
        let j = &self.versions[s.jv as usize];
        Instance {
            id: s.id,
            journey: j.name.clone(),
            version: j.version,
            root: s.root,
            step: s.step,
            entered: s.entered,
            wait: match s.wait {
                WaitKind::None => Wait::None,
                WaitKind::Until => Wait::Until(s.due),
                WaitKind::Event => Wait::Event(s.due),
            },
            vars: s.vars.to_vec(),
            arm: self.arm_name(s.arm).map(str::to_owned),
            converted: s.converted,
        }
    }

    fn index(&mut self, s: SlotId) {
        let Some(slot) = self.slab.get(s) else { return };
        if let Some(t) = slot.due() {
            if self.paused.contains(&self.versions[slot.jv as usize].name) {
                self.held.insert((t, slot.id, s));
            } else {
                self.timers.insert((t, slot.id, s));
            }
        }
    }

    fn unindex(&mut self, s: SlotId) {
        if let Some((t, id)) = self.slab.get(s).and_then(|i| Some((i.due()?, i.id))) {
            self.timers.remove(&(t, id, s));
            self.held.remove(&(t, id, s));
        }
    }

    /// Pauses (`true`) or resumes journey `name`. Paused, nobody enters it and its customers
    /// stay where they are: their waits are held and events do not move them. Resumed, waits
    /// that ended meanwhile fire at once. Whether anything changed.
    pub fn set_paused(&mut self, name: &str, paused: bool) -> bool {
        let changed = if paused { self.paused.insert(name.to_owned()) } else { self.paused.remove(name) };
        if !changed {
            return false;
        }
        let (from, to) = if paused { (&mut self.timers, &mut self.held) } else { (&mut self.held, &mut self.timers) };
        let moving: Vec<(i64, u64, SlotId)> = from
            .iter()
            .filter(|(_, _, s)| self.slab.get(*s).is_some_and(|i| self.versions[i.jv as usize].name == name))
            .copied()
            .collect();
        for t in moving {
            from.remove(&t);
            to.insert(t);
        }
        true
    }

    /// The paused journeys.
    pub fn paused(&self) -> &BTreeSet<String> {
        &self.paused
    }

    /// The definition of a version.
    pub fn journey(&self, name: &str, version: u32) -> Option<&Arc<Journey>> {
        self.jv(name, version).map(|jv| &self.versions[jv as usize])
    }

    /// Current definitions.
    pub fn journeys(&self) -> impl Iterator<Item = &Arc<Journey>> {
        self.current.iter().filter_map(|(n, v)| self.journey(n, *v))
    }

    /// Counters of a version.
    pub fn stats(&self, name: &str, version: u32) -> JourneyStats {
        self.stats.get(&(name.to_owned(), version)).cloned().unwrap_or_default()
    }

    /// Customers at each step of a version now (waiting or about to act); the last entry is
    /// those who finished and are still inside the goal's attribution window.
    pub fn waiting(&self, name: &str, version: u32) -> Vec<u64> {
        let Some(jv) = self.jv(name, version) else { return vec![0] };
        let steps = self.versions[jv as usize].steps.len();
        let mut out = vec![0u64; steps + 1];
        for (_, i) in self.slab.iter().filter(|(_, i)| i.jv == jv) {
            out[(i.step as usize).min(steps)] += 1;
        }
        out
    }

    /// Instances now.
    pub fn instances(&self) -> usize {
        self.slab.len()
    }

    /// The instances of a person.
    pub fn instances_of(&self, root: Ck) -> Vec<Instance> {
        self.slab.of_root(root).into_iter().filter_map(|s| self.slab.get(s)).map(|s| self.instance(s)).collect()
    }

    /// The next time something is due (a timer or a schedule).
    pub fn next_due(&self) -> Option<i64> {
        let t = self.timers.first().map(|t| t.0);
        let s = self.schedules.values().min().copied();
        match (t, s) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes the changes made since the last call.
    pub fn take_changes(&mut self) -> Changes {
        for (id, s) in std::mem::take(&mut self.dirty) {
            if let Some(slot) = self.slab.get(s).filter(|x| x.id == id) {
                let i = self.instance(slot);
                self.changes.upserted.insert(id, i);
            }
        }
        std::mem::take(&mut self.changes)
    }

    fn stat(&mut self, name: &str, version: u32) -> &mut JourneyStats {
        self.changes.stats.insert((name.to_owned(), version));
        let steps = self.journey(name, version).map_or(0, |j| j.steps.len());
        let s = self.stats.entry((name.to_owned(), version)).or_default();
        if s.steps.len() < steps {
            s.steps.resize(steps, StepStats::default());
        }
        s
    }

    /// Counters of every version with any, for saving.
    pub fn all_stats(&self) -> impl Iterator<Item = (&(String, u32), &JourneyStats)> {
        self.stats.iter()
    }

    /// The next message id.
    pub fn next_message_id(&self) -> u64 {
        self.next_message
    }

    /// A committed event of a customer at clock time `now`.
    pub fn on_event(&mut self, host: &mut dyn Host, ev: &Event<'_>, now: i64) {
        let mine: Vec<(SlotId, u64)> =
            self.slab.of_root(ev.root).into_iter().filter_map(|s| Some((s, self.slab.get(s)?.id))).collect();
        // Exits, then waits for this event, then goals.
        for (s, id) in mine {
            let Some(slot) = self.slab.get(s).filter(|x| x.id == id) else { continue };
            let (jv, step, wait, entered, converted) =
                (slot.jv, slot.step as usize, slot.wait, slot.entered, slot.converted);
            let j = self.versions[jv as usize].clone();
            if self.paused.contains(&j.name) {
                continue;
            }
            let done = step >= j.steps.len();
            if !done && j.exits.iter().any(|x| x == ev.name) {
                let st = self.stat(&j.name, j.version);
                st.exited += 1;
                st.steps[step].exited += 1;
                if j.goal.as_ref().is_some_and(|g| g.event == ev.name && ev.ts <= entered + g.within) {
                    self.convert(&j, s);
                }
                self.remove(s);
                continue;
            }
            if !done
                && let (Step::WaitFor { event, on_event, .. }, WaitKind::Event) = (&j.steps[step], wait)
                && matches(event, ev)
                && event.condition.as_ref().is_none_or(|c| host.condition(c, ev.root, now).unwrap_or(false))
            {
                let next = *on_event;
                self.move_on(host, s, next, now);
                continue;
            }
            if let Some(g) = &j.goal
                && g.event == ev.name
                && !converted
                && ev.ts >= entered
                && ev.ts <= entered + g.within
            {
                self.convert(&j, s);
                if let Some(i) = self.slab.get_mut(s) {
                    i.converted = true;
                    self.dirty.insert(id, s);
                }
            }
        }
        // Entries: only customers acting now start something.
        if ev.ts < now - self.max_event_age {
            return;
        }
        let starting = self.starting(|e| matches!(e, Entry::Event(m) if matches(m, ev)));
        for jv in starting {
            let j = self.versions[jv as usize].clone();
            let Entry::Event(m) = &j.entry else { continue };
            if let Some(c) = &m.condition {
                match host.condition(c, ev.root, now) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => {
                        self.stat(&j.name, j.version).refused += 1;
                        continue;
                    }
                }
            }
            let vars = Vars::pack(ev.fields.iter().take(MAX_VARS).map(|(k, v)| (*k, prefix(v, MAX_VAR_CHARS))));
            // At the event's time, not when it is handled: "no login within 24 hours of the
            // signup" counts from the signup, also when the event is read back after a crash
            // or handled late (the age check above bounds how late). An event stamped ahead of
            // the clock (a client's clock runs fast) enters now.
            self.enter(host, jv, ev.root, ev.ts.min(now), vars);
        }
    }

    /// Person `root` entered (`true`) or left a named segment.
    pub fn on_segment(&mut self, host: &mut dyn Host, root: Ck, segment: &str, entered: bool, now: i64) {
        let starting = self.starting(|e| match e {
            Entry::SegmentEnter(s) => entered && s == segment,
            Entry::SegmentExit(s) => !entered && s == segment,
            _ => false,
        });
        for jv in starting {
            self.enter(host, jv, root, now, Vars::pack([("segment", segment)]));
        }
    }

    /// Enters `roots` into journey `name` (a list entry, or the members of a scheduled run).
    pub fn enter_all(&mut self, host: &mut dyn Host, name: &str, roots: &[Ck], now: i64) {
        let Some(jv) = self.current_jv(name) else { return };
        for &r in roots {
            self.enter(host, jv, r, now, Vars::default());
        }
    }

    /// Journeys with a scheduled entry not scheduled yet get their first run (`next(minute,
    /// now)` gives the next such time of day); list entries not done yet are returned to be
    /// resolved and entered.
    pub fn start_schedules(&mut self, next: &dyn Fn(u32, i64) -> i64, now: i64) {
        let due: Vec<(String, i64)> = self
            .journeys()
            .filter_map(|j| match &j.entry {
                Entry::Schedule { minute_of_day, .. } if !self.schedules.contains_key(&j.name) => {
                    Some((j.name.clone(), next(*minute_of_day, now)))
                }
                _ => None,
            })
            .collect();
        self.schedules.extend(due);
    }

    /// The customers who entered once-only journey `name`.
    pub fn once_of(&self, name: &str) -> Option<&roaring::RoaringBitmap> {
        self.once.get(name)
    }

    /// The scheduled runs, for saving.
    pub fn schedules(&self) -> &BTreeMap<String, i64> {
        &self.schedules
    }

    fn enter(&mut self, host: &mut dyn Host, jv: u32, root: Ck, now: i64, vars: Vars) {
        let j = self.versions[jv as usize].clone();
        if self.paused.contains(&j.name) {
            return;
        }
        let inside = self.slab.of_root(root).into_iter().filter_map(|s| self.slab.get(s)).any(|i| {
            let other = &self.versions[i.jv as usize];
            other.name == j.name && (i.step as usize) < other.steps.len()
        });
        let refused = match j.reentry {
            Reentry::Always => false,
            Reentry::AfterExit => inside,
            Reentry::Never => inside || self.once.get(&j.name).is_some_and(|b| b.contains(root)),
        };
        if refused {
            self.stat(&j.name, j.version).refused += 1;
            return;
        }
        if j.reentry == Reentry::Never {
            self.once.entry(j.name.clone()).or_default().insert(root);
            self.changes.entered_once.push((j.name.clone(), root));
        }
        let id = self.next_id;
        self.next_id += 1;
        let s = self.slab.insert(Slot::new(id, root, jv, now, vars));
        self.dirty.insert(id, s);
        let st = self.stat(&j.name, j.version);
        st.entered += 1;
        if let Some(first) = st.steps.first_mut() {
            first.entered += 1;
        }
        self.run(host, s, now);
    }

    /// Drops every instance of the erased people `roots`, counting unfinished ones as exited.
    /// One-time entries stay: a key is a number that names no one once erased.
    pub fn forget(&mut self, roots: &[Ck]) {
        for root in roots {
            for s in self.slab.of_root(*root) {
                let Some(i) = self.slab.get(s) else { continue };
                let j = self.versions[i.jv as usize].clone();
                if (i.step as usize) < j.steps.len() {
                    self.stat(&j.name, j.version).exited += 1;
                }
                self.remove(s);
            }
        }
    }

    fn remove(&mut self, s: SlotId) {
        self.unindex(s);
        if let Some(i) = self.slab.remove(s) {
            self.dirty.remove(&i.id);
            self.changes.removed.insert(i.id);
        }
    }

    fn convert(&mut self, j: &Journey, s: SlotId) {
        let Some(i) = self.slab.get(s) else { return };
        let (step, arm) = (i.step as usize, self.arm_name(i.arm).map(str::to_owned));
        let last_send = (0..j.steps.len().min(step)).rev().find_map(|k| match &j.steps[k] {
            Step::Send { template, .. } => Some((k, template.clone())),
            _ => None,
        });
        let st = self.stat(&j.name, j.version);
        st.converted += 1;
        if let Some((k, t)) = last_send {
            st.steps[k].converted += 1;
            st.by_template.entry(t).or_default().1 += 1;
        }
        if let Some(a) = arm {
            st.by_arm.entry(a).or_default().1 += 1;
        }
    }

    // Moves instance `s` past its current step to `next`, and runs it.
    fn move_on(&mut self, host: &mut dyn Host, s: SlotId, next: Next, now: i64) {
        let Some(i) = self.slab.get(s) else { return };
        let (id, from) = (i.id, i.step as usize);
        let j = self.versions[i.jv as usize].clone();
        self.unindex(s);
        if let Some(st) = self.stat(&j.name, j.version).steps.get_mut(from) {
            st.passed += 1;
        }
        let Some(i) = self.slab.get_mut(s) else { return };
        i.wait = WaitKind::None;
        match next {
            Next::Exit => {
                self.stat(&j.name, j.version).exited += 1;
                self.remove(s);
                return;
            }
            Next::Continue => i.step += 1,
            Next::Step(k) => i.step = k as u16,
        }
        let step = i.step as usize;
        self.dirty.insert(id, s);
        if let Some(st) = self.stat(&j.name, j.version).steps.get_mut(step) {
            st.entered += 1;
        }
        self.run(host, s, now);
    }

    // Runs instance `s` from its current step until it waits, leaves or finishes.
    fn run(&mut self, host: &mut dyn Host, s: SlotId, now: i64) {
        for _ in 0..256 {
            let Some(i) = self.slab.get(s) else { return };
            let (id, root, at) = (i.id, i.root, i.step as usize);
            let j = self.versions[i.jv as usize].clone();
            if at >= j.steps.len() {
                self.finish(&j, s, now);
                return;
            }
            let next = match &j.steps[at] {
                Step::Wait(d) => return self.sleep(s, WaitKind::Until, now + d),
                Step::WaitUntil(minute) => {
                    let t = host.next_time_of_day(root, *minute, now);
                    return self.sleep(s, WaitKind::Until, t);
                }
                Step::WaitFor { timeout, .. } => return self.sleep(s, WaitKind::Event, now + timeout),
                Step::Branch { condition, then, otherwise } => match host.condition(condition, root, now) {
                    Ok(true) => *then,
                    Ok(false) => *otherwise,
                    Err(_) => {
                        let st = self.stat(&j.name, j.version);
                        st.steps[at].errors += 1;
                        st.steps[at].exited += 1;
                        st.exited += 1;
                        self.remove(s);
                        return;
                    }
                },
                Step::Split { arms, experiment } => {
                    let salt = experiment.clone().unwrap_or_else(|| format!("{}:{}", j.name, j.step_ids[at]));
                    let cid = host.customer_id(root);
                    let weights: Vec<f64> = arms.iter().map(|a| a.1).collect();
                    let k = crate::experiment::choose(crate::experiment::growthbook_hash(&salt, &cid), &weights, 1.0)
                        .unwrap_or(0);
                    let (name, _, to) = &arms[k];
                    if let Some(e) = experiment {
                        self.changes.effects.push(Effect::Exposure {
                            root,
                            experiment: e.clone(),
                            variant: name.clone(),
                        });
                    }
                    self.stat(&j.name, j.version).by_arm.entry(name.clone()).or_default().0 += 1;
                    let arm = self.intern_arm(name);
                    if let Some(i) = self.slab.get_mut(s) {
                        i.arm = arm;
                    }
                    *to
                }
                Step::Send { channel, template } => {
                    let mid = self.next_message;
                    self.next_message += 1;
                    let (vars, arm) = (i.vars.to_vec(), self.arm_name(i.arm).map(str::to_owned));
                    self.changes.messages.push(Message {
                        key: format!("{}/{}/{}/{}/{}", j.name, j.version, j.step_ids[at], root, id),
                        id: mid,
                        journey: j.name.clone(),
                        version: j.version,
                        step: j.step_ids[at].clone(),
                        root,
                        channel: *channel,
                        template: template.clone(),
                        vars,
                        arm,
                        created: now,
                        not_before: now,
                        attempts: 0,
                    });
                    let st = self.stat(&j.name, j.version);
                    st.sent += 1;
                    st.by_template.entry(template.clone()).or_default().0 += 1;
                    Next::Continue
                }
                Step::SetTrait { name, value } => {
                    self.changes.effects.push(Effect::SetTrait { root, name: name.clone(), value: value.clone() });
                    Next::Continue
                }
                Step::Goto(n) => *n,
            };
            // Past this step.
            let st = self.stat(&j.name, j.version);
            st.steps[at].passed += 1;
            let step = match next {
                Next::Exit => {
                    st.exited += 1;
                    self.remove(s);
                    return;
                }
                Next::Continue => at as u16 + 1,
                Next::Step(k) => k as u16,
            };
            let Some(i) = self.slab.get_mut(s) else { return };
            i.step = step;
            self.dirty.insert(id, s);
            if let Some(st) = self.stat(&j.name, j.version).steps.get_mut(step as usize) {
                st.entered += 1;
            }
        }
        // A journey that loops without waiting (goto back and forth): stop it here.
        if let Some(i) = self.slab.get(s) {
            let (step, j) = (i.step as usize, self.versions[i.jv as usize].clone());
            let st = self.stat(&j.name, j.version);
            st.exited += 1;
            if let Some(x) = st.steps.get_mut(step) {
                x.errors += 1;
            }
            self.remove(s);
        }
    }

    fn sleep(&mut self, s: SlotId, wait: WaitKind, due: i64) {
        self.unindex(s);
        let Some(i) = self.slab.get_mut(s) else { return };
        (i.wait, i.due) = (wait, due);
        let id = i.id;
        self.index(s);
        self.dirty.insert(id, s);
    }

    fn finish(&mut self, j: &Journey, s: SlotId, now: i64) {
        self.stat(&j.name, j.version).completed += 1;
        let Some(i) = self.slab.get_mut(s) else { return };
        match &j.goal {
            // Kept until the attribution window closes, to count a late conversion.
            Some(g) if !i.converted && i.entered + g.within > now => {
                i.step = j.steps.len() as u16;
                let until = i.entered.saturating_add(g.within);
                self.sleep(s, WaitKind::Until, until);
            }
            _ => self.remove(s),
        }
    }

    /// Advances the clock to `now`: fires every timer due and every scheduled entry.
    pub fn on_time(&mut self, host: &mut dyn Host, now: i64) {
        while let Some(&(t, _, s)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            let Some(i) = self.slab.get(s) else { continue };
            let (entered, done) = (i.entered, i.step as usize >= self.versions[i.jv as usize].steps.len());
            if done {
                // The attribution window closed.
                self.remove(s);
                continue;
            }
            // A wait ended, or a wait for an event timed out: on to the next step.
            self.move_on(host, s, Next::Continue, t.max(entered));
        }
        let due: Vec<String> = self.schedules.iter().filter(|(_, t)| **t <= now).map(|(n, _)| n.clone()).collect();
        for name in due {
            let j = self.current_jv(&name).map(|jv| self.versions[jv as usize].clone());
            match j.as_deref() {
                Some(Journey { entry: Entry::Schedule { segment, every_days, .. }, .. }) => {
                    self.changes.effects.push(Effect::Schedule { journey: name.clone(), segment: segment.clone() });
                    let step = i64::from(*every_days) * 86_400_000_000_000;
                    if let Some(t) = self.schedules.get_mut(&name) {
                        while *t <= now {
                            *t += step;
                        }
                    }
                }
                _ => drop(self.schedules.remove(&name)),
            }
        }
    }
}

/// What [`Engine::restore`] brings back.
#[derive(Debug, Default)]
pub struct Restored {
    /// Definitions of versions customers are still in.
    pub old_versions: Vec<Journey>,
    /// Instances.
    pub instances: Vec<Instance>,
    /// One-time entries per journey.
    pub once: HashMap<String, roaring::RoaringBitmap>,
    /// Counters.
    pub stats: HashMap<(String, u32), JourneyStats>,
    /// Next message id.
    pub next_message: u64,
    /// Scheduled runs.
    pub schedules: BTreeMap<String, i64>,
}
