//! The daemon's configuration: a TOML file, then the environment, then flags (the later wins).
//! Every option is documented here and in `cxp serve --help`; `example.toml` in this crate is
//! loaded by a test so that it cannot drift from the code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cxp_lp::Precision;
use serde::{Deserialize, Serialize};

/// What can be wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration (the message names line and key).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What and where.
        message: String,
    },
    /// A value is out of its range or cannot be used.
    #[error("invalid {option}: {why}")]
    Invalid {
        /// The option, as written in the file.
        option: &'static str,
        /// Why.
        why: String,
    },
    /// No data directory was given anywhere.
    #[error("no data directory: give --data, CXP_DATA or `data = \"...\"` in the config file")]
    NoData,
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Data directory (store, search index, tokens, audit log).
    pub data: Option<PathBuf>,
    /// Listening addresses.
    pub listen: Listen,
    /// Ingest limits and queues.
    pub ingest: IngestConfig,
    /// Authentication.
    pub auth: AuthConfig,
    /// The event store.
    pub store: StoreConfig,
    /// Privacy.
    pub privacy: PrivacyConfig,
    /// Named segments kept live.
    pub segments: SegmentsConfig,
    /// Predictive models.
    pub models: ModelsConfig,
    /// A/B tests.
    pub experiments: ExperimentsConfig,
    /// Recommendations: what counts as an interaction, decay, coupon policy.
    pub recommend: cxp_query::recommend::RecConfig,
    /// Triggers and journeys.
    pub automation: AutomationConfig,
    /// Logging.
    pub log: LogConfig,
}

/// Where the daemon listens. An empty string turns a listener off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// HTTP: InfluxDB and Segment ingest, the API, metrics (default `127.0.0.1:8086`).
    pub http: String,
    /// Line protocol over TCP (default `127.0.0.1:8094`).
    pub lp_tcp: String,
    /// Line protocol over UDP (default off).
    pub lp_udp: String,
    /// Timestamp precision of UDP line protocol, which carries none (collectd sends `ms`).
    pub udp_precision: String,
    /// Timestamp precision of TCP line protocol.
    pub tcp_precision: String,
}

/// Ingest limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Batches on their way to the writer at once; more wait (TCP) or are answered 503 (HTTP).
    pub max_in_flight: usize,
    /// How long an HTTP request waits for room in the queue before a 503 with Retry-After, ms.
    pub overload_wait_ms: u64,
    /// Largest HTTP line-protocol body after decompression, bytes.
    pub max_body_bytes: usize,
    /// Bytes of line protocol a TCP connection gathers into one batch.
    pub tcp_batch_bytes: usize,
    /// Segment `messageId`s remembered for deduplication.
    pub dedup_ids: usize,
    /// How far back the deduplication window is rebuilt from stored events at start.
    pub dedup_rebuild: String,
}

/// Authentication.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `token` (ingest needs a writer or admin token, in any form the clients send) or `open`
    /// (ingest needs none; for a loopback-only daemon).
    pub ingest: String,
    /// Serve `/metrics` without a token (Prometheus scrapers on the same host).
    pub public_metrics: bool,
}

/// The event store.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Data dictionary: `default` (shipped), `none`, or a TOML file.
    pub dictionary: String,
    /// Keep the customer search index.
    pub search: bool,
    /// redb page cache, bytes.
    pub cache_bytes: usize,
}

/// Privacy.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Refuse, from then on, events carrying an identifier of an erased or opted-out customer
    /// (counted in `cxp_suppressed_total`, not stored, not quarantined).
    pub suppression: bool,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig { suppression: true }
    }
}

/// Named segments kept live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SegmentsConfig {
    /// Segments file (TOML: `name = "expression"` or `[name]` with `expr` and `description`);
    /// empty: `segments.toml` in the data directory, when there is one.
    pub file: String,
    /// Shortest time between two evaluations of all live segments, ms.
    pub refresh_ms: u64,
    /// Longest time between two evaluations, events or not (windows expire with time), s.
    pub expiry_s: u64,
    /// Share of one core the evaluations may take; more load makes them less frequent.
    pub max_share: f64,
    /// Size-history points kept per segment (one per minute).
    pub history: usize,
    /// Entered/left changes kept for `/api/v1/segment-changes`.
    pub change_log: usize,
}

impl Default for SegmentsConfig {
    fn default() -> Self {
        SegmentsConfig {
            file: String::new(),
            refresh_ms: 1000,
            expiry_s: 60,
            max_share: 0.2,
            history: 1440,
            change_log: 100_000,
        }
    }
}

/// Predictive models: trained and scored on a schedule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Models file (TOML, see `cxp model`); empty: `models.toml` in the data directory, when
    /// there is one. `churn` and `purchase` are defined without it.
    pub file: String,
    /// Train and score on each model's schedule (`retrain`, `rescore`); else only on request.
    pub auto: bool,
    /// Threads of a training or scoring job (the others are left to ingest).
    pub threads: usize,
    /// How often the schedule is looked at, s.
    pub check_s: u64,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig { file: String::new(), auto: true, threads: 1, check_s: 60 }
    }
}

/// Triggers, journeys and message delivery.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutomationConfig {
    /// Run them.
    pub enabled: bool,
    /// Definitions file (TOML, see `cxp automation`); empty: `automation.toml` in the data
    /// directory, else the definitions that ship with cxp.
    pub file: String,
    /// A clock that only moves through `POST /api/v1/automation/clock` (tests, demos).
    pub test_clock: bool,
    /// Events older than this against the clock start nothing (history being imported).
    pub max_event_age: String,
}

impl Default for AutomationConfig {
    fn default() -> Self {
        AutomationConfig { enabled: true, file: String::new(), test_clock: false, max_event_age: "1h".into() }
    }
}

/// A/B tests.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExperimentsConfig {
    /// Experiments file (TOML, see `cxp experiment`); empty: `experiments.toml` in the data
    /// directory, when there is one.
    pub file: String,
}

/// Logging.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// Filter in `RUST_LOG` syntax (`info`, `cxp_daemon=debug`); `RUST_LOG` wins.
    pub level: String,
}

impl Default for Listen {
    fn default() -> Self {
        Listen {
            http: "127.0.0.1:8086".into(),
            lp_tcp: "127.0.0.1:8094".into(),
            lp_udp: String::new(),
            udp_precision: "ms".into(),
            tcp_precision: "ns".into(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_in_flight: 16,
            overload_wait_ms: 2000,
            max_body_bytes: 64 << 20,
            tcp_batch_bytes: 4 << 20,
            dedup_ids: 1_000_000,
            dedup_rebuild: "24h".into(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { ingest: "token".into(), public_metrics: false }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { dictionary: "default".into(), search: true, cache_bytes: 256 << 20 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "text".into(), level: "info".into() }
    }
}

/// A configuration checked and resolved into what the daemon runs with.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Data directory.
    pub data: PathBuf,
    /// HTTP address, if on.
    pub http: Option<SocketAddr>,
    /// TCP line-protocol address, if on.
    pub lp_tcp: Option<SocketAddr>,
    /// UDP line-protocol address, if on.
    pub lp_udp: Option<SocketAddr>,
    /// Precision of UDP line protocol.
    pub udp_precision: Precision,
    /// Precision of TCP line protocol.
    pub tcp_precision: Precision,
    /// How far back deduplication is rebuilt at start.
    pub dedup_rebuild: std::time::Duration,
    /// Ingest needs a token.
    pub ingest_auth: bool,
    /// The configuration as given.
    pub config: Config,
}

impl Config {
    /// Reads `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::from_toml(&text).map_err(|message| ConfigError::Parse { path: path.to_owned(), message })
    }

    /// Parses TOML text (the error names the line and the key).
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// Checks every value and resolves addresses and durations.
    pub fn resolve(self) -> Result<Resolved, ConfigError> {
        let data = self.data.clone().ok_or(ConfigError::NoData)?;
        let addr = |option: &'static str, s: &str| -> Result<Option<SocketAddr>, ConfigError> {
            if s.trim().is_empty() || s == "off" {
                return Ok(None);
            }
            s.parse().map(Some).map_err(|e| ConfigError::Invalid { option, why: format!("{s:?}: {e}") })
        };
        let precision = |option: &'static str, s: &str| {
            Precision::parse(s)
                .ok_or_else(|| ConfigError::Invalid { option, why: format!("{s:?}: use ns, us, ms, s, m or h") })
        };
        let positive = |option: &'static str, n: usize| {
            if n == 0 { Err(ConfigError::Invalid { option, why: "must be at least 1".into() }) } else { Ok(()) }
        };
        positive("ingest.max_in_flight", self.ingest.max_in_flight)?;
        positive("ingest.max_body_bytes", self.ingest.max_body_bytes)?;
        positive("ingest.tcp_batch_bytes", self.ingest.tcp_batch_bytes)?;
        positive("ingest.dedup_ids", self.ingest.dedup_ids)?;
        positive("segments.refresh_ms", self.segments.refresh_ms as usize)?;
        positive("segments.expiry_s", self.segments.expiry_s as usize)?;
        positive("segments.history", self.segments.history)?;
        positive("segments.change_log", self.segments.change_log)?;
        positive("models.threads", self.models.threads)?;
        positive("models.check_s", self.models.check_s as usize)?;
        if !(self.segments.max_share > 0.0 && self.segments.max_share <= 1.0) {
            return Err(ConfigError::Invalid {
                option: "segments.max_share",
                why: format!("{}: between 0 (exclusive) and 1", self.segments.max_share),
            });
        }
        let ingest_auth = match self.auth.ingest.as_str() {
            "token" => true,
            "open" => false,
            other => {
                return Err(ConfigError::Invalid {
                    option: "auth.ingest",
                    why: format!("{other:?}: use token or open"),
                });
            }
        };
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid {
                option: "log.format",
                why: format!("{:?}: use text or json", self.log.format),
            });
        }
        let dedup_rebuild =
            humantime::parse_duration(&self.ingest.dedup_rebuild).map_err(|e| ConfigError::Invalid {
                option: "ingest.dedup_rebuild",
                why: format!("{:?}: {e}", self.ingest.dedup_rebuild),
            })?;
        Ok(Resolved {
            data,
            http: addr("listen.http", &self.listen.http)?,
            lp_tcp: addr("listen.lp_tcp", &self.listen.lp_tcp)?,
            lp_udp: addr("listen.lp_udp", &self.listen.lp_udp)?,
            udp_precision: precision("listen.udp_precision", &self.listen.udp_precision)?,
            tcp_precision: precision("listen.tcp_precision", &self.listen.tcp_precision)?,
            dedup_rebuild,
            ingest_auth,
            config: self,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_loads_and_resolves() {
        let text = include_str!("../example.toml");
        let mut c = Config::from_toml(text).expect("example parses");
        c.data = Some("x".into());
        let r = c.resolve().expect("example resolves");
        assert_eq!(r.http, Some("127.0.0.1:8086".parse().expect("addr")));
        assert_eq!(r.lp_udp, None);
        assert_eq!(r.udp_precision, Precision::Milliseconds);
    }

    #[test]
    fn every_option_is_in_the_example_and_in_the_reference() {
        let defaults =
            toml::Value::try_from(Config { data: Some("x".into()), ..Config::default() }).expect("serialize");
        let example: toml::Value = toml::from_str(include_str!("../example.toml")).expect("example");
        let reference = include_str!("../../docs/configuration.md");
        let mut missing = Vec::new();
        for (section, v) in defaults.as_table().expect("a table") {
            let Some(keys) = v.as_table() else {
                // Top level (`data`, commented out in the example: it has no default).
                if !reference.contains(&format!("`{section}`")) {
                    missing.push(format!("{section} in docs/configuration.md"));
                }
                continue;
            };
            for key in keys.keys() {
                let path = format!("{section}.{key}");
                if example.get(section).and_then(|s| s.get(key)).is_none() {
                    missing.push(format!("{path} in example.toml"));
                }
                if !reference.contains(&format!("`{path}`")) {
                    missing.push(format!("{path} in docs/configuration.md"));
                }
            }
        }
        assert!(missing.is_empty(), "options not documented: {missing:?}");
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let e = Config::from_toml("[listen]\nhtpp = \"x\"\n").expect_err("unknown key");
        assert!(e.contains("line 2") && e.contains("htpp"), "{e}");
        let c = Config { data: Some("x".into()), ..Config::default() };
        let mut bad = c.clone();
        bad.listen.http = "localhost".into();
        assert!(bad.resolve().expect_err("bad addr").to_string().contains("listen.http"));
        let mut bad = c.clone();
        bad.listen.udp_precision = "days".into();
        assert!(bad.resolve().expect_err("bad precision").to_string().contains("udp_precision"));
        assert!(matches!(Config::default().resolve(), Err(ConfigError::NoData)));
    }
}
