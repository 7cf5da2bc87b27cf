//! `cxp model`: list, show, train, features, score.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use cxp_query::api::{ModelDoc, TrainDoc};
use cxp_query::model::registry::{Scorer, training_table};
use cxp_query::model::{ModelMeta, ModelSpec, ScoreDoc, TrainError, parse_models, score_all, train_model};

use super::source::{Source, SourceArgs, parse_when};

/// `cxp model ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The models defined, with their newest version and scores.
    List {
        #[command(flatten)]
        source: ModelSource,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A model: data sufficiency, metrics on held-out customers, cross-validation,
    /// calibration, feature importance and versions.
    Show {
        #[command(flatten)]
        source: ModelSource,
        /// Model name (`churn`, `purchase`, or one of the models file).
        name: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Trains a new version now, then scores every customer with it.
    Train {
        #[command(flatten)]
        source: ModelSource,
        /// Model name.
        name: String,
        /// Train as of this time (RFC 3339, ns, or a duration before now); default now. The
        /// cutoff is the label's horizon before it.
        #[arg(long, value_parser = parse_when)]
        at: Option<i64>,
        /// Do not score the customers afterwards.
        #[arg(long)]
        no_score: bool,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Writes the exact table `train --at` learns from as CSV (id, features, label), to check
    /// a model with another tool.
    Features {
        #[command(flatten)]
        source: ModelSource,
        /// Model name.
        name: String,
        /// As `train --at`.
        #[arg(long, value_parser = parse_when)]
        at: Option<i64>,
        /// Output file (`-`: standard output).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// One customer's score now, from their events, with the features it was computed on.
    Score {
        #[command(flatten)]
        source: ModelSource,
        /// Model name.
        name: String,
        /// Any identifier of the customer.
        customer: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A source and the models file.
#[derive(Debug, clap::Args)]
pub struct ModelSource {
    #[command(flatten)]
    source: SourceArgs,
    /// Models file (default with `--data`: `models.toml` in the data directory, when there is
    /// one); `churn` and `purchase` are defined without it.
    #[arg(long, value_name = "FILE")]
    models: Option<PathBuf>,
}

impl ModelSource {
    fn specs(&self) -> anyhow::Result<Vec<ModelSpec>> {
        let file = self.models.clone().or_else(|| self.source.data_dir().map(|d| d.join("models.toml")));
        match file {
            Some(f) if f.exists() || self.models.is_some() => read_models(&f),
            _ => Ok(ModelSpec::defaults()),
        }
    }
}

/// The definitions of a models file over the defaults, with the file named in errors.
pub fn read_models(path: &Path) -> anyhow::Result<Vec<ModelSpec>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_models(&text).with_context(|| format!("in {}", path.display()))
}

fn find(specs: &[ModelSpec], name: &str) -> anyhow::Result<ModelSpec> {
    specs.iter().find(|s| s.name == name).cloned().with_context(|| {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        format!("no model {name:?} (defined: {})", names.join(", "))
    })
}

/// A refusal for lack of data says what is missing; other errors pass through.
fn train_error(e: TrainError) -> anyhow::Error {
    match e {
        TrainError::Insufficient { model, sufficiency } => anyhow::anyhow!(
            "not training {model}: {}\n  (history {:.1} days, {} customers: {} positive, {} negative)",
            sufficiency.problems.join("; "),
            sufficiency.history_days.max(0.0),
            sufficiency.rows,
            sufficiency.positives,
            sufficiency.negatives
        ),
        e => e.into(),
    }
}

/// Runs `cxp model`.
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { source, json } => {
            let src = source.source.open()?;
            let docs: Vec<ModelDoc> = match &src {
                Source::Local { store, .. } => {
                    source.specs()?.iter().map(|s| ModelDoc::load(store, s)).collect::<Result<_, _>>()?
                }
                Source::Remote(r) => r.get("/api/v1/models", &[])?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&docs)?)?;
            } else {
                crate::outln!(
                    "{:<14} {:<22} {:>7} {:>7} {:>10}  {}",
                    "model",
                    "label",
                    "version",
                    "AUC",
                    "scored",
                    "trained"
                )?;
                for d in &docs {
                    let (v, auc, trained) = match &d.latest {
                        Some(m) => (m.version.to_string(), fmt_auc(m.test.auc), super::format_time(m.trained_at)),
                        None => ("-".into(), "-".into(), "never".into()),
                    };
                    let scored = d.scores.as_ref().map_or("-".into(), |s| s.customers.to_string());
                    crate::outln!(
                        "{:<14} {:<22} {v:>7} {auc:>7} {scored:>10}  {trained}",
                        d.spec.name,
                        label(&d.spec)
                    )?;
                }
            }
            src.close()?;
        }
        Command::Show { source, name, json } => {
            let src = source.source.open()?;
            let doc: ModelDoc = match &src {
                Source::Local { store, .. } => ModelDoc::load(store, &find(&source.specs()?, &name)?)?,
                Source::Remote(r) => r.get(&format!("/api/v1/models/{name}"), &[])?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
            } else {
                print_doc(&doc)?;
            }
            src.close()?;
        }
        Command::Train { source, name, at, no_score, json } => {
            let src = source.source.open()?;
            let at = at.unwrap_or_else(cxp_store::now_ns);
            let doc: TrainDoc = match &src {
                Source::Local { store, .. } => {
                    let spec = find(&source.specs()?, &name)?;
                    let model = train_model(store, &spec, at).map_err(train_error)?;
                    let threads = spec.params.threads;
                    // Scores are for now, whatever time the model was trained as of.
                    let now = cxp_store::now_ns();
                    let scored =
                        if no_score { None } else { Some(score_all(store, &name, now, threads).map_err(train_error)?) };
                    TrainDoc { model, scored }
                }
                Source::Remote(r) => r.post(
                    &format!("/api/v1/models/{name}/train"),
                    &serde_json::json!({ "at": at, "score": !no_score }),
                )?,
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
            } else {
                print_meta(&doc.model)?;
                if let Some(s) = &doc.scored {
                    crate::outln!(
                        "scored {} customers with version {} (features {} ms, scoring {} ms)",
                        s.customers,
                        s.version,
                        s.features_ms,
                        s.score_ms
                    )?;
                }
            }
            src.close()?;
        }
        Command::Features { source, name, at, out } => {
            let src = source.source.open()?;
            let at = at.unwrap_or_else(cxp_store::now_ns);
            let csv: String = match &src {
                Source::Local { store, .. } => {
                    let spec = find(&source.specs()?, &name)?;
                    let (table, _, s) = training_table(store, &spec, at).map_err(train_error)?;
                    eprintln!(
                        "{} customers ({} positive) with features before {} and labels up to {}",
                        s.rows,
                        s.positives,
                        super::format_time(table.cutoff),
                        super::format_time(table.label_end)
                    );
                    let mut buf = Vec::new();
                    table.data.write_csv(Some(&table.ids(store)), &mut buf)?;
                    String::from_utf8(buf).context("CSV is UTF-8")?
                }
                Source::Remote(r) => {
                    r.get_text(&format!("/api/v1/models/{name}/features"), &[("at", at.to_string())])?
                }
            };
            if out.as_os_str() == "-" {
                crate::outln!("{}", csv.trim_end())?;
            } else {
                let mut f = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
                f.write_all(csv.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
            }
            src.close()?;
        }
        Command::Score { source, name, customer, json } => {
            let src = source.source.open()?;
            let doc: ScoreDoc = match &src {
                Source::Local { store, .. } => {
                    find(&source.specs()?, &name)?;
                    let scorer = Scorer::load(store, &name, None).map_err(train_error)?;
                    match scorer.score_one(store, &customer, cxp_store::now_ns()).map_err(train_error)? {
                        Some(d) => d,
                        None => bail!("no customer {customer:?} with events"),
                    }
                }
                Source::Remote(r) => {
                    r.get(&format!("/api/v1/models/{name}/score"), &[("customer", customer.clone())])?
                }
            };
            if json {
                crate::outln!("{}", serde_json::to_string_pretty(&doc)?)?;
            } else {
                crate::outln!(
                    "{customer}: {} = {:.4} (version {}; features {} µs, trees {} µs)",
                    doc.model,
                    doc.score,
                    doc.version,
                    doc.features_us,
                    doc.predict_us
                )?;
                for (f, v) in &doc.features {
                    crate::outln!("  {f:<24} {}", v.map_or("missing".into(), |v| format!("{v}")))?;
                }
            }
            src.close()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_auc(a: Option<f64>) -> String {
    a.map_or("-".into(), |a| format!("{a:.3}"))
}

fn label(spec: &ModelSpec) -> String {
    match &spec.label {
        cxp_query::model::Label::Churn { days } => format!("no event in {days}d"),
        cxp_query::model::Label::Event { event, days } => format!("{event} in {days}d"),
    }
}

fn print_doc(doc: &ModelDoc) -> anyhow::Result<()> {
    crate::outln!(
        "model {} ({}), retrained every {} days",
        doc.spec.name,
        label(&doc.spec),
        doc.spec.retrain_ns / 86_400_000_000_000
    )?;
    match &doc.latest {
        Some(m) => print_meta(m)?,
        None => crate::outln!("not trained yet: cxp model train {}", doc.spec.name)?,
    }
    if let Some(s) = &doc.scores {
        crate::outln!("scores: {} customers by version {} as of {}", s.customers, s.version, super::format_time(s.at))?;
    }
    if doc.versions.len() > 1 {
        crate::outln!("versions:")?;
        for v in doc.versions.iter().rev() {
            crate::outln!(
                "  {:>4}  AUC {}  {} rows  {} trees  trained {}",
                v.version,
                fmt_auc(v.auc),
                v.rows,
                v.trees,
                super::format_time(v.trained_at)
            )?;
        }
    }
    Ok(())
}

fn print_meta(m: &ModelMeta) -> anyhow::Result<()> {
    let s = &m.sufficiency;
    crate::outln!(
        "version {} trained {} in {} ms ({} trees); features before {}, labels to {}",
        m.version,
        super::format_time(m.trained_at),
        m.job_ms,
        m.trees,
        super::format_time(m.cutoff),
        super::format_time(m.label_end)
    )?;
    crate::outln!(
        "data: {:.0} days of history, {} customers ({} positive, {} negative); {} train / {} early-stopping / {} test",
        s.history_days,
        s.rows,
        s.positives,
        s.negatives,
        m.rows_train,
        m.rows_valid,
        m.rows_test
    )?;
    let t = &m.test;
    crate::outln!(
        "test: AUC {}  log loss {:.4}  accuracy {:.3}  precision {}  recall {} (at 0.5)",
        fmt_auc(t.auc),
        t.log_loss,
        t.at_half.accuracy,
        t.at_half.precision.map_or("-".into(), |p| format!("{p:.3}")),
        t.at_half.recall.map_or("-".into(), |r| format!("{r:.3}"))
    )?;
    if let Some(cv) = &m.cv {
        crate::outln!("{}-fold cross-validation: AUC {:.3} ± {:.3}", cv.folds.len(), cv.auc_mean, cv.auc_sd)?;
    }
    crate::outln!("calibration (predicted -> observed):")?;
    for b in &t.calibration {
        crate::outln!(
            "  {:>3.0}-{:>3.0}% {:>8} customers  {:>6.1}% -> {:>6.1}%",
            b.low * 100.0,
            b.high * 100.0,
            b.rows,
            b.predicted * 100.0,
            b.observed * 100.0
        )?;
    }
    crate::outln!("feature importance (gain):")?;
    for i in m.importance.iter().take(10) {
        crate::outln!("  {:<24} {:>5.1}%  ({} splits)", i.feature, i.share * 100.0, i.splits)?;
    }
    Ok(())
}
