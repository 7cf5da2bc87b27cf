//! What the demo did, read back from the daemon's API: events, customers, segment sizes,
//! messages by channel, experiments, models.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

/// The daemon's API, as the demo reads it.
pub struct Api {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Api {
    /// For the daemon at `addr`.
    pub fn new(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<Api> {
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(600)).build()?;
        Ok(Api { http, base: format!("http://{addr}"), token: token.to_owned() })
    }

    fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .with_context(|| path.to_owned())?;
        let status = r.status();
        let body: serde_json::Value = r.json().with_context(|| path.to_owned())?;
        anyhow::ensure!(status.is_success(), "{path}: {status}: {body}");
        Ok(body)
    }

    /// `POST path`, the reply as JSON.
    pub fn post(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .with_context(|| path.to_owned())?;
        let status = r.status();
        let body: serde_json::Value = r.json().with_context(|| path.to_owned())?;
        anyhow::ensure!(status.is_success(), "{}", body["error"].as_str().unwrap_or(&body.to_string()));
        Ok(body)
    }

    /// Reads everything the summary tells.
    pub fn summary(&self, history: u64, live: u64, failed: u64, took: Duration) -> anyhow::Result<Summary> {
        let status = self.get("/api/v1/status")?;
        let segments = self.get("/api/v1/segments")?;
        let messages = self.get("/api/v1/messages")?;
        let experiments = self.get("/api/v1/experiments")?;
        let models = self.get("/api/v1/models")?;
        let journeys = self.get("/api/v1/journeys")?;
        let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
        let mut exposures = BTreeMap::new();
        for e in list(&experiments) {
            let name = e["experiment"]["name"].as_str().unwrap_or_default().to_owned();
            let results = self.get(&format!("/api/v1/experiments/{name}/results"))?;
            let variants: BTreeMap<String, u64> = list(&results["variants"])
                .iter()
                .map(|v| (v["name"].as_str().unwrap_or_default().to_owned(), n(&v["exposed"])))
                .collect();
            exposures.insert(name, variants);
        }
        Ok(Summary {
            seconds: took.as_secs_f64(),
            history_events: history,
            live_events: live,
            failed_requests: failed,
            events_stored: n(&status["events_stored"]),
            customers: n(&status["customers"]),
            rejects: n(&status["rejects_total"]),
            segments: list(&segments)
                .iter()
                .map(|s| (s["name"].as_str().unwrap_or_default().to_owned(), n(&s["members"])))
                .collect(),
            messages: list(&messages["channels"])
                .iter()
                .map(|c| (c["channel"].as_str().unwrap_or_default().to_owned(), n(&c["sent"])))
                .collect(),
            journeys: list(&journeys)
                .iter()
                .map(|j| (j["name"].as_str().unwrap_or_default().to_owned(), n(&j["stats"]["entered"])))
                .collect(),
            experiments: exposures,
            models: list(&models)
                .iter()
                .filter_map(|m| {
                    let l = m.get("latest").filter(|l| !l.is_null())?;
                    Some((
                        m["spec"]["name"].as_str().unwrap_or_default().to_owned(),
                        l["test"]["auc"].as_f64().unwrap_or(f64::NAN),
                    ))
                })
                .collect(),
        })
    }
}

/// What happened in a demo.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Length of the live part, s.
    pub seconds: f64,
    /// Events of history loaded.
    pub history_events: u64,
    /// Live events acknowledged.
    pub live_events: u64,
    /// Live writes that failed.
    pub failed_requests: u64,
    /// Events in the store.
    pub events_stored: u64,
    /// Customer keys.
    pub customers: u64,
    /// Lines and events refused.
    pub rejects: u64,
    /// Members per segment.
    pub segments: BTreeMap<String, u64>,
    /// Messages sent per channel.
    pub messages: BTreeMap<String, u64>,
    /// Customers who entered each journey.
    pub journeys: BTreeMap<String, u64>,
    /// Exposures per variant per experiment.
    pub experiments: BTreeMap<String, BTreeMap<String, u64>>,
    /// Trained models with their test AUC.
    pub models: BTreeMap<String, f64>,
}

impl Summary {
    /// For people.
    pub fn text(&self) -> String {
        let join = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
        let mut out = vec![
            format!(
                "events     {} stored ({} history, {} live in {:.0} s = {:.0}/s), {} refused",
                self.events_stored,
                self.history_events,
                self.live_events,
                self.seconds,
                self.live_events as f64 / self.seconds.max(1e-9),
                self.rejects
            ),
            format!("customers  {}", self.customers),
            format!("segments   {}", join(&self.segments)),
            format!("journeys   entered: {}", join(&self.journeys)),
            format!("messages   sent: {}", join(&self.messages)),
        ];
        for (name, v) in &self.experiments {
            out.push(format!("experiment {name}: exposed {}", join(v)));
        }
        out.push(format!(
            "models     {}",
            self.models.iter().map(|(k, a)| format!("{k} (test AUC {a:.3})")).collect::<Vec<_>>().join(", ")
        ));
        if self.failed_requests > 0 {
            out.push(format!("warning    {} live writes failed", self.failed_requests));
        }
        out.join("\n")
    }
}
