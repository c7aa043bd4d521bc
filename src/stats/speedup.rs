//! A phase against the baseline: speedup with its confidence interval and a verdict. Over
//! interleaved rounds (see [`super::rounds`]) the verdict is one of four; over two contiguous
//! samples of steps (sequential runs, and files from before rounds) it needs both the interval and
//! a rank test to clear the noise threshold. The result records keep them and `compare` applies
//! them to runs.

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
    /// Step-level comparison of contiguous samples: no change larger than the noise threshold
    /// could be shown (it cannot tell "shown the same" from "could not tell").
    NoChange,
    /// Over rounds: the whole interval lies within `1 ± threshold`, shown to be no change.
    Equivalent,
    /// Over rounds: neither shown beyond nor shown within the threshold; more rounds would tell.
    Inconclusive,
}

impl Verdict {
    /// Whether the comparison showed a change beyond the threshold.
    pub fn is_change(self) -> bool {
        matches!(self, Self::Faster | Self::Slower)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Faster => "faster",
            Self::Slower => "slower",
            Self::NoChange => "no change",
            Self::Equivalent => "equivalent",
            Self::Inconclusive => "inconclusive",
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
    /// How it was reached over interleaved rounds; absent for a step-level comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<RoundsDetail>,
    /// How it was reached between several saved results per side; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between_results: Option<BetweenResultsDetail>,
}

/// What a comparison between several saved results per side adds: how many on each side and how
/// small a change they could see, the between-run variance included.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BetweenResultsDetail {
    /// Results before that had the run completed.
    pub before: usize,
    /// Results after that had the run completed.
    pub after: usize,
    /// Smallest change these results detect with 90 % power (0.03: ±3 %).
    pub resolution: f64,
}

/// What a comparison over interleaved rounds adds: how many rounds, how small a change they could
/// see, and the same-code control measured in the same rounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundsDetail {
    /// Rounds compared.
    pub rounds: usize,
    /// Confidence of `ratio_ci` (the error rate is shared by the looks at the rounds).
    pub confidence: f64,
    /// Smallest change these rounds detect with 90 % power (0.014: ±1.4 %).
    pub resolution: f64,
    /// The baseline against its second block in the same rounds (A/A): ratio and interval. It
    /// should be 1; an interval that excludes 1 means the machine, not the phases, moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<(f64, Interval)>,
    /// Seconds of measurement until the comparison's group stopped.
    #[serde(default)]
    pub measured_secs: f64,
    /// For `noise_threshold: Auto`, the multiple of the A/A resolution at the first look that
    /// `noise_threshold` is; absent for a fixed threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_threshold_multiple: Option<f64>,
}

impl RoundsDetail {
    /// Whether the A/A control's interval excludes 1: the comparison is not to be trusted.
    pub fn machine_unreliable(&self) -> bool {
        self.control.is_some_and(|(_, interval)| !interval.contains(1.0))
    }
}

impl Speedup {
    /// The ratio with its CI, as the reports show it: `1.234× [1.200–1.270]`.
    pub fn ratio_text(&self) -> String {
        format!("{:.3}× [{:.3}–{:.3}]", self.ratio, self.ratio_ci.low, self.ratio_ci.high)
    }

    /// What stands behind the verdict, in one line: `resolution ±1.4 % · A/A 1.003 [0.991–1.015] ·
    /// 24 rounds, 9.8 s`, or `sequential, step-level CI` for a comparison of contiguous samples.
    pub fn basis_text(&self) -> String {
        if let Some(between) = &self.between_results {
            return format!(
                "resolution ±{:.1} % · between results: {} before, {} after",
                between.resolution * 100.0,
                between.before,
                between.after
            );
        }
        let Some(rounds) = &self.rounds else { return "sequential, step-level CI".into() };
        let control = rounds.control.map_or_else(String::new, |(ratio, ci)| {
            format!(
                " · A/A {ratio:.3} [{:.3}–{:.3}]{}",
                ci.low,
                ci.high,
                if rounds.machine_unreliable() { " unreliable machine" } else { "" }
            )
        });
        let auto = rounds.auto_threshold_multiple.map_or_else(String::new, |multiple| {
            format!("auto threshold ±{:.1} % ({multiple}× A/A resolution) · ", self.noise_threshold * 100.0)
        });
        format!(
            "{auto}resolution ±{:.1} %{control} · {} rounds, {:.1} s",
            rounds.resolution * 100.0,
            rounds.rounds,
            rounds.measured_secs
        )
    }

    /// A comparison over rounds, with the A/A control of the same rounds when there is one.
    pub fn from_rounds(
        comparison: &super::RoundComparison,
        control: Option<&super::RoundComparison>,
        measured_secs: f64,
    ) -> Self {
        Self {
            ratio: comparison.ratio,
            ratio_ci: comparison.ratio_ci,
            p_value: comparison.p_value,
            noise_threshold: comparison.threshold,
            verdict: comparison.verdict,
            rounds: Some(RoundsDetail {
                rounds: comparison.rounds,
                confidence: comparison.confidence,
                resolution: comparison.resolution,
                control: control.map(|control| (control.ratio, control.ratio_ci)),
                measured_secs,
                auto_threshold_multiple: None,
            }),
            between_results: None,
        }
    }

    /// A comparison between several saved results per side.
    pub fn from_between_runs(comparison: &super::BetweenRuns, threshold: f64) -> Self {
        Self {
            ratio: comparison.ratio,
            ratio_ci: comparison.ratio_ci,
            p_value: comparison.p_value,
            noise_threshold: threshold,
            verdict: comparison.verdict,
            rounds: None,
            between_results: Some(BetweenResultsDetail {
                before: comparison.before,
                after: comparison.after,
                resolution: comparison.resolution,
            }),
        }
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
    Ok(Speedup { ratio, ratio_ci, p_value, noise_threshold, verdict, rounds: None, between_results: None })
}
