//! A phase against the baseline: speedup with its confidence interval and a verdict that needs
//! both the interval and a rank test to clear the noise threshold.

use serde::{Deserialize, Serialize};

use crate::stats::{self, Interval, StatsError};

/// Significance level of the rank test behind a verdict.
pub const SIGNIFICANCE: f64 = 0.05;

/// What a comparison concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The phase is faster than the baseline beyond noise.
    Faster,
    /// The phase is slower than the baseline beyond noise.
    Slower,
    /// No change larger than the noise threshold could be shown.
    NoChange,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Faster => "faster",
            Self::Slower => "slower",
            Self::NoChange => "no change",
        })
    }
}

/// Speed of a phase relative to the baseline, per batch item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Speedup {
    /// Median baseline time per item over median phase time per item (> 1 means faster).
    pub ratio: f64,
    /// 95 % bootstrap CI of `ratio`.
    pub ratio_ci: Interval,
    /// Two-sided Mann-Whitney U p-value of the per-item times.
    pub p_value: f64,
    /// Threshold used: changes within 1 ± this fraction count as noise.
    pub noise_threshold: f64,
    /// The conclusion.
    pub verdict: Verdict,
}

/// Compares per-item step times of a phase (`candidate_secs`) with the baseline's.
///
/// The verdict is *faster* only when the whole CI lies above `1 + noise_threshold` and the rank
/// test gives p < [`SIGNIFICANCE`]; *slower* symmetrically below `1 − noise_threshold`.
pub fn speedup(
    baseline_secs: &[f64],
    candidate_secs: &[f64],
    noise_threshold: f64,
    resamples: usize,
    seed: u64,
) -> Result<Speedup, StatsError> {
    let (ratio, ratio_ci) = stats::ratio_of_medians(baseline_secs, candidate_secs, resamples, seed)?;
    let p_value = stats::mann_whitney_u(baseline_secs, candidate_secs)?.p_value;
    let significant = p_value < SIGNIFICANCE;
    let verdict = if significant && ratio_ci.low > 1.0 + noise_threshold {
        Verdict::Faster
    } else if significant && ratio_ci.high < 1.0 - noise_threshold {
        Verdict::Slower
    } else {
        Verdict::NoChange
    };
    Ok(Speedup { ratio, ratio_ci, p_value, noise_threshold, verdict })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Step times as a machine produces them: a typical time with up to 20 % jitter.
    fn step_times() -> impl Strategy<Value = Vec<f64>> {
        (1e-5f64..1.0, prop::collection::vec(0.0f64..0.2, 10..60))
            .prop_map(|(typical, jitters)| jitters.iter().map(|j| typical * (1.0 + j)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_sample_against_itself_is_no_change(samples in step_times(), seed in any::<u64>()) {
            let result = speedup(&samples, &samples, 0.02, 1000, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(result.verdict, Verdict::NoChange);
            prop_assert!((result.ratio - 1.0).abs() < 1e-12);
        }

        #[test]
        fn a_sample_taking_half_the_time_is_faster(samples in step_times(), seed in any::<u64>()) {
            let halved: Vec<f64> = samples.iter().map(|s| s * 0.5).collect();
            let result = speedup(&samples, &halved, 0.02, 1000, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(result.verdict, Verdict::Faster, "{:?}", result);
            prop_assert!((result.ratio - 2.0).abs() < 1e-9);
        }

        #[test]
        fn a_sample_taking_twice_the_time_is_slower(samples in step_times(), seed in any::<u64>()) {
            let doubled: Vec<f64> = samples.iter().map(|s| s * 2.0).collect();
            let result = speedup(&samples, &doubled, 0.02, 1000, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(result.verdict, Verdict::Slower, "{:?}", result);
        }
    }

    #[test]
    fn a_change_inside_the_noise_threshold_is_no_change() -> Result<(), StatsError> {
        let baseline: Vec<f64> = (0..200).map(|i| 1.0 + (i % 10) as f64 * 1e-3).collect();
        let candidate: Vec<f64> = baseline.iter().map(|s| s / 1.01).collect();
        assert_eq!(speedup(&baseline, &candidate, 0.02, 2000, 9)?.verdict, Verdict::NoChange);
        Ok(())
    }
}
