//! Content of the stream: the mix, skew, churn, identities and their links, baskets.
//! All on one shared 200k-event stream (see `util::big`).

use std::collections::{BTreeMap, BTreeSet};

use crate::util::{Event, big, normalize_phone};

const HOUR_NS: i64 = 3_600_000_000_000;

fn share(events: &[Event], pred: impl Fn(&Event) -> bool) -> f64 {
    events.iter().filter(|e| pred(e)).count() as f64 / events.len() as f64
}

#[test]
fn measurement_mix_matches_targets() {
    let (_, events) = big();
    // (measurements, target share, absolute tolerance)
    let targets: [(&[&str], f64, f64); 11] = [
        (&["page_view"], 0.50, 0.02),
        (&["login"], 0.10, 0.01),
        (&["add_to_cart"], 0.12, 0.01),
        (&["order"], 0.08, 0.01),
        (&["signup", "identify"], 0.05, 0.01),
        (&["review"], 0.02, 0.004),
        (&["search"], 0.05, 0.01),
        (&["message_open"], 0.03, 0.006),
        (&["refund"], 0.005, 0.002),
        (&["inventory"], 0.035, 0.006),
        (&["campaign"], 0.01, 0.003),
    ];
    let known: BTreeSet<&str> = targets.iter().flat_map(|t| t.0.iter().copied()).collect();
    for e in events {
        assert!(known.contains(e.measurement.as_str()), "unexpected {}", e.measurement);
    }
    for (names, target, tolerance) in targets {
        let got = share(events, |e| names.contains(&e.measurement.as_str()));
        assert!((got - target).abs() <= tolerance, "{names:?}: {got:.4} vs {target}");
    }
    let store = share(events, |e| e.tag("channel") == Some("store") && e.measurement == "order");
    let orders = share(events, |e| e.measurement == "order");
    assert!((store / orders - 0.2).abs() < 0.04, "store orders {:.3}", store / orders);
}

#[test]
fn top_customers_dominate() {
    let (config, events) = big();
    let mut per_customer: BTreeMap<u64, u64> = BTreeMap::new();
    for c in events.iter().filter_map(Event::customer) {
        *per_customer.entry(c).or_default() += 1;
    }
    let mut counts: Vec<u64> = per_customer.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let total: u64 = counts.iter().sum();
    let top = (config.customers / 100) as usize;
    let top_share = counts[..top].iter().sum::<u64>() as f64 / total as f64;
    // 1% of customers with 15x their fair share or more.
    assert!(top_share > 0.15, "top 1% share {top_share:.3}");
    // ... and yet a long tail: most customers appear.
    assert!(per_customer.len() as u64 > config.customers * 9 / 10);
}

#[test]
fn many_customers_go_silent() {
    let (config, events) = big();
    let span = i64::from(config.days) * 24 * HOUR_NS;
    let (first_third, last_third) = (config.start_ns + span / 3, config.start_ns + 2 * span / 3);
    let mut early = BTreeSet::new();
    let mut late = BTreeSet::new();
    for e in events {
        if let Some(c) = e.customer() {
            if e.ts < first_third {
                early.insert(c);
            } else if e.ts >= last_third {
                late.insert(c);
            }
        }
    }
    let silent = early.difference(&late).count() as f64 / early.len() as f64;
    assert!(silent > 0.12, "silent share {silent:.3}");
}

#[test]
fn new_customers_sign_up_then_identify() {
    let (_, events) = big();
    let mut first_two: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for e in events {
        if let Some(c) = e.customer() {
            let seen = first_two.entry(c).or_default();
            if seen.len() < 2 {
                seen.push(&e.measurement);
            }
        }
    }
    let signups: Vec<u64> = events.iter().filter(|e| e.measurement == "signup").filter_map(Event::customer).collect();
    assert!(signups.len() > 500, "{} signups", signups.len());
    // Ids grow with signup time.
    assert!(signups.windows(2).all(|w| w[0] < w[1]));
    for c in &signups {
        assert_eq!(first_two[c], ["signup", "identify"], "c-{c}");
    }
    // Signups spread over the whole period.
    let signup_times: Vec<i64> = events.iter().filter(|e| e.measurement == "signup").map(|e| e.ts).collect();
    let (config, _) = big();
    let span = i64::from(config.days) * 24 * HOUR_NS;
    let late = signup_times.iter().filter(|&&t| t > config.start_ns + span * 2 / 3).count();
    assert!(late * 5 > signup_times.len(), "{late} of {}", signup_times.len());
}

#[test]
fn anonymous_devices_are_linked_by_identify() {
    let (_, events) = big();
    let mut linked: BTreeMap<&str, usize> = BTreeMap::new(); // device -> index of linking line
    for (i, e) in events.iter().enumerate() {
        if e.measurement == "identify"
            && let Some(d) = e.tag("anon")
        {
            assert!(e.tag("customer").is_some());
            assert!(linked.insert(d, i).is_none(), "device {d} linked twice");
        }
    }
    assert!(linked.len() > 300);
    // Some devices browsed before they were linked; most anonymous views are by visitors
    // who never link.
    let (mut before, mut after, mut unlinked) = (0, 0, 0);
    for (i, e) in events.iter().enumerate() {
        if e.measurement == "page_view"
            && let Some(d) = e.tag("anon")
        {
            assert!(e.tag("customer").is_none());
            match linked.get(d) {
                Some(&j) if i < j => before += 1,
                Some(_) => after += 1,
                None => unlinked += 1,
            }
        }
    }
    assert!(before > 100 && after > 100 && unlinked > before, "{before} {after} {unlinked}");
}

#[test]
fn store_orders_join_online_customers_by_phone_or_card() {
    let (_, events) = big();
    let mut phone_owner: BTreeMap<String, u64> = BTreeMap::new();
    let mut card_owner: BTreeMap<String, u64> = BTreeMap::new();
    let (mut by_phone, mut by_card) = (0, 0);
    for e in events {
        if e.measurement == "identify" {
            let c = e.customer().expect("identify names a customer");
            if let Some(p) = e.str_field("phone") {
                let owner = *phone_owner.entry(normalize_phone(p)).or_insert(c);
                assert_eq!(owner, c, "phone {p} shared by two customers");
            }
            if let Some(m) = e.str_field("member_card") {
                card_owner.insert(m.to_string(), c);
            }
        }
        if e.measurement == "order" && e.tag("channel") == Some("store") {
            assert!(e.tag("customer").is_none() && e.tag("store").is_some());
            // A store order comes after the customer identified with that phone or card.
            match (e.tag("phone"), e.tag("member_card")) {
                (Some(p), None) => {
                    assert_eq!(p.len(), 11, "{p}");
                    assert!(phone_owner.contains_key(p), "unknown phone {p}");
                    by_phone += 1;
                }
                (None, Some(m)) => {
                    assert!(card_owner.contains_key(m), "unknown card {m}");
                    by_card += 1;
                }
                other => panic!("store order with {other:?}"),
            }
        }
    }
    assert!(by_phone > 500 && by_card > 200, "{by_phone} {by_card}");
}

#[test]
fn traits_are_stable_but_spelled_variously() {
    let (_, events) = big();
    let mut phones: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut emails: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut raw_phones = BTreeSet::new();
    let mut genders = BTreeSet::new();
    let mut english_names = 0;
    for e in events.iter().filter(|e| e.measurement == "identify") {
        let c = e.customer().expect("customer");
        if let Some(p) = e.str_field("phone") {
            phones.entry(c).or_default().insert(normalize_phone(p));
            raw_phones.insert(p.len());
        }
        if let Some(m) = e.str_field("email") {
            emails.entry(c).or_default().insert(m.trim().to_lowercase());
        }
        if let Some(g) = e.str_field("gender") {
            genders.insert(g.to_string());
        }
        let name = e.str_field("name").unwrap_or("");
        if name.split(' ').count() == 2 && name.is_ascii() {
            english_names += 1;
        }
    }
    assert!(phones.values().all(|s| s.len() == 1), "one phone per customer");
    assert!(emails.values().all(|s| s.len() == 1), "one email per customer");
    assert!(raw_phones.len() >= 3, "phone spellings by length: {raw_phones:?}");
    assert!(genders.len() >= 10, "{genders:?}");
    assert!(english_names > 100);
}

#[test]
fn orders_follow_carts_and_have_a_long_tail() {
    let (_, events) = big();
    let mut cart: BTreeMap<u64, String> = BTreeMap::new();
    let (mut online, mut from_cart) = (0, 0);
    let mut amounts = Vec::new();
    for e in events {
        match e.measurement.as_str() {
            "add_to_cart" => {
                let c = e.customer().expect("customer");
                cart.insert(c, e.str_field("sku").expect("sku").to_string());
            }
            "order" => {
                let amount = e.float_field("amount").expect("amount");
                assert!(amount > 0.0 && e.int_field("items").expect("items") >= 1);
                amounts.push(amount);
                if let Some(c) = e.customer() {
                    online += 1;
                    if cart.get(&c).map(String::as_str) == e.str_field("sku") {
                        from_cart += 1;
                    }
                }
            }
            _ => {}
        }
    }
    assert!(from_cart * 5 > online * 2, "{from_cart} of {online} orders follow a cart");
    amounts.sort_by(f64::total_cmp);
    let q = |p: f64| amounts[(p * (amounts.len() - 1) as f64) as usize];
    assert!(q(0.99) > 10.0 * q(0.5), "p50 {} p99 {}", q(0.5), q(0.99));
    assert!(q(0.5) > 50.0 && q(0.5) < 2_000.0, "median {}", q(0.5));
}

#[test]
fn review_text_matches_rating() {
    let (_, events) = big();
    let reviews: Vec<&Event> = events.iter().filter(|e| e.measurement == "review").collect();
    assert!(reviews.len() > 2_000);
    let mut chinese = 0;
    for r in &reviews {
        let rating = r.int_field("rating").expect("rating");
        assert!((1..=5).contains(&rating));
        let text = r.str_field("text").expect("text");
        if text.contains("退款") || text.to_lowercase().contains("refund") {
            assert!(rating <= 2, "{text} rated {rating}");
        }
        if !text.is_ascii() {
            chinese += 1;
        }
    }
    assert!(chinese * 3 > reviews.len() && chinese < reviews.len());
}

#[test]
fn evenings_are_busy_nights_quiet() {
    let (_, events) = big();
    let mut per_hour = [0u32; 24];
    for e in events {
        // Local time in China, UTC+8.
        per_hour[((e.ts / HOUR_NS + 8) % 24) as usize] += 1;
    }
    assert!(per_hour[21] > 5 * per_hour[4], "{per_hour:?}");
    assert!(per_hour[20] > per_hour[10], "{per_hour:?}");
}

#[test]
fn shop_events_carry_no_identity() {
    let (_, events) = big();
    let shop: Vec<&Event> =
        events.iter().filter(|e| e.measurement == "inventory" || e.measurement == "campaign").collect();
    assert!(shop.len() > 5_000);
    for e in shop {
        for id in ["customer", "anon", "phone", "member_card", "email"] {
            assert!(e.tag(id).is_none() && e.field(id).is_none(), "{e:?}");
        }
    }
}
