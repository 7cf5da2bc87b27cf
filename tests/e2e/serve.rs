//! `cxp serve` end to end over real sockets: InfluxDB writes (v1, v2, gzip, precision, partial
//! writes), ping, line protocol over TCP and UDP, the Segment API (batch, single calls,
//! dedup, limits), the client captures replayed byte for byte, graceful shutdown and SIGKILL
//! during ingest.

use std::io::Write;
use std::path::Path;

use base64::Engine;

use crate::daemon::{Daemon, gzip, send_raw};
use crate::util::{ok, path};

fn auth(token: &str) -> String {
    format!("Token {token}")
}

fn events(data: &Path, measurement: &str) -> Vec<serde_json::Value> {
    let out = ok(&["events", "--data", path(data), "--measurement", measurement, "--json"]);
    out.lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

#[test]
fn influx_writes_are_acknowledged_when_durable_and_bad_lines_are_listed() {
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(dir.path(), &["--lp-udp", "127.0.0.1:0", "--udp-precision", "ms"]);
    let t = d.admin();
    let ping = d.request("GET", "/ping", &[], b"");
    assert_eq!(ping.status, 204);
    assert!(ping.header("X-Influxdb-Version").is_some());
    assert_eq!(d.request("HEAD", "/ping", &[], b"").status, 204);

    // v1 with Basic user:token and second precision.
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("root:{t}")));
    let r = d.request(
        "POST",
        "/write?db=cdp&precision=s",
        &[("Authorization", &basic)],
        b"order,customer=c-1 amount=10 1767225600\n",
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // v2, gzip, a bad line among good ones: the good ones are stored, the bad one listed.
    let body =
        gzip(b"login,customer=c-1 ok=t 1767225601000000000\nnot a line\nlogin,customer=c-2 ok=t 1767225602000000000");
    let r = d.request(
        "POST",
        "/api/v2/write?org=o&bucket=cdp&precision=ns",
        &[("Authorization", &auth(&t)), ("Content-Encoding", "gzip")],
        &body,
    );
    assert_eq!(r.status, 400);
    let v = r.json();
    assert_eq!(v["error"], "partial write of line protocol occurred");
    assert_eq!(v["data"][0]["line_number"], 2);
    assert_eq!(v["data"][0]["original_line"], "not a line");
    // Query parameters u/p, and the CLI's CREATE DATABASE.
    let r = d.request(
        "POST",
        &format!("/write?db=cdp&u=x&p={t}"),
        &[],
        b"refund,customer=c-1 amount=1 1767225603000000000",
    );
    assert_eq!(r.status, 204);
    assert_eq!(d.request("POST", "/query?q=CREATE+DATABASE+cdp", &[], b"").status, 200);
    // Bad precision, bad gzip: 400 with a reason; no token: 401 as InfluxDB answers it.
    assert_eq!(d.request("POST", "/write?precision=d", &[("Authorization", &auth(&t))], b"a f=1").status, 400);
    let r = d.request("POST", "/write", &[("Authorization", &auth(&t)), ("Content-Encoding", "gzip")], b"zzz");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap_or_default().contains("gzip"));
    let r = d.request("POST", "/write", &[], b"a f=1");
    assert_eq!((r.status, r.header("WWW-Authenticate")), (401, Some("Basic realm=\"InfluxDB\"")));

    // TCP: many lines on one connection, the last without a newline.
    {
        let mut s = std::net::TcpStream::connect(d.tcp).expect("tcp");
        let mut lines = String::new();
        for i in 0..1000 {
            lines.push_str(&format!("page_view,customer=c-{} path=\"/p\" {}\n", i % 10, 1767225700000000000i64 + i));
        }
        lines.push_str("page_view,customer=c-1 path=\"/last\" 1767225800000000000");
        s.write_all(lines.as_bytes()).expect("send");
    }
    // UDP in milliseconds, as collectd sends it.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(b"cpu,host=h value=1i 1795513863447\n", d.udp.expect("udp address")).expect("send");

    let r = d.request("GET", "/api/v1/status", &[("Authorization", &format!("Bearer {t}"))], b"");
    assert_eq!(r.status, 200);
    let status = r.json();
    assert!(status["events_total"].as_u64().is_some_and(|n| n >= 4), "{status}");
    assert!(status["latency"]["count"].as_u64().is_some_and(|n| n >= 3), "{status}");
    let m = d.request("GET", "/metrics", &[("Authorization", &format!("Bearer {t}"))], b"").text();
    for needle in [
        "cxp_events_ingested_total",
        "cxp_ack_latency_seconds{quantile=\"0.99\"}",
        "cxp_http_requests_total{route=\"/write\",code=\"204\"}",
    ] {
        assert!(m.contains(needle), "{needle} missing from /metrics:\n{m}");
    }
    d.stop();
    assert_eq!(events(dir.path(), "order").len(), 1);
    assert_eq!(events(dir.path(), "order")[0]["ts"], 1767225600000000000i64);
    assert_eq!(events(dir.path(), "login").len(), 2);
    assert_eq!(events(dir.path(), "refund").len(), 1);
    assert_eq!(events(dir.path(), "page_view").len(), 1001);
    let cpu = events(dir.path(), "cpu");
    assert_eq!(cpu.len(), 1);
    assert_eq!(cpu[0]["ts"], 1795513863447000000i64);
    let q = ok(&["quarantine", "--data", path(dir.path())]);
    assert!(q.contains("not a line"), "{q}");
}

#[test]
fn segment_calls_are_stored_once_with_retries_and_limits_answered_400() {
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(dir.path(), &[]);
    let t = d.admin();
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{t}:")));
    let batch = br#"{"batch":[
        {"type":"identify","userId":"u-1","messageId":"m-1","traits":{"name":"Ann","email":"ANN@example.com"}},
        {"type":"track","userId":"u-1","event":"order","messageId":"m-2","properties":{"amount":99.5}},
        {"type":"track","event":"orphan","messageId":"m-3"}
    ],"sentAt":"2027-01-15T08:00:10.000+00:00"}"#;
    let r = d.request("POST", "/v1/batch", &[("Authorization", &basic), ("Content-Type", "application/json")], batch);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!((v["success"].as_bool(), v["accepted"].as_u64()), (Some(true), Some(2)));
    assert_eq!(v["rejected"][0]["line_number"], 3);
    // The client did not see the reply and retries, gzipped, with a new sentAt.
    let r = d.request("POST", "/v1/batch", &[("Authorization", &basic), ("Content-Encoding", "gzip")], &gzip(batch));
    assert_eq!((r.status, r.json()["duplicates"].as_u64()), (200, Some(2)));
    let u1 = d.request("GET", "/api/v1/customers/u-1", &[("Authorization", &format!("Bearer {t}"))], b"").json();
    assert_eq!(u1["traits"]["name"]["value"], "Ann", "{u1}");
    assert!(u1["traits"].get("message_id").is_none(), "delivery metadata is not a trait: {u1}");
    // The same messageId twice in one request: stored once (as Segment does), not a 503 loop.
    let twice = br#"{"batch":[{"type":"track","userId":"u-3","event":"view","messageId":"m-9"},{"type":"track","userId":"u-3","event":"view","messageId":"m-9"}]}"#;
    let r = d.request("POST", "/v1/batch", &[("Authorization", &basic)], twice);
    assert_eq!((r.status, r.json()["accepted"].as_u64(), r.json()["duplicates"].as_u64()), (200, Some(1), Some(1)));
    // Write key in the body; a single call.
    let single = format!(r#"{{"userId":"u-2","event":"signup","writeKey":"{t}"}}"#);
    assert_eq!(d.request("POST", "/v1/track", &[], single.as_bytes()).status, 200);
    // Limits and bad bodies: 400 with a reason; unknown write key 401.
    let big = format!(r#"{{"userId":"u","event":"e","properties":{{"x":"{}"}}}}"#, "a".repeat(40_000));
    let r = d.request("POST", "/v1/track", &[("Authorization", &basic)], big.as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap_or_default().contains("32 KB"), "{}", r.text());
    assert_eq!(d.request("POST", "/v1/batch", &[("Authorization", &basic)], b"{not json").status, 400);
    assert_eq!(d.request("POST", "/v1/batch", &[], br#"{"batch":[]}"#).status, 401);
    assert_eq!(d.request("POST", "/v1/batch", &[], b"{not json").status, 401, "no token, no way to read one");
    assert_eq!(d.request("POST", "/v1/nothing", &[("Authorization", &basic)], b"{}").status, 404);
    d.stop();
    assert_eq!(events(dir.path(), "order").len(), 1);
    assert_eq!(events(dir.path(), "identify").len(), 1);
    assert_eq!(events(dir.path(), "signup").len(), 1);

    // After a restart the window is reloaded: a late retry is still recognised.
    let d = Daemon::start(dir.path(), &[]);
    let r = d.request("POST", "/v1/batch", &[("Authorization", &basic)], batch);
    assert_eq!((r.status, r.json()["duplicates"].as_u64()), (200, Some(2)));
    d.stop();
    assert_eq!(events(dir.path(), "order").len(), 1);
}

// The request bodies real clients sent (reference/client-captures), replayed byte for byte to
// a daemon that takes ingest without a token (the captures carry dummy keys): every status is
// what the client expects, and every line and message sent is stored or quarantined.
#[test]
fn captured_client_requests_are_accepted_and_everything_sent_is_kept() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/client-captures");
    if !root.exists() {
        eprintln!("no client captures next to the repository; skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(dir.path(), &["--ingest-auth", "open", "--lp-udp", "127.0.0.1:0", "--udp-precision", "ms"]);
    let (mut replayed, mut sent) = (0, 0u64);
    let mut message_ids = std::collections::HashSet::new();
    for client in ["segment", "rudder", "influx_v1", "influx_v2", "influx_cli"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(client))
            .expect("captures")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "http"))
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).expect("capture");
            let r = send_raw(d.http, &bytes);
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let body = body_of(&bytes);
            let expected: &[u16] = if name.contains("_v1_batch") {
                let v: serde_json::Value = serde_json::from_slice(&body).expect("captured JSON");
                for m in v["batch"].as_array().expect("batch") {
                    message_ids.insert(m["messageId"].as_str().expect("messageId").to_owned());
                }
                &[200]
            } else if name.contains("ping") {
                &[204]
            } else if name.contains("query") {
                &[200]
            } else {
                // Every logical line, as the parser counts them (a string may span lines).
                sent += cxp_lp::lines(&body, cxp_lp::ParseOptions::default()).count() as u64;
                &[204, 400]
            };
            assert!(expected.contains(&r.status), "{client}/{name}: {} {}", r.status, r.text());
            replayed += 1;
        }
    }
    // collectd over UDP: milliseconds, said nowhere in the datagram.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let mut datagrams: Vec<_> = std::fs::read_dir(root.join("collectd_udp"))
        .expect("captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    datagrams.sort();
    for f in &datagrams {
        let bytes = std::fs::read(f).expect("datagram");
        sent += cxp_lp::lines(&bytes, cxp_lp::ParseOptions::default()).count() as u64;
        udp.send_to(&bytes, d.udp.expect("udp address")).expect("send");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.stop();
    assert!(replayed >= 20 && !datagrams.is_empty(), "{replayed} requests, {} datagrams", datagrams.len());
    let stats = ok(&["stats", "--data", path(dir.path())]);
    let count = |key: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let kept = count("events") + count("quarantined");
    assert!(sent > 50 && message_ids.len() > 10, "{sent} lines, {} messages", message_ids.len());
    assert_eq!(kept, sent + message_ids.len() as u64, "lines and messages sent vs kept:\n{stats}");
    let identify = events(dir.path(), "identify");
    assert!(identify.iter().any(|e| e["fields"]["email"].as_str().is_some()), "{identify:?}");
    let cpu = events(dir.path(), "cpu");
    assert!(!cpu.is_empty());
    // 13-digit millisecond timestamps read as milliseconds: a date in 2026, not 1970.
    assert!(cpu.iter().all(|e| e["ts"].as_i64().is_some_and(|t| t > 1_700_000_000_000_000_000)), "{:?}", cpu[0]);
}

// The body of a captured HTTP request (after the blank line).
fn body_of(request: &[u8]) -> Vec<u8> {
    let start = request.windows(4).position(|w| w == b"\r\n\r\n").map_or(request.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&request[..start]).to_ascii_lowercase();
    let body = &request[start..];
    if head.contains("content-encoding: gzip") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(body), &mut out).expect("gunzip");
        out
    } else {
        body.to_vec()
    }
}

#[test]
fn every_acknowledged_batch_survives_sigkill_during_http_ingest() {
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(dir.path(), &[]);
    let t = auth(&d.admin());
    let http = d.http;
    let (tx, rx) = std::sync::mpsc::channel();
    let sender = std::thread::spawn(move || {
        for b in 0..10_000u64 {
            let body: String = (0..500)
                .map(|i| {
                    format!("order,customer=c-{i} amount={b},batch={b}i {}\n", 1767225600000000000u64 + b * 1000 + i)
                })
                .collect();
            let reply = std::panic::catch_unwind(|| {
                crate::daemon::request(http, "POST", "/write?db=x", &[("Authorization", &t)], body.as_bytes())
            });
            match reply {
                Ok(r) if r.status == 204 => {
                    if tx.send(b).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    d.kill();
    let _ = sender.join();
    let acked: Vec<u64> = rx.try_iter().collect();
    assert!(acked.len() > 3, "only {} batches acknowledged before the kill", acked.len());
    let stored = events(dir.path(), "order");
    let mut per_batch = std::collections::HashMap::<i64, usize>::new();
    for e in &stored {
        *per_batch.entry(e["fields"]["batch"].as_i64().expect("batch")).or_default() += 1;
    }
    for b in acked {
        assert_eq!(per_batch.get(&(b as i64)), Some(&500), "acknowledged batch {b} is not whole");
    }
}

#[test]
fn tcp_lines_survive_long_lines_and_a_graceful_stop_cuts_no_line() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("cxp.toml");
    std::fs::write(&config, "[ingest]\ntcp_batch_bytes = 4096\n").expect("config");
    let data = dir.path().join("data");
    let d = Daemon::start(&data, &["--config", path(&config)]);
    let mut s = std::net::TcpStream::connect(d.tcp).expect("tcp");
    // A line three times the batch size, without breaking its neighbours or memory.
    let long = format!("page_view,customer=c-1 path=\"{}\" 1767225600000000000\n", "x".repeat(12_000));
    s.write_all(b"login,customer=c-1 ok=t 1767225500000000000\n").expect("send");
    s.write_all(long.as_bytes()).expect("send");
    s.write_all(b"login,customer=c-2 ok=t 1767225700000000000\n").expect("send");
    // Whole lines, then half a line, on a connection left open while the daemon stops.
    s.write_all(b"login,customer=c-3 ok=t 1767225800000000000\nlogin,customer=c-4 ok=t 17672").expect("send");
    std::thread::sleep(std::time::Duration::from_millis(500));
    d.stop();
    drop(s);
    let logins: Vec<String> =
        events(&data, "login").iter().map(|e| e["tags"]["customer"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(logins, ["c-1", "c-2", "c-3"], "whole lines stored, the cut one not");
    let views = events(&data, "page_view");
    assert_eq!(views.len(), 1);
    assert_eq!(views[0]["fields"]["path"].as_str().map(str::len), Some(12_000));
}

#[test]
fn an_overloaded_daemon_answers_503_with_retry_after_and_keeps_what_it_acknowledged() {
    let body = |w: u64| -> String {
        (0..5000u64)
            .map(|i| format!("order,customer=c-{i} amount=1,worker={w}i {}\n", 1767225600000000000u64 + w * 10_000 + i))
            .collect()
    };
    overload("/write?db=x", "Token", body, ("order", 5000), (204, 503));
}

// Eight writers at once against one writer slot that waits 1 ms: every reply is `ok` or
// `busy` (with Retry-After), some of each, and exactly the acknowledged requests' events
// (`per_request` of `measurement`, tagged with their worker) are stored.
fn overload(
    route: &str,
    scheme: &str,
    body: fn(u64) -> String,
    (measurement, per_request): (&str, usize),
    (ok, busy): (u16, u16),
) {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("cxp.toml");
    std::fs::write(&config, "[ingest]\nmax_in_flight = 1\noverload_wait_ms = 1\n").expect("config");
    let data = dir.path().join("data");
    let d = Daemon::start(&data, &["--config", path(&config)]);
    let t = format!("{scheme} {}", d.admin());
    let http = d.http;
    let workers: Vec<_> = (0..8u64)
        .map(|w| {
            let (t, route) = (t.clone(), route.to_owned());
            std::thread::spawn(move || {
                let r = crate::daemon::request(http, "POST", &route, &[("Authorization", &t)], body(w).as_bytes());
                (w, r.status, r.header("Retry-After").map(str::to_owned))
            })
        })
        .collect();
    let replies: Vec<_> = workers.into_iter().map(|w| w.join().expect("worker")).collect();
    d.stop();
    assert!(replies.iter().all(|(_, s, _)| *s == ok || *s == busy), "{replies:?}");
    assert!(replies.iter().any(|(_, s, _)| *s == ok), "{replies:?}");
    let told: Vec<_> = replies.iter().filter(|(_, s, _)| *s == busy).collect();
    assert!(!told.is_empty(), "one slot and 8 writers at once: someone must be told to retry");
    assert!(told.iter().all(|(_, _, retry)| retry.as_deref() == Some("1")));
    let stored = events(&data, measurement);
    for (w, status, _) in &replies {
        let n = stored.iter().filter(|e| e["fields"]["worker"].as_i64() == Some(*w as i64)).count();
        assert_eq!(n, if *status == ok { per_request } else { 0 }, "worker {w} answered {status}");
    }
}

#[test]
fn a_bad_configuration_is_refused_with_where_and_why() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("cxp.toml");
    std::fs::write(&config, "[listen]\nhttp = \"127.0.0.1:0\"\nhtpp = \"x\"\n").expect("config");
    let run = crate::util::cxp(&["serve", "--data", path(dir.path()), "--config", path(&config)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("htpp") && run.stderr.contains("line 3"), "{}", run.stderr);
    let run = crate::util::cxp(&["serve", "--data", path(dir.path()), "--http", "localhost"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("listen.http"), "{}", run.stderr);
}

#[test]
fn an_overloaded_daemon_answers_segment_clients_429_which_they_wait_out() {
    let body = |w: u64| -> String {
        let items: Vec<String> = (0..2000)
            .map(|i| format!(r#"{{"type":"track","userId":"c-{i}","event":"view","messageId":"w{w}-{i}","properties":{{"worker":{w}}}}}"#))
            .collect();
        format!(r#"{{"batch":[{}]}}"#, items.join(","))
    };
    overload("/v1/batch", "Bearer", body, ("view", 2000), (200, 429));
}
