//! Pure statistics over samples (step times in seconds): summaries with bootstrap confidence
//! intervals, Tukey outlier counts and two-sample tests. Every function states what it needs.

pub mod between;
pub mod rounds;
pub mod speedup;

pub use between::{BetweenRuns, compare_between_runs};
pub use rounds::{
    LookSchedule, RoundComparison, WIDEST_AUTO_BAND, auto_threshold, compare_rounds, projected_resolution,
    wilcoxon_signed_rank,
};
pub use speedup::{BetweenResultsDetail, RoundsDetail, SIGNIFICANCE, Speedup, Verdict};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Bootstrap resamples used for confidence intervals in results.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// Confidence level of every interval phasebench reports.
pub const CONFIDENCE_LEVEL: f64 = 0.95;

/// Why a statistic cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// Fewer samples than the statistic needs.
    #[error("need at least {needed} samples, got {got}")]
    TooFewSamples {
        /// Minimum samples.
        needed: usize,
        /// Samples given.
        got: usize,
    },
    /// A sample is NaN or infinite.
    #[error("sample {index} is not a finite number")]
    NonFinite {
        /// Position of the first bad sample.
        index: usize,
    },
}

/// A closed interval `[low, high]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies inside the interval (bounds included).
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// Counts of samples outside Tukey's fences (Q1/Q3 ∓ 1.5·IQR mild, ∓ 3·IQR severe). Reported,
/// never dropped from the statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outliers {
    /// Below Q1 − 3·IQR.
    pub low_severe: usize,
    /// Between Q1 − 3·IQR and Q1 − 1.5·IQR.
    pub low_mild: usize,
    /// Between Q3 + 1.5·IQR and Q3 + 3·IQR.
    pub high_mild: usize,
    /// Above Q3 + 3·IQR.
    pub high_severe: usize,
}

impl Outliers {
    /// All outliers together.
    pub fn total(&self) -> usize {
        self.low_severe + self.low_mild + self.high_mild + self.high_severe
    }
}

/// Descriptive statistics of one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub sd: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// 50th percentile.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Interquartile range, Q3 − Q1.
    pub iqr: f64,
    /// 95 % percentile-bootstrap confidence interval of the median.
    pub median_ci: Interval,
    /// Tukey-fence outlier counts.
    pub outliers: Outliers,
}

fn check(samples: &[f64], needed: usize) -> Result<(), StatsError> {
    if samples.len() < needed {
        return Err(StatsError::TooFewSamples { needed, got: samples.len() });
    }
    match samples.iter().position(|value| !value.is_finite()) {
        Some(index) => Err(StatsError::NonFinite { index }),
        None => Ok(()),
    }
}

fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut values = samples.to_vec();
    values.sort_by(f64::total_cmp);
    values
}

/// The `q`-quantile (0 ≤ q ≤ 1) of sorted, non-empty data by linear interpolation between closest
/// ranks (Hyndman & Fan type 7, the default of R and NumPy).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (position - below as f64)
}

/// The five numbers of a box plot and the extremes, over the finite values of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxStats {
    /// Smallest value.
    pub min: f64,
    /// Lower whisker: the smallest value within 1.5 IQR below the first quartile (Tukey).
    pub low_whisker: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Upper whisker: the largest value within 1.5 IQR above the third quartile (Tukey).
    pub high_whisker: f64,
    /// Largest value.
    pub max: f64,
}

/// Quartiles (type 7, as [`quantile_sorted`]), Tukey whiskers and extremes of the finite values
/// of `values`; `None` when there are none. The one box statistic of the app, terminal and reports.
pub fn box_stats(values: &[f64]) -> Option<BoxStats> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let (q1, median, q3) =
        (quantile_sorted(&sorted, 0.25), quantile_sorted(&sorted, 0.5), quantile_sorted(&sorted, 0.75));
    let fence = 1.5 * (q3 - q1);
    Some(BoxStats {
        min: sorted[0],
        low_whisker: sorted.iter().copied().find(|v| *v >= q1 - fence).unwrap_or(q1),
        q1,
        median,
        q3,
        high_whisker: sorted.iter().rev().copied().find(|v| *v <= q3 + fence).unwrap_or(q3),
        max: sorted[sorted.len() - 1],
    })
}

/// Median of at least one finite sample.
pub fn median(samples: &[f64]) -> Result<f64, StatsError> {
    check(samples, 1)?;
    Ok(quantile_sorted(&sorted(samples), 0.5))
}

/// Summarizes at least two finite samples; `seed` makes the bootstrap reproducible.
pub fn summarize(samples: &[f64], resamples: usize, seed: u64) -> Result<Summary, StatsError> {
    check(samples, 2)?;
    let values = sorted(samples);
    let count = values.len();
    let mean = values.iter().sum::<f64>() / count as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (count - 1) as f64;
    let (q1, q3) = (quantile_sorted(&values, 0.25), quantile_sorted(&values, 0.75));
    let iqr = q3 - q1;
    let mut outliers = Outliers::default();
    for &value in &values {
        if value < q1 - 3.0 * iqr {
            outliers.low_severe += 1;
        } else if value < q1 - 1.5 * iqr {
            outliers.low_mild += 1;
        } else if value > q3 + 3.0 * iqr {
            outliers.high_severe += 1;
        } else if value > q3 + 1.5 * iqr {
            outliers.high_mild += 1;
        }
    }
    Ok(Summary {
        count,
        mean,
        sd: variance.sqrt(),
        min: values[0],
        max: values[count - 1],
        median: quantile_sorted(&values, 0.5),
        p90: quantile_sorted(&values, 0.9),
        p99: quantile_sorted(&values, 0.99),
        iqr,
        median_ci: bootstrap_median_ci(&values, resamples, seed)?,
        outliers,
    })
}

/// Median of `values` in place (reorders them); `values` must be non-empty.
pub(super) fn median_in_place(values: &mut [f64]) -> f64 {
    let middle = values.len() / 2;
    let odd = values.len() % 2 == 1;
    let (lower, upper_middle, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    let upper_middle = *upper_middle;
    if odd {
        upper_middle
    } else {
        let lower_middle = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower_middle + upper_middle) / 2.0
    }
}

/// Draws `target.len()` values from `source` with replacement (Xoshiro256++: fast, seeded, and
/// plenty for resampling).
fn resample(source: &[f64], target: &mut [f64], rng: &mut SmallRng) {
    for slot in target.iter_mut() {
        *slot = source[rng.random_range(0..source.len())];
    }
}

/// Percentile interval of bootstrap estimates at [`CONFIDENCE_LEVEL`].
fn percentile_interval(mut estimates: Vec<f64>) -> Interval {
    estimates.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE_LEVEL) / 2.0;
    Interval { low: quantile_sorted(&estimates, tail), high: quantile_sorted(&estimates, 1.0 - tail) }
}

/// 95 % percentile-bootstrap CI of the median (Efron & Tibshirani 1993, ch. 13) from
/// `resamples` (≥ 1) resamples of at least one finite sample.
pub fn bootstrap_median_ci(samples: &[f64], resamples: usize, seed: u64) -> Result<Interval, StatsError> {
    check(samples, 1)?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut scratch = vec![0.0; samples.len()];
    let estimates = (0..resamples.max(1))
        .map(|_| {
            resample(samples, &mut scratch, &mut rng);
            median_in_place(&mut scratch)
        })
        .collect();
    Ok(percentile_interval(estimates))
}

/// Ratio `median(numerator) / median(denominator)` with its 95 % percentile-bootstrap CI,
/// resampling both samples independently. Both need at least one positive finite sample.
pub fn ratio_of_medians(
    numerator: &[f64],
    denominator: &[f64],
    resamples: usize,
    seed: u64,
) -> Result<(f64, Interval), StatsError> {
    check(numerator, 1)?;
    check(denominator, 1)?;
    let estimate = median(numerator)? / median(denominator)?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut top = vec![0.0; numerator.len()];
    let mut bottom = vec![0.0; denominator.len()];
    let estimates = (0..resamples.max(1))
        .map(|_| {
            resample(numerator, &mut top, &mut rng);
            resample(denominator, &mut bottom, &mut rng);
            median_in_place(&mut top) / median_in_place(&mut bottom)
        })
        .collect();
    Ok((estimate, percentile_interval(estimates)))
}

/// Result of a Mann-Whitney U test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankTest {
    /// U statistic of the first sample.
    pub u: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Two-sided Mann-Whitney U test (Wilcoxon rank-sum) of two samples of at least one finite value
/// each: normal approximation with tie correction and continuity correction (Hollander & Wolfe,
/// Nonparametric Statistical Methods, §4.1). Identical samples give p = 1.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Result<RankTest, StatsError> {
    check(a, 1)?;
    check(b, 1)?;
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut pooled: Vec<(f64, bool)> = a.iter().map(|&v| (v, true)).chain(b.iter().map(|&v| (v, false))).collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut rank_sum_a, mut tie_term) = (0.0, 0.0);
    let mut start = 0;
    while start < pooled.len() {
        let mut end = start;
        while end + 1 < pooled.len() && pooled[end + 1].0 == pooled[start].0 {
            end += 1;
        }
        let tied = (end - start + 1) as f64;
        let average_rank = (start + end) as f64 / 2.0 + 1.0;
        rank_sum_a += average_rank * pooled[start..=end].iter().filter(|(_, from_a)| *from_a).count() as f64;
        tie_term += tied.powi(3) - tied;
        start = end + 1;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let mean_u = n1 * n2 / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)).max(1.0));
    if variance <= 0.0 {
        return Ok(RankTest { u, p_value: 1.0 });
    }
    let z = ((u - mean_u).abs() - 0.5).max(0.0) / variance.sqrt();
    Ok(RankTest { u, p_value: erfc(z / std::f64::consts::SQRT_2).min(1.0) })
}

/// The first measured steps running slower than the rest: warm-up did not reach the steady state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupDrift {
    /// How many of the first measured steps were compared with the rest.
    pub head_steps: usize,
    /// How much slower their median was than the rest's, as a fraction (0.3 = 30 %).
    pub slower_fraction: f64,
    /// Two-sided Mann-Whitney p-value of head against rest.
    pub p_value: f64,
}

/// Whether the first tenth (at least 5) of `steps` is slower than the rest by more than 10 % of
/// the median, beyond chance (Mann-Whitney p < 0.01), and the slowest of all the blocks of that
/// size (a burst of machine noise later in the run is not a warm-up problem); needs 20 steps.
pub fn warmup_drift(steps: &[f64]) -> Option<WarmupDrift> {
    if steps.len() < 20 {
        return None;
    }
    let head_steps = (steps.len() / 10).max(5);
    let (head, rest) = steps.split_at(head_steps);
    let head_median = median(head).ok()?;
    let slower_fraction = head_median / median(rest).ok()? - 1.0;
    let slowest_later_block = rest.chunks_exact(head_steps).filter_map(|block| median(block).ok()).fold(0.0, f64::max);
    let p_value = mann_whitney_u(head, rest).ok()?.p_value;
    (slower_fraction > 0.10 && p_value < 0.01 && head_median >= slowest_later_block).then_some(WarmupDrift {
        head_steps,
        slower_fraction,
        p_value,
    })
}

/// Complementary error function, fractional error below 1.2e-7 (Numerical Recipes, 2nd ed., §6.2).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Issue 18: the rank test with ties against scipy. Reference: scipy 1.17.1,
    /// `scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic",
    /// use_continuity=True)` → statistic 27.0, pvalue 0.04974599072150299.
    #[test]
    fn mann_whitney_with_ties_matches_scipy() -> Result<(), StatsError> {
        let a = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 5.0, 5.0, 6.0];
        let b = [2.0, 3.0, 4.0, 4.0, 5.0, 5.0, 5.0, 6.0, 7.0, 7.0, 8.0];
        let test = mann_whitney_u(&a, &b)?;
        assert_eq!(test.u, 27.0);
        // Within `erfc`'s stated fractional error (1.2e-7); without the tie correction p would be 0.0528.
        let reference = 0.049_745_990_721_502_99;
        assert!((test.p_value - reference).abs() <= 1.2e-7 * reference, "{}", test.p_value);
        Ok(())
    }

    /// Issue 18: the 95 % CI of the median covers the true median about 95 % of the time, on
    /// skewed data (log-normal, median 1) of a run's typical size. "The CI contains its own
    /// estimate" cannot tell a CI that is far too narrow; this can (binomial sd over 400 trials:
    /// 1.1 points).
    #[test]
    fn the_median_ci_covers_the_true_median_at_its_stated_rate() -> Result<(), StatsError> {
        use rand_distr::{Distribution, LogNormal};
        let Ok(distribution) = LogNormal::new(0.0, 0.5) else { panic!("valid log-normal parameters") };
        let mut rng = SmallRng::seed_from_u64(7);
        let trials: u64 = 400;
        let mut covered = 0;
        for trial in 0..trials {
            let samples: Vec<f64> = (0..60).map(|_| distribution.sample(&mut rng)).collect();
            let ci = bootstrap_median_ci(&samples, 1000, trial)?;
            covered += usize::from(ci.low <= 1.0 && 1.0 <= ci.high);
        }
        let coverage = covered as f64 / trials as f64;
        assert!((0.91..=0.99).contains(&coverage), "coverage {coverage}");
        Ok(())
    }

    #[test]
    fn slow_first_steps_are_told_apart_from_noise() {
        // 40 steps of about 10 ms with ±2 % jitter; the first 6 at 15 ms: kernels still loading.
        let jitter = |i: usize| 1.0 + 0.02 * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
        let steady: Vec<f64> = (0..40).map(|i| 0.010 * jitter(i)).collect();
        assert_eq!(warmup_drift(&steady), None, "steady steps");
        let mut cold = steady.clone();
        cold.iter_mut().take(6).for_each(|step| *step *= 1.5);
        let drift = warmup_drift(&cold);
        assert_eq!(drift.map(|d| d.head_steps), Some(5), "the slow start is found");
        assert!(drift.is_some_and(|d| (d.slower_fraction - 0.5).abs() < 0.05 && d.p_value < 0.01), "{drift:?}");
        let mut later_burst = cold.clone();
        later_burst[20..26].iter_mut().for_each(|step| *step *= 2.0);
        assert_eq!(warmup_drift(&later_burst), None, "a slower burst later on: noise, not warm-up");
        let mut one_outlier = steady.clone();
        one_outlier[0] *= 3.0;
        assert_eq!(warmup_drift(&one_outlier), None, "one slow step is not a trend");
        assert_eq!(warmup_drift(&cold[..19]), None, "too few steps to tell");
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&values, 0.5), 2.5);
        assert!((quantile_sorted(&values, 0.9) - 3.7).abs() < 1e-12);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Ok(2.0));
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }

    #[test]
    fn mann_whitney_matches_a_hand_computed_case() -> Result<(), StatsError> {
        // a ranks 1,2,3 and b ranks 4,5,6: U = 0, z = (4.5 - 0.5)/sqrt(5.25), p ≈ 0.0809 (scipy,
        // use_continuity=True, method="asymptotic").
        let test = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0])?;
        assert_eq!(test.u, 0.0);
        assert!((test.p_value - 0.080_856).abs() < 1e-4, "{}", test.p_value);
        Ok(())
    }

    #[test]
    fn outliers_are_counted_by_tukey_fences() -> Result<(), StatsError> {
        let mut values = vec![10.0; 20];
        values.extend([10.5, 9.5, 11.0, 9.0]);
        values.push(100.0);
        let summary = summarize(&values, 100, 1)?;
        assert_eq!(summary.outliers.total(), summary.outliers.high_severe + summary.outliers.low_severe);
        assert!(summary.outliers.high_severe >= 1);
        assert_eq!(summary.count, values.len());
        Ok(())
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(summarize(&[1.0], 10, 0), Err(StatsError::TooFewSamples { needed: 2, got: 1 }));
        assert_eq!(summarize(&[1.0, f64::NAN], 10, 0), Err(StatsError::NonFinite { index: 1 }));
    }

    fn step_times() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(1e-5f64..1.0, 2..60)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn percentiles_are_ordered(samples in step_times()) {
            let summary = summarize(&samples, 200, 3).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(summary.min <= summary.median);
            prop_assert!(summary.median <= summary.p90);
            prop_assert!(summary.p90 <= summary.p99);
            prop_assert!(summary.p99 <= summary.max);
        }

        #[test]
        fn median_ci_contains_the_median(samples in step_times(), seed in any::<u64>()) {
            let summary = summarize(&samples, 500, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(summary.median_ci.contains(summary.median), "{:?} vs {}", summary.median_ci, summary.median);
        }

        #[test]
        fn ratio_ci_contains_the_ratio(a in step_times(), b in step_times(), seed in any::<u64>()) {
            let (ratio, ci) = ratio_of_medians(&a, &b, 500, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(ci.contains(ratio), "{ratio} {ci:?}");
        }

        #[test]
        fn rank_test_of_a_sample_against_itself_finds_nothing(samples in step_times()) {
            let test = mann_whitney_u(&samples, &samples).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(test.p_value > 0.9, "{}", test.p_value);
        }
    }

    #[test]
    fn box_stats_give_quartiles_tukey_whiskers_and_extremes() {
        let Some(stats) = box_stats(&[1.0, 2.0, 3.0, 4.0, 5.0, 100.0, f64::NAN]) else { panic!("no box") };
        assert_eq!((stats.min, stats.q1, stats.median, stats.q3, stats.max), (1.0, 2.25, 3.5, 4.75, 100.0));
        assert_eq!((stats.low_whisker, stats.high_whisker), (1.0, 5.0), "100 lies beyond 1.5 IQR");
        assert_eq!(box_stats(&[f64::NAN]), None);
    }
}
