//! Model definitions: what a model predicts, from which features, trained how and how often.
//!
//! Two ship with cxp and need no file: `churn` (no event in the 30 days after the cutoff) and
//! `purchase` (an order in the next 7 days). A `models.toml` can change them or add others:
//!
//! ```toml
//! [churn]
//! label = { kind = "churn", days = 30 }
//! retrain = "30d"                     # train again this long after the last training
//! rescore = "1d"                      # score every customer again this often
//! params = { rounds = 200, learning_rate = 0.1, max_depth = 6, early_stopping = 20 }
//!
//! [repeat_buyer]
//! label = { kind = "event", event = "order", days = 30 }
//! features = { events = ["page_view", "order"], windows_days = [7, 30] }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::features::{FeatureSpec, Label};
use super::train::Params;

/// One model's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Name: the score's name in segments (`score.churn`).
    pub name: String,
    /// What is predicted.
    pub label: Label,
    /// The features.
    pub features: FeatureSpec,
    /// Training parameters.
    pub params: Params,
    /// Folds of the cross-validation run at each training (0: none).
    pub cv_folds: u32,
    /// Share of rows held out to report the metrics on.
    pub test_share: f64,
    /// Share of the remaining rows early stopping watches.
    pub valid_share: f64,
    /// Train again this long after the last training, ns.
    pub retrain_ns: i64,
    /// Score every customer again this often, ns.
    pub rescore_ns: i64,
    /// Fewest positive and negative rows to train on.
    pub min_class_rows: u64,
    /// Fewest days of history before the cutoff.
    pub min_history_days: u32,
}

/// Why definitions are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not TOML, or keys of the wrong type.
    #[error("models file: {0}")]
    Syntax(String),
    /// A value that does not make sense.
    #[error("model {model:?}: {why}")]
    Invalid {
        /// The model.
        model: String,
        /// What is wrong.
        why: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    label: Option<Label>,
    #[serde(default)]
    features: Option<FeatureSpec>,
    #[serde(default)]
    params: Option<Params>,
    cv_folds: Option<u32>,
    test_share: Option<f64>,
    valid_share: Option<f64>,
    retrain: Option<String>,
    rescore: Option<String>,
    min_class_rows: Option<u64>,
    min_history_days: Option<u32>,
}

const DAY: i64 = 86_400_000_000_000;

impl ModelSpec {
    /// A model of `label` with every default: XGBoost's parameters but a learning rate of 0.1
    /// with early stopping (better models for the same time), monthly training, daily scores.
    pub fn new(name: &str, label: Label) -> ModelSpec {
        ModelSpec {
            name: name.to_owned(),
            label,
            features: FeatureSpec::default(),
            params: Params { learning_rate: 0.1, early_stopping: Some(20), ..Params::default() },
            cv_folds: 3,
            test_share: 0.2,
            valid_share: 0.1,
            retrain_ns: 30 * DAY,
            rescore_ns: DAY,
            min_class_rows: 50,
            min_history_days: 30,
        }
    }

    /// The models that ship with cxp.
    pub fn defaults() -> Vec<ModelSpec> {
        vec![
            ModelSpec::new("churn", Label::Churn { days: 30 }),
            ModelSpec::new("purchase", Label::Event { event: "order".into(), days: 7 }),
        ]
    }
}

fn duration(model: &str, key: &str, text: &str) -> Result<i64, SpecError> {
    cxp_store::profile::parse_window(text)
        .map_err(|e| SpecError::Invalid { model: model.into(), why: format!("{key} = {text:?}: {e}") })
}

/// The definitions of a `models.toml` over the defaults: a table named like a default changes
/// it (keys not given keep their defaults), any other adds a model (then `label` is required).
pub fn parse_models(text: &str) -> Result<Vec<ModelSpec>, SpecError> {
    let raw: BTreeMap<String, RawSpec> = toml::from_str(text).map_err(|e| SpecError::Syntax(e.to_string()))?;
    let mut out = ModelSpec::defaults();
    for (name, r) in raw {
        let bad = |why: String| SpecError::Invalid { model: name.clone(), why };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("a name is letters, digits and '_' (it is used as score.NAME)".into()));
        }
        let idx = match out.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                let label = r.label.clone().ok_or_else(|| bad("label is required for a new model".into()))?;
                out.push(ModelSpec::new(&name, label));
                out.len() - 1
            }
        };
        let s = &mut out[idx];
        if let Some(l) = r.label {
            s.label = l;
        }
        if let Some(f) = r.features {
            s.features = f;
        }
        if let Some(p) = r.params {
            s.params = p;
        }
        s.params.check().map_err(|e| bad(e.to_string()))?;
        if let Some(k) = r.cv_folds {
            if k == 1 || k > 20 {
                return Err(bad(format!("cv_folds = {k}: 0 (none) or 2 to 20")));
            }
            s.cv_folds = k;
        }
        // Metrics are reported on the held-out rows: there must be some.
        for (key, v, slot, low) in [
            ("test_share", r.test_share, &mut s.test_share, 0.05),
            ("valid_share", r.valid_share, &mut s.valid_share, 0.0),
        ] {
            if let Some(v) = v {
                if !(low..0.5).contains(&v) {
                    return Err(bad(format!("{key} = {v}: between {low} and 0.5")));
                }
                *slot = v;
            }
        }
        if let Some(t) = &r.retrain {
            s.retrain_ns = duration(&name, "retrain", t)?;
        }
        if let Some(t) = &r.rescore {
            s.rescore_ns = duration(&name, "rescore", t)?;
        }
        if let Some(m) = r.min_class_rows {
            // Enough of each class that the held-out rows have both.
            s.min_class_rows = m.max(20);
        }
        if let Some(d) = r.min_history_days {
            s.min_history_days = d;
        }
        if s.label.days() == 0 {
            return Err(bad("the label's days must be at least 1".into()));
        }
        if s.features.windows_days.is_empty() || s.features.windows_days.contains(&0) {
            return Err(bad("features.windows_days: at least one window, none of 0 days".into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let specs = parse_models(
            r#"
[churn]
retrain = "7d"
params = { rounds = 50 }
[repeat_buyer]
label = { kind = "event", event = "order", days = 30 }
"#,
        )
        .expect("valid");
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[0].retrain_ns, 7 * DAY);
        assert_eq!(specs[0].params.rounds, 50);
        assert_eq!(specs[0].label, Label::Churn { days: 30 });
        assert_eq!(specs[2].label, Label::Event { event: "order".into(), days: 30 });
        let err = parse_models("[x]\nretrain = \"7d\"\n").expect_err("no label");
        assert_eq!(err.to_string(), "model \"x\": label is required for a new model");
        let err = parse_models("[churn]\nparams = { max_depth = 0 }\n").expect_err("bad depth");
        assert!(err.to_string().contains("max_depth"), "{err}");
        let err = parse_models("[churn]\nsize = 3\n").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
