//! A customer's place in a journey, and what the engine asks the outside world to do.

use serde::{Deserialize, Serialize};

use cxp_store::Ck;

use super::def::Channel;

/// What an instance waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wait {
    /// Nothing: it is being run.
    None,
    /// A time (a `wait` step).
    Until(i64),
    /// The event of its `wait_for` step, or the timeout at this time.
    Event(i64),
}

impl Wait {
    /// The time it wakes by itself, if any.
    pub fn due(self) -> Option<i64> {
        match self {
            Wait::None => None,
            Wait::Until(t) | Wait::Event(t) => Some(t),
        }
    }
}

/// One customer in one journey (version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Unique, never reused.
    pub id: u64,
    /// Journey name.
    pub journey: String,
    /// The version the customer started on (and finishes on).
    pub version: u32,
    /// The person.
    pub root: Ck,
    /// Current step.
    pub step: u16,
    /// When the customer entered (clock time), ns.
    pub entered: i64,
    /// What it waits for.
    pub wait: Wait,
    /// Fields of the event that started it (a few, short), for templates.
    pub vars: Vec<(String, String)>,
    /// Arm of a split it took.
    pub arm: Option<String>,
    /// Whether it reached the goal.
    pub converted: bool,
}

/// A message to send, as the outbox keeps it until it is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Idempotency key: journey, version, step, customer, instance. The same key is never
    /// delivered twice.
    pub key: String,
    /// Outbox id (ascending in creation order).
    pub id: u64,
    /// Journey.
    pub journey: String,
    /// Its version.
    pub version: u32,
    /// Step id.
    pub step: String,
    /// The person.
    pub root: Ck,
    /// Channel.
    pub channel: Channel,
    /// Template.
    pub template: String,
    /// Fields of the entry event.
    pub vars: Vec<(String, String)>,
    /// Split arm, when the journey took one.
    pub arm: Option<String>,
    /// Created (clock time), ns.
    pub created: i64,
    /// Not before this time (quiet hours, rate limits, retries), ns.
    pub not_before: i64,
    /// Delivery attempts so far.
    pub attempts: u32,
}

impl Message {
    /// A message for previewing `template` on `channel` to person `root` (none: a customer
    /// about whom nothing is known).
    pub fn preview(template: &str, channel: Channel, root: Option<Ck>) -> Message {
        Message {
            key: format!("preview/{template}"),
            id: 0,
            journey: "preview".into(),
            version: 0,
            step: "preview".into(),
            root: root.unwrap_or(Ck::MAX),
            channel,
            template: template.into(),
            vars: Vec::new(),
            arm: None,
            created: 0,
            not_before: 0,
            attempts: 0,
        }
    }
}

/// Something the engine asks for besides messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Set a trait of a customer.
    SetTrait {
        /// The person.
        root: Ck,
        /// Trait.
        name: String,
        /// Value.
        value: String,
    },
    /// Log an experiment exposure (a split that is an experiment).
    Exposure {
        /// The person.
        root: Ck,
        /// Experiment.
        experiment: String,
        /// Variant (arm).
        variant: String,
    },
    /// Enter every member of a segment into a journey (a scheduled entry came due).
    Schedule {
        /// Journey.
        journey: String,
        /// Segment.
        segment: String,
    },
}
