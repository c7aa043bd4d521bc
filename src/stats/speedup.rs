//! A phase against the baseline: speedup with its confidence interval and a verdict that needs
//! both the interval and a rank test to clear the noise threshold. These are statistics over two
//! samples; the result records keep them and `compare` applies them to runs.

use serde::{Deserialize, Serialize};

use super::{Interval, StatsError};

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

impl Speedup {
    /// The ratio with its CI, as the reports show it: `1.234× [1.200–1.270]`.
    pub fn ratio_text(&self) -> String {
        format!("{:.3}× [{:.3}–{:.3}]", self.ratio, self.ratio_ci.low, self.ratio_ci.high)
    }
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
    let (ratio, ratio_ci) = super::ratio_of_medians(baseline_secs, candidate_secs, resamples, seed)?;
    let p_value = super::mann_whitney_u(baseline_secs, candidate_secs)?.p_value;
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
