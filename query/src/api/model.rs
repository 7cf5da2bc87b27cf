//! Models under `/api/v1/models`: definitions, trained versions, scores, training runs.

use serde::{Deserialize, Serialize};

use crate::model::{ModelMeta, ModelSpec, ScoreRun};

/// A trained version in a list: what tells versions apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    /// Version.
    pub version: u32,
    /// When it was trained, ns.
    pub trained_at: i64,
    /// Features were taken before this time, ns.
    pub cutoff: i64,
    /// Test AUC.
    pub auc: Option<f64>,
    /// Test log loss.
    pub log_loss: f64,
    /// Rows.
    pub rows: u64,
    /// Trees.
    pub trees: u32,
}

impl From<&ModelMeta> for VersionSummary {
    fn from(m: &ModelMeta) -> Self {
        VersionSummary {
            version: m.version,
            trained_at: m.trained_at,
            cutoff: m.cutoff,
            auc: m.test.auc,
            log_loss: m.test.log_loss,
            rows: m.sufficiency.rows,
            trees: m.trees,
        }
    }
}

/// `GET /api/v1/models` (each) and `/api/v1/models/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDoc {
    /// The definition in force.
    pub spec: ModelSpec,
    /// Every trained version, oldest first.
    pub versions: Vec<VersionSummary>,
    /// The newest version in full.
    pub latest: Option<ModelMeta>,
    /// The scores in the store.
    pub scores: Option<cxp_store::ScoreMeta>,
    /// When the daemon will train it next, ns (only from a daemon).
    pub next_training: Option<i64>,
    /// When the daemon will score everyone next, ns (only from a daemon).
    pub next_scoring: Option<i64>,
}

impl ModelDoc {
    /// The document of `spec` from the store.
    pub fn load(store: &cxp_store::Store, spec: &ModelSpec) -> cxp_store::Result<ModelDoc> {
        let versions = crate::model::registry::versions(store, &spec.name)?;
        Ok(ModelDoc {
            spec: spec.clone(),
            versions: versions.iter().map(VersionSummary::from).collect(),
            latest: versions.into_iter().last(),
            scores: store.scores(&spec.name)?.map(|s| s.meta.clone()),
            next_training: None,
            next_scoring: None,
        })
    }
}

/// `POST /api/v1/models/{name}/train`: the new version and the scores it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainDoc {
    /// The new version.
    pub model: ModelMeta,
    /// Every customer scored with it.
    pub scored: Option<ScoreRun>,
}
