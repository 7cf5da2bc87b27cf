//! Automation definitions: triggers, journeys, templates and delivery settings, as a TOML file
//! (config as code). Everything is checked when the file is read; an error names the place
//! (`journeys.cart_abandonment.steps[1].wait_for`) and says why.
//!
//! A trigger is a one-step journey written short: `event` (+ `where`, `fields`) is its entry,
//! `unless = { event, within }` a wait for that event which exits when it comes, `delay` a
//! wait, and `send` the action. Both become [`Journey`]s, so one engine runs them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::template::Templates;

const MINUTE: i64 = 60_000_000_000;

/// Why definitions are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {why}")]
pub struct DefError {
    /// Where (`journeys.NAME.steps[2].send`).
    pub place: String,
    /// What is wrong.
    pub why: String,
}

fn bad(place: impl Into<String>, why: impl Into<String>) -> DefError {
    DefError { place: place.into(), why: why.into() }
}

/// A channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Text message.
    Sms,
    /// Email.
    Email,
    /// Mobile push.
    Push,
    /// An HTTP POST to a URL.
    Webhook,
    /// A poster image for social networks.
    Social,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [Channel::Sms, Channel::Email, Channel::Push, Channel::Webhook, Channel::Social];

    /// The name used in files and the API.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Push => "push",
            Channel::Webhook => "webhook",
            Channel::Social => "social",
        }
    }

    /// The channel of a name.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// Which events match: a name, tag/field equalities, and a condition on the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMatch {
    /// Event name.
    pub event: String,
    /// Tags or fields that must hold these values (as text).
    pub fields: BTreeMap<String, String>,
    /// A segment expression the customer must match when the event arrives.
    pub condition: Option<String>,
}

/// How customers enter a journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// On an event.
    Event(EventMatch),
    /// On entering a named segment.
    SegmentEnter(String),
    /// On leaving a named segment.
    SegmentExit(String),
    /// These customers (identifiers), once, when the journey is first loaded.
    List(Vec<String>),
    /// Every member of a segment, at a time of day (customer's time zone not used: one moment
    /// for everyone, in the settings' zone), every `every_days` days.
    Schedule {
        /// Segment whose members enter.
        segment: String,
        /// Minutes after midnight.
        minute_of_day: u32,
        /// Days between runs.
        every_days: u32,
    },
}

/// May a customer enter again?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reentry {
    /// Once per customer, ever.
    Never,
    /// Again once they left (the default).
    AfterExit,
    /// Every time the entry happens, even while in.
    Always,
}

/// Where a step leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    /// The following step (the end after the last).
    Continue,
    /// Step at this index.
    Step(usize),
    /// Leave the journey.
    Exit,
}

/// A step of a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Wait this long, ns.
    Wait(i64),
    /// Wait until this time of day in the customer's time zone (minutes after midnight).
    WaitUntil(u32),
    /// Wait for an event; on it go to `on_event`, after `timeout` ns continue.
    WaitFor {
        /// The event.
        event: EventMatch,
        /// How long, ns.
        timeout: i64,
        /// Where the event leads.
        on_event: Next,
    },
    /// A condition on the customer.
    Branch {
        /// Segment expression.
        condition: String,
        /// When it holds.
        then: Next,
        /// When it does not.
        otherwise: Next,
    },
    /// A random split: an experiment when named.
    Split {
        /// Arms: name, weight, where it leads.
        arms: Vec<(String, f64, Next)>,
        /// Experiment name for the A/B engine (exposures are logged).
        experiment: Option<String>,
    },
    /// Send a message.
    Send {
        /// Channel.
        channel: Channel,
        /// Template name.
        template: String,
    },
    /// Set a trait of the customer (an `identify` event from the automation).
    SetTrait {
        /// Trait name.
        name: String,
        /// Value (text).
        value: String,
    },
    /// Go to a step.
    Goto(Next),
}

/// A conversion goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// The event.
    pub event: String,
    /// Within this long after entry, ns.
    pub within: i64,
}

/// A journey (or a trigger, which is a journey written short).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    /// Name (`trigger:NAME` for triggers).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Version: given, or a hash of the definition (customers finish on the version they
    /// started).
    pub version: u32,
    /// How customers enter.
    pub entry: Entry,
    /// Events that take a customer out at once.
    pub exits: Vec<String>,
    /// Conversion goal.
    pub goal: Option<Goal>,
    /// Re-entry policy.
    pub reentry: Reentry,
    /// Steps, in order.
    pub steps: Vec<Step>,
    /// Step ids, by index (generated when not given).
    pub step_ids: Vec<String>,
    /// Whether it was written as a trigger.
    pub trigger: bool,
}

/// A frequency cap: at most `max` messages per `per` ns on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// Messages.
    pub max: u32,
    /// Window, ns.
    pub per: i64,
}

/// What a channel's messages go through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Sink {
    /// JSON lines in a file under the data directory (dry runs, tests, demos).
    File {
        /// File name, relative to the data directory's `messages/`.
        path: String,
    },
    /// HTTP POST with an HMAC-SHA256 signature header.
    Webhook {
        /// Where.
        url: String,
        /// Signing secret.
        secret: String,
    },
    /// SMTP to a relay.
    Smtp {
        /// `host:port`.
        relay: String,
        /// Sender address.
        from: String,
    },
}

/// Delivery settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Time zone of customers without a `timezone` trait (IANA name).
    pub timezone: String,
    /// Locale of customers without a `locale` trait.
    pub locale: String,
    /// Quiet hours in the customer's time zone, minutes after midnight (from, to); messages
    /// due then are deferred to their end.
    pub quiet_hours: Option<(u32, u32)>,
    /// Caps per channel, across every journey and trigger.
    pub caps: BTreeMap<Channel, Cap>,
    /// Sinks per channel (default: a file per channel).
    pub sinks: BTreeMap<Channel, Sink>,
    /// Messages per second per channel, at most.
    pub rate: BTreeMap<Channel, u32>,
    /// Delivery attempts before a message goes to the dead letters.
    pub max_attempts: u32,
    /// The most SMS segments one message may take.
    pub sms_max_segments: u32,
    /// Link templates may use as `link`.
    pub link: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: "Asia/Shanghai".into(),
            locale: "zh".into(),
            quiet_hours: Some((21 * 60, 8 * 60)),
            caps: BTreeMap::new(),
            sinks: BTreeMap::new(),
            rate: BTreeMap::new(),
            max_attempts: 5,
            sms_max_segments: 3,
            link: "https://shop.example.com".into(),
        }
    }
}

/// Every definition of an automation file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definitions {
    /// Delivery settings.
    pub settings: Settings,
    /// Journeys and triggers.
    pub journeys: Vec<Journey>,
    /// Templates.
    pub templates: Templates,
}

// ----- the file as written -----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    triggers: BTreeMap<String, RawTrigger>,
    #[serde(default)]
    journeys: BTreeMap<String, RawJourney>,
    #[serde(default)]
    templates: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    timezone: Option<String>,
    locale: Option<String>,
    quiet_hours: Option<String>,
    #[serde(default)]
    caps: BTreeMap<String, String>,
    #[serde(default)]
    sinks: BTreeMap<String, Sink>,
    #[serde(default)]
    rate: BTreeMap<String, u32>,
    max_attempts: Option<u32>,
    sms_max_segments: Option<u32>,
    link: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    event: String,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
    #[serde(rename = "where")]
    condition: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawEventRef {
    Name(String),
    Match(RawMatch),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnless {
    event: String,
    within: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSend {
    channel: String,
    template: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    #[serde(default)]
    description: String,
    event: Option<String>,
    segment_enter: Option<String>,
    segment_exit: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
    #[serde(rename = "where")]
    condition: Option<String>,
    unless: Option<RawUnless>,
    delay: Option<String>,
    send: RawSend,
    version: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    event: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
    #[serde(rename = "where")]
    condition: Option<String>,
    segment: Option<String>,
    segment_exit: Option<String>,
    customers: Option<Vec<String>>,
    schedule: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoal {
    event: String,
    within: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArm {
    name: String,
    weight: f64,
    #[serde(rename = "goto")]
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSplit {
    arms: Vec<RawArm>,
    experiment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranch {
    #[serde(rename = "if")]
    condition: String,
    then: Option<String>,
    #[serde(rename = "else")]
    otherwise: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSetTrait {
    name: String,
    value: toml::Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Option<String>,
    wait: Option<String>,
    wait_for: Option<RawEventRef>,
    timeout: Option<String>,
    on_event: Option<String>,
    branch: Option<RawBranch>,
    split: Option<RawSplit>,
    send: Option<RawSend>,
    set_trait: Option<RawSetTrait>,
    #[serde(rename = "goto")]
    to: Option<String>,
    exit: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJourney {
    #[serde(default)]
    description: String,
    entry: RawEntry,
    #[serde(default)]
    exit: Vec<String>,
    goal: Option<RawGoal>,
    reentry: Option<String>,
    steps: Vec<RawStep>,
    version: Option<u32>,
}

// ----- checking -----

fn duration(place: &str, text: &str) -> Result<i64, DefError> {
    cxp_store::profile::parse_window(text).map_err(|e| bad(place, format!("{text:?}: {e}")))
}

/// `HH:MM` as minutes after midnight.
pub fn time_of_day(place: &str, text: &str) -> Result<u32, DefError> {
    let parsed =
        text.split_once(':').and_then(|(h, m)| Some((h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((h, m)) if h < 24 && m < 60 => Ok(h * 60 + m),
        _ => Err(bad(place, format!("{text:?} is not a time of day like 09:30"))),
    }
}

fn text_of(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn channel(place: &str, name: &str) -> Result<Channel, DefError> {
    Channel::parse(name)
        .ok_or_else(|| bad(place, format!("unknown channel {name:?} (sms, email, push, webhook, social)")))
}

fn matcher(place: &str, m: RawEventRef) -> Result<EventMatch, DefError> {
    Ok(match m {
        RawEventRef::Name(event) => EventMatch { event, fields: BTreeMap::new(), condition: None },
        RawEventRef::Match(m) => EventMatch {
            event: m.event,
            fields: m.fields.iter().map(|(k, v)| (k.clone(), text_of(v))).collect(),
            condition: m.condition,
        },
    })
    .and_then(|m: EventMatch| if m.event.is_empty() { Err(bad(place, "event name is empty")) } else { Ok(m) })
}

/// A stable version from the definition's text: the same definition, the same version.
fn version_of(text: &str) -> u32 {
    // FNV-1a: stable across builds and platforms (the std hasher is not).
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h.max(1)
}

fn check_name(place: &str, name: &str) -> Result<(), DefError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(bad(place, "a name is letters, digits, '_' and '-'"));
    }
    Ok(())
}

fn trigger(name: &str, t: RawTrigger) -> Result<Journey, DefError> {
    let place = format!("triggers.{name}");
    check_name(&place, name)?;
    let version = t.version.unwrap_or_else(|| version_of(&format!("{t:?}")));
    let entry = match (t.event, t.segment_enter, t.segment_exit) {
        (Some(event), None, None) => Entry::Event(EventMatch {
            event,
            fields: t.fields.iter().map(|(k, v)| (k.clone(), text_of(v))).collect(),
            condition: t.condition,
        }),
        (None, Some(s), None) => Entry::SegmentEnter(s),
        (None, None, Some(s)) => Entry::SegmentExit(s),
        _ => return Err(bad(&place, "give exactly one of event, segment_enter, segment_exit")),
    };
    let mut steps = Vec::new();
    let mut ids = Vec::new();
    if let Some(u) = t.unless {
        let timeout = duration(&format!("{place}.unless.within"), &u.within)?;
        steps.push(Step::WaitFor {
            event: EventMatch { event: u.event, fields: BTreeMap::new(), condition: None },
            timeout,
            on_event: Next::Exit,
        });
        ids.push("unless".to_owned());
    }
    if let Some(d) = t.delay {
        steps.push(Step::Wait(duration(&format!("{place}.delay"), &d)?));
        ids.push("delay".to_owned());
    }
    steps.push(Step::Send {
        channel: channel(&format!("{place}.send.channel"), &t.send.channel)?,
        template: t.send.template,
    });
    ids.push("send".to_owned());
    Ok(Journey {
        name: format!("trigger:{name}"),
        description: t.description,
        version,
        entry,
        exits: Vec::new(),
        goal: None,
        reentry: Reentry::Always,
        steps,
        step_ids: ids,
        trigger: true,
    })
}

fn journey(name: &str, j: RawJourney, settings_tz: &str) -> Result<Journey, DefError> {
    let place = format!("journeys.{name}");
    check_name(&place, name)?;
    let _ = settings_tz;
    let version = j.version.unwrap_or_else(|| version_of(&format!("{j:?}")));
    let e = j.entry;
    let given = [
        e.event.is_some(),
        e.segment.is_some() && e.schedule.is_none(),
        e.segment_exit.is_some(),
        e.customers.is_some(),
        e.schedule.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(bad(
            format!("{place}.entry"),
            "give exactly one of event, segment, segment_exit, customers, or schedule (with segment)",
        ));
    }
    let entry = if let Some(event) = e.event {
        Entry::Event(EventMatch {
            event,
            fields: e.fields.iter().map(|(k, v)| (k.clone(), text_of(v))).collect(),
            condition: e.condition,
        })
    } else if let Some(s) = e.schedule {
        let segment = e
            .segment
            .ok_or_else(|| bad(format!("{place}.entry"), "a schedule needs the segment whose members enter"))?;
        let (every, at) = s.split_once(' ').ok_or_else(|| {
            bad(format!("{place}.entry.schedule"), format!("{s:?}: write \"daily 09:00\" or \"every 7d 09:00\""))
        })?;
        let every_days = match every {
            "daily" => 1,
            "weekly" => 7,
            other => {
                let d = duration(&format!("{place}.entry.schedule"), other.trim_start_matches("every").trim())?;
                u32::try_from(d / (24 * 60 * MINUTE)).unwrap_or(0).max(1)
            }
        };
        let at = at.rsplit(' ').next().unwrap_or(at);
        Entry::Schedule { segment, minute_of_day: time_of_day(&format!("{place}.entry.schedule"), at)?, every_days }
    } else if let Some(s) = e.segment {
        Entry::SegmentEnter(s)
    } else if let Some(s) = e.segment_exit {
        Entry::SegmentExit(s)
    } else {
        Entry::List(e.customers.unwrap_or_default())
    };
    let reentry = match j.reentry.as_deref() {
        None | Some("after_exit") => Reentry::AfterExit,
        Some("never") => Reentry::Never,
        Some("always") => Reentry::Always,
        Some(other) => return Err(bad(format!("{place}.reentry"), format!("{other:?}: never, after_exit or always"))),
    };
    let goal = match j.goal {
        Some(g) => Some(Goal { within: duration(&format!("{place}.goal.within"), &g.within)?, event: g.event }),
        None => None,
    };
    if j.steps.is_empty() {
        return Err(bad(format!("{place}.steps"), "a journey needs at least one step"));
    }
    let ids: Vec<String> =
        j.steps.iter().enumerate().map(|(i, s)| s.id.clone().unwrap_or_else(|| format!("step{}", i + 1))).collect();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(bad(format!("{place}.steps[{i}].id"), format!("{id:?} is used twice")));
        }
    }
    let next = |place: &str, to: Option<&str>| -> Result<Next, DefError> {
        match to {
            None | Some("next") => Ok(Next::Continue),
            Some("exit") => Ok(Next::Exit),
            Some(id) => ids
                .iter()
                .position(|x| x == id)
                .map(Next::Step)
                .ok_or_else(|| bad(place, format!("no step {id:?} (steps: {}; or next, exit)", ids.join(", ")))),
        }
    };
    let mut steps = Vec::with_capacity(j.steps.len());
    for (i, s) in j.steps.into_iter().enumerate() {
        let sp = format!("{place}.steps[{i}]");
        let kinds = [
            s.wait.is_some(),
            s.wait_for.is_some(),
            s.branch.is_some(),
            s.split.is_some(),
            s.send.is_some(),
            s.set_trait.is_some(),
            s.to.is_some(),
            s.exit.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err(bad(
                &sp,
                "a step is exactly one of wait, wait_for, branch, split, send, set_trait, goto, exit",
            ));
        }
        let step = if let Some(w) = s.wait {
            match w.strip_prefix("until ") {
                Some(t) => Step::WaitUntil(time_of_day(&format!("{sp}.wait"), t)?),
                None => Step::Wait(duration(&format!("{sp}.wait"), &w)?),
            }
        } else if let Some(w) = s.wait_for {
            let timeout = s.timeout.ok_or_else(|| bad(format!("{sp}.timeout"), "wait_for needs a timeout"))?;
            Step::WaitFor {
                event: matcher(&format!("{sp}.wait_for"), w)?,
                timeout: duration(&format!("{sp}.timeout"), &timeout)?,
                on_event: next(&format!("{sp}.on_event"), s.on_event.as_deref())?,
            }
        } else if let Some(b) = s.branch {
            Step::Branch {
                condition: b.condition,
                then: next(&format!("{sp}.branch.then"), b.then.as_deref())?,
                otherwise: next(&format!("{sp}.branch.else"), b.otherwise.as_deref())?,
            }
        } else if let Some(sp2) = s.split {
            if sp2.arms.len() < 2 || sp2.arms.iter().any(|a| a.weight.is_nan() || a.weight <= 0.0) {
                return Err(bad(format!("{sp}.split"), "at least two arms, each with a positive weight"));
            }
            let mut arms = Vec::new();
            for (k, a) in sp2.arms.into_iter().enumerate() {
                arms.push((a.name, a.weight, next(&format!("{sp}.split.arms[{k}].goto"), a.to.as_deref())?));
            }
            Step::Split { arms, experiment: sp2.experiment }
        } else if let Some(send) = s.send {
            Step::Send { channel: channel(&format!("{sp}.send.channel"), &send.channel)?, template: send.template }
        } else if let Some(t) = s.set_trait {
            Step::SetTrait { name: t.name, value: text_of(&t.value) }
        } else if let Some(to) = s.to {
            Step::Goto(next(&format!("{sp}.goto"), Some(&to))?)
        } else {
            Step::Goto(Next::Exit)
        };
        steps.push(step);
    }
    Ok(Journey {
        name: name.to_owned(),
        description: j.description,
        version,
        entry,
        exits: j.exit,
        goal,
        reentry,
        steps,
        step_ids: ids,
        trigger: false,
    })
}

fn settings(raw: RawSettings) -> Result<Settings, DefError> {
    let mut s = Settings::default();
    if let Some(tz) = raw.timezone {
        jiff::tz::TimeZone::get(&tz).map_err(|e| bad("settings.timezone", format!("{tz:?}: {e}")))?;
        s.timezone = tz;
    }
    if let Some(l) = raw.locale {
        s.locale = l;
    }
    if let Some(q) = raw.quiet_hours {
        s.quiet_hours = if q.trim().is_empty() || q == "none" {
            None
        } else {
            let (a, b) = q
                .split_once('-')
                .ok_or_else(|| bad("settings.quiet_hours", format!("{q:?}: write \"21:00-08:00\" or \"none\"")))?;
            Some((time_of_day("settings.quiet_hours", a)?, time_of_day("settings.quiet_hours", b)?))
        };
    }
    for (ch, cap) in raw.caps {
        let place = format!("settings.caps.{ch}");
        let c = channel(&place, &ch)?;
        let (max, per) = cap.split_once('/').ok_or_else(|| bad(&place, format!("{cap:?}: write \"2/7d\"")))?;
        let max = max.trim().parse().map_err(|_| bad(&place, format!("{max:?} is not a count")))?;
        s.caps.insert(c, Cap { max, per: duration(&place, per.trim())? });
    }
    for (ch, sink) in raw.sinks {
        s.sinks.insert(channel(&format!("settings.sinks.{ch}"), &ch)?, sink);
    }
    for (ch, r) in raw.rate {
        s.rate.insert(channel(&format!("settings.rate.{ch}"), &ch)?, r.max(1));
    }
    if let Some(m) = raw.max_attempts {
        s.max_attempts = m.max(1);
    }
    if let Some(m) = raw.sms_max_segments {
        s.sms_max_segments = m.max(1);
    }
    if let Some(l) = raw.link {
        s.link = l;
    }
    Ok(s)
}

/// Reads an automation file: settings, triggers, journeys and templates, all checked (and
/// every template compiled and checked against the channels that use it).
pub fn parse(text: &str) -> Result<Definitions, DefError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| bad("file", e.to_string().trim_end()))?;
    let settings = settings(raw.settings)?;
    let mut journeys = Vec::new();
    for (name, t) in raw.triggers {
        journeys.push(trigger(&name, t)?);
    }
    for (name, j) in raw.journeys {
        journeys.push(journey(&name, j, &settings.timezone)?);
    }
    let templates = Templates::parse(raw.templates, &settings)?;
    for j in &journeys {
        for (i, step) in j.steps.iter().enumerate() {
            if let Step::Send { channel, template } = step {
                let place = if j.trigger {
                    format!("triggers.{}.send", j.name.trim_start_matches("trigger:"))
                } else {
                    format!("journeys.{}.steps[{i}].send", j.name)
                };
                templates.check_use(&place, template, *channel, &settings)?;
            }
        }
    }
    Ok(Definitions { settings, journeys, templates })
}

/// The definitions that ship with cxp: the seed's come-back SMS, the cart-abandonment email
/// and the churn-risk win-back with an experiment on its wording.
pub const DEFAULT: &str = include_str!("default.toml");

/// The A/B experiments that journeys' named splits are: the arms as variants (the first is the
/// control), exposures as the engine logs them (`experiment_viewed` with `experiment` and
/// `variant` tags), and the journey's goal as the primary metric (an order within 7 days
/// when the journey has none). Results then come from the A/B engine like any experiment's.
pub fn split_experiments(defs: &Definitions) -> Vec<crate::experiment::Experiment> {
    use crate::experiment::config::{Exposure, Metric, MetricKind, Variant};
    let mut out: Vec<crate::experiment::Experiment> = Vec::new();
    for j in &defs.journeys {
        for s in &j.steps {
            let Step::Split { arms, experiment: Some(name) } = s else { continue };
            if out.iter().any(|e| &e.name == name) {
                continue;
            }
            let (event, window) =
                j.goal.as_ref().map_or(("order".to_owned(), 7 * 24 * 60 * MINUTE), |g| (g.event.clone(), g.within));
            out.push(crate::experiment::Experiment {
                name: name.clone(),
                description: format!("the split of journey {}", j.name),
                salt: name.clone(),
                variants: arms.iter().map(|(n, w, _)| Variant { name: n.clone(), weight: *w }).collect(),
                coverage: 1.0,
                eligible: None,
                exposure: Exposure::default(),
                primary: Metric {
                    name: format!("{event} within {}", crate::segment::duration(window)),
                    kind: MetricKind::Conversion,
                    event,
                    field: None,
                    window_ns: window,
                },
                guardrails: Vec::new(),
                alpha: 0.05,
                plan: None,
                start: None,
                end: None,
                factors: Vec::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_definitions_are_valid() {
        let d = parse(DEFAULT).expect("valid");
        let comeback = d.journeys.iter().find(|j| j.name == "trigger:comeback_sms").expect("the seed's rule");
        assert!(matches!(&comeback.entry, Entry::Event(m) if m.event == "signup"));
        assert!(
            matches!(comeback.steps[0], Step::WaitFor { on_event: Next::Exit, timeout, .. } if timeout == 24 * 60 * MINUTE)
        );
        assert!(d.journeys.iter().any(|j| j.name == "cart_abandonment"));
    }

    #[test]
    fn mistakes_name_their_place() {
        let cases = [
            (
                "[triggers.x]\nevent = \"signup\"\nsend = { channel = \"fax\", template = \"t\" }\n",
                "triggers.x.send.channel: unknown channel \"fax\"",
            ),
            (
                "[journeys.j]\nentry = { event = \"a\" }\nsteps = [{ wait_for = \"b\" }]\n",
                "journeys.j.steps[0].timeout: wait_for needs a timeout",
            ),
            (
                "[journeys.j]\nentry = { event = \"a\" }\nsteps = [{ goto = \"nowhere\" }]\n",
                "journeys.j.steps[0].goto: no step \"nowhere\"",
            ),
            (
                "[journeys.j]\nentry = { event = \"a\", segment = \"s\" }\nsteps = [{ exit = true }]\n",
                "journeys.j.entry: give exactly one",
            ),
            ("[settings]\ncaps = { sms = \"two\" }\n", "settings.caps.sms"),
            ("[settings]\ntimezone = \"Mars/Olympus\"\n", "settings.timezone"),
            (
                "[journeys.j]\nentry = { event = \"a\" }\nsteps = [{ wait = \"until 25:00\" }]\n",
                "journeys.j.steps[0].wait",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.starts_with(want), "{err}\n  expected: {want}");
        }
    }

    #[test]
    fn named_splits_are_experiments() {
        let d = parse(DEFAULT).expect("valid");
        let e = split_experiments(&d);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "winback_wording");
        assert_eq!(e[0].variants.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["discount", "gift"]);
        assert_eq!((e[0].primary.event.as_str(), e[0].primary.window_ns), ("order", 14 * 24 * 60 * MINUTE));
        assert_eq!(e[0].exposure, crate::experiment::Exposure::default(), "what the engine logs");
    }

    #[test]
    fn versions_follow_the_definition() {
        let a = parse("[journeys.j]\nentry = { event = \"a\" }\nsteps = [{ wait = \"1h\" }]\n").expect("valid");
        let b = parse("[journeys.j]\nentry = { event = \"a\" }\nsteps = [{ wait = \"1h\" }]\n").expect("valid");
        let c = parse("[journeys.j]\nentry = { event = \"a\" }\nsteps = [{ wait = \"2h\" }]\n").expect("valid");
        assert_eq!(a.journeys[0].version, b.journeys[0].version);
        assert_ne!(a.journeys[0].version, c.journeys[0].version);
    }
}
