//! Customer clusters: k-means++ on standardised features, with inertia and a sampled
//! silhouette for each k tried, and a profile of each cluster of the best one.
//!
//! Features are numeric segment-language expressions (`spend_90d`, `count(order, 90d)`,
//! `trait.age`); by default RFM: days since the last order, orders, money spent. Customers
//! without a value for every feature are left out (and counted).

use cxp_store::{Store, StoreError};
use ndarray::Array2;

use super::kmeans::{KMeansOptions, kmeans, silhouette, standardize};
use super::rfm::{RfmOptions, rfm};
use crate::api::analytics::{ClusterProfile, ClusterReport, ClusterTry};
use crate::segment::{Definitions, QueryError, numbers};

/// What to cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Feature expressions; empty for RFM.
    pub features: Vec<String>,
    /// The k to try (the one of best silhouette is kept).
    pub ks: Vec<usize>,
    /// Query time.
    pub at: i64,
    /// Seed of the seeding and of the silhouette sample.
    pub seed: u64,
    /// Rows the silhouette is computed on at most.
    pub sample: usize,
}

impl ClusterSpec {
    /// RFM features, k from 2 to 8, seed 42, a silhouette sample of 2,000.
    pub fn rfm(at: i64) -> Self {
        ClusterSpec { features: Vec::new(), ks: (2..=8).collect(), at, seed: 42, sample: 2000 }
    }
}

// Feature names, the customers with every feature, their values by feature, and how many
// customers were left out.
struct Features {
    names: Vec<String>,
    roots: Vec<u32>,
    cols: Vec<Vec<f64>>,
    left_out: u64,
}

fn features(store: &Store, spec: &ClusterSpec, defs: &Definitions) -> Result<Features, QueryError> {
    if spec.features.is_empty() {
        let snap = store.snapshot(false, &[]);
        let r = rfm(store, &snap, &RfmOptions::at(spec.at)).map_err(QueryError::Store)?;
        let day = 86_400e9;
        let mut roots = Vec::new();
        let mut cols = vec![Vec::new(), Vec::new(), Vec::new()];
        for p in 0..snap.len() {
            if r.frequency[p] == 0 {
                continue;
            }
            roots.push(snap.roots[p]);
            cols[0].push((spec.at - r.last[p]) as f64 / day);
            cols[1].push(f64::from(r.frequency[p]));
            cols[2].push(r.monetary[p]);
        }
        let names = vec!["recency_days".into(), "frequency".into(), "monetary".into()];
        return Ok(Features { names, roots, cols, left_out: 0 });
    }
    let got = numbers(store, &spec.features, spec.at, defs)?;
    let complete: Vec<usize> =
        (0..got.roots.len()).filter(|i| got.values.iter().all(|col| col[*i].is_finite())).collect();
    let left_out = (got.roots.len() - complete.len()) as u64;
    let cols = got.values.iter().map(|col| complete.iter().map(|i| col[*i]).collect()).collect();
    Ok(Features {
        names: spec.features.clone(),
        roots: complete.iter().map(|i| got.roots[*i]).collect(),
        cols,
        left_out,
    })
}

/// The numbers of clusters to try, written `4`, `2..8` or `3,5,7` (each 1 to 64).
pub fn parse_ks(s: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("k takes a number, a range like 2..8 or a list like 3,5,7 (each 1 to 64), not {s:?}");
    let num = |x: &str| x.trim().parse::<usize>().ok().filter(|k| (1..=64).contains(k)).ok_or_else(bad);
    if let Some((a, b)) = s.split_once("..") {
        let (a, b) = (num(a)?, num(b)?);
        if b < a {
            return Err(bad());
        }
        return Ok((a..=b).collect());
    }
    s.split(',').map(num).collect()
}

/// Clusters the customers of `store` as `spec` says.
pub fn cluster(store: &Store, spec: &ClusterSpec, defs: &Definitions) -> Result<ClusterReport, QueryError> {
    let Features { names, roots, cols, left_out } = features(store, spec, defs)?;
    let n = roots.len();
    let d = cols.len();
    if n < 2 {
        return Err(QueryError::Store(StoreError::Invalid(format!(
            "{n} customers have every feature: too few to cluster"
        ))));
    }
    let mut data = Array2::<f64>::zeros((n, d));
    for (j, col) in cols.iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            data[[i, j]] = *x;
        }
    }
    let raw = data.clone();
    let (means, sds) = standardize(&mut data);
    let mut tries = Vec::new();
    let mut best: Option<(f64, usize, super::kmeans::KMeans)> = None;
    for &k in spec.ks.iter().filter(|k| **k >= 1 && **k <= n) {
        let opts = KMeansOptions { seed: spec.seed, ..KMeansOptions::new(k) };
        let result = kmeans(data.view(), &opts);
        let s = if k >= 2 { silhouette(data.view(), &result.labels, spec.sample, spec.seed) } else { 0.0 };
        tries.push(ClusterTry { k, inertia: result.inertia, silhouette: s, iterations: result.iterations });
        if best.as_ref().is_none_or(|(bs, _, _)| s > *bs) {
            best = Some((s, k, result));
        }
    }
    let Some((_, k, result)) = best else {
        return Err(QueryError::Store(StoreError::Invalid("no k to try within 1..customers".into())));
    };
    let mut clusters: Vec<ClusterProfile> = (0..k)
        .map(|c| ClusterProfile {
            cluster: c as u32,
            customers: 0,
            share: 0.0,
            means: vec![0.0; d],
            centroid: result.centroids.row(c).to_vec(),
        })
        .collect();
    for (i, &l) in result.labels.iter().enumerate() {
        let c = &mut clusters[l as usize];
        c.customers += 1;
        for j in 0..d {
            c.means[j] += raw[[i, j]];
        }
    }
    for c in &mut clusters {
        if c.customers > 0 {
            c.means.iter_mut().for_each(|m| *m /= c.customers as f64);
        }
        c.share = c.customers as f64 / n as f64;
    }
    clusters.sort_by(|a, b| b.customers.cmp(&a.customers).then(a.cluster.cmp(&b.cluster)));
    Ok(ClusterReport {
        at: spec.at,
        features: names,
        feature_means: means,
        feature_sds: sds,
        customers: n as u64,
        left_out,
        k,
        tries,
        clusters,
        seed: spec.seed,
    })
}
