//! Fixed data for the console's tests and render bench: a busy shop at a fixed time, with
//! Chinese names, a journey with errors, an experiment short of its sample, and rejects.

use cxp_query::api::{ExperimentDoc, JourneyDoc, MessagesDoc, ModelDoc, QuarantineDoc, SegmentDoc, Status};
use serde_json::json;

use crate::data::{Point, Sample, Snapshot};

/// 2026-12-07T10:00:00Z, ns.
pub const NOW: i64 = 1_796_637_600_000_000_000;
const S: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * S;

fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    match serde_json::from_value(v) {
        Ok(x) => x,
        Err(e) => panic!("fixture does not match the API types: {e}"),
    }
}

/// A snapshot of a busy daemon, fetched one second before [`NOW`].
pub fn snapshot() -> Snapshot {
    let mut s = Snapshot { at: NOW - S, admin: true, ..Snapshot::default() };
    for i in 0..3600i64 {
        let wave = ((i as f64) / 60.0).sin() * 2_000.0 + 10_000.0;
        let value = (i % 900 != 5).then_some(Point {
            events_per_s: wave,
            p99_us: 4_000 + (i % 7) as u64 * 300,
            rejects: (i / 120) as u64,
        });
        s.sample(Sample { at: NOW - S - (3599 - i) * S, value });
    }
    s.status = Some(from::<Status>(json!({
        "version": "0.1.0", "uptime_s": 86_400, "events_total": 812_345_678u64, "events_per_s": 10_432.5,
        "events_per_s_history": [], "latency": {"p50_us": 1_250, "p99_us": 4_800, "p999_us": 9_100, "max_us": 31_000, "count": 99_000},
        "queue_depth": 3, "queue_capacity": 64, "rejects_total": 30,
        "rejects_by_reason": {"type conflict": 21, "missing customer identifier": 6, "timestamp out of range": 3},
        "overloaded_total": 0, "suppressed_total": 2, "tcp_connections": 4, "customers": 1_204_551,
        "quarantined": 27, "events_stored": 812_345_000u64
    })));
    let days: Vec<serde_json::Value> = (0..14)
        .map(|d| {
            let dau = 40_000 + d * 500;
            json!({"day": NOW - (14 - d) * DAY, "dau": dau, "wau": 150_000, "mau": 400_000,
                   "orders": 2_000 + d * 40, "revenue": 310_000.0 + d as f64 * 5_000.0, "aov": 155.0,
                   "buyers": 1_800 + d * 30, "conversion": 0.045 + d as f64 * 0.0005})
        })
        .collect();
    s.kpi = Some(from(json!({"from": NOW - 14 * DAY, "at": NOW, "days": days})));
    s.quality = Some(from(json!({
        "fields": [
            {"event": "identify", "field": "phone", "seen": 120_000, "normalized": 45_000, "invalid": 310, "rejected": 0},
            {"event": "order", "field": "amount", "seen": 98_000, "normalized": 0, "invalid": 0, "rejected": 21},
            {"event": "identify", "field": "email", "seen": 118_000, "normalized": 9_800, "invalid": 12, "rejected": 0}
        ],
        "customers": 1_204_551, "completeness_mean": 0.62,
        "completeness_histogram": [5, 9, 20, 40, 80, 120, 160, 120, 60, 30, 10],
        "online_customers": 300_000, "omnichannel_customers": 42_000
    })));
    s.quarantine = vec![
        from::<QuarantineDoc>(
            json!({"id": 7, "source": "http:/write", "line": 3, "reason": "type conflict: amount is f64",
            "raw": "order,customer=c-9 amount=\"many\" 1796637000000000000", "ts": NOW - 300 * S}),
        ),
        from::<QuarantineDoc>(
            json!({"id": 8, "source": "tcp:8089", "line": 1, "reason": "missing customer identifier",
            "raw": "page_view url=\"/\" 1796637100000000000", "ts": NOW - 200 * S}),
        ),
    ];
    let history: Vec<serde_json::Value> =
        (0..48).map(|h| json!({"at": NOW - (48 - h) * 3_600 * S, "members": 10_000 + h * 37})).collect();
    s.segments = vec![
        from::<SegmentDoc>(json!({"name": "vip_shanghai", "expr": "sum(order.amount, 90d) > 5000 and city = \"上海\"",
            "description": "上海的高价值客户", "source": "segments.toml", "members": 11_776, "evaluated_at": NOW - 2 * S,
            "lag_ms": 120, "entered": 340, "exited": 12, "history": history, "error": null})),
        from::<SegmentDoc>(
            json!({"name": "cart_abandoners", "expr": "count(add_to_cart, 1d) > 0 and count(order, 1d) = 0",
            "description": "", "source": "api", "members": 2_304, "evaluated_at": NOW - 9 * S, "lag_ms": 8_400,
            "entered": 1_200, "exited": 980, "history": [], "error": null}),
        ),
    ];
    s.rfm = Some(from(json!({"at": NOW, "customers": 50_000,
        "grid": (1..=5).flat_map(|r| (1..=5).map(move |f| json!({"r": r, "f": f, "customers": r * 100 + f * 10, "monetary": 100.0}))).collect::<Vec<_>>(),
        "segments": [{"name": "champions", "customers": 4_000, "share": 0.08, "recency_days": 3.0, "frequency": 9.5, "monetary": 2_100.0, "revenue": 8_400_000.0}]})));
    s.journeys = vec![from::<JourneyDoc>(json!({
        "name": "cart_abandonment", "description": "", "version": 2, "trigger": false,
        "entry": "on add_to_cart", "attributing": 14,
        "steps": [
            {"id": "wait_for_order", "what": "wait up to 4h for order (then exit)", "entered": 5_000, "waiting": 420, "passed": 3_100, "exited": 1_480, "converted": 0, "errors": 0},
            {"id": "reminder", "what": "send email cart", "entered": 3_100, "waiting": 0, "passed": 3_080, "exited": 0, "converted": 260, "errors": 20}
        ],
        "stats": {"entered": 5_000, "completed": 3_080, "exited": 1_480, "converted": 1_740, "refused": 0, "sent": 3_080, "steps": [], "by_template": {}, "by_arm": {}},
        "conversion_rate": 0.348, "older": {}, "experiment": null
    }))];
    let exp = cxp_query::experiment::parse_file(
        "[checkout]\nvariants = [\"control\", \"green\"]\nprimary = { kind = \"conversion\", event = \"order\", window = \"7d\" }\nplan = { baseline = 0.1, mde = 0.02 }\n",
    );
    s.experiments =
        exp.map(|v| v.into_iter().map(|experiment| ExperimentDoc { experiment }).collect()).unwrap_or_default();
    s.results = Some(Ok(from(json!({
        "name": "checkout", "at": NOW, "alpha": 0.05,
        "variants": [{"name": "control", "share": 0.5, "exposed": 1_510}, {"name": "green", "share": 0.5, "exposed": 1_490}],
        "multiple_exposures": 0, "unknown_variant": 0,
        "srm": {"chi_square": 0.13, "df": 1, "p_value": 0.715, "mismatch": false},
        "plan": {"baseline": 0.1, "mde": 0.02, "power": 0.8, "alpha": 0.05, "exact_per_variant": 3_840.6, "per_variant": 3_841},
        "metrics": [{"name": "order", "kind": "conversion", "guardrail": false,
            "values": [{"group": "control", "customers": 1_510, "conversions": 151, "mean": 0.1, "sd": null},
                       {"group": "green", "customers": 1_490, "conversions": 179, "mean": 0.1201, "sd": null}],
            "comparisons": [{"group": "green", "difference": 0.0201, "difference_ci": {"low": -0.0023, "high": 0.0425},
                "relative_lift": 0.201, "relative_ci": {"low": -0.02, "high": 0.45}, "p_value": 0.079, "p_adjusted": 0.079,
                "significant": false, "chance_to_beat_control": 0.96, "expected_loss": 0.0003, "expected_loss_control": 0.02}]}],
        "factors": [], "warnings": [], "took_us": 900
    }))));
    s.messages = Some(from::<MessagesDoc>(json!({
        "channels": [
            {"channel": "sms", "sent": 1_200, "deferred": 40, "suppressed": 12, "failed": 0, "dead": 0, "queued": 3},
            {"channel": "email", "sent": 3_080, "deferred": 0, "suppressed": 55, "failed": 4, "dead": 1, "queued": 0},
            {"channel": "webhook", "sent": 90, "deferred": 0, "suppressed": 0, "failed": 0, "dead": 0, "queued": 0}
        ],
        "dead_letters": [{"id": 41, "key": "cart_abandonment/2/reminder/88", "journey": "cart_abandonment", "step": "reminder",
            "channel": "email", "template": "cart", "arm": null, "root": 88, "queued": NOW - 600 * S,
            "decisions": [], "state": "dead", "attempts": 5, "content": null, "error": "smtp: 550 mailbox unavailable"}],
        "recent": [{"id": 42, "key": "trigger:comeback_sms/1/0/12", "journey": "trigger:comeback_sms", "step": "0",
            "channel": "sms", "template": "comeback", "arm": null, "root": 12, "queued": NOW - 60 * S,
            "decisions": [], "state": "sent", "attempts": 1, "content": null, "error": null}]
    })));
    let spec = cxp_query::model::spec::ModelSpec::defaults().into_iter().next();
    if let Some(spec) = spec {
        let name = spec.name.clone();
        let latest = json!({
            "name": name, "version": 3, "trained_at": NOW - 3_600 * S, "cutoff": NOW - 30 * DAY, "label_end": NOW,
            "spec": spec, "layout": cxp_query::model::features::Layout::default(),
            "features": ["recency_days", "orders_90d"],
            "sufficiency": {"history_days": 400.0, "rows": 650_000, "positives": 210_000, "negatives": 440_000,
                "min_class_rows": 200, "min_history_days": 60, "problems": []},
            "rows_train": 455_000, "rows_valid": 65_000, "rows_test": 130_000,
            "test": {"rows": 130_000, "positives": 42_000, "auc": 0.7456, "log_loss": 0.551,
                "at_half": {"threshold": 0.5, "accuracy": 0.71, "precision": 0.6, "recall": 0.4, "predicted_positive": 30_000},
                "calibration": [{"low": 0.0, "high": 0.5, "rows": 90_000, "predicted": 0.21, "observed": 0.2},
                                {"low": 0.5, "high": 1.0, "rows": 40_000, "predicted": 0.66, "observed": 0.68}]},
            "cv": null,
            "importance": [{"feature": "recency_days", "gain": 900.0, "share": 0.62, "splits": 310},
                           {"feature": "orders_90d", "gain": 550.0, "share": 0.38, "splits": 200}],
            "trees": 180, "train_ms": 5_620, "job_ms": 7_100
        });
        s.models = vec![from::<ModelDoc>(json!({
            "spec": cxp_query::model::spec::ModelSpec::defaults().into_iter().next(),
            "versions": [], "latest": latest,
            "scores": {"name": name, "version": 3, "at": NOW - 3_000 * S, "written": NOW - 2_900 * S, "customers": 1_204_551, "slots": 2},
            "next_training": NOW + 20 * 3_600 * S, "next_scoring": NOW + 3_600 * S
        }))];
    }
    s.search = Some(Ok(from(json!({"query": "张", "total": 2, "indexed_seq": 100, "hits": [
        {"root": 12, "customer": "customer=c-12", "score": 3.2, "snippet": "张伟 13800000012 上海"},
        {"root": 40, "customer": "customer=c-40", "score": 2.1, "snippet": "张丽 \"delivery was late\""}
    ]}))));
    s.customer = Some(Ok(from(json!({
        "customer": "customer=c-12", "root": 12,
        "identifiers": [{"type": "customer", "id": "c-12"}, {"type": "phone", "id": "+86138****0012"}],
        "first_seen": NOW - 90 * DAY, "last_seen": NOW - 60 * S,
        "traits": {"name": {"value": "张伟", "ts": NOW - 90 * DAY, "source": "identify"},
                   "city": {"value": "上海", "ts": NOW - 90 * DAY, "source": "identify"}},
        "computed": {"orders_90d": 4, "revenue_90d": 1_288.5}, "computed_at": NOW,
        "counts": [], "sums": {}, "consent": {"sms": {"given": true, "ts": NOW - DAY}, "email": {"given": false, "ts": NOW - DAY}},
        "completeness": 0.8, "scores": {"churn": 0.23},
        "recent_events": [
            {"ts": NOW - 60 * S, "seq": 9, "event": "order", "tags": {"customer": "c-12", "channel": "web"}, "fields": {"amount": 299.0}},
            {"ts": NOW - 120 * S, "seq": 8, "event": "experiment_exposure", "tags": {"customer": "c-12", "experiment": "checkout", "variant": "green"}, "fields": {}}
        ],
        "masked": false, "segments": ["vip_shanghai"]
    }))));
    s.identity = Some(from(
        json!({"root": 12, "identifiers": [{"type": "customer", "id": "c-12"}, {"type": "phone", "id": "+86138****0012"}],
        "links": [{"a": {"type": "phone", "id": "+86138****0012"}, "b": {"type": "customer", "id": "c-12"}, "event": "identify", "ts": NOW - 90 * DAY, "source": "http"}],
        "splits": 0, "refusals": 0}),
    ));
    s
}
