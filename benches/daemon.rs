//! Ingest into the running daemon over real loopback sockets.
//!
//! Targets (daemon issue): sustained line protocol over TCP of at least 1,000,000 events/s on
//! 2 cores; HTTP `/write` with 5,000-line batches from 2 connections of at least 500,000
//! events/s with p99 acknowledgement under 20 ms (an hdrhistogram of every request's
//! round trip, printed after the benchmark).
//!
//! The daemon runs in this process on its own tokio runtime, with the store settings named in
//! each benchmark (`dictionary`: the shipped data dictionary with identity resolution and
//! profiles; `bare`: no dictionary and no search index, the foundation's raw ingest path).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cxp_daemon::Config;
use cxp_gen::GenConfig;
use hdrhistogram::Histogram;

// The allocator `cxp` itself runs with (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: u64 = 1_000_000;

struct Running {
    http: SocketAddr,
    tcp: SocketAddr,
    token: String,
    cancel: tokio_util::sync::CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(dictionary: &str, search: bool) -> Running {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = Config { data: Some(dir.path().to_owned()), ..Config::default() };
    config.listen.http = "127.0.0.1:0".into();
    config.listen.lp_tcp = "127.0.0.1:0".into();
    config.auth.ingest = "open".into();
    config.store.dictionary = dictionary.into();
    config.store.search = search;
    let resolved = config.resolve().expect("config");
    let cancel = tokio_util::sync::CancellationToken::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let c2 = cancel.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            cxp_daemon::run(resolved, c2, |b| {
                let _ = tx.send(b.clone());
            })
            .await
            .expect("daemon");
        });
    });
    let bound = rx.recv().expect("bound");
    let token = std::fs::read_to_string(dir.path().join("admin.token")).expect("token").trim().to_owned();
    Running {
        http: bound.http.expect("http"),
        tcp: bound.lp_tcp.expect("tcp"),
        token,
        cancel,
        thread: Some(thread),
        _dir: dir,
    }
}

// One HTTP/1.1 request on a kept-alive connection; returns the status.
fn request(reader: &mut BufReader<TcpStream>, head: &str, body: &[u8]) -> u16 {
    let stream = reader.get_mut();
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body).expect("send body");
    let mut line = String::new();
    reader.read_line(&mut line).expect("status");
    let status = line.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status code");
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:").or_else(|| l.strip_prefix("Content-Length:")) {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut rest = vec![0u8; length];
    reader.read_exact(&mut rest).expect("body");
    status
}

fn events_total(d: &Running) -> u64 {
    let stream = TcpStream::connect(d.http).expect("connect");
    let mut reader = BufReader::new(stream);
    let head = format!(
        "GET /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        d.token
    );
    reader.get_mut().write_all(head.as_bytes()).expect("send");
    let mut text = String::new();
    reader.read_to_string(&mut text).expect("read");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["events_total"].as_u64().unwrap_or(0)
}

fn wait_for(d: &Running, target: u64) {
    while events_total(d) < target {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn data() -> Vec<u8> {
    cxp_gen::generate(GenConfig { customers: 50_000, events: EVENTS, days: 30, seed: 3, ..GenConfig::default() })
}

fn tcp(c: &mut Criterion) {
    let all = data();
    let mut group = c.benchmark_group("daemon");
    group.sample_size(10).measurement_time(Duration::from_secs(20)).throughput(Throughput::Elements(EVENTS));
    // Two connections, each sending half of the lines (split once, outside the timing).
    let cut = all[..all.len() / 2].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let halves = [Arc::new(all[..cut].to_vec()), Arc::new(all[cut..].to_vec())];
    for (name, dictionary, search) in [("tcp_lp_bare", "none", false), ("tcp_lp_dictionary", "default", true)] {
        let d = start(dictionary, search);
        let mut stored = 0u64;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let senders: Vec<_> = halves
                        .iter()
                        .cloned()
                        .map(|half| {
                            let addr = d.tcp;
                            std::thread::spawn(move || {
                                let mut s = TcpStream::connect(addr).expect("connect");
                                s.write_all(&half).expect("send");
                            })
                        })
                        .collect();
                    for s in senders {
                        s.join().expect("sender");
                    }
                    stored += EVENTS;
                    wait_for(&d, stored);
                    total += started.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

fn http(c: &mut Criterion) {
    let all = data();
    let lines: Vec<&[u8]> = all.split_inclusive(|b| *b == b'\n').collect();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(lines.chunks(5000).map(|c| c.concat()).collect());
    let mut group = c.benchmark_group("daemon");
    group.sample_size(10).measurement_time(Duration::from_secs(20)).throughput(Throughput::Elements(EVENTS));
    for (name, dictionary, search) in
        [("http_write_5000_bare", "none", false), ("http_write_5000_dictionary", "default", true)]
    {
        let d = start(dictionary, search);
        let hist = Arc::new(std::sync::Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let workers: Vec<_> = (0..2)
                        .map(|w| {
                            let (bodies, hist, addr, token) = (bodies.clone(), hist.clone(), d.http, d.token.clone());
                            std::thread::spawn(move || {
                                let mut reader = BufReader::new(TcpStream::connect(addr).expect("connect"));
                                for body in bodies.iter().skip(w).step_by(2) {
                                    let head = format!(
                                        "POST /write?db=bench HTTP/1.1\r\nHost: x\r\nAuthorization: Token {token}\r\nContent-Length: {}\r\n\r\n",
                                        body.len()
                                    );
                                    let t = Instant::now();
                                    let status = request(&mut reader, &head, body);
                                    let us = t.elapsed().as_micros() as u64;
                                    assert_eq!(status, 204);
                                    hist.lock().expect("lock").record(us.max(1)).expect("record");
                                }
                            })
                        })
                        .collect();
                    for w in workers {
                        w.join().expect("worker");
                    }
                    total += started.elapsed();
                }
                total
            });
        });
        let h = hist.lock().expect("lock");
        if !h.is_empty() {
            eprintln!(
                "{name}: acknowledgement p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms over {} requests",
                h.value_at_quantile(0.5) as f64 / 1e3,
                h.value_at_quantile(0.99) as f64 / 1e3,
                h.value_at_quantile(0.999) as f64 / 1e3,
                h.max() as f64 / 1e3,
                h.len()
            );
        }
    }
    group.finish();
}

criterion_group!(benches, tcp, http);
criterion_main!(benches);
