//! Predictive models: gradient-boosted trees for binary outcomes (churn, purchase intent),
//! their metrics and cross-validation, the feature tables they learn from, and batch scoring.
//!
//! The trainer follows XGBoost's `hist` method (quantile bins, histogram subtraction,
//! second-order leaf weights with L2 regularisation); the benches compare it with XGBoost on
//! the same table. Everything is seeded: the same table and parameters give the same model.

pub mod binning;
pub mod booster;
pub mod cv;
pub mod dataset;
pub mod features;
pub mod forest;
mod grow;
mod hist;
pub mod metrics;
mod quick;
pub mod registry;
pub mod spec;
pub mod train;
pub mod tree;

pub use booster::{Booster, Importance, RoundLog};
pub use cv::{CrossValidation, cross_validate, cross_validate_until};
pub use dataset::Dataset;
pub use features::{FeatureSpec, FeatureTable, Label, Layout, Rows};
pub use forest::Forest;
pub use metrics::{Evaluation, evaluate};
pub use registry::{
    ModelMeta, ScoreDoc, ScoreRun, Scorer, Sufficiency, TrainError, score_all, train_model, train_model_until,
};
pub use spec::{ModelSpec, SpecError, parse_models};
pub use train::{Params, train, train_until};

/// Why a model cannot be trained or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A parameter out of its range.
    #[error("invalid parameter {0}")]
    Param(String),
    /// The table cannot be trained on as it is.
    #[error("{0}")]
    Data(String),
    /// Stopped on request (the daemon is shutting down).
    #[error("training was cancelled")]
    Cancelled,
}
