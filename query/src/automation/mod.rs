//! Automation: triggers and journeys that act on each customer at the right moment, with the
//! right words, on the right channel.
//!
//! - `def.rs`: the definitions file (triggers, journeys, templates, delivery settings).
//! - `engine.rs`: the state machine of customers in journeys, driven by events, segment
//!   changes and the clock; pure, so that the daemon, a dry-run replay and tests share it.
//! - `template.rs`, `salutation.rs`: content (minijinja, salutations by gender and locale).
//! - `sms.rs`, `channel.rs`: what each channel takes (SMS encodings and segments, email parts,
//!   push limits) and how a message is fitted to it.
//! - `slab.rs`: the engine's compact in-memory instances (a million waiting is normal).
//! - `policy.rs`: consent, frequency caps and quiet hours at send time.
//! - `replay.rs`: past events through the rules with a fast-forwarded clock.

pub mod channel;
pub mod content;
pub mod def;
pub mod engine;
pub mod host;
pub mod instance;
pub mod policy;
pub mod poster;
pub mod replay;
pub mod salutation;
mod slab;
pub mod sms;
pub mod template;

pub use def::{Channel, DefError, Definitions, Journey, Settings, parse};
pub use engine::{Changes, Engine, Event, Host, JourneyStats, Restored, StepStats};
pub use instance::{Effect, Instance, Message, Wait};
