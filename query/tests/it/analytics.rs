//! Analytics against brute-force oracles (straight loops over the events read back), and
//! k-means and the silhouette against scikit-learn.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cxp_query::analytics::copurchase::{CopurchaseSpec, copurchase};
use cxp_query::analytics::funnel::{FunnelSpec, funnel};
use cxp_query::analytics::kmeans::{KMeansOptions, kmeans, silhouette};
use cxp_query::analytics::kpi::{KpiSpec, daily};
use cxp_query::analytics::retention::{RetentionSpec, WEEK, period_start, retention};
use cxp_query::analytics::rfm::{RfmOptions, rfm};
use ndarray::array;

use crate::common::{BASE, DAY, Ev, HOUR, events, random_store};

type CohortCounts = (u64, BTreeMap<i64, u64>, BTreeMap<i64, f64>);

fn by_person(evs: &[Ev]) -> BTreeMap<u32, Vec<&Ev>> {
    let mut out: BTreeMap<u32, Vec<&Ev>> = BTreeMap::new();
    for e in evs {
        out.entry(e.root).or_default().push(e);
    }
    for list in out.values_mut() {
        list.sort_by_key(|e| (e.ts, e.seq));
    }
    out
}

// Every chain, tried one by one: the deepest step reached.
fn oracle_depth(evs: &[&Ev], spec: &FunnelSpec, group: Option<&str>) -> usize {
    fn go(evs: &[&Ev], spec: &FunnelSpec, step: usize, prev: i64, start: i64) -> usize {
        let mut best = step;
        if step == spec.steps.len() {
            return best;
        }
        for e in evs {
            let ok = e.m == spec.steps[step]
                && e.ts > prev
                && spec.step_window.is_none_or(|w| e.ts - prev <= w)
                && spec.window.is_none_or(|w| e.ts - start <= w);
            if ok {
                best = best.max(go(evs, spec, step + 1, e.ts, start));
            }
        }
        best
    }
    let mut best = 0;
    for e in evs {
        let in_group = group.is_none_or(|g| {
            e.get(spec.breakdown.as_deref().unwrap_or("")).map(|v| v.to_string()).as_deref() == Some(g)
        });
        if e.m == spec.steps[0] && e.ts >= spec.from && in_group {
            best = best.max(go(evs, spec, 1, e.ts, e.ts));
        }
    }
    best
}

#[test]
fn funnels_match_every_chain_tried_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 7, 4, 300, 40);
    let evs = events(&store);
    let people = by_person(&evs);
    let snap = store.snapshot(false, &[]);
    let steps = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let specs = [
        (steps(&["page_view", "login", "order"]), Some(DAY), None),
        (steps(&["login", "order", "order"]), Some(2 * DAY), Some(3 * DAY)),
        (steps(&["page_view", "page_view", "order", "login"]), None, Some(2 * DAY)),
        (steps(&["order", "login"]), Some(6 * HOUR), None),
        (steps(&["identify", "order"]), None, None),
    ];
    let mut nonzero = 0;
    for (i, (steps, step_window, window)) in specs.into_iter().enumerate() {
        for (from, at) in [(i64::MIN, BASE + 11 * DAY), (BASE + 2 * DAY, BASE + 8 * DAY)] {
            let spec = FunnelSpec {
                steps: steps.clone(),
                step_window,
                window,
                from,
                at,
                breakdown: (i % 2 == 0).then(|| "channel".to_owned()),
            };
            let got = funnel(&store, &snap, &spec).expect("funnel");
            let visible = |e: &&&Ev| e.ts < at;
            let mut want = vec![0u64; steps.len()];
            let mut groups: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for list in people.values() {
                let list: Vec<&Ev> = list.iter().filter(visible).copied().collect();
                for c in want.iter_mut().take(oracle_depth(&list, &spec, None)) {
                    *c += 1;
                }
                if spec.breakdown.is_some() {
                    let values: BTreeSet<String> = list
                        .iter()
                        .filter(|e| e.m == spec.steps[0] && e.ts >= from)
                        .filter_map(|e| e.get("channel").map(|v| v.to_string()))
                        .collect();
                    for v in values {
                        let depth = oracle_depth(&list, &spec, Some(&v));
                        let counts = groups.entry(v).or_insert_with(|| vec![0; steps.len()]);
                        for c in counts.iter_mut().take(depth) {
                            *c += 1;
                        }
                    }
                }
            }
            let counts: Vec<u64> = got.steps.iter().map(|s| s.customers).collect();
            assert_eq!(counts, want, "{spec:?}");
            let got_groups: BTreeMap<String, Vec<u64>> =
                got.groups.iter().map(|g| (g.value.clone(), g.steps.iter().map(|s| s.customers).collect())).collect();
            assert_eq!(got_groups, groups, "breakdown of {spec:?}");
            nonzero += usize::from(want.last().is_some_and(|c| *c > 0));
            let s = &got.steps;
            for k in 1..s.len() {
                assert_eq!(s[k].dropped, s[k - 1].customers - s[k].customers);
            }
        }
    }
    assert!(nonzero >= 6, "most funnels convert someone ({nonzero})");
}

#[test]
fn daily_kpis_match_a_loop_over_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 9, 3, 300, 150);
    let evs = events(&store);
    let snap = store.snapshot(false, &[]);
    for (from, at) in [(BASE, BASE + 10 * DAY), (BASE + 3 * DAY + 5 * HOUR, BASE + 7 * DAY + 2 * HOUR)] {
        let report = daily(&store, &snap, &KpiSpec::new(from, at)).expect("kpis");
        let first = from.div_euclid(DAY) * DAY;
        assert_eq!(report.days.first().map(|d| d.day), Some(first));
        for d in &report.days {
            let active_in = |a: i64, b: i64| -> u64 {
                let set: BTreeSet<u32> = evs.iter().filter(|e| e.ts >= a && e.ts < b.min(at)).map(|e| e.root).collect();
                set.len() as u64
            };
            let end = d.day + DAY;
            assert_eq!(d.dau, active_in(d.day, end), "dau of {}", d.day);
            assert_eq!(d.wau, active_in(d.day - 6 * DAY, end), "wau");
            assert_eq!(d.mau, active_in(d.day - 29 * DAY, end), "mau");
            let orders: Vec<&Ev> =
                evs.iter().filter(|e| e.m == "order" && e.ts >= d.day && e.ts < end.min(at)).collect();
            assert_eq!(d.orders, orders.len() as u64);
            let revenue: f64 = orders.iter().filter_map(|e| e.num("amount")).sum();
            assert_eq!(d.revenue, revenue, "amounts are eighths: exact");
            let buyers: BTreeSet<u32> = orders.iter().map(|e| e.root).collect();
            assert_eq!(d.buyers, buyers.len() as u64);
        }
    }
}

#[test]
fn retention_and_ltv_match_a_loop_over_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 13, 3, 300, 60);
    let evs = events(&store);
    let people = by_person(&evs);
    let snap = store.snapshot(false, &[]);
    for (period, activity) in [(DAY, None), (WEEK, Some("order")), (2 * DAY, None)] {
        let spec = RetentionSpec {
            cohort_event: "login".into(),
            activity: activity.map(str::to_owned),
            period,
            from: BASE + DAY,
            at: BASE + 9 * DAY + 3 * HOUR,
            ..RetentionSpec::weekly(0, 0)
        };
        let got = retention(&store, &snap, &spec);
        if period == 2 * DAY {
            assert!(got.is_err(), "periods are days or weeks");
            continue;
        }
        let got = got.expect("retention");
        let first = period_start(spec.from, period);
        // Cohort start -> (customers, active per period, revenue per period).
        let mut want: BTreeMap<i64, CohortCounts> = BTreeMap::new();
        for list in people.values() {
            let Some(joined) = list.iter().filter(|e| e.m == "login" && e.ts < spec.at).map(|e| e.ts).min() else {
                continue;
            };
            let cohort = period_start(joined, period);
            if cohort < first {
                continue;
            }
            let entry = want.entry(cohort).or_default();
            entry.0 += 1;
            let mut periods = BTreeSet::new();
            for e in list.iter().filter(|e| e.ts >= joined && e.ts < spec.at) {
                let n = (period_start(e.ts, period) - cohort) / period;
                if activity.is_none_or(|a| e.m == a) {
                    periods.insert(n);
                }
                if e.m == "order" {
                    *entry.2.entry(n).or_default() += e.num("amount").unwrap_or(0.0);
                }
            }
            for n in periods {
                *entry.1.entry(n).or_default() += 1;
            }
        }
        for c in &got.cohorts {
            let (size, active, revenue) = want.remove(&c.start).unwrap_or_default();
            assert_eq!(c.customers, size, "cohort {}", c.start);
            for (n, a) in c.active.iter().enumerate() {
                assert_eq!(*a, active.get(&(n as i64)).copied().unwrap_or(0), "cohort {} period {n}", c.start);
            }
            let mut total = 0.0;
            for (n, ltv) in c.ltv.iter().enumerate() {
                total += revenue.get(&(n as i64)).copied().unwrap_or(0.0);
                let expect = if size == 0 { 0.0 } else { total / size as f64 };
                assert!((ltv - expect).abs() < 1e-9, "ltv of cohort {} at {n}: {ltv} vs {expect}", c.start);
            }
        }
        assert!(want.values().all(|w| w.0 == 0), "every cohort is reported: {want:?}");
    }
}

#[test]
fn copurchase_and_rfm_match_a_loop_over_the_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = random_store(dir.path(), 17, 3, 300, 60);
    let evs = events(&store);
    let snap = store.snapshot(false, &[]);
    let at = BASE + 8 * DAY;
    let orders: Vec<&Ev> = evs.iter().filter(|e| e.m == "order" && e.ts < at).collect();
    let mut bought: HashMap<String, BTreeSet<u32>> = HashMap::new();
    for e in &orders {
        bought.entry(e.get("sku").expect("sku").to_string()).or_default().insert(e.root);
    }
    let everyone: BTreeSet<u32> = orders.iter().map(|e| e.root).collect();
    let report = copurchase(&store, &snap, &CopurchaseSpec::new("S2", at, 10)).expect("copurchase");
    let p = &bought["S2"];
    assert_eq!(report.buyers, p.len() as u64);
    assert_eq!(report.all_buyers, everyone.len() as u64);
    assert_eq!(report.items.len(), 4, "the other four products");
    for item in &report.items {
        let q = &bought[&item.sku];
        let both = q.intersection(p).count() as u64;
        assert_eq!(item.buyers, both, "{}", item.sku);
        let lift = (both as f64 / p.len() as f64) / (q.len() as f64 / everyone.len() as f64);
        assert!((item.lift - lift).abs() < 1e-12);
    }
    assert!(report.items.windows(2).all(|w| w[0].buyers >= w[1].buyers), "most buyers first");
    // RFM inputs by a loop; scores are checked by the segment oracle.
    let r = rfm(&store, &snap, &RfmOptions::at(at)).expect("rfm");
    for (i, root) in snap.roots.iter().enumerate() {
        let mine: Vec<&&Ev> = orders.iter().filter(|e| e.root == *root).collect();
        assert_eq!(r.frequency[i] as usize, mine.len());
        assert_eq!(r.monetary[i], mine.iter().filter_map(|e| e.num("amount")).sum::<f64>());
        assert_eq!(r.last[i], mine.iter().map(|e| e.ts).max().unwrap_or(i64::MIN));
    }
    let rep = r.report();
    assert_eq!(rep.customers, everyone.len() as u64);
    assert_eq!(rep.segments.iter().map(|s| s.customers).sum::<u64>(), rep.customers);
    assert_eq!(rep.grid.iter().map(|c| c.customers).sum::<u64>(), rep.customers);
}

#[test]
fn kmeans_and_silhouette_agree_with_scikit_learn() {
    // Golden values from scikit-learn 1.9.1 on the same points:
    //   KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).inertia_
    //   silhouette_score(X, labels)
    let x = array![
        [1.0, 2.0],
        [1.5, 1.8],
        [1.2, 2.2],
        [0.8, 1.9],
        [8.0, 8.0],
        [8.5, 7.5],
        [7.8, 8.3],
        [8.2, 8.1],
        [1.0, 9.0],
        [1.3, 8.7],
        [0.7, 9.2]
    ];
    let k3 = kmeans(x.view(), &KMeansOptions::new(3));
    assert!((k3.inertia - 1.2766666666666668).abs() < 1e-9, "inertia {}", k3.inertia);
    let groups: BTreeSet<Vec<usize>> = (0..3).map(|c| (0..11).filter(|i| k3.labels[*i] == c).collect()).collect();
    let want: BTreeSet<Vec<usize>> = [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9, 10]].into();
    assert_eq!(groups, want);
    assert!((silhouette(x.view(), &k3.labels, 1000, 1) - 0.9267420538362686).abs() < 1e-12);
    let k2 = kmeans(x.view(), &KMeansOptions::new(2));
    assert!((k2.inertia - 85.10357142857141).abs() < 1e-9, "inertia {}", k2.inertia);
    assert!((silhouette(x.view(), &k2.labels, 1000, 1) - 0.6443940143765279).abs() < 1e-12);
    let fixed = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1];
    assert!((silhouette(x.view(), &fixed, 1000, 1) - 0.6328796333624344).abs() < 1e-12);
    // Deterministic: the same seed gives the same clustering.
    assert_eq!(kmeans(x.view(), &KMeansOptions::new(3)), k3);
}
