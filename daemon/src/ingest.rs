//! The one way into the store: a bounded number of batches in flight to the writer, each
//! acknowledged only once durable. Every listener (TCP, UDP, HTTP) goes through here, so
//! backpressure and shutdown behave the same for all of them.
//!
//! Waiting for the writer is blocking work (a channel receive), so it runs on tokio's blocking
//! pool, bounded by the permits: at most `max_in_flight` threads wait at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cxp_store::{Batch, Store, StoreError, WriteReceipt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

/// Why a batch was not taken. Every variant is worth a retry by the client: none of them is
/// about the data itself.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The queue to the writer stayed full.
    #[error("ingest is behind: try again shortly")]
    Overloaded,
    /// The daemon is stopping.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The store could not commit (disk full, I/O error): nothing of the batch was stored.
    #[error("the store could not commit: {0}")]
    Store(#[from] StoreError),
}

/// The ingest gate in front of the store.
pub struct Ingest {
    store: Arc<Store>,
    permits: Arc<Semaphore>,
    // TCP connections wait without limit: they may hold only part of the queue, so that HTTP
    // clients (which give up after a few 503s and drop data) always find room.
    stream_permits: Arc<Semaphore>,
    capacity: usize,
    stopping: AtomicBool,
    /// Counters for status and metrics.
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").field("depth", &self.depth()).field("capacity", &self.capacity).finish()
    }
}

/// A place in the queue to the writer.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    _stream: Option<OwnedSemaphorePermit>,
}

impl Ingest {
    /// A gate letting `capacity` batches to the writer at once.
    pub fn new(store: Arc<Store>, capacity: usize, metrics: Arc<Metrics>) -> Ingest {
        let streams = (capacity - capacity / 4).max(1);
        Ingest {
            store,
            permits: Arc::new(Semaphore::new(capacity)),
            stream_permits: Arc::new(Semaphore::new(streams)),
            capacity,
            stopping: AtomicBool::new(false),
            metrics,
        }
    }

    /// The store behind the gate.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Batches that may be in flight at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Batches in flight now.
    pub fn depth(&self) -> usize {
        self.capacity - self.permits.available_permits()
    }

    /// From now on, new batches are refused (in-flight ones finish).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether new batches are refused.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits for a place in the queue: as long as it takes (`None`: TCP readers slow down
    /// instead) or at most `wait` (HTTP answers 503 after it).
    pub async fn slot(&self, wait: Option<Duration>) -> Result<Slot, IngestError> {
        if self.is_stopping() {
            return Err(IngestError::ShuttingDown);
        }
        let acquire = self.permits.clone().acquire_owned();
        let permit = match wait {
            None => acquire.await.map_err(|_| IngestError::ShuttingDown)?,
            Some(d) => match tokio::time::timeout(d, acquire).await {
                Ok(p) => p.map_err(|_| IngestError::ShuttingDown)?,
                Err(_) => {
                    self.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
                    return Err(IngestError::Overloaded);
                }
            },
        };
        Ok(Slot { _permit: permit, _stream: None })
    }

    /// A place in the queue for a stream (TCP line protocol): waits as long as it takes, within
    /// the stream share of the queue, and is granted even while stopping (lines already read
    /// are written at shutdown), as long as the writer runs.
    pub async fn slot_draining(&self) -> Result<Slot, IngestError> {
        let stream = self.stream_permits.clone().acquire_owned().await.map_err(|_| IngestError::ShuttingDown)?;
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| IngestError::ShuttingDown)?;
        Ok(Slot { _permit: permit, _stream: Some(stream) })
    }

    /// A place in the queue if one is free now (UDP, which cannot wait).
    pub fn try_slot(&self) -> Option<Slot> {
        if self.is_stopping() {
            return None;
        }
        self.permits.clone().try_acquire_owned().ok().map(|p| Slot { _permit: p, _stream: None })
    }

    /// Builds a batch with `build` (parsing is CPU work, so it runs off the async workers),
    /// writes it and waits until it is durable. `arrived` is when the request came in, for the
    /// acknowledgement latency.
    pub async fn write_with<F>(&self, slot: Slot, arrived: Instant, build: F) -> Result<WriteReceipt, IngestError>
    where
        F: FnOnce() -> Batch + Send + 'static,
    {
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let joined = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let batch = build();
            store.write_async(batch)?.wait()
        })
        .await;
        metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        let receipt = match joined {
            Ok(r) => r?,
            // The build or the store panicked: report it as a failed commit, not a crash.
            Err(e) => return Err(IngestError::Store(StoreError::Invalid(format!("ingest task failed: {e}")))),
        };
        let reasons: Vec<String> = receipt.rejected.iter().map(|r| r.reason.clone()).collect();
        self.metrics.stored(receipt.accepted, &reasons, arrived.elapsed());
        self.metrics.suppressed.fetch_add(receipt.suppressed, Ordering::Relaxed);
        Ok(receipt)
    }
}
