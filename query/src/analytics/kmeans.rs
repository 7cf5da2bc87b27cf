//! k-means with k-means++ seeding on a feature matrix, and the silhouette of a clustering
//! on a sample. Seeded and deterministic: the same data, k and seed give the same clusters.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How to run k-means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KMeansOptions {
    /// Clusters.
    pub k: usize,
    /// Seed of the k-means++ seeding.
    pub seed: u64,
    /// Lloyd iterations at most per run.
    pub max_iter: usize,
    /// Runs from different seedings; the one of least inertia is kept.
    pub runs: usize,
}

impl KMeansOptions {
    /// `k` clusters, seed 42, up to 300 iterations, 3 runs.
    pub fn new(k: usize) -> Self {
        KMeansOptions { k, seed: 42, max_iter: 300, runs: 3 }
    }
}

/// A clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// One row per cluster.
    pub centroids: Array2<f64>,
    /// The cluster of each row of the data.
    pub labels: Vec<u32>,
    /// Sum of squared distances of rows to their centroid.
    pub inertia: f64,
    /// Lloyd iterations of the kept run.
    pub iterations: usize,
}

/// Scales each column to mean 0 and standard deviation 1 (population); a constant column
/// becomes 0. Returns the means and deviations used.
pub fn standardize(data: &mut Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut means = Vec::new();
    let mut sds = Vec::new();
    for mut col in data.axis_iter_mut(Axis(1)) {
        let n = col.len().max(1) as f64;
        let mean = col.sum() / n;
        let var = col.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        let sd = var.sqrt();
        col.mapv_inplace(|x| if sd > 0.0 { (x - mean) / sd } else { 0.0 });
        means.push(mean);
        sds.push(sd);
    }
    (means, sds)
}

fn dist2(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Clusters the rows of `data` into `opts.k` clusters.
pub fn kmeans(data: ArrayView2<'_, f64>, opts: &KMeansOptions) -> KMeans {
    let mut best: Option<KMeans> = None;
    for run in 0..opts.runs.max(1) {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(run as u64));
        let result = lloyd(data, seed(data, opts.k, &mut rng), opts.max_iter);
        if best.as_ref().is_none_or(|b| result.inertia < b.inertia) {
            best = Some(result);
        }
    }
    best.expect("at least one run")
}

// k-means++: the first centre uniformly, each next one with probability proportional to the
// squared distance to the nearest centre chosen so far.
fn seed(data: ArrayView2<'_, f64>, k: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let n = data.nrows();
    let k = k.clamp(1, n.max(1));
    let mut centres = Array2::zeros((k, data.ncols()));
    if n == 0 {
        return centres;
    }
    centres.row_mut(0).assign(&data.row(rng.random_range(0..n)));
    let mut d2: Vec<f64> = data.rows().into_iter().map(|r| dist2(r, centres.row(0))).collect();
    for c in 1..k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let mut x = rng.random::<f64>() * total;
            let mut chosen = n - 1;
            for (i, d) in d2.iter().enumerate() {
                if x < *d {
                    chosen = i;
                    break;
                }
                x -= d;
            }
            chosen
        } else {
            rng.random_range(0..n)
        };
        centres.row_mut(c).assign(&data.row(pick));
        for (i, r) in data.rows().into_iter().enumerate() {
            d2[i] = d2[i].min(dist2(r, centres.row(c)));
        }
    }
    centres
}

// Assigns every row to its nearest centre (ties: the lower index), on all cores.
fn assign(data: ArrayView2<'_, f64>, centres: &Array2<f64>, labels: &mut [u32]) -> (f64, bool) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = data.nrows().div_ceil(threads).max(1);
    let results: Vec<(f64, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = labels
            .chunks_mut(chunk)
            .enumerate()
            .map(|(t, out)| {
                s.spawn(move || {
                    let (mut inertia, mut changed) = (0.0, false);
                    for (j, label) in out.iter_mut().enumerate() {
                        let row = data.row(t * chunk + j);
                        let (mut bi, mut bd) = (0u32, f64::INFINITY);
                        for (c, centre) in centres.rows().into_iter().enumerate() {
                            let d = dist2(row, centre);
                            if d < bd {
                                (bi, bd) = (c as u32, d);
                            }
                        }
                        changed |= *label != bi;
                        *label = bi;
                        inertia += bd;
                    }
                    (inertia, changed)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("an assignment thread does not panic")).collect()
    });
    results.iter().fold((0.0, false), |(i, c), (ri, rc)| (i + ri, c | rc))
}

fn lloyd(data: ArrayView2<'_, f64>, mut centres: Array2<f64>, max_iter: usize) -> KMeans {
    let (n, k) = (data.nrows(), centres.nrows());
    let mut labels = vec![u32::MAX; n];
    let mut inertia = 0.0;
    let mut iterations = 0;
    for _ in 0..max_iter.max(1) {
        iterations += 1;
        let (i, changed) = assign(data, &centres, &mut labels);
        inertia = i;
        if !changed {
            break;
        }
        let mut sums = Array2::<f64>::zeros(centres.raw_dim());
        let mut counts = vec![0usize; k];
        for (row, &l) in data.rows().into_iter().zip(&labels) {
            let mut s = sums.row_mut(l as usize);
            s += &row;
            counts[l as usize] += 1;
        }
        for (c, &count) in counts.iter().enumerate() {
            if count > 0 {
                let mean: Array1<f64> = &sums.row(c) / count as f64;
                centres.row_mut(c).assign(&mean);
            } else {
                // An empty cluster takes the row farthest from its centre.
                let far = (0..n)
                    .max_by(|&a, &b| {
                        let da = dist2(data.row(a), centres.row(labels[a] as usize));
                        let db = dist2(data.row(b), centres.row(labels[b] as usize));
                        da.total_cmp(&db)
                    })
                    .unwrap_or(0);
                centres.row_mut(c).assign(&data.row(far));
            }
        }
    }
    KMeans { centroids: centres, labels, inertia, iterations }
}

/// The mean silhouette of `labels` over at most `sample` rows drawn with `seed` (all rows
/// when there are fewer), computed among the drawn rows as scikit-learn's
/// `silhouette_score(sample_size=...)` does. A row alone in its cluster scores 0.
pub fn silhouette(data: ArrayView2<'_, f64>, labels: &[u32], sample: usize, seed: u64) -> f64 {
    let n = data.nrows();
    let rows: Vec<usize> = if n <= sample {
        (0..n).collect()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rand::seq::index::sample(&mut rng, n, sample).into_vec()
    };
    let k = labels.iter().map(|l| *l as usize + 1).max().unwrap_or(0);
    let m = rows.len();
    if m < 2 || k < 2 {
        return 0.0;
    }
    let mut total = 0.0;
    for &i in &rows {
        let mut sum = vec![0.0; k];
        let mut count = vec![0usize; k];
        for &j in &rows {
            if i == j {
                continue;
            }
            sum[labels[j] as usize] += dist2(data.row(i), data.row(j)).sqrt();
            count[labels[j] as usize] += 1;
        }
        let own = labels[i] as usize;
        if count[own] == 0 {
            continue;
        }
        let a = sum[own] / count[own] as f64;
        let b = (0..k)
            .filter(|c| *c != own && count[*c] > 0)
            .map(|c| sum[c] / count[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / m as f64
}
