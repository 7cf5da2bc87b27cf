//! `cxp demo --headless`: the whole platform on an embedded daemon, from nothing: history
//! loaded, both models trained, live events, segments with members, journeys sending, the
//! win-back experiment exposing customers.

use crate::util::{ok, path};

#[test]
fn the_headless_demo_runs_the_whole_business() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("demo");
    let out = ok(&[
        "demo",
        "--headless",
        "--duration",
        "20s",
        "--json",
        "--data",
        path(&data),
        "--customers",
        "2000",
        "--history",
        "60000",
        "--rate",
        "1500",
    ]);
    let s: serde_json::Value = serde_json::from_str(&out).expect("the summary is JSON");
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    assert_eq!(n(&s["history_events"]), 60_000, "{s}");
    assert!(n(&s["live_events"]) > 10_000, "about 1,000/s for 20 s: {s}");
    assert!(n(&s["events_stored"]) >= 60_000 + n(&s["live_events"]), "every acknowledged event is stored: {s}");
    assert_eq!(n(&s["failed_requests"]), 0, "{s}");
    for segment in ["platinum", "cart_open", "churn_risk"] {
        assert!(n(&s["segments"][segment]) > 0, "{segment} has members: {s}");
    }
    let sent: u64 = s["messages"].as_object().expect("channels").values().map(n).sum();
    assert!(sent > 0, "journeys sent messages: {s}");
    assert!(n(&s["journeys"]["cart_abandonment"]) > 0, "{s}");
    for model in ["churn", "purchase"] {
        let auc = s["models"][model].as_f64().unwrap_or(0.0);
        assert!(auc > 0.55, "{model} trained with a useful AUC: {s}");
    }
    let exposed: u64 = s["experiments"]["winback_wording"].as_object().expect("experiment").values().map(n).sum();
    assert!(exposed > 0, "the win-back split logs exposures: {s}");
    // What was sent is in the file sink, one JSON line per message.
    let files: Vec<_> = std::fs::read_dir(data.join("messages")).expect("messages").collect();
    assert!(!files.is_empty());
}
