//! Trained models in the store: training from the events, versions with their metrics, and
//! scoring every customer or one.
//!
//! A version is two app-state entries: its description as JSON (`cxp.model/NAME/VERSION`:
//! parameters, training window, data sufficiency, metrics, importance) and its trees in
//! postcard (`cxp.model-trees/NAME/VERSION`), so that listing versions never reads trees. The
//! trees of the ten newest versions are kept.

use std::time::Instant;

use cxp_store::{Ck, Store, StoreError};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::booster::{Booster, Importance};
use super::cv::{CrossValidation, cross_validate_until};
use super::dataset::Dataset;
use super::features::{FeatureTable, Layout, Rows, build, layout};
use super::metrics::{Evaluation, evaluate};
use super::spec::ModelSpec;
use super::train::train_until;
use super::{Forest, ModelError};

const DAY: i64 = 86_400_000_000_000;
const META: &str = "cxp.model/";
const TREES: &str = "cxp.model-trees/";
const KEEP_TREES: u32 = 10;

/// Whether the data can support a model, and the numbers that say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sufficiency {
    /// Days of events before the cutoff.
    pub history_days: f64,
    /// Rows (customers active before the cutoff).
    pub rows: u64,
    /// Positive rows.
    pub positives: u64,
    /// Negative rows.
    pub negatives: u64,
    /// The least of each class the definition asks for.
    pub min_class_rows: u64,
    /// The least history it asks for.
    pub min_history_days: u32,
    /// What is missing, in words (empty: enough).
    pub problems: Vec<String>,
}

/// A trained version, as listed and served (`/api/v1/models/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Model name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// When it was trained, ns.
    pub trained_at: i64,
    /// Features were taken before this time, ns.
    pub cutoff: i64,
    /// Labels read events in `[cutoff, label_end)`, ns.
    pub label_end: i64,
    /// The definition it was trained with.
    pub spec: ModelSpec,
    /// Data-dependent columns.
    pub layout: Layout,
    /// Feature names, in column order.
    pub features: Vec<String>,
    /// The numbers behind the decision to train.
    pub sufficiency: Sufficiency,
    /// Rows trained on, watched by early stopping, and held out.
    pub rows_train: u64,
    /// Validation rows.
    pub rows_valid: u64,
    /// Test rows.
    pub rows_test: u64,
    /// Metrics on the held-out rows.
    pub test: Evaluation,
    /// Cross-validation on the other rows, when configured.
    pub cv: Option<CrossValidation>,
    /// Feature importance (gain).
    pub importance: Vec<Importance>,
    /// Trees kept.
    pub trees: u32,
    /// Training time of the final model, ms.
    pub train_ms: u64,
    /// Whole job (features, training, cross-validation, saving), ms.
    pub job_ms: u64,
}

/// Why a model was not trained or cannot score.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The trainer refused.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Not enough data; the numbers say what is missing.
    #[error("not enough data to train {model}: {}", .sufficiency.problems.join("; "))]
    Insufficient {
        /// The model.
        model: String,
        /// The numbers.
        sufficiency: Box<Sufficiency>,
    },
    /// No such model, or it has no trained version.
    #[error("{0}")]
    NotFound(String),
}

fn meta_key(name: &str, version: u32) -> String {
    format!("{META}{name}/{version:06}")
}

fn trees_key(name: &str, version: u32) -> String {
    format!("{TREES}{name}/{version:06}")
}

fn format_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Format(e.to_string())
}

/// Every trained version of `name`, oldest first.
pub fn versions(store: &Store, name: &str) -> Result<Vec<ModelMeta>, StoreError> {
    store
        .states(&format!("{META}{name}/"))?
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).map_err(format_err))
        .collect()
}

/// The newest version of `name`.
pub fn latest(store: &Store, name: &str) -> Result<Option<ModelMeta>, StoreError> {
    Ok(versions(store, name)?.pop())
}

/// The trees of a version.
pub fn load_trees(store: &Store, name: &str, version: u32) -> Result<Option<Booster>, StoreError> {
    match store.state(&trees_key(name, version))? {
        Some(b) => Ok(Some(postcard::from_bytes(&b).map_err(format_err)?)),
        None => Ok(None),
    }
}

/// Deals rows into test, validation and training sets, stratified by label.
fn split(y: &[u8], test: f64, valid: f64, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for class in [0u8, 1] {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        idx.shuffle(&mut rng);
        let n = idx.len() as f64;
        let (a, b) = ((n * test).round() as usize, (n * (test + valid * (1.0 - test))).round() as usize);
        te.extend_from_slice(&idx[..a]);
        va.extend_from_slice(&idx[a..b]);
        tr.extend_from_slice(&idx[b..]);
    }
    for v in [&mut tr, &mut va, &mut te] {
        v.sort_unstable();
    }
    (tr, va, te)
}

/// The training table of `spec` as of `at`: the cutoff is the label horizon before the newest
/// event (or `at`, if earlier), so that every label reads a whole horizon.
pub fn training_table(
    store: &Store,
    spec: &ModelSpec,
    at: i64,
) -> Result<(FeatureTable, Layout, Sufficiency), TrainError> {
    let Some((first, last)) = store.time_range()? else {
        return Err(TrainError::NotFound("the store has no events".into()));
    };
    let end = at.min(last.saturating_add(1));
    let cutoff = end - i64::from(spec.label.days()) * DAY;
    let layout = layout(store, &spec.features, cutoff)?;
    let table = build(store, &spec.features, &layout, cutoff, Some(&spec.label), Rows::All)?;
    let positives = table.data.positives() as u64;
    let rows = table.data.rows() as u64;
    let mut s = Sufficiency {
        history_days: (cutoff - first) as f64 / DAY as f64,
        rows,
        positives,
        negatives: rows - positives,
        min_class_rows: spec.min_class_rows,
        min_history_days: spec.min_history_days,
        problems: Vec::new(),
    };
    if s.history_days < f64::from(spec.min_history_days) {
        s.problems.push(format!(
            "{:.1} days of events before the cutoff, {} needed (the last {} days are kept for the labels)",
            s.history_days.max(0.0),
            spec.min_history_days,
            spec.label.days()
        ));
    }
    for (what, n) in [("positive", s.positives), ("negative", s.negatives)] {
        if n < spec.min_class_rows {
            s.problems.push(format!("{n} {what} customers, {} needed", spec.min_class_rows));
        }
    }
    Ok((table, layout, s))
}

/// Trains a new version of `spec` from the store's events as of `at`, saves it, and returns
/// its description. Refuses, with the numbers, when the data cannot support a model.
pub fn train_model(store: &Store, spec: &ModelSpec, at: i64) -> Result<ModelMeta, TrainError> {
    train_model_until(store, spec, at, &std::sync::atomic::AtomicBool::new(false))
}

/// [`train_model`] that stops (saving nothing) once `cancel` is set.
pub fn train_model_until(
    store: &Store,
    spec: &ModelSpec,
    at: i64,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<ModelMeta, TrainError> {
    let started = Instant::now();
    let (table, layout, sufficiency) = training_table(store, spec, at)?;
    if !sufficiency.problems.is_empty() {
        return Err(TrainError::Insufficient { model: spec.name.clone(), sufficiency: Box::new(sufficiency) });
    }
    let data = &table.data;
    let (tr, va, te) = split(&data.y, spec.test_share, spec.valid_share, spec.params.seed);
    let (train_set, valid_set, test_set) = (data.take(&tr), data.take(&va), data.take(&te));
    if test_set.positives() == 0 || test_set.positives() == test_set.rows() {
        let mut sufficiency = sufficiency;
        sufficiency.problems.push(format!(
            "the held-out {:.0}% ({} customers) lacks one of the classes: more customers or a larger test_share",
            spec.test_share * 100.0,
            test_set.rows()
        ));
        return Err(TrainError::Insufficient { model: spec.name.clone(), sufficiency: Box::new(sufficiency) });
    }
    let valid = (valid_set.positives() > 0 && valid_set.positives() < valid_set.rows()).then_some(&valid_set);
    let booster = train_until(&train_set, valid, &spec.params, cancel)?;
    let test = evaluate(&booster.predict_all(&test_set), &test_set.y);
    let cv = if spec.cv_folds >= 2 {
        let mut rest: Vec<usize> = tr.iter().chain(&va).copied().collect();
        rest.sort_unstable();
        Some(cross_validate_until(&data.take(&rest), &spec.params, spec.cv_folds as usize, cancel)?)
    } else {
        None
    };
    let version = latest(store, &spec.name)?.map_or(1, |m| m.version + 1);
    let meta = ModelMeta {
        name: spec.name.clone(),
        version,
        trained_at: cxp_store::now_ns(),
        cutoff: table.cutoff,
        label_end: table.label_end,
        spec: spec.clone(),
        layout,
        features: data.features.clone(),
        sufficiency,
        rows_train: tr.len() as u64,
        rows_valid: va.len() as u64,
        rows_test: te.len() as u64,
        test,
        cv,
        importance: booster.importance(),
        trees: booster.trees.len() as u32,
        train_ms: booster.train_ms,
        job_ms: started.elapsed().as_millis() as u64,
    };
    let mut entries = vec![
        (meta_key(&spec.name, version), Some(serde_json::to_vec(&meta).map_err(format_err)?)),
        (trees_key(&spec.name, version), Some(postcard::to_stdvec(&booster).map_err(format_err)?)),
    ];
    if version > KEEP_TREES {
        entries.push((trees_key(&spec.name, version - KEEP_TREES), None));
    }
    store.put_state(entries)?;
    Ok(meta)
}

/// A loaded version, ready to score.
#[derive(Debug, Clone)]
pub struct Scorer {
    /// Its description.
    pub meta: ModelMeta,
    /// Its trees.
    pub booster: Booster,
    forest: Forest,
}

impl Scorer {
    /// The newest version of `name` (or `version`).
    pub fn load(store: &Store, name: &str, version: Option<u32>) -> Result<Scorer, TrainError> {
        let all = versions(store, name)?;
        let meta = match version {
            Some(v) => all.into_iter().find(|m| m.version == v),
            None => all.into_iter().last(),
        }
        .ok_or_else(|| TrainError::NotFound(format!("model {name:?} has no trained version: train it first")))?;
        let booster = load_trees(store, name, meta.version)?
            .ok_or_else(|| TrainError::NotFound(format!("the trees of {name} version {} were pruned", meta.version)))?;
        let forest = Forest::compile(&booster);
        Ok(Scorer { meta, booster, forest })
    }

    /// Probabilities of every row, on `threads` threads.
    pub fn predict(&self, data: &Dataset, threads: usize) -> Vec<f32> {
        let w = data.width();
        let mut out = vec![0.0; data.rows()];
        const CHUNK: usize = 8192;
        let mut run = || {
            out.par_chunks_mut(CHUNK).zip(data.x.par_chunks(CHUNK * w)).for_each(|(o, x)| self.forest.predict(x, w, o))
        };
        match rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build() {
            Ok(pool) => pool.install(run),
            Err(_) => run(),
        }
        out
    }
}

/// What scoring every customer did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRun {
    /// Model.
    pub name: String,
    /// Version that scored.
    pub version: u32,
    /// Features as of, ns.
    pub at: i64,
    /// Customers scored.
    pub customers: u64,
    /// Building the features, ms.
    pub features_ms: u64,
    /// Scoring, ms.
    pub score_ms: u64,
}

/// Scores every customer active before `at` with the newest version of `name`, and writes the
/// scores to the store (`score.NAME` in segments) in one transaction. When the events end
/// before `at` (history imported, nothing new since), features are taken after the newest
/// event instead: scoring at a time nobody was active in would score nobody.
pub fn score_all(store: &Store, name: &str, at: i64, threads: usize) -> Result<ScoreRun, TrainError> {
    let scorer = Scorer::load(store, name, None)?;
    let at = store.time_range()?.map_or(at, |(_, last)| at.min(last.saturating_add(1)));
    let t = Instant::now();
    let table = build(store, &scorer.meta.spec.features, &scorer.meta.layout, at, None, Rows::All)?;
    let features_ms = t.elapsed().as_millis() as u64;
    let t = Instant::now();
    let probs = scorer.predict(&table.data, threads);
    let score_ms = t.elapsed().as_millis() as u64;
    let pairs: Vec<(Ck, f32)> = table.roots.iter().copied().zip(probs).collect();
    store.put_scores(name, scorer.meta.version, at, &pairs)?;
    Ok(ScoreRun {
        name: name.to_owned(),
        version: scorer.meta.version,
        at,
        customers: pairs.len() as u64,
        features_ms,
        score_ms,
    })
}

/// One customer scored now, with the features it was scored on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreDoc {
    /// Model.
    pub model: String,
    /// Version.
    pub version: u32,
    /// The person's root key.
    pub root: Ck,
    /// The probability.
    pub score: f64,
    /// Feature values (`null`: missing).
    pub features: Vec<(String, Option<f64>)>,
    /// Reading the customer's events into features, µs.
    pub features_us: u64,
    /// Walking the trees, µs.
    pub predict_us: u64,
}

impl Scorer {
    /// Scores the person with identifier `id` at `at` from their events (`None`: unknown).
    pub fn score_one(&self, store: &Store, id: &str, at: i64) -> Result<Option<ScoreDoc>, TrainError> {
        let Some(ck) = store.customer_key(id)? else { return Ok(None) };
        // As `score_all`: after the newest event when the events end before `at`.
        let at = store.time_range()?.map_or(at, |(_, last)| at.min(last.saturating_add(1)));
        let root = store.root(ck);
        let mut keys = vec![root];
        keys.extend(store.members(root).into_iter().filter(|&k| k != root));
        let t = Instant::now();
        let table = build(store, &self.meta.spec.features, &self.meta.layout, at, None, Rows::Person(&keys))?;
        let features_us = t.elapsed().as_micros() as u64;
        let Some(row) = (table.data.rows() > 0).then(|| table.data.row(0).to_vec()) else {
            return Ok(None);
        };
        let t = Instant::now();
        let score = self.booster.predict(&row);
        let predict_us = t.elapsed().as_micros() as u64;
        Ok(Some(ScoreDoc {
            model: self.meta.name.clone(),
            version: self.meta.version,
            root,
            score: f64::from(score),
            features: table
                .data
                .features
                .iter()
                .cloned()
                .zip(row.iter().map(|v| (!v.is_nan()).then_some(f64::from(*v))))
                .collect(),
            features_us,
            predict_us,
        }))
    }
}
