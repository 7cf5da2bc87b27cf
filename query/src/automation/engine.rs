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
    /// Every version known: the current ones and those customers are still in.
    versions: HashMap<(String, u32), Arc<Journey>>,
    /// The current version of each journey.
    current: BTreeMap<String, u32>,
    instances: HashMap<u64, Instance>,
    by_root: HashMap<Ck, Vec<u64>>,
    timers: BTreeSet<(i64, u64)>,
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
    held: BTreeSet<(i64, u64)>,
}

const MAX_VARS: usize = 8;
const MAX_VAR_BYTES: usize = 96;

fn matches(m: &EventMatch, ev: &Event<'_>) -> bool {
    m.event == ev.name && m.fields.iter().all(|(k, v)| ev.fields.iter().any(|(fk, fv)| fk == k && fv == v))
}

impl Engine {
    /// An engine running `journeys` (the current definitions); events older than
    /// `max_event_age` ns against the clock start nothing (history being imported is not a
    /// customer acting now).
    pub fn new(journeys: Vec<Journey>, max_event_age: i64) -> Engine {
        let mut e = Engine { next_id: 1, next_message: 1, max_event_age, ..Engine::default() };
        for j in journeys {
            e.current.insert(j.name.clone(), j.version);
            e.versions.insert((j.name.clone(), j.version), Arc::new(j));
        }
        e
    }

    /// Brings back the state of a previous run: the definitions of versions customers are
    /// still in, instances, one-time entries, counters, next ids and schedules.
    pub fn restore(&mut self, state: Restored) {
        for j in state.old_versions {
            self.versions.entry((j.name.clone(), j.version)).or_insert_with(|| Arc::new(j));
        }
        for i in state.instances {
            self.index(&i);
            self.next_id = self.next_id.max(i.id + 1);
            self.instances.insert(i.id, i);
        }
        self.once = state.once;
        self.stats = state.stats;
        self.next_message = self.next_message.max(state.next_message);
        self.schedules = state.schedules;
    }

    fn index(&mut self, i: &Instance) {
        self.by_root.entry(i.root).or_default().push(i.id);
        if let Some(t) = i.wait.due() {
            if self.paused.contains(&i.journey) {
                self.held.insert((t, i.id));
            } else {
                self.timers.insert((t, i.id));
            }
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
        let moving: Vec<(i64, u64)> =
            from.iter().filter(|(_, id)| self.instances.get(id).is_some_and(|i| i.journey == name)).copied().collect();
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

    fn unindex(&mut self, i: &Instance) {
        if let Some(v) = self.by_root.get_mut(&i.root) {
            v.retain(|x| *x != i.id);
            if v.is_empty() {
                self.by_root.remove(&i.root);
            }
        }
        if let Some(t) = i.wait.due() {
            self.timers.remove(&(t, i.id));
            self.held.remove(&(t, i.id));
        }
    }

    /// The definition of a version.
    pub fn journey(&self, name: &str, version: u32) -> Option<&Arc<Journey>> {
        self.versions.get(&(name.to_owned(), version))
    }

    /// Current definitions.
    pub fn journeys(&self) -> impl Iterator<Item = &Arc<Journey>> {
        self.current.iter().filter_map(|(n, v)| self.versions.get(&(n.clone(), *v)))
    }

    /// Counters of a version.
    pub fn stats(&self, name: &str, version: u32) -> JourneyStats {
        self.stats.get(&(name.to_owned(), version)).cloned().unwrap_or_default()
    }

    /// Customers at each step of a version now (waiting or about to act); the last entry is
    /// those who finished and are still inside the goal's attribution window.
    pub fn waiting(&self, name: &str, version: u32) -> Vec<u64> {
        let steps = self.journey(name, version).map_or(0, |j| j.steps.len());
        let mut out = vec![0u64; steps + 1];
        for i in self.instances.values().filter(|i| i.journey == name && i.version == version) {
            out[(i.step as usize).min(steps)] += 1;
        }
        out
    }

    /// Instances now.
    pub fn instances(&self) -> usize {
        self.instances.len()
    }

    /// The instances of a person.
    pub fn instances_of(&self, root: Ck) -> Vec<&Instance> {
        self.by_root
            .get(&root)
            .map(|ids| ids.iter().filter_map(|id| self.instances.get(id)).collect())
            .unwrap_or_default()
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
        std::mem::take(&mut self.changes)
    }

    fn stat(&mut self, name: &str, version: u32) -> &mut JourneyStats {
        self.changes.stats.insert((name.to_owned(), version));
        let steps = self.versions.get(&(name.to_owned(), version)).map_or(0, |j| j.steps.len());
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
        let ids: Vec<u64> = self.by_root.get(&ev.root).cloned().unwrap_or_default();
        // Exits, then waits for this event, then goals.
        for id in ids {
            let Some(inst) = self.instances.get(&id).cloned() else { continue };
            if self.paused.contains(&inst.journey) {
                continue;
            }
            let Some(j) = self.journey(&inst.journey, inst.version).cloned() else { continue };
            let done = inst.step as usize >= j.steps.len();
            if !done && j.exits.iter().any(|x| x == ev.name) {
                let st = inst.step as usize;
                let s = self.stat(&j.name, j.version);
                s.exited += 1;
                s.steps[st].exited += 1;
                if j.goal.as_ref().is_some_and(|g| g.event == ev.name && ev.ts <= inst.entered + g.within) {
                    self.convert(&j, &inst);
                }
                self.remove(id);
                continue;
            }
            if !done
                && let (Step::WaitFor { event, on_event, .. }, Wait::Event(_)) =
                    (&j.steps[inst.step as usize], inst.wait)
                && matches(event, ev)
                && event.condition.as_ref().is_none_or(|c| host.condition(c, ev.root, now).unwrap_or(false))
            {
                let next = *on_event;
                self.move_on(host, id, next, now);
                continue;
            }
            if let Some(g) = &j.goal
                && g.event == ev.name
                && !inst.converted
                && ev.ts >= inst.entered
                && ev.ts <= inst.entered + g.within
            {
                self.convert(&j, &inst);
                if let Some(i) = self.instances.get_mut(&id) {
                    i.converted = true;
                    self.changes.upserted.insert(id, i.clone());
                }
            }
        }
        // Entries: only customers acting now start something.
        if ev.ts < now - self.max_event_age {
            return;
        }
        let starting: Vec<Arc<Journey>> =
            self.journeys().filter(|j| matches!(&j.entry, Entry::Event(m) if matches(m, ev))).cloned().collect();
        for j in starting {
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
            let vars: Vec<(String, String)> = ev
                .fields
                .iter()
                .take(MAX_VARS)
                .map(|(k, v)| ((*k).to_owned(), v.chars().take(MAX_VAR_BYTES / 3).collect()))
                .collect();
            self.enter(host, &j, ev.root, now, vars);
        }
    }

    /// Person `root` entered (`true`) or left a named segment.
    pub fn on_segment(&mut self, host: &mut dyn Host, root: Ck, segment: &str, entered: bool, now: i64) {
        let starting: Vec<Arc<Journey>> = self
            .journeys()
            .filter(|j| match &j.entry {
                Entry::SegmentEnter(s) => entered && s == segment,
                Entry::SegmentExit(s) => !entered && s == segment,
                _ => false,
            })
            .cloned()
            .collect();
        for j in starting {
            self.enter(host, &j, root, now, vec![("segment".into(), segment.to_owned())]);
        }
    }

    /// Enters `roots` into journey `name` (a list entry, or the members of a scheduled run).
    pub fn enter_all(&mut self, host: &mut dyn Host, name: &str, roots: &[Ck], now: i64) {
        let Some(j) = self.current.get(name).and_then(|v| self.versions.get(&(name.to_owned(), *v))).cloned() else {
            return;
        };
        for &r in roots {
            self.enter(host, &j, r, now, Vec::new());
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

    fn enter(&mut self, host: &mut dyn Host, j: &Arc<Journey>, root: Ck, now: i64, vars: Vec<(String, String)>) {
        if self.paused.contains(&j.name) {
            return;
        }
        let inside = self.by_root.get(&root).is_some_and(|ids| {
            ids.iter().any(|id| {
                self.instances.get(id).is_some_and(|i| i.journey == j.name && (i.step as usize) < self.steps_of(i))
            })
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
        let inst = Instance {
            id,
            journey: j.name.clone(),
            version: j.version,
            root,
            step: 0,
            entered: now,
            wait: Wait::None,
            vars,
            arm: None,
            converted: false,
        };
        self.index(&inst);
        self.instances.insert(id, inst);
        let s = self.stat(&j.name, j.version);
        s.entered += 1;
        if let Some(st) = s.steps.first_mut() {
            st.entered += 1;
        }
        self.run(host, id, now);
    }

    /// Drops every instance of the erased people `roots`, counting unfinished ones as exited.
    /// One-time entries stay: a key is a number that names no one once erased.
    pub fn forget(&mut self, roots: &[Ck]) {
        for root in roots {
            for id in self.by_root.get(root).cloned().unwrap_or_default() {
                let Some(inst) = self.instances.get(&id) else { continue };
                let (name, version, unfinished) =
                    (inst.journey.clone(), inst.version, (inst.step as usize) < self.steps_of(inst));
                if unfinished {
                    self.stat(&name, version).exited += 1;
                }
                self.remove(id);
            }
        }
    }

    fn steps_of(&self, i: &Instance) -> usize {
        self.journey(&i.journey, i.version).map_or(0, |j| j.steps.len())
    }

    fn remove(&mut self, id: u64) {
        if let Some(i) = self.instances.remove(&id) {
            self.unindex(&i);
            self.changes.upserted.remove(&id);
            self.changes.removed.insert(id);
        }
    }

    fn convert(&mut self, j: &Journey, inst: &Instance) {
        let last_send = (0..j.steps.len().min(inst.step as usize)).rev().find_map(|k| match &j.steps[k] {
            Step::Send { template, .. } => Some((k, template.clone())),
            _ => None,
        });
        let s = self.stat(&j.name, j.version);
        s.converted += 1;
        if let Some((k, t)) = last_send {
            s.steps[k].converted += 1;
            s.by_template.entry(t).or_default().1 += 1;
        }
        if let Some(a) = &inst.arm {
            s.by_arm.entry(a.clone()).or_default().1 += 1;
        }
    }

    // Moves instance `id` past its current step to `next`, and runs it.
    fn move_on(&mut self, host: &mut dyn Host, id: u64, next: Next, now: i64) {
        let Some(mut inst) = self.instances.remove(&id) else { return };
        self.unindex(&inst);
        let Some(j) = self.journey(&inst.journey, inst.version).cloned() else { return };
        let from = inst.step as usize;
        inst.wait = Wait::None;
        let s = self.stat(&j.name, j.version);
        if let Some(st) = s.steps.get_mut(from) {
            st.passed += 1;
        }
        match next {
            Next::Exit => {
                let s = self.stat(&j.name, j.version);
                s.exited += 1;
                self.changes.removed.insert(id);
                self.changes.upserted.remove(&id);
                return;
            }
            Next::Continue => inst.step += 1,
            Next::Step(k) => inst.step = k as u16,
        }
        if let Some(st) = self.stat(&j.name, j.version).steps.get_mut(inst.step as usize) {
            st.entered += 1;
        }
        self.index(&inst);
        self.instances.insert(id, inst);
        self.run(host, id, now);
    }

    // Runs instance `id` from its current step until it waits, leaves or finishes.
    fn run(&mut self, host: &mut dyn Host, id: u64, now: i64) {
        for _ in 0..256 {
            let Some(inst) = self.instances.get(&id).cloned() else { return };
            let Some(j) = self.journey(&inst.journey, inst.version).cloned() else { return };
            let at = inst.step as usize;
            if at >= j.steps.len() {
                self.finish(&j, id, now);
                return;
            }
            let next = match &j.steps[at] {
                Step::Wait(d) => return self.sleep(id, Wait::Until(now + d)),
                Step::WaitUntil(minute) => {
                    let t = host.next_time_of_day(inst.root, *minute, now);
                    return self.sleep(id, Wait::Until(t));
                }
                Step::WaitFor { timeout, .. } => return self.sleep(id, Wait::Event(now + timeout)),
                Step::Branch { condition, then, otherwise } => match host.condition(condition, inst.root, now) {
                    Ok(true) => *then,
                    Ok(false) => *otherwise,
                    Err(_) => {
                        let s = self.stat(&j.name, j.version);
                        s.steps[at].errors += 1;
                        s.steps[at].exited += 1;
                        s.exited += 1;
                        self.remove(id);
                        return;
                    }
                },
                Step::Split { arms, experiment } => {
                    let salt = experiment.clone().unwrap_or_else(|| format!("{}:{}", j.name, j.step_ids[at]));
                    let cid = host.customer_id(inst.root);
                    let weights: Vec<f64> = arms.iter().map(|a| a.1).collect();
                    let k = crate::experiment::choose(crate::experiment::growthbook_hash(&salt, &cid), &weights, 1.0)
                        .unwrap_or(0);
                    let (name, _, to) = &arms[k];
                    if let Some(e) = experiment {
                        self.changes.effects.push(Effect::Exposure {
                            root: inst.root,
                            experiment: e.clone(),
                            variant: name.clone(),
                        });
                    }
                    self.stat(&j.name, j.version).by_arm.entry(name.clone()).or_default().0 += 1;
                    if let Some(i) = self.instances.get_mut(&id) {
                        i.arm = Some(name.clone());
                    }
                    *to
                }
                Step::Send { channel, template } => {
                    let mid = self.next_message;
                    self.next_message += 1;
                    let key = format!("{}/{}/{}/{}/{}", j.name, j.version, j.step_ids[at], inst.root, inst.id);
                    let arm = self.instances.get(&id).and_then(|i| i.arm.clone());
                    self.changes.messages.push(Message {
                        key,
                        id: mid,
                        journey: j.name.clone(),
                        version: j.version,
                        step: j.step_ids[at].clone(),
                        root: inst.root,
                        channel: *channel,
                        template: template.clone(),
                        vars: inst.vars.clone(),
                        arm,
                        created: now,
                        not_before: now,
                        attempts: 0,
                    });
                    let s = self.stat(&j.name, j.version);
                    s.sent += 1;
                    s.by_template.entry(template.clone()).or_default().0 += 1;
                    Next::Continue
                }
                Step::SetTrait { name, value } => {
                    self.changes.effects.push(Effect::SetTrait {
                        root: inst.root,
                        name: name.clone(),
                        value: value.clone(),
                    });
                    Next::Continue
                }
                Step::Goto(n) => *n,
            };
            // Past this step.
            let s = self.stat(&j.name, j.version);
            s.steps[at].passed += 1;
            if next == Next::Exit {
                s.exited += 1;
                self.remove(id);
                return;
            }
            let Some(i) = self.instances.get_mut(&id) else { return };
            match next {
                Next::Exit => {}
                Next::Continue => i.step += 1,
                Next::Step(k) => i.step = k as u16,
            }
            let step = i.step as usize;
            self.changes.upserted.insert(id, i.clone());
            if let Some(st) = self.stat(&j.name, j.version).steps.get_mut(step) {
                st.entered += 1;
            }
        }
        // A journey that loops without waiting (goto back and forth): stop it here.
        if let Some(inst) = self.instances.get(&id).cloned() {
            let s = self.stat(&inst.journey, inst.version);
            s.exited += 1;
            if let Some(st) = s.steps.get_mut(inst.step as usize) {
                st.errors += 1;
            }
            self.remove(id);
        }
    }

    fn sleep(&mut self, id: u64, wait: Wait) {
        let Some(mut inst) = self.instances.remove(&id) else { return };
        self.unindex(&inst);
        inst.wait = wait;
        self.index(&inst);
        self.changes.upserted.insert(id, inst.clone());
        self.instances.insert(id, inst);
    }

    fn finish(&mut self, j: &Journey, id: u64, now: i64) {
        self.stat(&j.name, j.version).completed += 1;
        let Some(inst) = self.instances.get(&id).cloned() else { return };
        match &j.goal {
            // Kept until the attribution window closes, to count a late conversion.
            Some(g) if !inst.converted && inst.entered + g.within > now => {
                let mut i = inst;
                i.step = j.steps.len() as u16;
                self.instances.insert(id, i);
                self.sleep(id, Wait::Until(self.instances[&id].entered.saturating_add(g.within)));
            }
            _ => self.remove(id),
        }
    }

    /// Advances the clock to `now`: fires every timer due and every scheduled entry.
    pub fn on_time(&mut self, host: &mut dyn Host, now: i64) {
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            let Some(inst) = self.instances.get(&id).cloned() else { continue };
            let Some(j) = self.journey(&inst.journey, inst.version).cloned() else {
                self.remove(id);
                continue;
            };
            if inst.step as usize >= j.steps.len() {
                // The attribution window closed.
                self.remove(id);
                continue;
            }
            // A wait ended, or a wait for an event timed out: on to the next step.
            self.move_on(host, id, Next::Continue, t.max(inst.entered));
        }
        let due: Vec<String> = self.schedules.iter().filter(|(_, t)| **t <= now).map(|(n, _)| n.clone()).collect();
        for name in due {
            let j = self.current.get(&name).and_then(|v| self.versions.get(&(name.clone(), *v))).cloned();
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
