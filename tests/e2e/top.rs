//! `cxp top` in a real terminal (tmux) against a real daemon: the overview comes up live,
//! screens switch by number and Tab, a customer is found by a Chinese name and opened, the
//! too-small screen appears and goes, the daemon stops and the console says so and keeps its
//! data, and `q` restores the terminal and exits 0.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::daemon::Daemon;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket, "-f", "/dev/null"]).args(args).output().expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "S"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "S"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn wait_for(&self, what: &str) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what:?}; the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn tmux_here() -> bool {
    Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success())
}

fn write(d: &Daemon, admin: &str, lp: &str) {
    let r = d.request("POST", "/write", &[("Authorization", admin)], lp.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
}

#[test]
fn the_console_in_a_real_terminal_against_a_real_daemon() {
    if !tmux_here() {
        eprintln!("SKIPPED: tmux is not installed (the console's terminal test needs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let d = Daemon::start(&data, &[]);
    let admin = format!("Bearer {}", d.admin());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    write(
        &d,
        &admin,
        &format!(
            "identify,customer=c-7 name=\"欧阳娜娜\",city=\"杭州\",email=\"nana@example.com\" {now}\n\
             order,customer=c-7,channel=web amount=88.5 {}\n\
             identify,customer=c-8 name=\"王强\" {}\n",
            now + 1,
            now + 2
        ),
    );
    std::thread::sleep(Duration::from_millis(1500)); // the search index commits every second
    let t = Tmux { socket: format!("cxp-top-{}", std::process::id()) };
    let cmd = format!(
        "env -u NO_COLOR {} top --addr {} --data {}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_cxp"),
        d.http,
        shell_quote(&data)
    );
    t.run(&["new-session", "-d", "-s", "S", "-x", "80", "-y", "24", &cmd]);
    t.run(&["set", "-s", "escape-time", "0"]);
    let s = t.wait_for("LIVE");
    assert!(s.contains("Events/s") && s.contains("Alerts"), "{s}");
    // Screens by number and by Tab.
    t.keys(&["7"]);
    t.wait_for("Rejects by reason");
    t.keys(&["Tab"]);
    t.wait_for("Models");
    t.keys(&["4"]);
    t.wait_for("Journeys and triggers");
    // Search by a Chinese name and open the customer.
    t.keys(&["2", "/"]);
    t.wait_for("search:");
    t.keys(&["-l", "欧阳娜娜"]);
    t.keys(&["Enter"]);
    t.wait_for("1 found");
    t.keys(&["Enter"]);
    let s = t.wait_for("Timeline");
    assert!(s.contains("杭州") && s.contains("order"), "{s}");
    // Help, generated from the key map.
    t.keys(&["?"]);
    t.wait_for("follow the newest events");
    t.keys(&["Escape"]);
    // Too small, and back.
    t.run(&["resize-window", "-t", "S", "-x", "40", "-y", "10"]);
    t.wait_for("too small");
    t.run(&["resize-window", "-t", "S", "-x", "80", "-y", "24"]);
    t.wait_for("Timeline");
    // The daemon goes away: the data stays, marked, and the console says why.
    d.stop();
    t.keys(&["1"]);
    let s = t.wait_for("DISCONNECTED");
    assert!(s.contains("STALE"), "{s}");
    assert!(s.contains("daemon not answering"), "{s}");
    t.keys(&["q"]);
    t.wait_for("EXIT=0");
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn the_360_view_lists_live_segments_and_explains_identity_links_masked_by_role() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let d = Daemon::start(&data, &[]);
    let admin = format!("Bearer {}", d.admin());
    write(
        &d,
        &admin,
        "identify,anon=d-9,customer=c-9 phone=\"13800000009\" 1767225600000000000\n\
         order,customer=c-9 amount=900.0 1767225700000000000\n",
    );
    let body = br#"{"name":"buyers","expr":"did(order)"}"#;
    assert_eq!(d.request("POST", "/api/v1/segments", &[("Authorization", &admin)], body).status, 201);
    let started = Instant::now();
    let view = loop {
        let v = d.request("GET", "/api/v1/customers/c-9", &[("Authorization", &admin)], b"").json();
        if v["segments"].as_array().is_some_and(|s| !s.is_empty()) || started.elapsed() > Duration::from_secs(20) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(view["segments"], serde_json::json!(["buyers"]), "{view}");
    let idn = d.request("GET", "/api/v1/customers/d-9/identity", &[("Authorization", &admin)], b"").json();
    let links = idn["links"].as_array().expect("links");
    let joins = |x: &str, y: &str| {
        links.iter().any(|l| {
            let (a, b) = (l["a"]["id"].as_str(), l["b"]["id"].as_str());
            l["event"] == "identify" && ((a == Some(x) && b == Some(y)) || (a == Some(y) && b == Some(x)))
        })
    };
    assert!(joins("c-9", "d-9") && joins("c-9", "+8613800000009"), "the identify event joined all three: {idn}");
    let analyst = crate::util::ok(&["token", "create", "--data", crate::util::path(&data), "--role", "analyst"])
        .trim()
        .to_owned();
    let masked =
        d.request("GET", "/api/v1/customers/c-9/identity", &[("Authorization", &format!("Bearer {analyst}"))], b"");
    assert_eq!(masked.status, 200);
    assert!(!masked.text().contains("13800000009") && !masked.text().contains("\"c-9\""), "{}", masked.text());
    d.stop();
}
