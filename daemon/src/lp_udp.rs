//! Line protocol over UDP (off by default). A datagram carries no precision, so it is
//! configured (collectd sends milliseconds without saying so). UDP cannot wait: when the queue
//! to the writer is full the datagram is dropped and counted, which is what UDP senders accept.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cxp_lp::{ParseOptions, Precision};
use cxp_store::Batch;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ingest::Ingest;

/// Receives datagrams until `cancel`.
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
        let Some(slot) = ingest.try_slot() else {
            ingest.metrics.udp_dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let datagram = buf[..n].to_vec();
        let ingest = ingest.clone();
        tracker.spawn(async move {
            let arrived = Instant::now();
            let now = cxp_store::now_ns();
            let result = ingest
                .write_with(slot, arrived, move || {
                    let mut batch = Batch::new(format!("udp:{peer}"));
                    batch.push_line_protocol(&datagram, ParseOptions { precision, ..ParseOptions::default() }, now, 1);
                    batch
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(%peer, error = %e, "a UDP datagram was not stored");
            }
        });
    }
}
