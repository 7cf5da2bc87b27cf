//! Roles against every endpoint (including no token and a wrong one), masking of personal data
//! for analysts and viewers, and the audit log of unmasked reads and administrative actions.

use crate::daemon::Daemon;
use crate::util::{ok, path};

const ROLES: [&str; 5] = ["admin", "writer", "marketer", "analyst", "viewer"];

#[test]
fn each_role_reaches_what_it_may_and_sees_personal_data_only_if_it_may() {
    let dir = tempfile::tempdir().expect("dir");
    let d = Daemon::start(dir.path(), &[]);
    let mut tokens: Vec<(&str, String)> = ROLES
        .iter()
        .map(|r| (*r, ok(&["token", "create", "--data", path(dir.path()), "--role", r, "--name", r]).trim().to_owned()))
        .collect();
    tokens.push(("none", String::new()));
    tokens.push(("wrong", "cxp_0000".to_owned()));
    let admin = d.admin();
    let lp = "identify,customer=c-1 name=\"Zhang Wei\",email=\"zhang@example.com\",phone=\"138-0000-0000\" 1767225600000000000\norder,customer=c-1,channel=web amount=10 1767225601000000000\n";
    let r = d.request("POST", "/write?db=x", &[("Authorization", &format!("Token {admin}"))], lp.as_bytes());
    assert_eq!(r.status, 204, "{}", r.text());

    // (method, path, body, roles allowed)
    let reads = ["admin", "marketer", "analyst", "viewer"];
    let table: Vec<(&str, &str, &[u8], &[&str])> = vec![
        ("POST", "/write?db=x", b"m f=1 1767225602000000000", &["admin", "writer"]),
        ("POST", "/api/v2/write?bucket=x", b"m f=2 1767225603000000000", &["admin", "writer"]),
        ("POST", "/v1/track", br#"{"userId":"c-9","event":"e"}"#, &["admin", "writer"]),
        ("GET", "/api/v1/status", b"", &reads),
        ("GET", "/api/v1/quality", b"", &reads),
        ("GET", "/metrics", b"", &reads),
        ("GET", "/api/v1/customers/c-1", b"", &reads),
        ("GET", "/api/v1/customers/c-1/events", b"", &reads),
        ("GET", "/api/v1/customers?q=zhang", b"", &reads),
        ("GET", "/api/v1/customers/c-1/export", b"", &["admin"]),
        ("POST", "/api/v1/customers/c-1/consent", br#"{"sms":true}"#, &["admin", "marketer"]),
        ("GET", "/api/v1/quarantine", b"", &["admin"]),
        ("POST", "/api/v1/quarantine/replay", b"{}", &["admin"]),
        ("GET", "/api/v1/tokens", b"", &["admin"]),
        ("GET", "/api/v1/erasures", b"", &["admin"]),
        ("POST", "/api/v1/tokens", br#"{"role":"viewer","name":"x"}"#, &["admin"]),
    ];
    for (method, route, body, allowed) in &table {
        for (role, token) in &tokens {
            let headers: Vec<(&str, String)> =
                if token.is_empty() { vec![] } else { vec![("Authorization", format!("Bearer {token}"))] };
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = d.request(method, route, &h, body);
            let expected = if allowed.contains(role) {
                if route.contains("write") {
                    204
                } else if route.starts_with("/api/v1/tokens") && *method == "POST" {
                    201
                } else {
                    200
                }
            } else if matches!(*role, "none" | "wrong") {
                401
            } else {
                403
            };
            assert_eq!(r.status, expected, "{role} {method} {route}: {}", r.text());
        }
    }
    for (path, _) in [("/health", 0), ("/ready", 0), ("/ping", 0)] {
        assert!(matches!(d.request("GET", path, &[], b"").status, 200 | 204), "{path} needs no token");
    }

    // Masking: identifiers and personal fields for analysts and viewers, everywhere.
    let bearer = |role: &str| {
        format!("Bearer {}", tokens.iter().find(|(r, _)| *r == role).map(|(_, t)| t.clone()).unwrap_or_default())
    };
    for role in ["analyst", "viewer"] {
        let v = d.request("GET", "/api/v1/customers/c-1", &[("Authorization", &bearer(role))], b"").json();
        assert_eq!(v["masked"], true);
        let text = v.to_string();
        assert!(
            !text.contains("zhang@example.com") && !text.contains("Zhang Wei") && !text.contains("c-1\""),
            "{role}: {text}"
        );
        assert!(text.contains("z***@example.com"), "{text}");
        let e = d.request("GET", "/api/v1/customers/c-1/events", &[("Authorization", &bearer(role))], b"").text();
        assert!(!e.contains("zhang@example.com") && !e.contains("\"c-1\""), "{role}: {e}");
    }
    let v = d.request("GET", "/api/v1/customers/c-1", &[("Authorization", &bearer("marketer"))], b"").json();
    assert_eq!(v["masked"], false);
    assert!(v.to_string().contains("zhang@example.com"));

    // Consent per channel and purpose through the API, then visible in the profile.
    let r = d.request(
        "POST",
        "/api/v1/customers/c-1/consent",
        &[("Authorization", &bearer("marketer"))],
        br#"{"email.marketing": false, "push": true}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let bad = d.request(
        "POST",
        "/api/v1/customers/c-1/consent",
        &[("Authorization", &bearer("admin"))],
        br#"{"sms": "yes"}"#,
    );
    assert_eq!(bad.status, 400);
    let v = d.request("GET", "/api/v1/customers/c-1", &[("Authorization", &bearer("admin"))], b"").json();
    assert_eq!(v["consent"]["email.marketing"]["given"], false, "{v}");
    assert_eq!(v["consent"]["push"]["given"], true);
    assert_eq!(v["consent"]["sms"]["given"], true, "set earlier by the role matrix");

    // Export: everything held about the person.
    let x = d.request("GET", "/api/v1/customers/c-1/export", &[("Authorization", &bearer("admin"))], b"").json();
    assert_eq!(x["identifier"], "c-1");
    assert!(x["events"].as_array().expect("events").len() >= 4, "{x}");
    assert!(x["identity"]["identifiers"].as_array().expect("ids").iter().any(|i| i["id"] == "c-1"));
    assert!(x.to_string().contains("zhang@example.com"));
    assert_eq!(
        d.request("GET", "/api/v1/customers/nobody/export", &[("Authorization", &bearer("admin"))], b"").status,
        404
    );
    d.stop();

    // The audit log names who read unmasked data and who created tokens.
    let audit = std::fs::read_to_string(dir.path().join("audit.log")).expect("audit log");
    let lines: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert!(
        lines.iter().any(|l| l["role"] == "marketer" && l["action"] == "read customer" && l["target"] == "customer #1")
    );
    assert!(lines.iter().any(|l| l["role"] == "admin" && l["action"] == "create token"));
    assert!(lines.iter().any(|l| l["action"] == "export customer" && l["target"] == "customer #1"));
    assert!(lines.iter().any(|l| l["role"] == "marketer" && l["action"] == "set consent"));
    assert!(!lines.iter().any(|l| l["role"] == "analyst"), "masked reads are not audited as unmasked");
    assert!(!audit.contains("c-1") && !audit.contains("zhang"), "customers are named by key only: {audit}");
}
