//! cxp-tui: the operator console, `cxp top`.
//!
//! A ratatui + crossterm application with eight screens: overview, customers, segments,
//! journeys, experiments, messages, data quality and models. It talks to the daemon only
//! through its HTTP API and the `cxp_query::api` types, on a thread of its own (`fetch.rs`),
//! so drawing never waits on the network. `app.rs` holds the state and what keys do (tested
//! without a terminal), `keymap.rs` the one table of keys that help is generated from, `ui/`
//! the drawing, `run.rs` the terminal loop.

pub mod app;
pub mod client;
pub mod data;
pub mod fetch;
#[doc(hidden)]
pub mod fixture;
pub mod keymap;
mod run;
pub mod theme;
pub mod ui;

pub use run::{TopOptions, run};
