//! Everything the compare view derives from a set of runs, computed once when the runs change
//! and kept beside them: target checks, phase scores, recommendations, the decision per workload
//! and each run's box of step times.

use crate::results::{RunResult, SweepResult};
use crate::stats::{self, BoxStats};
use crate::suite::Suite;

use super::{Decision, Recommendation, TargetCheck, decisions, evaluate_targets, phase_scores, recommendations_for};

/// What a comparison of runs shows besides the runs themselves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Analysis {
    /// Every target checked against every run it applies to.
    pub target_checks: Vec<TargetCheck>,
    /// Per phase, the mean target score (0–100).
    pub phase_scores: Vec<(String, f64)>,
    /// The rule set's advice with its evidence.
    pub recommendations: Vec<Recommendation>,
    /// Per workload, the phase to ship and why.
    pub decisions: Vec<Decision>,
    /// Quartiles and whiskers of each run's measured step times (seconds), by position in the runs.
    pub step_boxes: Vec<Option<BoxStats>>,
    /// How many runs it was computed from.
    pub runs: usize,
}

impl Analysis {
    /// Derives everything from `runs` (and the batch `sweeps` when the result has them).
    pub fn of(suite: &Suite, runs: &[RunResult], sweeps: &[SweepResult]) -> Self {
        let target_checks = evaluate_targets(suite, runs);
        Self {
            phase_scores: phase_scores(suite, &target_checks),
            recommendations: recommendations_for(suite, runs, sweeps),
            decisions: decisions(suite, runs, &target_checks),
            target_checks,
            step_boxes: runs.iter().map(|run| stats::box_stats(&run.step_secs)).collect(),
            runs: runs.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_comparison_has_nothing_to_show() -> Result<(), crate::suite::SuiteError> {
        let suite = crate::suite::default_suite()?;
        let analysis = Analysis::of(&suite, &[], &[]);
        assert_eq!(analysis, Analysis::default());
        Ok(())
    }
}
