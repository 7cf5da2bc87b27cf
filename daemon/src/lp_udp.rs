//! Line protocol over UDP (off by default). A datagram carries no precision, so it is
//! configured (collectd sends milliseconds without saying so). UDP cannot wait: when the queue
//! to the writer is full the datagrams are dropped and counted, which is what UDP senders
//! accept.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cxp_lp::{ParseOptions, Precision};
use cxp_store::Batch;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ingest::Ingest;

/// Bytes of datagrams gathered into one batch at most.
const BATCH_BYTES: usize = 1 << 20;

/// Receives datagrams until `cancel`. Datagrams already waiting in the socket are gathered
/// into one batch (collectd sends 1.4 KB datagrams; a commit each would waste the queue).
pub async fn serve(
    socket: UdpSocket,
    ingest: Arc<Ingest>,
    precision: Precision,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = cancel.cancelled() => break,
        };
        let (n, peer) = match received {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let mut gathered = Vec::with_capacity(n + 1);
        let mut datagrams = 1u64;
        push_datagram(&mut gathered, &buf[..n]);
        while gathered.len() < BATCH_BYTES {
            match socket.try_recv_from(&mut buf) {
                Ok((n, _)) => {
                    push_datagram(&mut gathered, &buf[..n]);
                    datagrams += 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(error = %e, "UDP receive failed");
                    break;
                }
            }
        }
        let Some(slot) = ingest.try_slot() else {
            ingest.metrics.udp_dropped.fetch_add(datagrams, Ordering::Relaxed);
            continue;
        };
        let ingest = ingest.clone();
        tracker.spawn(async move {
            let arrived = Instant::now();
            let now = cxp_store::now_ns();
            let result = ingest
                .write_with(slot, arrived, move || {
                    let mut batch = Batch::new(format!("udp:{peer}"));
                    batch.push_line_protocol(&gathered, ParseOptions { precision, ..ParseOptions::default() }, now, 1);
                    batch
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(%peer, error = %e, "UDP datagrams were not stored");
            }
        });
    }
}

// Appends a datagram, newline-terminated so that its last line does not run into the next.
fn push_datagram(into: &mut Vec<u8>, datagram: &[u8]) {
    into.extend_from_slice(datagram);
    if !datagram.ends_with(b"\n") {
        into.push(b'\n');
    }
}
