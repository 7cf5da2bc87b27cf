//! Sticky, deterministic assignment: GrowthBook's hash (version 2), so that a customer gets
//! the same variant here, in GrowthBook's SDKs and in any tool that implements it, with no
//! state to share: n = fnv1a32(decimal(fnv1a32(salt + id))) mod 10000 / 10000, and the
//! variant whose range of cumulative weights holds n.

use cxp_store::Store;

use super::config::Experiment;
use crate::api::AssignmentDoc;
use crate::segment::{Definitions, QueryError};

/// FNV-1a, 32 bits, over UTF-16 code units as JavaScript's `charCodeAt` gives them (for ASCII
/// the same as over bytes).
fn fnv1a32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for unit in s.encode_utf16() {
        h ^= u32::from(unit);
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// The hash of `id` under `salt`, in [0, 1) with steps of 1/10000.
pub fn growthbook_hash(salt: &str, id: &str) -> f64 {
    let inner = fnv1a32(&format!("{salt}{id}"));
    f64::from(fnv1a32(&inner.to_string()) % 10_000) / 10_000.0
}

/// The variant index for hash `n` given the weights (normalised here) and the share of
/// traffic in the experiment (`coverage`); `None` when `n` falls outside every range.
pub fn choose(n: f64, weights: &[f64], coverage: f64) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    let mut start = 0.0;
    for (i, w) in weights.iter().enumerate() {
        let share = w / total;
        if n >= start && n < start + coverage * share {
            return Some(i);
        }
        start += share;
    }
    None
}

/// The variant of customer `id` in `exp`.
pub fn bucket<'e>(exp: &'e Experiment, id: &str) -> Option<&'e str> {
    let weights: Vec<f64> = exp.variants.iter().map(|v| v.weight).collect();
    choose(growthbook_hash(&exp.salt, id), &weights, exp.coverage).map(|i| exp.variants[i].name.as_str())
}

/// Assigns customer `id`, checking the experiment's eligibility segment at `at` for that one
/// customer (a customer without a profile is eligible only when the experiment has no segment:
/// new visitors can be in a test, but a segment says something about a profile). `segment`
/// answers the named segments the eligibility expression refers to.
pub fn assign(
    store: &Store,
    exp: &Experiment,
    id: &str,
    at: i64,
    defs: &Definitions,
    segment: &dyn Fn(&str) -> Option<bool>,
) -> Result<AssignmentDoc, QueryError> {
    let hash = growthbook_hash(&exp.salt, id);
    let mut doc = AssignmentDoc {
        experiment: exp.name.clone(),
        customer: id.to_owned(),
        hash,
        variant: None,
        reason: None,
        logged: false,
    };
    if exp.start.is_some_and(|s| at < s) || exp.end.is_some_and(|e| at >= e) {
        doc.reason = Some("the experiment is not running at this time".into());
        return Ok(doc);
    }
    if let Some(expr) = &exp.eligible {
        let Some(view) = store.customer(id, Some(at))? else {
            doc.reason = Some(format!("no profile for {id:?}, and the experiment is only for `{expr}`"));
            return Ok(doc);
        };
        let names: Vec<String> = defs.keys().cloned().collect();
        let plan = crate::segment::compile_for_one(store, expr, &names)?;
        let mut keys = vec![view.root];
        keys.extend(store.members(view.root).into_iter().filter(|&k| k != view.root));
        if !crate::segment::evaluate_one(store, &plan, &keys, at, segment)? {
            doc.reason = Some(format!("not in the eligible segment `{expr}`"));
            return Ok(doc);
        }
    }
    doc.variant = bucket(exp, id).map(str::to_owned);
    if doc.variant.is_none() {
        doc.reason = Some(format!("outside the experiment's coverage ({:.0}% of traffic)", exp.coverage * 100.0));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_growthbooks_javascript() {
        // FNV-1a reference vector.
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
        // Node 20 running GrowthBook's `hash(seed, value, 2)` from @growthbook/growthbook's util.ts.
        for (salt, id, want) in [
            ("", "a", 0.0216),
            ("exp-checkout", "c-1", 0.9823),
            ("exp-checkout", "c-2", 0.2083),
            ("pricing", "42", 0.17),
            ("pricing", "ü-kunde", 0.0704),
        ] {
            assert_eq!(growthbook_hash(salt, id), want, "{salt:?} {id:?}");
        }
    }

    #[test]
    fn ranges_follow_weights_and_coverage() {
        assert_eq!(choose(0.0, &[1.0, 1.0], 1.0), Some(0));
        assert_eq!(choose(0.4999, &[1.0, 1.0], 1.0), Some(0));
        assert_eq!(choose(0.5, &[1.0, 1.0], 1.0), Some(1));
        assert_eq!(choose(0.95, &[20.0, 80.0], 1.0), Some(1));
        // Half the traffic: [0, 0.25) and [0.5, 0.75).
        assert_eq!(choose(0.3, &[1.0, 1.0], 0.5), None);
        assert_eq!(choose(0.6, &[1.0, 1.0], 0.5), Some(1));
        // Over many ids the split follows the weights (10,000 ids, 20/80 within 2 points).
        let mut first = 0;
        for i in 0..10_000 {
            if choose(growthbook_hash("salt", &format!("u{i}")), &[20.0, 80.0], 1.0) == Some(0) {
                first += 1;
            }
        }
        assert!((1800..2200).contains(&first), "{first}");
    }
}
