//! Triggers and journeys in a real daemon with a test clock: the seed's come-back SMS (and a
//! restart before its deadline), cart abandonment with recommendations, a webhook that fails
//! and then takes the message, SMTP to a server started here, consent withdrawn between
//! queueing and sending, and the dry-run replay.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::daemon::Daemon;
use crate::util::{ok, path};

/// 2030-03-01T02:00:00Z: 10:00 in Shanghai, outside the shipped quiet hours.
const T: i64 = 1_898_560_800_000_000_000;
const H: i64 = 3_600_000_000_000;

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        // Generous: CI runs the e2e tests in parallel on two cores (the demo's load among them).
        assert!(started.elapsed() < Duration::from_secs(120), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn lines(data: &Path, file: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(data.join("messages").join(file))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

struct Auto {
    daemon: Daemon,
    admin: String,
}

impl Auto {
    fn start(data: &Path, config: &Path) -> Auto {
        let daemon = Daemon::start(data, &["--config", path(config)]);
        let admin = format!("Bearer {}", daemon.admin());
        Auto { daemon, admin }
    }

    fn write(&self, lp: &str) {
        let r = self.daemon.request("POST", "/write", &[("Authorization", &self.admin)], lp.as_bytes());
        assert_eq!(r.status, 204, "{}", r.text());
    }

    fn clock(&self, now: i64) {
        let body = format!("{{\"now\": {now}}}");
        let r =
            self.daemon.request("POST", "/api/v1/automation/clock", &[("Authorization", &self.admin)], body.as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
    }

    fn get(&self, route: &str) -> serde_json::Value {
        let r = self.daemon.request("GET", route, &[("Authorization", &self.admin)], b"");
        assert_eq!(r.status, 200, "{route}: {}", r.text());
        r.json()
    }

    fn channel(&self, name: &str) -> serde_json::Value {
        let doc = self.get("/api/v1/messages");
        doc["channels"].as_array().expect("channels").iter().find(|c| c["channel"] == name).cloned().expect("channel")
    }
}

fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let c = dir.join("cxp.toml");
    std::fs::write(&c, format!("[automation]\ntest_clock = true\n[models]\nauto = false\n{extra}")).expect("config");
    c
}

#[test]
fn the_seeds_comeback_sms_once_with_the_right_salutation_across_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), "");
    let a = Auto::start(&data, &cfg);
    a.clock(T);
    // 张伟 signs up and never logs in; 李娜 signs up and logs in two hours later.
    a.write(&format!(
        "identify,customer=c-1 name=\"张伟\",gender=\"男\",phone=\"13800000001\" {T}\n\
         signup,customer=c-1,channel=app source=\"ad\" {T}\n\
         identify,customer=c-2 name=\"李娜\",gender=\"女\",phone=\"13800000002\" {T}\n\
         signup,customer=c-2,channel=app source=\"ad\" {T}\n"
    ));
    a.clock(T + 2 * H);
    a.write(&format!("login,customer=c-2 ok=true {}\n", T + 2 * H));
    let trigger = wait_for("both customers in the trigger", || {
        let j = a.get("/api/v1/journeys/trigger:comeback_sms");
        (j["stats"]["entered"] == 2 && j["stats"]["exited"] == 1).then_some(j)
    });
    assert_eq!(trigger["steps"][0]["waiting"], 1, "{trigger}");
    // A restart between the signup and the deadline.
    a.daemon.stop();
    let a = Auto::start(&data, &cfg);
    a.clock(T + 23 * H);
    std::thread::sleep(Duration::from_millis(500));
    assert!(lines(&data, "sms.jsonl").is_empty(), "nothing before the deadline");
    a.clock(T + 24 * H);
    let sms = wait_for("the SMS", || Some(lines(&data, "sms.jsonl")).filter(|l| !l.is_empty()));
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["customer"], "customer=c-1");
    assert_eq!(sms[0]["to"], "+8613800000001");
    let body = sms[0]["content"]["body"].as_str().expect("body");
    assert!(body.starts_with("尊敬的张先生"), "{body}");
    assert!(body.contains("回T退订"), "{body}");
    assert_eq!(sms[0]["journey"], "trigger:comeback_sms");
    // A restart at the deadline: still exactly one.
    a.daemon.stop();
    let a = Auto::start(&data, &cfg);
    a.clock(T + 30 * H);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(lines(&data, "sms.jsonl").len(), 1, "never twice");
    assert_eq!(a.channel("sms")["sent"], 1);
    // Why: queued, then sent, with the content.
    let why = a.get("/api/v1/messages/why?customer=c-1");
    assert_eq!(why["messages"][0]["state"], "sent", "{why}");
    // The message is on the customer's timeline.
    let view = a.get("/api/v1/customers/c-1?events=5");
    assert!(view["recent_events"].as_array().expect("events").iter().any(|e| e["event"] == "message_sent"), "{view}");
    a.daemon.stop();
}

const CART: &str = r#"
[settings]
quiet_hours = "21:00-08:00"
[journeys.cart_abandonment]
entry = { event = "add_to_cart" }
exit = ["order"]
goal = { event = "order", within = "7d" }
steps = [
  { id = "wait_for_order", wait_for = "order", timeout = "4h", on_event = "exit" },
  { id = "reminder", send = { channel = "email", template = "cart" } },
]
[templates.cart.email]
subject = { zh = "购物车", en = "Your cart" }
text = { zh = "{{ salutation }}：{{ event.sku | default('') }}{% for r in recommendations %} {{ r.item }}{% endfor %}", en = "{{ salutation }}: {{ event.sku | default('') }}{% for r in recommendations %} {{ r.item }}{% endfor %}" }
"#;

#[test]
fn cart_abandonment_sends_the_cart_with_recommendations_and_exits_on_order() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("automation.toml"), CART).expect("rules");
    let a = Auto::start(&data, &config(dir.path(), ""));
    a.clock(T);
    // Shoppers who viewed the phone also viewed its case: what to recommend with it.
    let mut lp = String::new();
    for c in 10..30 {
        lp.push_str(&format!("page_view,customer=c-{c} sku=\"phone-1\" {}\n", T - 3 * H));
        lp.push_str(&format!("page_view,customer=c-{c} sku=\"case-1\" {}\n", T - 2 * H));
    }
    lp.push_str(&format!(
        "identify,customer=c-1 email=\"one@example.com\",name=\"Ann Lee\",gender=2i,locale=\"en\" {T}\n"
    ));
    lp.push_str(&format!("identify,customer=c-2 email=\"two@example.com\" {T}\n"));
    lp.push_str(&format!("add_to_cart,customer=c-1 sku=\"phone-1\",qty=1i {T}\n"));
    lp.push_str(&format!("add_to_cart,customer=c-2 sku=\"phone-1\",qty=1i {T}\n"));
    a.write(&lp);
    wait_for("both carts in the journey", || {
        (a.get("/api/v1/journeys/cart_abandonment")["stats"]["entered"] == 2).then_some(())
    });
    a.clock(T + H);
    a.write(&format!("order,customer=c-2 sku=\"phone-1\",amount=999.0 {}\n", T + H));
    wait_for("c-2 to leave", || (a.get("/api/v1/journeys/cart_abandonment")["stats"]["exited"] == 1).then_some(()));
    a.clock(T + 4 * H);
    let emails = wait_for("the reminder", || Some(lines(&data, "email.jsonl")).filter(|l| !l.is_empty()));
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["to"], "one@example.com");
    let text = emails[0]["content"]["text"].as_str().expect("text");
    assert!(text.starts_with("Dear Ms. Lee: phone-1"), "{text}");
    assert!(text.contains("case-1"), "the case is recommended with the phone: {text}");
    assert!(emails[0]["content"]["html"].as_str().is_some_and(|h| h.contains("<p>")));
    // c-1 orders within the goal's window: a conversion after the reminder.
    a.write(&format!("order,customer=c-1 sku=\"phone-1\",amount=999.0 {}\n", T + 5 * H));
    let j = wait_for("the conversion", || {
        let j = a.get("/api/v1/journeys/cart_abandonment");
        (j["stats"]["converted"] == 2).then_some(j)
    });
    assert_eq!(j["steps"][1]["converted"], 1, "{j}");
    // Quiet hours in the customer's zone: a cart at 22:00 Shanghai (14:00 UTC) waits to 08:00.
    let night = T + 12 * H;
    a.clock(night);
    a.write(&format!(
        "identify,customer=c-3 email=\"three@example.com\" {night}\nadd_to_cart,customer=c-3 sku=\"x\" {night}\n"
    ));
    wait_for("c-3 in the journey", || {
        (a.get("/api/v1/journeys/cart_abandonment")["stats"]["entered"] == 3).then_some(())
    });
    a.clock(night + 4 * H);
    wait_for("the deferral", || (a.channel("email")["deferred"] == 1).then_some(()));
    assert_eq!(lines(&data, "email.jsonl").len(), 1, "not at 02:00 local time");
    a.clock(night + 10 * H);
    wait_for("the morning send", || (lines(&data, "email.jsonl").len() == 2).then_some(()));
    a.daemon.stop();
}

/// Requests a test server received: (headers, body).
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A one-connection-at-a-time HTTP server: answers 500 to the first request and 200 after,
/// keeping what it received.
fn flaky_server() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Received = Arc::default();
    let got = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            let mut headers = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                headers.push_str(&line);
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let n = {
                let mut g = got.lock().expect("lock");
                g.push((headers, String::from_utf8_lossy(&body).into_owned()));
                g.len()
            };
            let status = if n == 1 { "500 Internal Server Error" } else { "200 OK" };
            let _ =
                s.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes());
        }
    });
    (format!("http://{addr}/hook"), seen)
}

#[test]
fn a_webhook_that_fails_then_succeeds_gets_the_message_once_with_a_signature() {
    let (url, seen) = flaky_server();
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let rules = format!(
        "[settings]\nquiet_hours = \"none\"\nsinks = {{ sms = {{ kind = \"webhook\", url = \"{url}\", secret = \"s3cret\" }} }}\n\
         [triggers.hello]\nevent = \"signup\"\nsend = {{ channel = \"sms\", template = \"t\" }}\n\
         [templates.t]\nsms = \"{{{{ salutation }}}} {{{{ link }}}} {{{{ opt_out }}}}\"\n"
    );
    std::fs::write(data.join("automation.toml"), rules).expect("rules");
    let a = Auto::start(&data, &config(dir.path(), ""));
    a.clock(T);
    a.write(&format!("identify,customer=c-1 phone=\"13800000001\" {T}\nsignup,customer=c-1 x=1i {T}\n"));
    wait_for("the first attempt", || (seen.lock().expect("lock").len() == 1).then_some(()));
    wait_for("the failure to count", || (a.channel("sms")["failed"] == 1).then_some(()));
    // The retry waits out its backoff on the clock.
    a.clock(T + 5_000_000_000);
    wait_for("the retry", || (a.channel("sms")["sent"] == 1).then_some(()));
    let got = seen.lock().expect("lock").clone();
    assert_eq!(got.len(), 2, "one failure, one delivery");
    let key = |h: &str| {
        h.lines()
            .find_map(|l| l.strip_prefix("idempotency-key: ").or_else(|| l.strip_prefix("Idempotency-Key: ")))
            .map(str::trim)
            .map(str::to_owned)
    };
    assert_eq!(key(&got[0].0), key(&got[1].0), "the same idempotency key both times");
    let signature = got[1]
        .0
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("x-cxp-signature: ").map(|s| s.trim().to_owned()))
        .expect("signed");
    // HMAC-SHA256 of the body with the shared secret, computed here with the sha2 crate.
    assert_eq!(signature, hmac_sha256_hex("s3cret", got[1].1.as_bytes()));
    let body: serde_json::Value = serde_json::from_str(&got[1].1).expect("json body");
    assert_eq!(body["customer"], "customer=c-1");
    let why = a.get("/api/v1/messages/why?customer=c-1");
    assert_eq!(why["messages"][0]["attempts"], 2, "{why}");
    assert_eq!(why["messages"][0]["state"], "sent");
    a.daemon.stop();
}

/// HMAC-SHA256 (RFC 2104) from SHA-256, written here so the daemon's signature is checked by
/// an independent implementation.
fn hmac_sha256_hex(key: &str, msg: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key.as_bytes());
    let (mut ipad, mut opad) = (k, k);
    ipad.iter_mut().for_each(|b| *b ^= 0x36);
    opad.iter_mut().for_each(|b| *b ^= 0x5c);
    let inner = Sha256::new().chain_update(ipad).chain_update(msg).finalize();
    let outer = Sha256::new().chain_update(opad).chain_update(inner).finalize();
    format!("sha256={}", outer.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A minimal SMTP server: one session at a time, everything accepted, messages kept.
fn smtp_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    let got = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            let _ = s.write_all(b"220 test ESMTP\r\n");
            let mut data = None::<String>;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(d) = data.as_mut() {
                    if line == ".\r\n" {
                        got.lock().expect("lock").push(std::mem::take(d));
                        data = None;
                        let _ = s.write_all(b"250 queued\r\n");
                    } else {
                        d.push_str(&line);
                    }
                    continue;
                }
                let cmd = line.to_ascii_uppercase();
                let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                    b"250 test\r\n"
                } else if cmd.starts_with("DATA") {
                    data = Some(String::new());
                    b"354 go ahead\r\n"
                } else if cmd.starts_with("QUIT") {
                    let _ = s.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = s.write_all(reply);
            }
        }
    });
    (addr.to_string(), mails)
}

#[test]
fn email_goes_through_an_smtp_relay() {
    let (relay, mails) = smtp_server();
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let rules = format!(
        "[settings]\nquiet_hours = \"none\"\nsinks = {{ email = {{ kind = \"smtp\", relay = \"{relay}\", from = \"shop@example.com\" }} }}\n\
         [triggers.welcome]\nevent = \"signup\"\nsend = {{ channel = \"email\", template = \"w\" }}\n\
         [templates.w.email]\nsubject = {{ zh = \"欢迎\", en = \"Welcome\" }}\ntext = {{ zh = \"{{{{ salutation }}}}，欢迎。\", en = \"{{{{ salutation }}}}, welcome.\" }}\n"
    );
    std::fs::write(data.join("automation.toml"), rules).expect("rules");
    let a = Auto::start(&data, &config(dir.path(), ""));
    a.clock(T);
    a.write(&format!("identify,customer=c-1 email=\"ann@example.com\",name=\"Ann Lee\",gender=2i,locale=\"en\" {T}\nsignup,customer=c-1 x=1i {T}\n"));
    let mail = wait_for("the mail", || mails.lock().expect("lock").first().cloned());
    assert!(mail.contains("Subject: Welcome"), "{mail}");
    assert!(mail.contains("To: ann@example.com"), "{mail}");
    // The text part: 7-bit as it is, or base64 (lettre's choice for non-ASCII text).
    let text = mail
        .split("text/plain")
        .nth(1)
        .and_then(|rest| rest.split("\r\n\r\n").nth(1))
        .and_then(|b| b.split("\r\n").next())
        .expect("a text part");
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| text.trim().to_owned());
    assert_eq!(text, "Dear Ms. Lee, welcome.", "in the customer's locale");
    assert!(mail.contains("text/html"), "an HTML part made from the text: {mail}");
    wait_for("the send to count", || (a.channel("email")["sent"] == 1).then_some(()));
    a.daemon.stop();
}

#[test]
fn consent_withdrawn_before_the_send_is_honoured_and_explained() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let a = Auto::start(&data, &config(dir.path(), ""));
    a.clock(T);
    a.write(&format!("identify,customer=c-1 phone=\"13800000001\" {T}\nsignup,customer=c-1 x=1i {T}\n"));
    wait_for("the customer in the trigger", || {
        (a.get("/api/v1/journeys/trigger:comeback_sms")["stats"]["entered"] == 1).then_some(())
    });
    // The customer withdraws SMS consent after the SMS was planned.
    let r =
        a.daemon.request("POST", "/api/v1/customers/c-1/consent", &[("Authorization", &a.admin)], br#"{"sms": false}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    a.clock(T + 25 * H);
    wait_for("the suppression", || (a.channel("sms")["suppressed"] == 1).then_some(()));
    assert!(lines(&data, "sms.jsonl").is_empty());
    let why = a.get("/api/v1/messages/why?customer=c-1");
    let decision = &why["messages"][0]["decisions"][0][1];
    assert_eq!(decision["decision"], "suppress", "{why}");
    assert!(decision["reason"].as_str().is_some_and(|r| r.contains("consent withdrawn (sms = false)")), "{why}");
    a.daemon.stop();
    // The replay of the same events, as a dry run, from the data directory: one SMS would
    // have gone (a replay does not know about consent at send time).
    let out = ok(&[
        "automation",
        "replay",
        "--data",
        path(&data),
        "--from",
        &(T - H).to_string(),
        "--to",
        &(T + 48 * H).to_string(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["channels"]["sms"], 1, "{report}");
    assert_eq!(report["sends"][0]["customer"], "c-1");
}

#[test]
fn a_template_preview_and_a_checked_definitions_file() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    ok(&[
        "gen",
        "--customers",
        "50",
        "--events",
        "3000",
        "--days",
        "5",
        "--seed",
        "3",
        "--out",
        path(&dir.path().join("g.lp")),
    ]);
    ok(&["import", "--data", path(&data), path(&dir.path().join("g.lp"))]);
    let out = ok(&[
        "template",
        "preview",
        "--data",
        path(&data),
        "comeback",
        "--customer",
        "c-1",
        "--channel",
        "sms",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let body = doc["content"]["parts"]["body"].as_str().expect("body");
    assert!(body.starts_with("尊敬的") && body.contains("回T退订"), "{body}");
    assert!(doc["content"]["sms"]["segments"].as_u64().is_some_and(|s| (1..=3).contains(&s)));
    let out = ok(&["automation", "check", "default"]);
    assert!(out.contains("trigger:comeback_sms") && out.contains("cart_abandonment"), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[triggers.x]\nevent = \"signup\"\nsend = { channel = \"sms\", template = \"missing\" }\n")
        .expect("write");
    let r = crate::util::cxp(&["automation", "check", path(&bad)]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("triggers.x.send: no template \"missing\""), "{}", r.stderr);
}

#[test]
fn erasing_a_customer_ends_their_journeys_and_forgets_their_messages() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), "");
    let a = Auto::start(&data, &cfg);
    a.clock(T);
    a.write(&format!(
        "identify,customer=c-1 phone=\"13800000001\" {T}\nsignup,customer=c-1 x=1i {T}\n\
         identify,customer=c-2 phone=\"13800000002\" {T}\nsignup,customer=c-2 x=1i {T}\n"
    ));
    wait_for("both in the trigger", || {
        (a.get("/api/v1/journeys/trigger:comeback_sms")["stats"]["entered"] == 2).then_some(())
    });
    a.clock(T + 25 * H);
    wait_for("both SMS", || (lines(&data, "sms.jsonl").len() == 2).then_some(()));
    // c-3 signs up now and waits for the deadline.
    let t3 = T + 25 * H;
    a.write(&format!("identify,customer=c-3 phone=\"13800000003\" {t3}\nsignup,customer=c-3 x=1i {t3}\n"));
    wait_for("c-3 waiting", || {
        (a.get("/api/v1/journeys/trigger:comeback_sms")["steps"][0]["waiting"] == 1).then_some(())
    });
    let recent = |a: &Auto| a.get("/api/v1/messages")["recent"].as_array().map_or(0, Vec::len);
    assert_eq!(recent(&a), 2);
    // The log in front of automation.redb holds the why-records as they were written...
    let logged = |what: &[u8]| {
        let log = std::fs::read(data.join("automation.wal")).expect("log");
        log.windows(what.len()).any(|w| w == what)
    };
    assert!(logged(b"auto.w/"));
    for c in ["c-1", "c-3"] {
        let r = a.daemon.request("DELETE", &format!("/api/v1/customers/{c}"), &[("Authorization", &a.admin)], b"");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let j = a.get("/api/v1/journeys/trigger:comeback_sms");
    assert_eq!(j["steps"][0]["waiting"], 0, "c-3's journey ended with the erasure: {j}");
    assert_eq!(recent(&a), 1, "only c-2's message is left");
    assert_eq!(a.get("/api/v1/messages/why?customer=c-2")["messages"].as_array().map(Vec::len), Some(1));
    // ... and is overwritten by an erasure.
    assert!(!logged(b"auto.w/"), "the log still holds why-records after the erasure");
    // Nothing comes back after a restart, and c-3 never gets the SMS.
    a.daemon.stop();
    let a = Auto::start(&data, &cfg);
    a.clock(T + 60 * H);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(a.get("/api/v1/journeys/trigger:comeback_sms")["steps"][0]["waiting"], 0);
    assert_eq!(lines(&data, "sms.jsonl").len(), 2, "no SMS for the erased c-3");
    assert_eq!(a.get("/api/v1/messages/why?customer=c-2")["messages"].as_array().map(Vec::len), Some(1));
    a.daemon.stop();
}

#[test]
fn a_paused_trigger_admits_nobody_until_resumed_even_across_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), "");
    let a = Auto::start(&data, &cfg);
    a.clock(T);
    let post = |a: &Auto, route: &str| a.daemon.request("POST", route, &[("Authorization", &a.admin)], b"");
    let r = post(&a, "/api/v1/journeys/trigger:comeback_sms/pause");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["paused"], true);
    assert_eq!(post(&a, "/api/v1/journeys/nothing/pause").status, 404);
    a.write(&format!("identify,customer=c-1 phone=\"13800000001\" {T}\nsignup,customer=c-1 x=1i {T}\n"));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(a.get("/api/v1/journeys/trigger:comeback_sms")["stats"]["entered"], 0, "paused: nobody enters");
    // Still paused after a restart.
    a.daemon.stop();
    let a = Auto::start(&data, &cfg);
    a.clock(T + H);
    assert_eq!(a.get("/api/v1/journeys/trigger:comeback_sms")["paused"], true);
    assert_eq!(post(&a, "/api/v1/journeys/trigger:comeback_sms/resume").status, 200);
    a.write(&format!("signup,customer=c-1 x=1i {}\n", T + H));
    wait_for("the entry after resuming", || {
        (a.get("/api/v1/journeys/trigger:comeback_sms")["stats"]["entered"] == 1).then_some(())
    });
    a.daemon.stop();
}

#[test]
fn a_sigkill_while_customers_wait_and_while_messages_go_out_loses_no_one() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), "");
    let n = 1500;
    let a = Auto::start(&data, &cfg);
    a.clock(T);
    let mut lp = String::new();
    for i in 0..n {
        lp.push_str(&format!(
            "identify,customer=c-{i} phone=\"1380{i:07}\" {T}\nsignup,customer=c-{i},channel=app source=\"ad\" {T}\n"
        ));
    }
    a.write(&lp);
    let waiting = |a: &Auto| a.get("/api/v1/journeys/trigger:comeback_sms")["steps"][0]["waiting"].as_u64();
    wait_for("every signup waiting", || (waiting(&a) == Some(n)).then_some(()));
    // SIGKILL with everyone waiting: they are all back (from the saved state, or from the
    // events after the saved cursor).
    a.daemon.kill();
    let a = Auto::start(&data, &cfg);
    a.clock(T + H);
    wait_for("everyone waiting again", || (waiting(&a) == Some(n)).then_some(()));
    // The deadline passes; SIGKILL while the SMS go out.
    a.clock(T + 24 * H);
    wait_for("the first SMS", || (lines(&data, "sms.jsonl").len() >= 50).then_some(()));
    a.daemon.kill();
    let a = Auto::start(&data, &cfg);
    a.clock(T + 24 * H);
    let keys = |data: &Path| -> (usize, std::collections::BTreeSet<String>) {
        let l = lines(data, "sms.jsonl");
        (l.len(), l.iter().map(|m| m["key"].as_str().expect("key").to_owned()).collect())
    };
    let (total, distinct) = wait_for("every customer's SMS", || {
        let (total, distinct) = keys(&data);
        (distinct.len() == n as usize).then_some((total, distinct))
    });
    let people: std::collections::BTreeSet<&str> = distinct.iter().filter_map(|k| k.split('/').nth(3)).collect();
    assert_eq!(people.len(), n as usize, "one message per customer");
    // Delivery is at least once: only a message the sink took just before the kill, and
    // whose outcome was not yet saved, goes again (the SMS channel sends one at a time).
    assert!(total - distinct.len() <= 1, "{} sent twice", total - distinct.len());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(keys(&data).0, total, "nothing more after everyone had theirs");
    a.daemon.stop();
}
