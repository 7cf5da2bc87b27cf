//! cxp-daemon: the long-running `cxp serve` process.
//!
//! Network ingest that real clients speak (line protocol over TCP, UDP and HTTP as InfluxDB
//! 1/2 accept it; the Segment HTTP tracking API), every path becoming the same
//! protocol-neutral batch and acknowledged only once durable; the JSON API under `/api/v1`
//! for the console and integrations; tokens with roles, masking of personal data and an audit
//! log. Blocking work (commits, store reads) runs on tokio's blocking pool, never on the async
//! workers.

pub mod audit;
pub mod auth;
pub mod automation;
pub mod config;
pub mod dedup;
mod dedup_reload;
// Handlers return a finished `Response` as their error, as axum intends; it is built once per
// request, so its size does not matter.
#[allow(clippy::result_large_err)]
pub mod http;
pub mod ingest;
pub mod live;
mod lp_tcp;
mod lp_udp;
pub mod metrics;
pub mod models;
pub mod recommend;
pub mod segment;
pub mod server;

pub use config::{Config, ConfigError, Resolved};
pub use server::{Bound, ServeError, run};

/// Starts logging to stderr: `json` for one JSON object per line; `RUST_LOG` overrides `level`.
pub fn init_logging(json: bool, level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (tests) is not an error worth reporting.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
