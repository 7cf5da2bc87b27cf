//! Models and experiments end to end: the feature table a model trains on, training on a
//! generated business, scores in segments and the 360 view, the same through the daemon (with
//! roles), refusals for lack of data, and sticky assignment with exposures counted in results.

use crate::daemon::Daemon;
use crate::util::{cxp, ok, path};

fn generated(dir: &std::path::Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let lp = dir.join("g.lp");
    ok(&["gen", "--customers", "3000", "--events", "300000", "--days", "120", "--seed", "8", "--out", path(&lp)]);
    ok(&["import", "--data", path(&data), path(&lp)]);
    data
}

#[test]
fn churn_model_from_features_to_segments_and_through_the_daemon() {
    let dir = tempfile::tempdir().expect("dir");
    let data = generated(dir.path());
    let d = path(&data);

    // The table the model learns from, as CSV: an id, the features, the label.
    let csv = dir.path().join("churn.csv");
    ok(&["model", "features", "--data", d, "churn", "--out", path(&csv)]);
    let text = std::fs::read_to_string(&csv).expect("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!((header[0], header[1], *header.last().expect("label")), ("id", "recency_days", "label"));
    let rows: Vec<&str> = lines.collect();
    let positives = rows.iter().filter(|r| r.ends_with(",1")).count();
    assert!(
        rows.len() > 1000 && positives > 100 && positives < rows.len() - 100,
        "{} rows, {positives} positive",
        rows.len()
    );

    // Training: the generator's churners go quiet, which recency and activity show.
    let trained: serde_json::Value =
        serde_json::from_str(&ok(&["model", "train", "--data", d, "churn", "--json"])).expect("json");
    let auc = trained["model"]["test"]["auc"].as_f64().expect("auc");
    assert!(auc > 0.75, "test AUC {auc}");
    assert_eq!(
        trained["model"]["sufficiency"]["rows"].as_u64(),
        Some(rows.len() as u64),
        "the CSV is the training table"
    );
    let scored = trained["scored"]["customers"].as_u64().expect("scored");
    assert!(scored > 1000, "{trained}");
    assert_eq!(trained["model"]["version"], 1);

    // Scores are segment material and part of the 360 view.
    let q: serde_json::Value =
        serde_json::from_str(&ok(&["query", "--data", d, "--json", "score.churn > 0.5"])).expect("json");
    let risky = q["count"].as_u64().expect("count");
    assert!(risky > 0 && risky < scored, "{q}");
    let view: serde_json::Value = serde_json::from_str(&ok(&["customer", "--data", d, "c-1"])).expect("json");
    let s = view["scores"]["churn"].as_f64().expect("a churn score for c-1");
    assert!((0.0..=1.0).contains(&s));
    let shown = ok(&["model", "show", "--data", d, "churn"]);
    assert!(shown.contains("feature importance") && shown.contains("calibration"), "{shown}");

    // The daemon: the same model; its schedule trains what was never trained (purchase);
    // training on request, one customer's score, roles.
    let config = dir.path().join("cxp.toml");
    std::fs::write(&config, "[models]\ncheck_s = 1\n").expect("config");
    let daemon = Daemon::start(&data, &["--config", path(&config)]);
    let admin = format!("Bearer {}", daemon.admin());
    let viewer = format!("Bearer {}", ok(&["token", "create", "--data", d, "--role", "viewer"]).trim());
    let analyst = format!("Bearer {}", ok(&["token", "create", "--data", d, "--role", "analyst"]).trim());
    let started = std::time::Instant::now();
    let list = loop {
        let list = daemon.request("GET", "/api/v1/models", &[("Authorization", &viewer)], b"");
        assert_eq!(list.status, 200, "{}", list.text());
        let list = list.json();
        if !list[1]["scores"].is_null() {
            break list;
        }
        assert!(started.elapsed().as_secs() < 120, "the schedule never trained purchase: {list}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(list[0]["spec"]["name"], "churn");
    assert_eq!(list[0]["latest"]["version"], 1, "trained lately: not again");
    assert_eq!((list[1]["latest"]["version"].as_u64(), list[1]["scores"]["version"].as_u64()), (Some(1), Some(1)));
    assert!(list[1]["next_training"].as_i64().is_some());
    let denied = daemon.request("POST", "/api/v1/models/purchase/train", &[("Authorization", &viewer)], b"");
    assert_eq!(denied.status, 403);
    // The schedule's job may still be finishing (scores are visible before it ends): the
    // daemon says 409, ask again when it is done.
    let asked = std::time::Instant::now();
    let r = loop {
        let r = daemon.request("POST", "/api/v1/models/purchase/train", &[("Authorization", &admin)], b"{}");
        if r.status != 409 || asked.elapsed().as_secs() > 120 {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["model"]["version"], 2);
    let r = daemon.request("GET", "/api/v1/models/churn/score?customer=c-7", &[("Authorization", &viewer)], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let one = r.json();
    assert!((0.0..=1.0).contains(&one["score"].as_f64().expect("score")), "{one}");
    let unknown =
        daemon.request("GET", "/api/v1/models/churn/score?customer=nobody", &[("Authorization", &viewer)], b"");
    assert_eq!(unknown.status, 404);
    // The analyst's table names customers masked; the viewer may not have it.
    let r = daemon.request("GET", "/api/v1/models/churn/features", &[("Authorization", &analyst)], b"");
    assert_eq!(r.status, 200);
    let first_row = r.text().lines().nth(1).expect("a row").to_owned();
    assert!(first_row.starts_with("customer=c") && first_row.contains('*'), "{first_row}");
    let r = daemon.request("GET", "/api/v1/models/churn/features", &[("Authorization", &viewer)], b"");
    assert_eq!(r.status, 403);
    // The command line through the daemon.
    let addr = format!("http://{}", daemon.http);
    let listed = ok(&["model", "list", "--addr", &addr, "--token", &admin[7..]]);
    assert!(listed.contains("churn") && listed.contains("purchase"), "{listed}");
    daemon.stop();
}

#[test]
fn too_little_data_is_refused_with_the_numbers() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let lp = dir.path().join("g.lp");
    ok(&["gen", "--customers", "50", "--events", "2000", "--days", "10", "--seed", "1", "--out", path(&lp)]);
    ok(&["import", "--data", path(&data), path(&lp)]);
    let r = cxp(&["model", "train", "--data", path(&data), "churn"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("not training churn") && r.stderr.contains("needed"), "{}", r.stderr);
    let config = dir.path().join("cxp.toml");
    std::fs::write(&config, "[models]\nauto = false\n").expect("config");
    let daemon = Daemon::start(&data, &["--config", path(&config)]);
    let admin = format!("Bearer {}", daemon.admin());
    let r = daemon.request("POST", "/api/v1/models/churn/train", &[("Authorization", &admin)], b"");
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.json()["sufficiency"]["rows"].as_u64().is_some());
    daemon.stop();
}

const EXPERIMENTS: &str = r#"
[checkout_button]
description = "Green checkout button"
variants = [{ name = "control", weight = 50 }, { name = "green", weight = 50 }]
primary = { name = "purchase", kind = "conversion", event = "order", window = "7d" }
"#;

#[test]
fn assignment_is_sticky_logged_and_counted() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("experiments.toml"), EXPERIMENTS).expect("experiments");
    let daemon = Daemon::start(&data, &[]);
    let admin = format!("Bearer {}", daemon.admin());
    let writer = format!("Bearer {}", ok(&["token", "create", "--data", path(&data), "--role", "writer"]).trim());
    let viewer = format!("Bearer {}", ok(&["token", "create", "--data", path(&data), "--role", "viewer"]).trim());
    let mut variants = Vec::new();
    for i in 0..200 {
        let body = format!("{{\"customer\": \"c-{i}\"}}");
        let r = daemon.request(
            "POST",
            "/api/v1/experiments/checkout_button/assign",
            &[("Authorization", &writer)],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = r.json();
        assert_eq!(doc["logged"], true, "{doc}");
        variants.push(doc["variant"].as_str().expect("a variant").to_owned());
    }
    // Sticky: asked again, the same answers.
    for (i, v) in variants.iter().enumerate().take(20) {
        let body = format!("{{\"customer\": \"c-{i}\", \"log\": false}}");
        let r = daemon.request(
            "POST",
            "/api/v1/experiments/checkout_button/assign",
            &[("Authorization", &writer)],
            body.as_bytes(),
        );
        assert_eq!(r.json()["variant"].as_str(), Some(v.as_str()));
    }
    let denied = daemon.request(
        "POST",
        "/api/v1/experiments/checkout_button/assign",
        &[("Authorization", &viewer)],
        b"{\"customer\":\"c-1\"}",
    );
    assert_eq!(denied.status, 403);
    let r = daemon.request("GET", "/api/v1/experiments/checkout_button/results", &[("Authorization", &viewer)], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let res = r.json();
    let exposed: Vec<u64> =
        res["variants"].as_array().expect("variants").iter().map(|v| v["exposed"].as_u64().expect("n")).collect();
    let greens = variants.iter().filter(|v| *v == "green").count() as u64;
    assert_eq!(exposed, vec![200 - greens, greens], "{res}");
    assert!(res["srm"]["p_value"].as_f64().is_some());
    let missing = daemon.request("GET", "/api/v1/experiments/nope/results", &[("Authorization", &viewer)], b"");
    assert_eq!(missing.status, 404);
    let addr = format!("http://{}", daemon.http);
    let shown = ok(&["experiment", "show", "--addr", &addr, "--token", &admin[7..], "checkout_button"]);
    assert!(shown.contains("sample ratio"), "{shown}");
    daemon.stop();
    // The data directory gives the same variants (the hash is the same everywhere).
    let local = ok(&["experiment", "assign", "--data", path(&data), "checkout_button", "c-0", "c-1", "c-2"]);
    for (i, line) in local.lines().enumerate() {
        assert_eq!(line, format!("c-{i}\t{}", variants[i]));
    }
}

#[test]
fn recommendations_follow_events_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let daemon = Daemon::start(&data, &[]);
    let admin = format!("Bearer {}", daemon.admin());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos() as i64;
    // Twenty shoppers view a phone then its case; five the phone then a charger; c-99 orders the phone.
    let mut lp = String::new();
    for c in 0..25 {
        let other = if c < 20 { "case-1" } else { "charger-1" };
        lp.push_str(&format!("page_view,customer=c-{c} sku=\"phone-1\" {}\n", now - 3_600_000_000_000));
        lp.push_str(&format!("page_view,customer=c-{c} sku=\"{other}\" {}\n", now - 3_000_000_000_000));
    }
    lp.push_str(&format!("order,customer=c-99 sku=\"phone-1\",amount=999.0 {}\n", now - 60_000_000_000));
    let r = daemon.request("POST", "/write", &[("Authorization", &admin)], lp.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());
    let ask = |d: &Daemon, q: &str| {
        let started = std::time::Instant::now();
        loop {
            let r = d.request("GET", &format!("/api/v1/recommendations?{q}"), &[("Authorization", &admin)], b"");
            assert_eq!(r.status, 200, "{}", r.text());
            let doc = r.json();
            if doc["items"][0]["source"] == "co-occurrence" || started.elapsed() > std::time::Duration::from_secs(10) {
                return doc;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let doc = ask(&daemon, "item=phone-1&k=2");
    let items: Vec<&str> =
        doc["items"].as_array().expect("items").iter().map(|i| i["item"].as_str().expect("item")).collect();
    assert_eq!(items, ["case-1", "charger-1"], "{doc}");
    // For a customer: a coupon decision (no scores yet: no coupon, and it says why).
    let doc = ask(&daemon, "item=phone-1&customer=c-3&k=1");
    assert_eq!(doc["coupon"]["offer"], false);
    assert!(doc["coupon"]["reason"].as_str().expect("reason").contains("no purchase score"), "{doc}");
    assert!(daemon.request("GET", "/api/v1/recommendations", &[("Authorization", &admin)], b"").status == 400);
    daemon.stop();
    // Rebuilt from the store at the next start.
    let daemon = Daemon::start(&data, &[]);
    let doc = ask(&daemon, "item=phone-1&k=1");
    assert_eq!(doc["items"][0]["item"], "case-1", "{doc}");
    daemon.stop();
}
