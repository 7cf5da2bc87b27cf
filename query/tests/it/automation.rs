//! The automation engine on its own: the seed's rule, cart abandonment, goals, re-entry,
//! branches, splits, versions and restarts, with a host whose answers the test decides.

use std::collections::BTreeMap;

use cxp_query::automation::engine::Restored;
use cxp_query::automation::{Changes, Engine, Event, Host, Instance, Wait, parse};

const H: i64 = 3_600_000_000_000;
const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

/// Conditions answered from a table; times of day in UTC.
#[derive(Default)]
struct FakeHost {
    truths: BTreeMap<(String, u32), bool>,
}

impl Host for FakeHost {
    fn condition(&mut self, expr: &str, root: u32, _at: i64) -> Result<bool, String> {
        self.truths.get(&(expr.to_owned(), root)).copied().ok_or_else(|| format!("no answer for {expr}"))
    }
    fn next_time_of_day(&mut self, _root: u32, minute: u32, after: i64) -> i64 {
        let day = 86_400_000_000_000;
        let t = after - after.rem_euclid(day) + i64::from(minute) * 60_000_000_000;
        if t > after { t } else { t + day }
    }
    fn customer_id(&mut self, root: u32) -> String {
        format!("c-{root}")
    }
}

fn ev<'a>(root: u32, name: &'a str, ts: i64, fields: &'a [(&'a str, String)]) -> Event<'a> {
    Event { root, name, ts, fields }
}

/// Applies `changes` to a model of the durable state (instances by id).
fn persist(state: &mut BTreeMap<u64, Instance>, changes: &Changes) {
    for id in &changes.removed {
        state.remove(id);
    }
    for (id, i) in &changes.upserted {
        state.insert(*id, i.clone());
    }
}

const RULES: &str = r#"
[settings]
quiet_hours = "none"
[triggers.comeback_sms]
event = "signup"
unless = { event = "login", within = "24h" }
send = { channel = "sms", template = "t" }

[journeys.cart]
entry = { event = "add_to_cart" }
exit = ["order"]
goal = { event = "order", within = "7d" }
steps = [
  { wait_for = "order", timeout = "4h", on_event = "exit" },
  { id = "reminder", send = { channel = "email", template = "e" } },
]

[templates.t]
sms = "{{ salutation }} {{ link }}"
[templates.e.email]
subject = "s"
text = "{{ event.sku | default('') }}"
"#;

#[test]
fn signup_without_login_gets_one_sms_after_24_hours() {
    let defs = parse(RULES).expect("valid");
    let mut host = FakeHost::default();
    let mut e = Engine::new(defs.journeys.clone(), H);
    e.on_event(&mut host, &ev(1, "signup", T0, &[]), T0);
    e.on_event(&mut host, &ev(2, "signup", T0, &[]), T0);
    e.on_event(&mut host, &ev(2, "login", T0 + 2 * H, &[]), T0 + 2 * H);
    assert!(e.take_changes().messages.is_empty());
    e.on_time(&mut host, T0 + 24 * H - 1);
    assert!(e.take_changes().messages.is_empty(), "not before the deadline");
    e.on_time(&mut host, T0 + 24 * H);
    let c = e.take_changes();
    assert_eq!(c.messages.len(), 1, "{:?}", c.messages);
    assert_eq!((c.messages[0].root, c.messages[0].template.as_str()), (1, "t"));
    assert_eq!(e.instances(), 0);
    e.on_time(&mut host, T0 + 48 * H);
    assert!(e.take_changes().messages.is_empty(), "exactly once");
    let rule = defs.journeys.iter().find(|j| j.name == "trigger:comeback_sms").expect("the rule");
    let s = e.stats(&rule.name, rule.version);
    assert_eq!((s.entered, s.sent, s.exited, s.completed), (2, 1, 1, 1), "{s:?}");
}

#[test]
fn a_restart_between_signup_and_deadline_neither_loses_nor_repeats() {
    let defs = parse(RULES).expect("valid");
    let mut host = FakeHost::default();
    let mut durable: BTreeMap<u64, Instance> = BTreeMap::new();
    let mut e = Engine::new(defs.journeys.clone(), H);
    e.on_event(&mut host, &ev(1, "signup", T0, &[]), T0);
    persist(&mut durable, &e.take_changes());
    assert_eq!(durable.len(), 1);
    assert!(matches!(durable.values().next().map(|i| i.wait), Some(Wait::Event(t)) if t == T0 + 24 * H));
    // Restart: a new engine from the durable state.
    let mut e = Engine::new(defs.journeys.clone(), H);
    e.restore(Restored { instances: durable.values().cloned().collect(), ..Restored::default() });
    e.on_time(&mut host, T0 + 25 * H);
    let c = e.take_changes();
    assert_eq!(c.messages.len(), 1);
    persist(&mut durable, &c);
    assert!(durable.is_empty());
    // And a restart after the send: nothing again.
    let mut e = Engine::new(defs.journeys.clone(), H);
    e.restore(Restored { instances: durable.values().cloned().collect(), ..Restored::default() });
    e.on_time(&mut host, T0 + 30 * H);
    assert!(e.take_changes().messages.is_empty());
}

#[test]
fn an_event_handled_late_counts_from_its_own_time_and_one_from_the_future_from_now() {
    let defs = parse(RULES).expect("valid");
    let mut host = FakeHost::default();
    let mut e = Engine::new(defs.journeys.clone(), H);
    // Read back 40 minutes late (a restart's catch-up): the deadline is 24 hours after the
    // signup, not after the restart.
    e.on_event(&mut host, &ev(1, "signup", T0, &[]), T0 + 40 * 60_000_000_000);
    // Stamped two hours ahead of the clock: it enters now.
    e.on_event(&mut host, &ev(2, "signup", T0 + 2 * H, &[]), T0);
    let waits: BTreeMap<u32, Wait> = e.take_changes().upserted.values().map(|i| (i.root, i.wait)).collect();
    assert_eq!(waits.get(&1), Some(&Wait::Event(T0 + 24 * H)));
    assert_eq!(waits.get(&2), Some(&Wait::Event(T0 + 24 * H)));
    e.on_time(&mut host, T0 + 24 * H);
    assert_eq!(e.take_changes().messages.len(), 2, "both due at T0 + 24h");
}

#[test]
fn cart_abandonment_reminds_exits_on_order_and_counts_conversions() {
    let defs = parse(RULES).expect("valid");
    let cart = defs.journeys.iter().find(|j| j.name == "cart").expect("cart").clone();
    let mut host = FakeHost::default();
    let mut e = Engine::new(defs.journeys.clone(), H);
    let sku = [("sku", "A-17".to_owned())];
    // 1 abandons; 2 orders within 4 hours; 3 abandons, gets the email, then orders.
    for r in [1, 2, 3] {
        e.on_event(&mut host, &ev(r, "add_to_cart", T0, &sku), T0);
    }
    e.on_event(&mut host, &ev(2, "order", T0 + H, &[]), T0 + H);
    e.on_time(&mut host, T0 + 4 * H);
    let c = e.take_changes();
    let to: Vec<u32> = c.messages.iter().map(|m| m.root).collect();
    assert_eq!(to, vec![1, 3]);
    assert_eq!(
        c.messages[0].vars,
        vec![("sku".to_owned(), "A-17".to_owned())],
        "the cart's product reaches the template"
    );
    e.on_event(&mut host, &ev(3, "order", T0 + 30 * H, &[]), T0 + 30 * H);
    let s = e.stats("cart", cart.version);
    assert_eq!((s.entered, s.sent, s.exited, s.converted), (3, 2, 1, 2), "{s:?}");
    assert_eq!(s.steps[1].converted, 1, "after the reminder");
    assert_eq!(s.by_template["e"], (2, 1));
    // 1 went through every step (it stays only for the goal's attribution window): a new
    // cart starts the journey again; while waiting in it, another cart does not.
    e.on_event(&mut host, &ev(1, "add_to_cart", T0 + 5 * H, &sku), T0 + 5 * H);
    e.on_event(&mut host, &ev(1, "add_to_cart", T0 + 6 * H, &sku), T0 + 6 * H);
    let s = e.stats("cart", cart.version);
    assert_eq!((s.entered, s.refused), (4, 1));
    // After the window closes, everyone is gone.
    e.on_time(&mut host, T0 + 10 * 24 * H);
    assert_eq!(e.instances(), 0);
}

#[test]
fn old_events_start_nothing_but_still_end_waits() {
    let defs = parse(RULES).expect("valid");
    let mut host = FakeHost::default();
    let mut e = Engine::new(defs.journeys.clone(), H);
    let now = T0 + 100 * H;
    e.on_event(&mut host, &ev(1, "signup", T0, &[]), now);
    assert_eq!(e.instances(), 0, "history being imported is not someone signing up now");
    e.on_event(&mut host, &ev(2, "signup", now, &[]), now);
    e.on_event(&mut host, &ev(2, "login", now - 50 * H, &[]), now);
    assert_eq!(e.instances(), 0, "a login arriving late still counts");
}

const BRANCHY: &str = r#"
[settings]
quiet_hours = "none"
[journeys.vip]
entry = { segment = "vip" }
reentry = "never"
steps = [
  { branch = { if = "score.churn > 0.7", then = "split", else = "exit" } },
  { id = "split", split = { experiment = "wording", arms = [{ name = "a", weight = 1, goto = "send_a" }, { name = "b", weight = 1, goto = "send_b" }] } },
  { id = "send_a", send = { channel = "sms", template = "t" } },
  { exit = true },
  { id = "send_b", wait = "until 09:00" },
  { send = { channel = "sms", template = "t" } },
]
[templates.t]
sms = "{{ link }}"
"#;

#[test]
fn branches_splits_schedules_and_one_entry_ever() {
    let defs = parse(BRANCHY).expect("valid");
    let mut host = FakeHost::default();
    for r in 0..200u32 {
        host.truths.insert(("score.churn > 0.7".into(), r), r % 4 != 0);
    }
    let mut e = Engine::new(defs.journeys.clone(), H);
    let now = T0 + 22 * H;
    for r in 0..200u32 {
        e.on_segment(&mut host, r, "vip", true, now);
    }
    let c = e.take_changes();
    let exposures = c.effects.len();
    assert_eq!(exposures, 150, "one exposure per customer who reached the split");
    let sent_now: Vec<u32> = c.messages.iter().map(|m| m.root).collect();
    // Arm b waits until 09:00 UTC the next day.
    e.on_time(&mut host, T0 + 24 * H + 9 * H - 1);
    assert!(e.take_changes().messages.is_empty());
    e.on_time(&mut host, T0 + 24 * H + 9 * H);
    let later: Vec<u32> = e.take_changes().messages.iter().map(|m| m.root).collect();
    assert_eq!(sent_now.len() + later.len(), 150);
    assert!(sent_now.len() > 50 && later.len() > 50, "{} / {}", sent_now.len(), later.len());
    // Sticky: a second run of the same customers takes the same arms (a fresh engine).
    let mut again = Engine::new(defs.journeys.clone(), H);
    for r in 0..200u32 {
        again.on_segment(&mut host, r, "vip", true, now);
    }
    let again_now: Vec<u32> = again.take_changes().messages.iter().map(|m| m.root).collect();
    assert_eq!(again_now, sent_now);
    // reentry = never: the same customers entering again are refused.
    for r in 0..200u32 {
        e.on_segment(&mut host, r, "vip", true, now + 48 * H);
    }
    let s = e.stats("vip", defs.journeys[0].version);
    assert_eq!((s.entered, s.refused), (200, 200));
    assert_eq!(s.by_arm.values().map(|v| v.0).sum::<u64>(), 150);
    // A condition the host cannot answer is an error at that step, counted.
    let mut bad = Engine::new(defs.journeys.clone(), H);
    bad.on_segment(&mut host, 999, "vip", true, now);
    assert_eq!(bad.stats("vip", defs.journeys[0].version).steps[0].errors, 1);
}

#[test]
fn customers_finish_on_the_version_they_started() {
    let v1 = parse(RULES).expect("valid");
    let v2 = parse(&RULES.replace("timeout = \"4h\"", "timeout = \"1h\"")).expect("valid");
    let cart =
        |d: &cxp_query::automation::Definitions| d.journeys.iter().find(|j| j.name == "cart").expect("cart").clone();
    assert_ne!(cart(&v1).version, cart(&v2).version);
    let mut host = FakeHost::default();
    let mut durable = BTreeMap::new();
    let mut e = Engine::new(v1.journeys.clone(), H);
    e.on_event(&mut host, &ev(1, "add_to_cart", T0, &[]), T0);
    persist(&mut durable, &e.take_changes());
    // The definition changes (4h -> 1h); customer 1 keeps 4 hours, customer 2 gets 1 hour.
    let mut e = Engine::new(v2.journeys.clone(), H);
    e.restore(Restored {
        old_versions: vec![cart(&v1)],
        instances: durable.values().cloned().collect(),
        ..Restored::default()
    });
    e.on_event(&mut host, &ev(2, "add_to_cart", T0, &[]), T0);
    e.on_time(&mut host, T0 + 2 * H);
    let c = e.take_changes();
    assert_eq!(c.messages.iter().map(|m| m.root).collect::<Vec<_>>(), vec![2]);
    e.on_time(&mut host, T0 + 4 * H);
    assert_eq!(
        e.take_changes().messages.iter().map(|m| (m.root, m.version)).collect::<Vec<_>>(),
        vec![(1, cart(&v1).version)]
    );
}

#[test]
fn a_paused_journey_admits_nobody_and_holds_its_customers_until_resumed() {
    let defs = parse(RULES).expect("valid");
    let mut host = FakeHost::default();
    let mut e = Engine::new(defs.journeys.clone(), H);
    let fields = [("sku", "A-1".to_owned())];
    e.on_event(&mut host, &ev(1, "add_to_cart", T0, &fields), T0);
    assert_eq!(e.instances(), 1);
    assert!(e.set_paused("cart", true));
    assert!(!e.set_paused("cart", true), "already paused");
    // Nobody enters; the waiting customer's timeout passes without a reminder; an order does
    // not move them either (nothing happens in a paused journey).
    e.on_event(&mut host, &ev(2, "add_to_cart", T0 + H, &fields), T0 + H);
    assert_eq!(e.instances(), 1, "customer 2 did not enter");
    assert_eq!(e.next_due(), None, "the held wait is not due while paused");
    e.on_time(&mut host, T0 + 10 * H);
    assert!(e.take_changes().messages.is_empty(), "no reminder while paused");
    // The other journey runs as usual.
    e.on_event(&mut host, &ev(3, "signup", T0 + 10 * H, &[]), T0 + 10 * H);
    assert_eq!(e.instances(), 2);
    // Resumed: the wait that ended meanwhile fires at once.
    assert!(e.set_paused("cart", false));
    assert_eq!(e.next_due(), Some(T0 + 4 * H));
    e.on_time(&mut host, T0 + 10 * H);
    let c = e.take_changes();
    assert_eq!(c.messages.len(), 1, "{:?}", c.messages);
    assert_eq!((c.messages[0].root, c.messages[0].template.as_str()), (1, "e"));
    assert!(e.paused().is_empty());
}

#[test]
fn waits_that_end_together_fire_in_the_order_customers_entered() {
    let defs = parse(RULES).expect("rules");
    let mut e = Engine::new(defs.journeys.clone(), H);
    let mut host = FakeHost::default();
    // 1 and 2 sign up; 1 logs in (leaves, freeing its place); 3 signs up: all at T0, so 2's
    // and 3's waits end at the same moment, and 3 may take the place 1 left.
    for (root, name) in [(1, "signup"), (2, "signup"), (1, "login"), (3, "signup")] {
        e.on_event(&mut host, &ev(root, name, T0, &[]), T0);
    }
    drop(e.take_changes());
    e.on_time(&mut host, T0 + 25 * H);
    let to: Vec<u32> = e.take_changes().messages.iter().map(|m| m.root).collect();
    assert_eq!(to, vec![2, 3]);
}
