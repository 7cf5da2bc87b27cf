//! Line protocol over TCP: newline-delimited, many lines per connection, no replies (as
//! Telegraf's `socket_writer` and InfluxDB's TCP listeners expect). A connection's bytes are
//! gathered into batches of up to `tcp_batch_bytes`, cut at the last newline; at most two
//! batches per connection are in flight, and when the queue to the writer is full the
//! connection is not read, so TCP flow control slows the sender down.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cxp_lp::{ParseOptions, Precision};
use cxp_store::Batch;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ingest::{Ingest, IngestError};

/// Batches of one connection in flight at once.
const PER_CONNECTION: usize = 2;

/// Accepts connections until `cancel`.
pub async fn serve(
    listener: TcpListener,
    ingest: Arc<Ingest>,
    precision: Precision,
    batch_bytes: usize,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = cancel.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let ingest = ingest.clone();
                let cancel = cancel.clone();
                let t2 = tracker.clone();
                tracker.spawn(async move {
                    ingest.metrics.tcp_connections.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = connection(stream, peer, &ingest, precision, batch_bytes, cancel, &t2).await {
                        tracing::warn!(%peer, error = %e, "line-protocol connection ended with an error");
                    }
                    ingest.metrics.tcp_connections.fetch_sub(1, Ordering::Relaxed);
                });
            }
            // Out of file descriptors and the like: say so, wait a moment, go on.
            Err(e) => {
                tracing::warn!(error = %e, "accepting a line-protocol connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// Why a connection stopped early.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("read: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Ingest(#[from] IngestError),
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    ingest: &Arc<Ingest>,
    precision: Precision,
    batch_bytes: usize,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> Result<(), ConnError> {
    let source = format!("tcp:{peer}");
    let mut buf: Vec<u8> = Vec::with_capacity(batch_bytes.min(1 << 20) + 64 * 1024);
    let mut pending: VecDeque<JoinHandle<Result<(), IngestError>>> = VecDeque::new();
    let mut next_line: u64 = 1;
    let mut outcome = Ok(());
    loop {
        enum Step {
            Read,
            Eof,
            Stop,
        }
        let step = tokio::select! {
            r = stream.read_buf(&mut buf) => match r {
                Ok(0) => Step::Eof,
                Ok(_) => Step::Read,
                Err(e) => {
                    outcome = Err(ConnError::Io(e));
                    Step::Stop
                }
            },
            () = cancel.cancelled() => Step::Stop,
        };
        // Send what is there when the batch is full, the sender paused, or the stream ends. At
        // the end of the stream the last line needs no newline; when stopping (shutdown, read
        // error) only whole lines are sent: a line cut in the middle could be stored wrong.
        let cut = match step {
            Step::Eof => buf.len(),
            Step::Stop => memchr::memrchr(b'\n', &buf).map_or(0, |p| p + 1),
            Step::Read => {
                let mut full = buf.len() >= batch_bytes;
                // Keep gathering while more is waiting in the socket (a sender at full speed
                // makes few large batches); send as soon as it is drained (a quiet sender's
                // lines are not held back).
                while !full {
                    if buf.capacity() - buf.len() < 64 * 1024 {
                        buf.reserve(64 * 1024);
                    }
                    match stream.try_read_buf(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => full = buf.len() >= batch_bytes,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => {
                            outcome = Err(ConnError::Io(e));
                            break;
                        }
                    }
                }
                match memchr::memrchr(b'\n', &buf) {
                    Some(p) => p + 1,
                    // A single line longer than a batch: sent as it is, so that memory stays
                    // bounded; the parser refuses it (too long or cut) into the quarantine.
                    None if full => buf.len(),
                    None => 0,
                }
            }
        };
        if cut > 0 {
            // The next batch gets a buffer of its full size at once: growing it 64 KB at a
            // time would copy it again and again.
            let mut rest = Vec::with_capacity(batch_bytes.min(1 << 20) + 64 * 1024 + buf.len() - cut);
            rest.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
            let chunk = std::mem::replace(&mut buf, rest);
            let first = next_line;
            next_line += memchr::memchr_iter(b'\n', &chunk).count() as u64;
            while pending.len() >= PER_CONNECTION {
                if let Some(h) = pending.pop_front() {
                    joined(h.await)?;
                }
            }
            // Lines already read are written even while the daemon stops.
            let slot = ingest.slot_draining().await?;
            let ingest2 = ingest.clone();
            let source = source.clone();
            let arrived = Instant::now();
            pending.push_back(tracker.spawn(async move {
                let received = cxp_store::now_ns();
                ingest2
                    .write_with(slot, arrived, move || {
                        let mut batch = Batch::new(source);
                        batch.push_line_protocol(
                            &chunk,
                            ParseOptions { precision, ..ParseOptions::default() },
                            received,
                            first,
                        );
                        batch
                    })
                    .await
                    .map(|_| ())
            }));
        }
        match step {
            Step::Eof => break,
            Step::Stop => {
                if !buf.is_empty() {
                    tracing::warn!(%peer, bytes = buf.len(), "a partial line was not stored: the connection stopped inside it");
                }
                break;
            }
            Step::Read => {}
        }
        if buf.capacity() - buf.len() < 64 * 1024 {
            buf.reserve(64 * 1024);
        }
    }
    while let Some(h) = pending.pop_front() {
        joined(h.await)?;
    }
    outcome
}

fn joined(r: Result<Result<(), IngestError>, tokio::task::JoinError>) -> Result<(), ConnError> {
    match r {
        Ok(inner) => Ok(inner?),
        Err(e) => Err(ConnError::Io(std::io::Error::other(e.to_string()))),
    }
}
