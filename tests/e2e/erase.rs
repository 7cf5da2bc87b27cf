//! GDPR erasure through the daemon and the command line: the whole identity disappears from
//! every answer at once, its identifiers are refused afterwards, and after `cxp compact` no
//! file of the data directory (store, search index, audit log) holds any of it.

use crate::daemon::Daemon;
use crate::util::{cxp, ok, path};

// Identifiers and text of the person, as sent; the phone as stored after normalisation too.
const SECRETS: [&str; 7] = [
    "erase-e2e-4711",
    "anon-e2e-77",
    "13912345678",
    "li.erase@example.com",
    "Lierase",
    "unrepeatable-complaint",
    "msg-e2e-1",
];

fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).expect("read").windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            }
        }
    }
    found
}

fn metric(d: &Daemon, auth: &str, name: &str) -> f64 {
    let text = d.request("GET", "/metrics", &[("Authorization", auth)], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} missing in {text}"))
}

#[test]
fn erase_through_the_api_leaves_no_trace_and_refuses_the_person_afterwards() {
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(dir.path(), &[]);
    let admin = format!("Bearer {}", d.admin());
    let auth = [("Authorization", admin.as_str())];
    let lp = "page_view,anon=anon-e2e-77 url=\"/\" 1767225600000000000
identify,anon=anon-e2e-77,customer=erase-e2e-4711 name=\"Lierase\",phone=\"139 1234 5678\",email=\"li.erase@example.com\" 1767225601000000000
order,customer=erase-e2e-4711,channel=web amount=10 1767225602000000000
order,customer=c-2,channel=web amount=20 1767225603000000000
order,customer=erase-e2e-4711 amount=\"many\" 1767225604000000000
";
    let r = d.request("POST", "/write?db=x", &auth, lp.as_bytes());
    assert_eq!(r.status, 400, "the last line is a type conflict: {}", r.text());
    let segment = r#"{"batch":[{"type":"track","userId":"erase-e2e-4711","event":"review","messageId":"msg-e2e-1","properties":{"text":"unrepeatable-complaint about delivery","rating":1}}]}"#;
    assert_eq!(d.request("POST", "/v1/batch", &auth, segment.as_bytes()).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(1500)); // the search index commits every second

    // Read as an admin would before erasing: audited, by key.
    assert_eq!(d.request("GET", "/api/v1/customers/li.erase@example.com", &auth, b"").status, 200);
    let found = d.request("GET", "/api/v1/customers?q=unrepeatable", &auth, b"").json();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(d.request("GET", "/api/v1/customers/erase-e2e-4711/export", &auth, b"").status, 200);
    assert_eq!(d.request("GET", "/api/v1/quarantine", &auth, b"").json().as_array().map(Vec::len), Some(1));

    for secret in SECRETS {
        assert!(!files_containing(dir.path(), secret).is_empty(), "{secret} is on disk before the erasure");
    }

    let analyst = ok(&["token", "create", "--data", path(dir.path()), "--role", "analyst"]).trim().to_owned();
    let r = d.request(
        "DELETE",
        "/api/v1/customers/erase-e2e-4711",
        &[("Authorization", &format!("Bearer {analyst}"))],
        b"",
    );
    assert_eq!(r.status, 403, "only an admin erases");
    assert_eq!(d.request("DELETE", "/api/v1/customers/nobody", &auth, b"").status, 404);

    let r = d.request("DELETE", "/api/v1/customers/%2B8613912345678", &auth, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt = r.json();
    assert_eq!(receipt["events"], 4, "{receipt}");
    assert_eq!(receipt["quarantined"], 1, "{receipt}");
    assert_eq!(receipt["suppressed"], true);
    assert!(receipt["finished_ns"].is_i64());

    for id in ["erase-e2e-4711", "anon-e2e-77", "li.erase@example.com"] {
        assert_eq!(d.request("GET", &format!("/api/v1/customers/{id}"), &auth, b"").status, 404, "{id}");
    }
    assert_eq!(d.request("GET", "/api/v1/customers?q=unrepeatable", &auth, b"").json()["total"], 0);
    assert_eq!(d.request("GET", "/api/v1/customers/c-2", &auth, b"").status, 200, "the neighbour stays");
    assert_eq!(d.request("GET", "/api/v1/quarantine", &auth, b"").json().as_array().map(Vec::len), Some(0));
    let receipts = d.request("GET", "/api/v1/erasures", &auth, b"").json();
    assert_eq!(receipts.as_array().map(Vec::len), Some(1), "{receipts}");

    // The person comes back through both protocols: acknowledged (nothing to retry), not kept.
    let again = "order,customer=erase-e2e-4711 amount=5 1767225605000000000\n";
    assert_eq!(d.request("POST", "/write?db=x", &auth, again.as_bytes()).status, 204);
    let again = r#"{"type":"identify","userId":"anon-e2e-77x","traits":{"email":"li.erase@example.com"}}"#;
    assert_eq!(d.request("POST", "/v1/identify", &auth, again.as_bytes()).status, 200);
    assert_eq!(metric(&d, &admin, "cxp_suppressed_total"), 2.0);
    assert_eq!(d.request("GET", "/api/v1/customers/erase-e2e-4711", &auth, b"").status, 404);
    assert_eq!(d.request("GET", "/api/v1/customers/anon-e2e-77x", &auth, b"").status, 404, "no key for it either");

    // Opt-out: the data stays, new events are refused until lifted.
    assert_eq!(d.request("POST", "/api/v1/customers/c-2/opt-out", &auth, b"").status, 200);
    let c2 = "order,customer=c-2 amount=1 1767225606000000000\n";
    assert_eq!(d.request("POST", "/write?db=x", &auth, c2.as_bytes()).status, 204);
    assert_eq!(metric(&d, &admin, "cxp_suppressed_total"), 3.0);
    let r = d.request("POST", "/api/v1/customers/c-2/consent", &auth, br#"{"sms":true}"#);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(d.request("DELETE", "/api/v1/customers/c-2/opt-out", &auth, b"").status, 200);
    assert_eq!(d.request("POST", "/write?db=x", &auth, c2.as_bytes()).status, 204);
    assert_eq!(metric(&d, &admin, "cxp_suppressed_total"), 4.0, "the consent event was the 4th");
    let orders = d.request("GET", "/api/v1/customers/c-2/events", &auth, b"").json();
    assert_eq!(orders.as_array().map(Vec::len), Some(2), "the order before the opt-out and the one after: {orders}");
    d.stop();

    let audit = std::fs::read_to_string(dir.path().join("audit.log")).expect("audit log");
    for action in ["read customer", "search customers", "export customer", "erase customer", "opt out customer"] {
        assert!(audit.contains(action), "{action} audited: {audit}");
    }
    ok(&["compact", "--data", path(dir.path())]);
    for secret in SECRETS {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new(), "{secret}");
    }
    assert!(!files_containing(dir.path(), "c-2").is_empty(), "the neighbour is still stored");
}

#[test]
fn cxp_erase_on_the_command_line_reaches_the_search_index_too() {
    let dir = tempfile::tempdir().expect("dir");
    let data = path(dir.path());
    let d = Daemon::start(dir.path(), &[]);
    let auth = format!("Bearer {}", d.admin());
    let lp = "identify,customer=c-1 name=\"Zedlinger\" 1767225600000000000\nreview,customer=c-1 text=\"singular-grumble\",rating=2i 1767225601000000000\norder,customer=c-2 amount=3 1767225602000000000\n";
    assert_eq!(d.request("POST", "/write?db=x", &[("Authorization", &auth)], lp.as_bytes()).status, 204);
    d.stop(); // the search index is on disk now, and the daemon is not running
    assert!(!files_containing(dir.path(), "singular-grumble").is_empty());

    let out = ok(&["erase", "--data", data, "c-1", "--by", "dpo"]);
    assert!(out.contains("erasure 1 by cli (dpo): finished"), "{out}");
    assert!(out.contains("events       2"), "{out}");
    let missing = cxp(&["erase", "--data", data, "c-1"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("no customer with the identifier \"c-1\""), "{}", missing.stderr);
    let receipts: serde_json::Value =
        serde_json::from_str(&ok(&["erase", "--data", data, "--receipts", "--json"])).expect("json");
    assert_eq!(receipts[0]["keys"], serde_json::json!([1]));
    let audit = std::fs::read_to_string(dir.path().join("audit.log")).expect("audit log");
    assert!(audit.contains("\"name\":\"dpo\"") && audit.contains("customer #1"), "{audit}");

    ok(&["compact", "--data", data]);
    for secret in ["c-1", "Zedlinger", "singular-grumble"] {
        assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new(), "{secret}");
    }
    let d = Daemon::start(dir.path(), &[]);
    let auth = format!("Bearer {}", d.admin());
    let found = d.request("GET", "/api/v1/customers?q=grumble", &[("Authorization", &auth)], b"").json();
    assert_eq!(found["total"], 0, "{found}");
    assert_eq!(d.request("GET", "/api/v1/customers/c-2", &[("Authorization", &auth)], b"").status, 200);
    d.stop();
}
