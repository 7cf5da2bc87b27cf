//! Journeys, triggers and messages under `/api/v1/journeys` and `/api/v1/messages`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::automation::JourneyStats;
use crate::automation::channel::Adapted;
use crate::automation::policy::Decision;

/// One step of a journey, with its live counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyStepDoc {
    /// Step id.
    pub id: String,
    /// What it does, in words (`wait 4h`, `send email cart_reminder`).
    pub what: String,
    /// Customers who reached it.
    pub entered: u64,
    /// Customers there now.
    pub waiting: u64,
    /// Customers who went past it.
    pub passed: u64,
    /// Customers who left while at it.
    pub exited: u64,
    /// Conversions after it was the last message.
    pub converted: u64,
    /// Errors at it.
    pub errors: u64,
}

/// `GET /api/v1/journeys` (each) and `/api/v1/journeys/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyDoc {
    /// Name (`trigger:NAME` for triggers).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Current version.
    pub version: u32,
    /// Written as a trigger.
    pub trigger: bool,
    /// How customers enter, in words.
    pub entry: String,
    /// Steps of the current version.
    pub steps: Vec<JourneyStepDoc>,
    /// Counters of the current version.
    pub stats: JourneyStats,
    /// Customers still inside after the last step, for the goal's attribution window.
    pub attributing: u64,
    /// Conversions per entered customer, when there is a goal.
    pub conversion_rate: Option<f64>,
    /// Customers on older versions still finishing, by version.
    pub older: BTreeMap<u32, u64>,
    /// The experiment its split is, if any.
    pub experiment: Option<String>,
    /// Paused by an operator: nobody enters, customers inside wait.
    #[serde(default)]
    pub paused: bool,
}

/// Counters of one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDoc {
    /// Channel.
    pub channel: String,
    /// Delivered.
    pub sent: u64,
    /// Held for later (quiet hours, rate limits).
    pub deferred: u64,
    /// Not sent, on purpose (consent, caps, opt-out).
    pub suppressed: u64,
    /// Delivery attempts that failed (retried).
    pub failed: u64,
    /// Given up after the last attempt.
    pub dead: u64,
    /// Waiting in the outbox now.
    pub queued: u64,
}

/// What happened to one message, step by step: the answer to "why did this customer get this
/// (or not)".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhyRecord {
    /// Outbox id.
    pub id: u64,
    /// Idempotency key.
    pub key: String,
    /// Journey.
    pub journey: String,
    /// Step.
    pub step: String,
    /// Channel.
    pub channel: String,
    /// Template.
    pub template: String,
    /// Split arm.
    pub arm: Option<String>,
    /// The customer key.
    pub root: u32,
    /// Queued at, ns.
    pub queued: i64,
    /// Decisions in order: time and what.
    pub decisions: Vec<(i64, Decision)>,
    /// `queued`, `deferred`, `sent`, `suppressed`, `failed` (retrying) or `dead`.
    pub state: String,
    /// Delivery attempts.
    pub attempts: u32,
    /// The content as sent (masked for roles that may not see personal data).
    pub content: Option<Adapted>,
    /// The last delivery error.
    pub error: Option<String>,
}

/// `GET /api/v1/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesDoc {
    /// Per channel.
    pub channels: Vec<ChannelDoc>,
    /// Given up messages, newest first.
    pub dead_letters: Vec<WhyRecord>,
    /// Latest messages, newest first.
    pub recent: Vec<WhyRecord>,
}

/// `GET /api/v1/templates/{name}/preview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewDoc {
    /// Template.
    pub template: String,
    /// Locale used.
    pub locale: String,
    /// The content, fitted to the channel.
    pub content: Adapted,
    /// For a poster: the PNG, base64.
    pub png_base64: Option<String>,
}
