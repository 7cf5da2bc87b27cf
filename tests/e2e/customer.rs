//! `cxp customer` and `cxp identity`: the seed's customer journey from the command line.

use crate::util::{cxp, ok, path};

const JOURNEY: &str = "page_view,anon=d-9,channel=web path=\"/p/A-1\" 1767225600000000000
identify,anon=d-9,customer=c-7 手机号=\"138 0000 0000\",姓名=\"张伟\",城市=\"上海\" 1767225700000000000
order,customer=c-7,channel=web amount=100.0 1767225800000000000
order,channel=store,phone=13800000000 amount=50.5 1767312000000000000
consent,customer=c-7 sms=true,email=false 1767312100000000000
login,anon=d-shop,customer=c-7 ok=true 1767312200000000000
login,anon=d-shop,customer=c-8 ok=true 1767312300000000000
";

#[test]
fn one_customer_from_browsing_to_an_offline_order_and_a_split() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("in.lp");
    std::fs::write(&file, JOURNEY).expect("write");
    let data = dir.path().join("data");
    ok(&["import", "--data", path(&data), path(&file)]);

    // By the phone as a shop assistant types it: the default dictionary applied at import is
    // saved in the store and normalises the look-up too.
    let out = ok(&["customer", "--data", path(&data), "138-0000-0000", "--at", "2026-01-03T00:00:00Z"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["customer"], "anon=d-9", "{out}");
    let mut types: Vec<&str> =
        v["identifiers"].as_array().expect("ids").iter().map(|i| i["type"].as_str().expect("type")).collect();
    types.sort_unstable();
    assert_eq!(types, ["anon", "anon", "customer", "phone"]);
    assert_eq!(v["traits"]["name"]["value"], "张伟");
    assert_eq!(v["traits"]["city"]["value"], "上海");
    assert_eq!(v["computed"]["spend_30d"], 150.5);
    assert_eq!(v["computed"]["orders_30d"], 2);
    assert_eq!(v["consent"]["sms"]["given"], true);
    assert_eq!(v["sums"]["order.amount"], 150.5);
    assert!(v["completeness"].as_f64().expect("number") > 0.0);
    assert_eq!(v["recent_events"].as_array().expect("events").len(), 6);

    // Found by name in Chinese, as the person (the device seen first stands for them).
    let out = ok(&["search", "--data", path(&data), "张伟", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["matches"], 1, "{out}");
    assert_eq!(v["top"][0]["customer"], "anon=d-9", "{out}");

    // The shop's tablet: c-8 signing in on it was refused (one customer id per person).
    let out = ok(&["identity", "refusals", "--data", path(&data)]);
    assert!(
        out.contains("anon d-shop not linked to customer=c-8: the customer would have 2 customer values (max 1)"),
        "{out}"
    );

    // Undo the tablet link of c-7.
    let explain = ok(&["identity", "explain", "--data", path(&data), "c-7", "--json"]);
    let e: serde_json::Value = serde_json::from_str(&explain).expect("json");
    let link = e["links"].as_array().expect("links").iter().find(|l| l["to"] == "anon=d-shop").expect("tablet link");
    let id = link["link"].as_u64().expect("id").to_string();
    let out = ok(&["identity", "split", "--data", path(&data), &id, "--reason", "shop tablet"]);
    assert!(out.contains("anon=d-shop now belongs to customer anon=d-shop"), "{out}");
    let out = ok(&["customer", "--data", path(&data), "c-7", "--at", "2026-01-03T00:00:00Z"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["identifiers"].as_array().expect("ids").len(), 3, "{out}");
    let logins: u64 = v["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .filter(|c| c["event"] == "login")
        .map(|c| c["count"].as_u64().expect("n"))
        .sum();
    assert_eq!(logins, 1, "the login stays with c-7, it was keyed by the customer id");

    let missing = cxp(&["customer", "--data", path(&data), "nobody"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("no customer with the identifier \"nobody\""), "{}", missing.stderr);
}
