//! Where the analysis commands read from: a store directory (`--data`, the daemon not running
//! on it) or a running daemon (`--addr`), giving the same answers in the same types.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cxp_query::segment::Definitions;
use cxp_query::segment::defs::{self, SegmentSpec};
use cxp_store::Store;
use serde::de::DeserializeOwned;

/// `--data DIR` or `--addr URL`.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// Data directory of a store the daemon is not running on.
    #[arg(long, env = "CXP_DATA", conflicts_with = "addr")]
    data: Option<PathBuf>,
    /// A running daemon (`http://127.0.0.1:8086`).
    #[arg(long, env = "CXP_ADDR")]
    addr: Option<String>,
    /// API token for `--addr`.
    #[arg(long, env = "CXP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Named segments file (default with `--data`: `segments.toml` in the data directory, when
    /// there is one).
    #[arg(long, value_name = "FILE")]
    segments: Option<PathBuf>,
}

/// An opened source.
pub enum Source {
    /// A store read in this process, with the named segments of its files and of the API.
    Local {
        /// The store.
        store: Store,
        /// Named segments.
        specs: Vec<SegmentSpec>,
    },
    /// A daemon over HTTP.
    Remote(Remote),
}

impl SourceArgs {
    /// The data directory, when reading a store.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data.as_deref()
    }

    /// Opens the store or prepares the client.
    pub fn open(&self) -> anyhow::Result<Source> {
        match (&self.data, &self.addr) {
            (Some(dir), _) => {
                let store = super::open_store(dir, cxp_store::StoreOptions { search: true, ..super::saved_options() })
                    .context("(is `cxp serve` running on it? then ask it with --addr)")?;
                let file = self.segments.clone().or_else(|| Some(dir.join("segments.toml")).filter(|p| p.exists()));
                let files = match &file {
                    Some(f) => read_segments(f)?,
                    None => Vec::new(),
                };
                let specs = defs::merge(files, defs::stored(&store)?);
                Ok(Source::Local { store, specs })
            }
            (None, Some(addr)) => Ok(Source::Remote(Remote::new(addr, self.token.clone())?)),
            (None, None) => bail!("say where to read: --data DIR (a store) or --addr URL (a running daemon)"),
        }
    }
}

/// The definitions of a segments file, with the file named in errors.
pub fn read_segments(path: &Path) -> anyhow::Result<Vec<SegmentSpec>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    defs::parse_file(&text).with_context(|| format!("in {}", path.display()))
}

impl Source {
    /// Named segments as name -> expression (local only; the daemon has its own).
    pub fn definitions(&self) -> Definitions {
        match self {
            Source::Local { specs, .. } => defs::definitions(specs),
            Source::Remote(_) => Definitions::new(),
        }
    }

    /// Closes the store cleanly.
    pub fn close(self) -> anyhow::Result<()> {
        if let Source::Local { store, .. } = self {
            store.close()?;
        }
        Ok(())
    }
}

/// A blocking client of the daemon's JSON API.
pub struct Remote {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl Remote {
    fn new(addr: &str, token: Option<String>) -> anyhow::Result<Remote> {
        let base = if addr.contains("://") { addr.to_owned() } else { format!("http://{addr}") };
        let http = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("making the HTTP client")?;
        Ok(Remote { base: base.trim_end_matches('/').to_owned(), token, http })
    }

    fn send<T: DeserializeOwned>(&self, req: reqwest::blocking::RequestBuilder, what: &str) -> anyhow::Result<T> {
        let body = self.fetch(req, what)?;
        serde_json::from_str(&body).with_context(|| format!("the answer to {what} is not what this cxp expects"))
    }

    // The body of a successful answer; an error says what the daemon answered.
    fn fetch(&self, req: reqwest::blocking::RequestBuilder, what: &str) -> anyhow::Result<String> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().with_context(|| format!("asking {} for {what}", self.base))?;
        let status = resp.status();
        let body = resp.text().with_context(|| format!("reading the answer to {what}"))?;
        if !status.is_success() {
            let reason = serde_json::from_str::<cxp_query::api::ErrorReply>(&body).map_or(body, |e| e.error);
            bail!("{} answered {status}: {reason}", self.base);
        }
        Ok(body)
    }

    /// `GET path?query`, decoded.
    pub fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<T> {
        self.send(self.http.get(format!("{}{path}", self.base)).query(query), path)
    }

    /// `POST path` with a JSON body, decoded.
    pub fn post<T: DeserializeOwned, B: serde::Serialize>(&self, path: &str, body: &B) -> anyhow::Result<T> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body), path)
    }

    /// `GET path?query` as text (CSV).
    pub fn get_text(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<String> {
        self.fetch(self.http.get(format!("{}{path}", self.base)).query(query), path)
    }

    /// `DELETE path`, decoded.
    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.delete(format!("{}{path}", self.base)), path)
    }
}

/// A time argument: RFC 3339, nanoseconds, or a duration before now (`30d`, `12h`).
pub fn parse_when(s: &str) -> Result<i64, String> {
    if let Ok(d) = cxp_store::profile::parse_window(s) {
        return Ok(cxp_store::now_ns() - d);
    }
    super::parse_time(s)
}

/// A duration argument (`7d`, `24h`, `30m`, `10s`), ns.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    cxp_store::profile::parse_window(s)
}
