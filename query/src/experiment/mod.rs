//! Experiments (A/B and multivariate tests): definitions in a TOML file, sticky assignment by
//! hashing, and results from the exposure and metric events in the store, with the tests of
//! [`crate::stats`]. The file format and the meaning of every number: query/EXPERIMENTS.md.

pub mod assign;
pub mod config;
pub mod results;

pub use assign::{assign, bucket, choose, growthbook_hash};
pub use config::{Experiment, ExperimentError, Exposure, Metric, MetricKind, parse_file};
pub use results::{ResultsError, results};
