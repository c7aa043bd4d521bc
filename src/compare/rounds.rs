//! A phase against the baseline over interleaved rounds: the per-round log ratios, the baseline's
//! A/A control, and the band the group's verdicts use (fixed, or measured by the control).

use crate::results::RunResult;
use crate::stats::{self, Speedup, StatsError};
use crate::suite::NoiseThreshold;

/// The band a group's comparisons are judged against, and the multiple of the A/A resolution it
/// was measured as (`noise_threshold: Auto`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupThreshold {
    /// Changes within 1 ± this fraction count as the baseline's speed.
    pub fraction: f64,
    /// For `Auto`, the multiple of the A/A resolution `fraction` is; `None` for a fixed band.
    pub auto_multiple: Option<f64>,
}

impl GroupThreshold {
    /// A fixed band of `fraction`.
    pub fn fixed(fraction: f64) -> Self {
        Self { fraction, auto_multiple: None }
    }
}

/// The band of a group whose baseline is `baseline`, and that baseline's A/A control compared
/// against it, from its control rounds read once. The band is the suite's fixed fraction, or for
/// `Auto` its multiple of the resolution the group's budget buys — the spread of the A/A control
/// over the rounds so far, projected to the rounds the budget planned at error rate `alpha`
/// ([`stats::auto_threshold`]). The band depends on the control's spread only, never on a
/// phase's estimate, so *faster*/*slower* keep the looks' error rate (any band does), and the
/// result read again gives the band of its last look. `Auto` without control rounds (one phase
/// after the other) falls back to [`NoiseThreshold::AUTO_FALLBACK`], reported as fixed.
pub fn group_threshold(
    setting: NoiseThreshold,
    baseline: &RunResult,
    alpha: f64,
) -> (GroupThreshold, Option<stats::RoundComparison>) {
    let ratios = control_log_ratios(baseline);
    let measured = setting.auto_multiple().and_then(|multiple| {
        let ratios = ratios.as_deref()?;
        let planned = baseline.rounds.as_ref()?.planned_rounds.unwrap_or(ratios.len());
        Some(GroupThreshold {
            fraction: stats::auto_threshold(multiple, ratios, planned, alpha)?,
            auto_multiple: Some(multiple),
        })
    });
    let threshold = measured.unwrap_or_else(|| GroupThreshold::fixed(setting.fixed_or_fallback()));
    let control = ratios.and_then(|ratios| stats::compare_rounds(&ratios, threshold.fraction, alpha).ok());
    (threshold, control)
}

/// Per-round log ratios of `baseline` against `phase` — ln(baseline ÷ phase median time per item
/// of each round's blocks) — over the rounds both measured; `None` unless both were measured in
/// interleaved rounds.
pub fn round_log_ratios(baseline: &RunResult, phase: &RunResult) -> Option<Vec<f64>> {
    let base = baseline.rounds.as_ref()?.round_medians(&baseline.step_secs, false);
    let other = phase.rounds.as_ref()?.round_medians(&phase.step_secs, false);
    Some(paired_log_ratios(&base, baseline.batch_size, &other, phase.batch_size))
}

/// The baseline's main block against its control block (A/A) per round, as log ratios; `None`
/// for a run without control blocks.
pub fn control_log_ratios(baseline: &RunResult) -> Option<Vec<f64>> {
    let rounds = baseline.rounds.as_ref()?;
    let control = rounds.round_medians(&baseline.step_secs, true);
    if control.is_empty() {
        return None;
    }
    let main = rounds.round_medians(&baseline.step_secs, false);
    Some(paired_log_ratios(&main, 1, &control, 1))
}

/// ln(a ÷ b) per item of the rounds present in both (each list in round order).
fn paired_log_ratios(a: &[(u32, f64)], a_batch: usize, b: &[(u32, f64)], b_batch: usize) -> Vec<f64> {
    let per_item = |secs: f64, batch: usize| secs / batch.max(1) as f64;
    a.iter()
        .filter_map(|(round, a_secs)| {
            let (_, b_secs) = b.iter().find(|(other, _)| other == round)?;
            Some((per_item(*a_secs, a_batch) / per_item(*b_secs, b_batch)).ln())
        })
        .collect()
}

/// A phase against the baseline over the interleaved rounds both measured, with the baseline's
/// A/A control of the same rounds, judged against `threshold` at error rate `alpha`; `None`
/// unless both ran in rounds.
pub fn compare_in_rounds(
    baseline: &RunResult,
    phase: &RunResult,
    threshold: GroupThreshold,
    alpha: f64,
) -> Option<Result<Speedup, StatsError>> {
    let control =
        control_log_ratios(baseline).and_then(|ratios| stats::compare_rounds(&ratios, threshold.fraction, alpha).ok());
    compare_in_rounds_with_control(baseline, phase, control.as_ref(), threshold, alpha)
}

/// [`compare_in_rounds`] with the baseline's control already compared ([`group_threshold`]),
/// for comparing several phases with one baseline.
pub fn compare_in_rounds_with_control(
    baseline: &RunResult,
    phase: &RunResult,
    control: Option<&stats::RoundComparison>,
    threshold: GroupThreshold,
    alpha: f64,
) -> Option<Result<Speedup, StatsError>> {
    let ratios = round_log_ratios(baseline, phase)?;
    let measured_secs = phase.measured_window_secs.map_or(0.0, |[start, end]| end - start);
    Some(stats::compare_rounds(&ratios, threshold.fraction, alpha).map(|comparison| {
        let mut speedup = Speedup::from_rounds(&comparison, control, measured_secs);
        if let Some(rounds) = speedup.rounds.as_mut() {
            rounds.auto_threshold_multiple = threshold.auto_multiple;
        }
        speedup
    }))
}

/// The band to draw behind several comparisons in one chart: the widest threshold they were
/// judged against (with `Auto` each group measures its own), or the suite's setting when none is
/// compared yet.
pub fn shown_threshold<'a>(setting: NoiseThreshold, speedups: impl IntoIterator<Item = &'a Speedup>) -> f64 {
    speedups.into_iter().map(|speedup| speedup.noise_threshold).reduce(f64::max).unwrap_or(setting.fixed_or_fallback())
}
