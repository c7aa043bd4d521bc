//! What the harness benches share.

/// Minimum, median and maximum of `values` (at least one), for the min / median / max tables.
pub fn min_median_max(values: &[f64]) -> [f64; 3] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    [sorted[0], phasebench::stats::quantile_sorted(&sorted, 0.5), sorted[sorted.len() - 1]]
}
