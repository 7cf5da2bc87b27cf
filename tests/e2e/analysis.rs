//! Segments and analytics from the command line and through the daemon: the same answers from
//! a data directory and from `/api/v1`, live named segments that follow events and time,
//! definitions through the API with roles, masking and errors that point at the column, and
//! membership that survives a restart without everyone entering again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::daemon::Daemon;
use crate::util::{cxp, ok, path};

const DAY: i64 = 86_400_000_000_000;
// The generated stream starts 2026-01-01 and spans 10 days; asked the day after.
const AT: &str = "2026-01-12T00:00:00Z";

// Timings differ between two runs; everything else must not.
fn strip(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !k.starts_with("took"));
            m.values_mut().for_each(strip);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

fn answer(args: &[&str]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&ok(args)).expect("json");
    strip(&mut v);
    v
}

#[test]
fn a_data_directory_and_the_daemon_give_the_same_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let lp = dir.path().join("g.lp");
    ok(&["gen", "--customers", "400", "--events", "12000", "--days", "10", "--seed", "5", "--out", path(&lp)]);
    ok(&["import", "--data", path(&data), path(&lp)]);
    std::fs::write(data.join("segments.toml"), "big = \"sum(order.amount) > 300\"\n").expect("segments");
    let text = std::fs::read_to_string(&lp).expect("lp");
    let sku = text
        .lines()
        .filter(|l| l.starts_with("order,"))
        .find_map(|l| {
            l.split_once("sku=").map(|(_, rest)| rest.split([',', ' ']).next().unwrap_or("").trim_matches('"'))
        })
        .expect("an order with a product")
        .to_owned();
    let asks: Vec<Vec<&str>> = vec![
        vec!["query", "--at", AT, "--json", "--sample", "5", "sum(order.amount, 7d) > 100 and did(any, 3d)"],
        vec!["query", "--at", AT, "--json", "segment(big) and not did(order, 2d)"],
        vec!["rfm", "--at", AT, "--json"],
        vec!["funnel", "--at", AT, "--json", "--step-window", "3d", "signup", "page_view", "add_to_cart", "order"],
        vec!["funnel", "--at", AT, "--json", "--window", "5d", "--by", "channel", "page_view", "order"],
        vec!["kpi", "daily", "--at", AT, "--from", "2026-01-01T00:00:00Z", "--json"],
        vec!["kpi", "retention", "--at", AT, "--from", "2026-01-01T00:00:00Z", "--period", "day", "--json"],
        vec!["kpi", "summary", "--json"],
        vec!["cluster", "--at", AT, "--k", "2..4", "--json"],
        vec!["copurchase", "--at", AT, "--json", &sku],
    ];
    // The source flags go after the (sub)command.
    let split = |a: &[&str]| if a[0] == "kpi" { 2 } else { 1 };
    let local: Vec<serde_json::Value> =
        asks.iter().map(|a| answer(&[&a[..split(a)], &["--data", path(&data)], &a[split(a)..]].concat())).collect();
    assert!(local[0]["count"].as_u64().expect("count") > 0, "{}", local[0]);
    assert!(local[2]["customers"].as_u64().expect("rfm customers") > 0);
    assert!(local[9]["buyers"].as_u64().expect("buyers") > 0, "{}", local[9]);

    let d = Daemon::start(&data, &[]);
    let token = d.admin();
    let addr = format!("http://{}", d.http);
    for (ask, want) in asks.iter().zip(&local) {
        let n = split(ask);
        let got = answer(&[&ask[..n], &["--addr", &addr, "--token", &token], &ask[n..]].concat());
        assert_eq!(&got, want, "cxp {ask:?}: the daemon and the data directory disagree");
    }
    // The file's segment is live in the daemon, and named segments work in ad-hoc queries.
    let listed = ok(&["segment", "list", "--addr", &addr, "--token", &token]);
    assert!(listed.contains("big") && listed.contains("file"), "{listed}");
    // Errors point at the column, from both.
    let bad = cxp(&["query", "--addr", &addr, "--token", &token, "sum(order.amount, 30d > 5"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("400") && bad.stderr.contains('^'), "{}", bad.stderr);
    d.stop();
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as i64
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn live_segments_follow_events_and_time_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(
        data.join("segments.toml"),
        "big = \"sum(order.amount, 30d) > 5000\"\n[active]\nexpr = \"did(any, 30d)\"\ndescription = \"Seen this month\"\n",
    )
    .expect("segments");
    let config = dir.path().join("cxp.toml");
    std::fs::write(&config, "[segments]\nrefresh_ms = 100\nexpiry_s = 1\n").expect("config");
    let d = Daemon::start(&data, &["--config", path(&config)]);
    let admin = format!("Bearer {}", d.admin());
    let token = |role: &str| {
        format!("Bearer {}", ok(&["token", "create", "--data", path(&data), "--role", role, "--name", role]).trim())
    };
    let (analyst, viewer) = (token("analyst"), token("viewer"));
    let get = |route: &str, auth: &str| {
        let r = d.request("GET", route, &[("Authorization", auth)], b"");
        assert_eq!(r.status, 200, "{route}: {}", r.text());
        r.json()
    };

    // c-1 spends 6000 now; c-2 was last seen 30 days ago less 8 seconds: active, for a moment
    // (long enough for a slow machine to see it enter first).
    let now = now_ns();
    let lp = format!(
        "order,customer=c-1 amount=6000 {}\nlogin,customer=c-2 ok=true {}\n",
        now - 60_000_000_000,
        now - 30 * DAY + 8_000_000_000
    );
    let r = d.request("POST", "/write?db=x", &[("Authorization", &admin)], lp.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    wait_for("both customers in active", || get("/api/v1/segments/active", &admin)["members"] == 2);
    assert_eq!(get("/api/v1/segments/big", &admin)["members"], 1);
    assert_eq!(get("/api/v1/segments/active", &admin)["description"], "Seen this month");
    // Nobody sends anything: c-2 leaves "active" when the window passes its last event.
    wait_for("c-2 to leave active by time", || get("/api/v1/segments/active", &admin)["members"] == 1);
    let doc = get("/api/v1/segments/active", &admin);
    assert_eq!((doc["entered"].as_u64(), doc["exited"].as_u64()), (Some(2), Some(1)), "{doc}");
    assert!(doc["evaluated_at"].as_i64().expect("evaluated_at") > now);
    assert!(!doc["history"].as_array().expect("history").is_empty());
    let log = get("/api/v1/segment-changes?after=0", &analyst);
    let changes = log["changes"].as_array().expect("changes");
    let of = |segment: &str, entered: bool| {
        changes.iter().filter(|c| c["segment"] == segment && c["entered"] == entered).count()
    };
    assert_eq!((of("active", true), of("active", false), of("big", true), of("big", false)), (2, 1, 1, 0), "{log}");
    let next = log["next"].as_u64().expect("next");
    assert_eq!(get(&format!("/api/v1/segment-changes?after={next}"), &analyst)["changes"], serde_json::json!([]));

    // Members: analysts see masked identifiers, admins the real ones.
    let masked = get("/api/v1/segments/big/members", &analyst);
    assert_eq!(masked["count"], 1);
    let shown = masked["members"][0]["customer"].as_str().expect("customer").to_owned();
    assert!(shown.starts_with("customer=") && !shown.contains("c-1"), "{shown}");
    assert_eq!(get("/api/v1/segments/big/members", &admin)["members"][0]["customer"], "customer=c-1");
    let q = get("/api/v1/query?expr=segment(big)%20or%20segment(active)", &viewer);
    assert_eq!(q["count"], 1);
    assert!(!q["sample"][0]["customer"].as_str().expect("sample").contains("c-1"), "{q}");

    // Definitions through the API: who may, and what is refused, with where and why.
    let define =
        |auth: &str, body: &str| d.request("POST", "/api/v1/segments", &[("Authorization", auth)], body.as_bytes());
    let vip = r#"{"name":"vip","expr":"segment(big) and did(order, 1d)","description":"Big and buying"}"#;
    assert_eq!(define(&viewer, vip).status, 403);
    let r = define(&analyst, vip);
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for("vip to be evaluated", || get("/api/v1/segments/vip", &admin)["members"] == 1);
    let r = define(&analyst, r#"{"name":"bad","expr":"sum(order.amount, 30d > 5"}"#);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().expect("error").contains('^'), "{}", r.text());
    let r = define(&analyst, r#"{"name":"loop","expr":"segment(loop) or did(any)"}"#);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("circle"), "{}", r.text());
    assert_eq!(define(&analyst, r#"{"name":"big","expr":"did(any)"}"#).status, 409);
    assert_eq!(define(&analyst, r#"{"name":"has space","expr":"did(any)"}"#).status, 400);
    let del = |name: &str| d.request("DELETE", &format!("/api/v1/segments/{name}"), &[("Authorization", &admin)], b"");
    assert_eq!(del("big").status, 409);
    assert_eq!(d.request("GET", "/api/v1/segments/nope", &[("Authorization", &admin)], b"").status, 404);
    let audit = std::fs::read_to_string(data.join("audit.log")).expect("audit log");
    assert!(audit.contains("define segment") && audit.contains("list segment big"), "{audit}");

    // A restart keeps definitions and membership: nobody enters again.
    d.stop();
    let started = now_ns();
    let d = Daemon::start(&data, &["--config", path(&config)]);
    let get = |route: &str| {
        let r = d.request("GET", route, &[("Authorization", &admin)], b"");
        assert_eq!(r.status, 200, "{route}: {}", r.text());
        r.json()
    };
    assert_eq!(get("/api/v1/segments/vip")["members"], 1);
    wait_for("a round after the restart", || get("/api/v1/segments/active")["evaluated_at"].as_i64() > Some(started));
    assert_eq!(get("/api/v1/segment-changes?after=0")["changes"], serde_json::json!([]));
    let doc = get("/api/v1/segments/active");
    assert_eq!((doc["members"].as_u64(), doc["entered"].as_u64()), (Some(1), Some(2)), "{doc}");
    assert_eq!(d.request("DELETE", "/api/v1/segments/vip", &[("Authorization", &admin)], b"").status, 200);
    assert_eq!(d.request("DELETE", "/api/v1/segments/vip", &[("Authorization", &admin)], b"").status, 404);
    d.stop();
}
