//! `cxp serve`: opens the store, binds the listeners, serves until SIGINT/SIGTERM (or the
//! cancellation token), then stops accepting, finishes in-flight batches and closes the store
//! (a final profile checkpoint included).

use std::sync::Arc;

use cxp_store::dict::{Dictionary, DictionaryChoice};
use cxp_store::{Store, StoreOptions};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::Audit;
use crate::auth::Tokens;
use crate::config::Resolved;
use crate::dedup::Dedup;
use crate::http::{AppState, router};
use crate::ingest::Ingest;
use crate::live::{LiveOptions, LiveSegments};
use crate::metrics::Metrics;

/// Why the daemon could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store.
    #[error("store: {0}")]
    Store(#[from] cxp_store::StoreError),
    /// Tokens.
    #[error("tokens: {0}")]
    Auth(#[from] crate::auth::AuthError),
    /// Binding a listener or another I/O failure.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The segments file, or the definitions kept in the store.
    #[error("segments: {0}")]
    Segments(String),
    /// The models or experiments file.
    #[error("{0}")]
    Definitions(String),
    /// The dictionary file.
    #[error("dictionary {path}: {message}")]
    Dictionary {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// How long a shutdown waits for open requests and connections.
const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// Where a running daemon listens (ports resolved when 0 was asked for).
#[derive(Debug, Clone, Default)]
pub struct Bound {
    /// HTTP.
    pub http: Option<std::net::SocketAddr>,
    /// Line protocol over TCP.
    pub lp_tcp: Option<std::net::SocketAddr>,
    /// Line protocol over UDP.
    pub lp_udp: Option<std::net::SocketAddr>,
}

fn dictionary(choice: &str) -> Result<DictionaryChoice, ServeError> {
    Ok(match choice {
        "default" => DictionaryChoice::Use(Arc::new(Dictionary::builtin())),
        "none" => DictionaryChoice::Disable,
        path => {
            let text = std::fs::read_to_string(path).map_err(io(format!("reading dictionary {path}")))?;
            let dict = Dictionary::parse(&text).map_err(|errors| ServeError::Dictionary {
                path: path.to_owned(),
                message: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            })?;
            DictionaryChoice::Use(Arc::new(dict))
        }
    })
}

/// Runs the daemon until `cancel` fires or a signal arrives; `on_bound` is told where it
/// listens once every listener is up.
pub async fn run(config: Resolved, cancel: CancellationToken, on_bound: impl FnOnce(&Bound)) -> Result<(), ServeError> {
    let data = config.data.clone();
    std::fs::create_dir_all(&data).map_err(io(format!("creating {}", data.display())))?;
    let tokens = Arc::new(Tokens::open(&data)?);
    if let Some(path) = tokens.bootstrap(&data)? {
        tracing::info!(file = %path.display(), "created the first admin token");
    }
    let audit = Arc::new(Audit::open(&data).map_err(io("opening the audit log"))?);
    let options = StoreOptions {
        dictionary: dictionary(&config.config.store.dictionary)?,
        search: config.config.store.search,
        cache_bytes: config.config.store.cache_bytes,
        suppression: config.config.privacy.suppression,
        ..StoreOptions::default()
    };
    let store = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || Store::open(&data, options))
            .await
            .map_err(|e| io("opening the store")(std::io::Error::other(e.to_string())))??
    };
    let store = Arc::new(store);
    let pii: hashbrown::HashSet<String> = store
        .dictionary()
        .map(|d| d.fields().iter().filter(|f| f.pii).map(|f| f.name.clone()).collect())
        .unwrap_or_default();
    let dedup = Arc::new(Dedup::new(config.config.ingest.dedup_ids));
    {
        let (store, dedup, window) = (store.clone(), dedup.clone(), config.dedup_rebuild);
        let loaded = tokio::task::spawn_blocking(move || crate::dedup_reload::reload(&store, &dedup, window)).await;
        match loaded {
            Ok(Ok(n)) => tracing::info!(ids = n, "deduplication window reloaded"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not reload the deduplication window"),
            Err(e) => tracing::warn!(error = %e, "could not reload the deduplication window"),
        }
    }
    let metrics = Arc::new(Metrics::default());
    let live = Arc::new(open_live(&config, &store, &metrics)?);
    let models = Arc::new(open_models(&config, &store)?);
    let mut experiments = open_experiments(&config)?;
    let recommender =
        crate::recommend::Recommender::start(store.clone(), config.config.recommend.clone(), cancel.clone())
            .map_err(io("starting the recommendation thread"))?;
    let automation = open_automation(&config, &store, &live, &recommender)?;
    // Journeys' named splits are experiments too (unless the experiments file defines them).
    for e in cxp_query::automation::def::split_experiments(automation.definitions()) {
        if !experiments.iter().any(|x| x.name == e.name) {
            experiments.push(e);
        }
    }
    let experiments = Arc::new(experiments);
    let ingest = Arc::new(Ingest::new(store.clone(), config.config.ingest.max_in_flight, metrics));
    let config = Arc::new(config);
    let tracker = TaskTracker::new();
    let mut bound = Bound::default();

    if let Some(addr) = config.lp_tcp {
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(io(format!("binding line protocol TCP {addr}")))?;
        bound.lp_tcp = listener.local_addr().ok();
        let batch = config.config.ingest.tcp_batch_bytes;
        tracker.spawn(crate::lp_tcp::serve(
            listener,
            ingest.clone(),
            config.tcp_precision,
            batch,
            cancel.clone(),
            tracker.clone(),
        ));
    }
    if let Some(addr) = config.lp_udp {
        let socket =
            tokio::net::UdpSocket::bind(addr).await.map_err(io(format!("binding line protocol UDP {addr}")))?;
        bound.lp_udp = socket.local_addr().ok();
        tracker.spawn(crate::lp_udp::serve(
            socket,
            ingest.clone(),
            config.udp_precision,
            cancel.clone(),
            tracker.clone(),
        ));
    }
    let http = match config.http {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(io(format!("binding HTTP {addr}")))?;
            bound.http = listener.local_addr().ok();
            Some(listener)
        }
        None => None,
    };
    let exposed = |a: Option<std::net::SocketAddr>| a.is_some_and(|a| !a.ip().is_loopback());
    if !config.ingest_auth && exposed(bound.http) {
        tracing::warn!("ingest takes events without a token (auth.ingest = \"open\") on a non-loopback address");
    }
    if exposed(bound.lp_tcp) || exposed(bound.lp_udp) {
        tracing::warn!("line protocol over TCP/UDP has no authentication and listens on a non-loopback address");
    }
    tracing::info!(http = ?bound.http, lp_tcp = ?bound.lp_tcp, lp_udp = ?bound.lp_udp, data = %data.display(), "cxp serve is listening");
    on_bound(&bound);

    // A signal starts a graceful stop; a second one ends the process at once (an operator who
    // presses Ctrl-C twice means it). Acknowledged events are durable either way.
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("signal received: shutting down (again to stop at once)");
            cancel.cancel();
            wait_for_signal().await;
            tracing::warn!("second signal: stopping now");
            std::process::exit(130);
        });
    }
    // An erasure that could not finish (at open, or in a request) keeps its person hidden and
    // is retried every minute until it does.
    {
        let (store, cancel) = (ingest.store().clone(), cancel.clone());
        tracker.spawn(async move {
            loop {
                if store.erasures_pending() {
                    let s = store.clone();
                    match tokio::task::spawn_blocking(move || s.finish_erasures()).await {
                        Ok(Ok(())) => tracing::info!("unfinished erasures are finished"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "an erasure is unfinished; retrying in a minute"),
                        Err(e) => tracing::warn!(error = %e, "finishing erasures failed"),
                    }
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                }
            }
        });
    }
    tracker.spawn(live.clone().run(cancel.clone()));
    tracker.spawn(models.clone().run(cancel.clone()));
    if let Some(listener) = http {
        let state = AppState {
            ingest: ingest.clone(),
            tokens,
            audit,
            dedup,
            config: config.clone(),
            pii: Arc::new(pii),
            stats_cache: Arc::default(),
            live: live.clone(),
            models: models.clone(),
            experiments,
            recommender,
            automation: automation.clone(),
        };
        let app = router(state);
        let shutdown = cancel.clone();
        let ingest2 = ingest.clone();
        tracker.spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    shutdown.cancelled().await;
                    ingest2.stop();
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the HTTP server stopped");
            }
        });
    }
    cancel.cancelled().await;
    automation.stop();
    ingest.stop();
    tracker.close();
    // In-flight batches finish; a client that never finishes its request does not hold the
    // daemon up for more than the deadline.
    if tokio::time::timeout(DRAIN_DEADLINE, tracker.wait()).await.is_err() {
        tracing::warn!(deadline = ?DRAIN_DEADLINE, "requests still open at the shutdown deadline were dropped");
    }
    drop(ingest);
    drop(live);
    drop(models);
    drop(automation);
    // Blocking work started by a request whose client went away may still hold the store
    // for a moment: wait for it, then close (which writes the last profile checkpoint).
    let mut store = store;
    for _ in 0..100 {
        match Arc::try_unwrap(store) {
            Ok(only) => {
                tokio::task::spawn_blocking(move || only.close())
                    .await
                    .map_err(|e| io("closing the store")(std::io::Error::other(e.to_string())))??;
                tracing::info!("stopped");
                return Ok(());
            }
            Err(shared) => {
                store = shared;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    tracing::warn!("the store is still in use after shutdown; it closes when the last user drops it");
    tracing::info!("stopped");
    Ok(())
}

// The segments file (configured, or `segments.toml` in the data directory) and the
// definitions kept in the store; a file that does not parse stops the start, saying where.
fn open_live(config: &Resolved, store: &Arc<Store>, metrics: &Arc<Metrics>) -> Result<LiveSegments, ServeError> {
    let c = &config.config.segments;
    let file = if c.file.is_empty() {
        Some(config.data.join("segments.toml")).filter(|p| p.exists())
    } else {
        Some(std::path::PathBuf::from(&c.file))
    };
    let files = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(io(format!("reading segments {}", path.display())))?;
            cxp_query::segment::defs::parse_file(&text)
                .map_err(|e| ServeError::Segments(format!("{}: {e}", path.display())))?
        }
        None => Vec::new(),
    };
    let options = LiveOptions {
        refresh: std::time::Duration::from_millis(c.refresh_ms),
        expiry: std::time::Duration::from_secs(c.expiry_s),
        max_share: c.max_share,
        history: c.history,
        change_log: c.change_log,
    };
    let live = LiveSegments::open(store.clone(), metrics.clone(), files, options)
        .map_err(|e| ServeError::Segments(e.to_string()))?;
    tracing::info!(segments = live.specs().len(), file = ?file, "named segments are kept live");
    Ok(live)
}

// A definitions file: configured, or `NAME` in the data directory when there is one.
fn definitions_file(config: &Resolved, configured: &str, name: &str) -> Option<std::path::PathBuf> {
    if configured.is_empty() {
        Some(config.data.join(name)).filter(|p| p.exists())
    } else {
        Some(std::path::PathBuf::from(configured))
    }
}

fn open_automation(
    config: &Resolved,
    store: &Arc<Store>,
    live: &Arc<LiveSegments>,
    recommender: &Arc<crate::recommend::Recommender>,
) -> Result<Arc<crate::automation::Automation>, ServeError> {
    let c = &config.config.automation;
    let file = definitions_file(config, &c.file, "automation.toml");
    let (text, from) = match &file {
        Some(path) => (
            std::fs::read_to_string(path).map_err(io(format!("reading automation {}", path.display())))?,
            path.display().to_string(),
        ),
        None => (cxp_query::automation::def::DEFAULT.to_owned(), "the shipped rules".to_owned()),
    };
    let mut defs = cxp_query::automation::parse(&text).map_err(|e| ServeError::Definitions(format!("{from}: {e}")))?;
    if !c.enabled {
        defs.journeys.clear();
    }
    let max_event_age = cxp_store::profile::parse_window(&c.max_event_age)
        .map_err(|e| ServeError::Definitions(format!("automation.max_event_age {:?}: {e}", c.max_event_age)))?;
    let clock = if c.test_clock {
        crate::automation::Clock::test_in(&config.data.join("automation.clock"), cxp_store::now_ns())
    } else {
        crate::automation::Clock::system()
    };
    let options = crate::automation::AutomationOptions { max_event_age, data: config.data.clone() };
    tracing::info!(journeys = defs.journeys.len(), from = %from, test_clock = c.test_clock, "automation");
    crate::automation::Automation::start(store.clone(), defs, clock, live.clone(), recommender.clone(), options)
        .map_err(ServeError::Store)
}

fn open_models(config: &Resolved, store: &Arc<Store>) -> Result<crate::models::Models, ServeError> {
    let c = &config.config.models;
    let file = definitions_file(config, &c.file, "models.toml");
    let specs = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(io(format!("reading models {}", path.display())))?;
            cxp_query::model::parse_models(&text)
                .map_err(|e| ServeError::Definitions(format!("{}: {e}", path.display())))?
        }
        None => cxp_query::model::ModelSpec::defaults(),
    };
    let options = crate::models::ModelsOptions {
        auto: c.auto,
        threads: c.threads,
        check: std::time::Duration::from_secs(c.check_s),
    };
    tracing::info!(models = specs.len(), file = ?file, auto = c.auto, "models");
    Ok(crate::models::Models::new(store.clone(), specs, options))
}

fn open_experiments(config: &Resolved) -> Result<Vec<cxp_query::experiment::Experiment>, ServeError> {
    let Some(path) = definitions_file(config, &config.config.experiments.file, "experiments.toml") else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(&path).map_err(io(format!("reading experiments {}", path.display())))?;
    let exps = cxp_query::experiment::parse_file(&text)
        .map_err(|e| ServeError::Definitions(format!("{}: {e}", path.display())))?;
    tracing::info!(experiments = exps.len(), file = %path.display(), "experiments");
    Ok(exps)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
