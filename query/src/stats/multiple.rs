//! Multiple comparisons: Holm's step-down correction, which controls the family-wise error
//! rate like Bonferroni but rejects more. Source: Holm (1979), "A simple sequentially
//! rejective multiple test procedure", Scand. J. Statist. 6; R's `p.adjust(method = "holm")`.

/// The Holm-adjusted p-values of `p`, in the same order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        // Adjusted values never decrease along the sorted order.
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}
