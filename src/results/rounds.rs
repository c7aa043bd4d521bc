//! Where each measured step of an interleaved run fell, and the per-round medians the comparisons
//! over rounds are made of.

use serde::{Deserialize, Serialize};

/// Where each measured step of an interleaved run fell: its round, and for the baseline whether it
/// was in the round's second block (the A/A control arm).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundSteps {
    /// Round of each measured step, from 0, in the order of `step_secs`.
    pub step_round: Vec<u32>,
    /// Whether each measured step belongs to the baseline's control block (A′) of its round;
    /// empty for a phase other than the baseline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_control: Vec<bool>,
    /// Block length the rounds aimed at, in seconds.
    pub block_secs: f64,
    /// The step after each switch to this run's arm (short inference steps only), timed and kept
    /// out of the statistics: the caches held another arm's data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switch_warmup_secs: Vec<f64>,
    /// Error rate each look at the rounds spent (the comparisons' intervals are at 1 − this).
    #[serde(default = "default_round_alpha")]
    pub alpha: f64,
    /// The rounds the group's budget allowed when its first round was measured (its last look);
    /// absent in results from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_rounds: Option<usize>,
}

fn default_round_alpha() -> f64 {
    crate::stats::SIGNIFICANCE
}

impl RoundSteps {
    /// Median step time per round, of the main arm (`control` false) or the control arm, as
    /// (round, median) in round order; rounds without such steps are left out.
    pub fn round_medians(&self, step_secs: &[f64], control: bool) -> Vec<(u32, f64)> {
        let mut by_round: std::collections::BTreeMap<u32, Vec<f64>> = std::collections::BTreeMap::new();
        for (i, (&round, &secs)) in self.step_round.iter().zip(step_secs).enumerate() {
            if self.step_control.get(i).copied().unwrap_or(false) == control {
                by_round.entry(round).or_default().push(secs);
            }
        }
        by_round.into_iter().filter_map(|(round, steps)| Some((round, crate::stats::median(&steps).ok()?))).collect()
    }
}
