//! Models in the daemon: trained on a schedule (and on request), every customer scored again
//! after each training and every `rescore`, so that `score.churn` in segments, triggers and
//! journeys is never older than that.
//!
//! One job at a time on its own bounded thread pool (training takes seconds of CPU that ingest
//! must not wait for); a model that cannot be trained for lack of data is tried again after
//! an hour, and says why in its state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cxp_query::api::{ModelDoc, TrainDoc};
use cxp_query::model::{ModelSpec, ScoreRun, TrainError, score_all, train_model_until};
use cxp_store::Store;
use hashbrown::HashMap;
use tokio_util::sync::CancellationToken;

/// How the daemon runs models.
#[derive(Debug, Clone)]
pub struct ModelsOptions {
    /// Train and score on schedule (else only on request).
    pub auto: bool,
    /// Threads of a training or scoring job.
    pub threads: usize,
    /// How often the schedule is looked at.
    pub check: Duration,
}

/// What happened to a model lately.
#[derive(Debug, Clone, Default)]
struct ModelState {
    running: bool,
    last_error: Option<String>,
    last_attempt: i64,
}

/// The models of a daemon.
pub struct Models {
    store: Arc<Store>,
    specs: Vec<ModelSpec>,
    options: ModelsOptions,
    state: Mutex<HashMap<String, ModelState>>,
    // One training or scoring at a time: two would only share the same cores.
    job: tokio::sync::Mutex<()>,
    /// Feature tables built for the API at once, at most.
    pub tables: tokio::sync::Semaphore,
    // Set at shutdown: a training in progress stops at its next round.
    cancel: Arc<std::sync::atomic::AtomicBool>,
}

const HOUR: i64 = 3_600_000_000_000;

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models").field("specs", &self.specs.len()).field("options", &self.options).finish()
    }
}

/// Why a model job did not run.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The model failed or refused.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The job's task died.
    #[error("the job failed: {0}")]
    Task(String),
    /// Another model job is running.
    #[error("another model job is running; ask again when it is done")]
    Busy,
}

impl Models {
    /// Models of `specs` over `store`.
    pub fn new(store: Arc<Store>, specs: Vec<ModelSpec>, options: ModelsOptions) -> Models {
        Models {
            store,
            specs,
            options,
            state: Mutex::default(),
            job: tokio::sync::Mutex::new(()),
            tables: tokio::sync::Semaphore::new(1),
            cancel: Arc::default(),
        }
    }

    /// The definitions.
    pub fn specs(&self) -> &[ModelSpec] {
        &self.specs
    }

    /// The definition of `name`.
    pub fn spec(&self, name: &str) -> Option<&ModelSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HashMap<String, ModelState>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The document of `spec` with the schedule's next times (blocking: reads the store).
    pub fn doc(&self, spec: &ModelSpec) -> cxp_store::Result<ModelDoc> {
        let mut doc = ModelDoc::load(&self.store, spec)?;
        if self.options.auto {
            let failed = self.state().get(&spec.name).filter(|s| s.last_error.is_some()).map(|s| s.last_attempt + HOUR);
            let train = doc.latest.as_ref().map_or(0, |m| m.trained_at + spec.retrain_ns);
            doc.next_training = Some(failed.map_or(train, |f| f.max(train)));
            doc.next_scoring = doc.scores.as_ref().map(|s| s.written + spec.rescore_ns);
        }
        Ok(doc)
    }

    /// The last error of a model's scheduled job, if its last attempt failed.
    pub fn last_error(&self, name: &str) -> Option<String> {
        self.state().get(name).and_then(|s| s.last_error.clone())
    }

    /// Trains `name` as of `at` and (with `score`) scores every customer with the new version;
    /// `wait` for a job in progress to end first, else refuse ([`JobError::Busy`]).
    pub async fn train(self: &Arc<Self>, name: &str, at: i64, score: bool, wait: bool) -> Result<TrainDoc, JobError> {
        let spec = self.spec(name).cloned().ok_or_else(|| TrainError::NotFound(format!("no model {name:?}")))?;
        let _one = if wait { self.job.lock().await } else { self.job.try_lock().map_err(|_| JobError::Busy)? };
        self.state().entry(name.to_owned()).or_default().running = true;
        let (store, threads, cancel) = (self.store.clone(), self.options.threads, self.cancel.clone());
        let result = tokio::task::spawn_blocking(move || -> Result<TrainDoc, TrainError> {
            let spec = ModelSpec { params: cxp_query::model::Params { threads, ..spec.params.clone() }, ..spec };
            let model = train_model_until(&store, &spec, at, &cancel)?;
            // Scores are for now, whatever time the model was trained as of.
            let scored = if score { Some(score_all(&store, &spec.name, cxp_store::now_ns(), threads)?) } else { None };
            Ok(TrainDoc { model, scored })
        })
        .await
        .map_err(|e| JobError::Task(e.to_string()))
        .and_then(|r| r.map_err(JobError::from));
        self.finished(name, result.as_ref().err());
        result
    }

    /// Scores every customer with the newest version of `name`.
    pub async fn score(self: &Arc<Self>, name: &str) -> Result<ScoreRun, JobError> {
        let _one = self.job.lock().await;
        let (store, threads, model) = (self.store.clone(), self.options.threads, name.to_owned());
        let result = tokio::task::spawn_blocking(move || score_all(&store, &model, cxp_store::now_ns(), threads))
            .await
            .map_err(|e| JobError::Task(e.to_string()))
            .and_then(|r| r.map_err(JobError::from));
        self.finished(name, result.as_ref().err());
        result
    }

    fn finished(&self, name: &str, error: Option<&JobError>) {
        let mut state = self.state();
        let s = state.entry(name.to_owned()).or_default();
        s.running = false;
        s.last_attempt = cxp_store::now_ns();
        s.last_error = error.map(ToString::to_string);
    }

    /// What the schedule should do for `spec` now: train, score, or nothing.
    fn due(&self, spec: &ModelSpec, now: i64) -> cxp_store::Result<Option<bool>> {
        if let Some(s) = self.state().get(&spec.name)
            && (s.running || (s.last_error.is_some() && now < s.last_attempt + HOUR))
        {
            return Ok(None);
        }
        let latest = cxp_query::model::registry::latest(&self.store, &spec.name)?;
        let Some(latest) = latest else { return Ok(Some(true)) };
        if now >= latest.trained_at + spec.retrain_ns {
            return Ok(Some(true));
        }
        let scores = self.store.scores(&spec.name)?;
        let stale = scores.is_none_or(|s| s.meta.version < latest.version || now >= s.meta.written + spec.rescore_ns);
        Ok(stale.then_some(false))
    }

    /// The schedule: every `check`, trains what is due for training and scores what is due for
    /// scoring, until `cancel`.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        {
            // A training in progress stops at shutdown instead of holding it up.
            let (flag, cancel) = (self.cancel.clone(), cancel.clone());
            tokio::spawn(async move {
                cancel.cancelled().await;
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            });
        }
        if !self.options.auto {
            return;
        }
        loop {
            for spec in &self.specs {
                if cancel.is_cancelled() {
                    return;
                }
                let (this, s) = (self.clone(), spec.clone());
                let due = tokio::task::spawn_blocking(move || this.due(&s, cxp_store::now_ns())).await;
                let outcome = match due {
                    Ok(Ok(Some(true))) => self.train(&spec.name, cxp_store::now_ns(), true, true).await.map(|d| {
                        tracing::info!(model = %spec.name, version = d.model.version, auc = ?d.model.test.auc, "trained");
                    }),
                    Ok(Ok(Some(false))) => self.score(&spec.name).await.map(|r| {
                        tracing::info!(model = %spec.name, customers = r.customers, "scored");
                    }),
                    Ok(Ok(None)) => Ok(()),
                    Ok(Err(e)) => Err(JobError::Train(e.into())),
                    Err(e) => Err(JobError::Task(e.to_string())),
                };
                if let Err(e) = outcome {
                    tracing::info!(model = %spec.name, error = %e, "model job did not run; trying again in an hour");
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.options.check) => {}
            }
        }
    }
}
