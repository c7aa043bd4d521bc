//! A phase against the baseline: speedup with its confidence interval and a verdict that needs
//! both the interval and a rank test to clear the noise threshold.

mod analysis;
pub mod decide;
pub mod recommend;
mod rounds;

use serde::{Deserialize, Serialize};

use crate::accuracy::Accuracy;
use crate::results::{Environment, RunResult, RunStatus, SuiteResult};
pub use crate::stats::speedup::{SIGNIFICANCE, Speedup, Verdict, speedup};
use crate::stats::{self, Interval, StatsError};
use crate::suite::{AccuracyBounds, ModeKind, Suite, Target, TargetMetric};

pub use analysis::Analysis;
pub use decide::{Decision, PhasePoint, decisions};
pub use recommend::{Recommendation, Rule, recommendations, recommendations_for};
pub use rounds::{
    GroupThreshold, compare_in_rounds, compare_in_rounds_with_control, control_log_ratios, group_threshold,
    round_log_ratios, shown_threshold,
};

/// Whether a phase's output stays close to the baseline's under `bounds`: every value finite, the
/// cosine similarity within its bound (an all-zero output passes only when identical), the
/// relative error within its bound — of the whole output (‖Δ‖/‖baseline‖), or for training the
/// largest relative difference of a step's loss — and for a generation run the PSNR when a bound
/// is set, for text generation the top-1 agreement of next tokens. An output of a result written
/// before the relative error was recorded is judged without it.
pub fn accuracy_passes(accuracy: &Accuracy, bounds: &AccuracyBounds, mode: ModeKind) -> bool {
    let cosine_holds =
        accuracy.cosine_similarity.map_or(accuracy.max_abs_error == 0.0, |cosine| cosine >= bounds.min_cosine);
    // What people read per mode: a training run's loss, step by step; any other output as a whole.
    let relative_error = match mode {
        ModeKind::Training => Some(accuracy.max_rel_error),
        ModeKind::Inference | ModeKind::Generation | ModeKind::TextGeneration | ModeKind::ImageGeneration => {
            accuracy.relative_error
        }
    };
    let size_holds = relative_error.is_none_or(|error| error <= bounds.max_relative_error);
    let psnr_holds = match (mode, bounds.min_psnr_db) {
        (ModeKind::Generation, Some(min)) => accuracy.psnr_db.is_none_or(|psnr| psnr >= min),
        (ModeKind::ImageGeneration, Some(min)) => {
            accuracy.image.as_ref().and_then(|image| image.psnr_db).is_none_or(|psnr| psnr >= min)
        }
        _ => true,
    };
    let tokens_hold = match (mode, accuracy.tokens) {
        (ModeKind::TextGeneration, Some(tokens)) => tokens.top1_agreement >= bounds.min_top1_agreement,
        _ => true,
    };
    accuracy.nonfinite_values == 0 && cosine_holds && size_holds && psnr_holds && tokens_hold
}

/// Per-item step times of a run, so runs at different batch sizes compare fairly.
fn per_item_secs(run: &RunResult) -> Vec<f64> {
    run.step_secs.iter().map(|secs| secs / run.batch_size.max(1) as f64).collect()
}

/// Compares two runs, `after` against `before`, per batch item (> 1 means `after` is faster).
pub fn diff_runs(
    before: &RunResult,
    after: &RunResult,
    noise_threshold: f64,
    resamples: usize,
    seed: u64,
) -> Result<Speedup, StatsError> {
    speedup(&per_item_secs(before), &per_item_secs(after), noise_threshold, resamples, seed)
}

/// What a before/after comparison of one run concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Faster beyond the threshold and the rank test.
    Improved,
    /// Slower beyond the threshold and the rank test.
    Regressed,
    /// No change larger than the threshold could be shown.
    Unchanged,
}

impl From<Verdict> for Change {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Faster => Self::Improved,
            Verdict::Slower => Self::Regressed,
            Verdict::NoChange | Verdict::Equivalent | Verdict::Inconclusive => Self::Unchanged,
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Improved => "improved",
            Self::Regressed => "regressed",
            Self::Unchanged => "unchanged",
        })
    }
}

/// The same run (workload, phase, batch size) in two results, compared.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDiff {
    /// `workload/phase@batch`.
    pub label: String,
    /// Median step time before, when that run has steps.
    pub before_median_secs: Option<f64>,
    /// Median step time after, when that run has steps.
    pub after_median_secs: Option<f64>,
    /// `after` against `before` (ratio > 1: after is faster), or why they cannot be compared.
    pub speedup: Result<Speedup, String>,
}

impl RunDiff {
    /// The conclusion, when the runs could be compared.
    pub fn change(&self) -> Option<Change> {
        self.speedup.as_ref().ok().map(|speedup| speedup.verdict.into())
    }
}

/// Two results compared run by run, with what only one of them has and how their machines differ.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultDiff {
    /// Runs in both, in `after`'s order.
    pub runs: Vec<RunDiff>,
    /// Runs only in `before`.
    pub only_before: Vec<String>,
    /// Runs only in `after`.
    pub only_after: Vec<String>,
    /// Differences of machine and software that can explain a change (CPU, GPU, driver, versions).
    pub environment_differences: Vec<String>,
}

/// What a comparison of one saved result with one other cannot see, and what would.
pub const ONE_RESULT_PER_SIDE_NOTE: &str = "one result per side: this verdict sees the noise inside each run, not \
     the larger noise between runs (README: Regressions); for a verdict with its resolution, give several results \
     per side: compare B1 B2 B3 -- A1 A2 A3, or run --repeat 3 --baseline B1 --baseline B2 --baseline B3";

impl ResultDiff {
    /// Whether the runs were compared one saved result against one (step-level), not between
    /// several results per side: such verdicts cannot see the noise between runs.
    pub fn one_result_per_side(&self) -> bool {
        let mut compared = self.runs.iter().filter_map(|run| run.speedup.as_ref().ok()).peekable();
        compared.peek().is_some() && compared.all(|speedup| speedup.between_results.is_none())
    }

    /// Runs that got slower beyond the threshold.
    pub fn regressions(&self) -> usize {
        self.runs.iter().filter(|run| run.change() == Some(Change::Regressed)).count()
    }
}

/// Whether two runs are the same run of a suite: workload, phase and batch size.
fn same_run(a: &RunResult, b: &RunResult) -> bool {
    a.workload == b.workload && a.phase == b.phase && a.batch_size == b.batch_size
}

/// Pairs the runs of two results by workload, phase and batch size and compares each pair's
/// per-item step times, `after` against `before`, with `threshold` as the noise threshold.
pub fn diff_results(before: &SuiteResult, after: &SuiteResult, threshold: f64, resamples: usize) -> ResultDiff {
    diff_with(before, after, |before_run, after_run| {
        let speedup = if !matches!(before_run.status, RunStatus::Completed) {
            Err("the run before did not complete".to_owned())
        } else if !matches!(after_run.status, RunStatus::Completed) {
            Err("the run after did not complete".to_owned())
        } else {
            diff_runs(before_run, after_run, threshold, resamples, after.suite.settings.seed)
                .map_err(|error| error.to_string())
        };
        let median = |run: &RunResult| run.summary.as_ref().map(|summary| summary.median);
        (median(before_run), median(after_run), speedup)
    })
}

/// Compares several results before with several after (at least one on each side), run by run.
/// With one per side this is [`diff_results`]. With more, each run is judged between results:
/// one value per result (the log of its median time per item; results where the run did not
/// complete are left out), compared by [`stats::compare_between_runs`], so the verdict carries
/// the variance between runs that a single pair cannot see. Runs, labels and machine differences
/// come from the last result of each side.
pub fn diff_result_sets(before: &[SuiteResult], after: &[SuiteResult], threshold: f64, resamples: usize) -> ResultDiff {
    let (Some(last_before), Some(last_after)) = (before.last(), after.last()) else {
        return ResultDiff::default();
    };
    if before.len() == 1 && after.len() == 1 {
        return diff_results(last_before, last_after, threshold, resamples);
    }
    let log_medians = |set: &[SuiteResult], key: &RunResult| -> Vec<f64> {
        set.iter()
            .filter_map(|result| result.runs.iter().find(|run| same_run(run, key)))
            .filter(|run| matches!(run.status, RunStatus::Completed))
            .filter_map(|run| run.summary.as_ref().map(|summary| (summary.median / run.batch_size.max(1) as f64).ln()))
            .collect()
    };
    let geometric_mean =
        |logs: &[f64]| (!logs.is_empty()).then(|| (logs.iter().sum::<f64>() / logs.len() as f64).exp());
    diff_with(last_before, last_after, |_, after_run| {
        let (before_logs, after_logs) = (log_medians(before, after_run), log_medians(after, after_run));
        let speedup = stats::compare_between_runs(&before_logs, &after_logs, threshold, stats::SIGNIFICANCE)
            .map(|comparison| Speedup::from_between_runs(&comparison, threshold))
            .map_err(|error| {
                format!(
                    "between results: {error} (completed runs: {} before, {} after)",
                    before_logs.len(),
                    after_logs.len()
                )
            });
        let per_item_to_step = |secs: f64| secs * after_run.batch_size.max(1) as f64;
        (geometric_mean(&before_logs).map(per_item_to_step), geometric_mean(&after_logs).map(per_item_to_step), speedup)
    })
}

/// The pairs of `after`'s runs with `before`'s, each judged by `judge` (median before, median
/// after, comparison), with what only one of them has and how their machines differ.
fn diff_with(
    before: &SuiteResult,
    after: &SuiteResult,
    judge: impl Fn(&RunResult, &RunResult) -> (Option<f64>, Option<f64>, Result<Speedup, String>),
) -> ResultDiff {
    let runs = after
        .runs
        .iter()
        .filter_map(|after_run| {
            let before_run = before.runs.iter().find(|run| same_run(run, after_run))?;
            let (before_median_secs, after_median_secs, speedup) = judge(before_run, after_run);
            // Runs measured on different machines (merged shards) say so in their label.
            let label = match (&before_run.host, &after_run.host) {
                (Some(before_host), Some(after_host)) if before_host != after_host => {
                    format!("{} ({before_host} → {after_host})", after_run.label())
                }
                _ => after_run.label(),
            };
            Some(RunDiff { label, before_median_secs, after_median_secs, speedup })
        })
        .collect();
    let only = |of: &SuiteResult, other: &SuiteResult| -> Vec<String> {
        of.runs.iter().filter(|run| !other.runs.iter().any(|o| same_run(o, run))).map(RunResult::label).collect()
    };
    ResultDiff {
        runs,
        only_before: only(before, after),
        only_after: only(after, before),
        environment_differences: environment_differences(&before.environment, &after.environment),
    }
}

/// What differs between two machines or builds in ways that move timings.
pub fn environment_differences(before: &Environment, after: &Environment) -> Vec<String> {
    let gpus = |env: &Environment| env.gpu.gpus.iter().map(|gpu| gpu.name.clone()).collect::<Vec<_>>().join(", ");
    let fields: [(&str, String, String); 9] = [
        ("host", before.hostname.clone().unwrap_or_default(), after.hostname.clone().unwrap_or_default()),
        ("CPU", before.cpu_model.clone(), after.cpu_model.clone()),
        ("compute threads", before.compute_threads.to_string(), after.compute_threads.to_string()),
        ("GPU", gpus(before), gpus(after)),
        (
            "NVIDIA driver",
            before.gpu.driver_version.clone().unwrap_or_default(),
            after.gpu.driver_version.clone().unwrap_or_default(),
        ),
        ("phasebench", before.phasebench_version.clone(), after.phasebench_version.clone()),
        ("candle", before.candle_version.clone(), after.candle_version.clone()),
        ("build profile", before.build_profile.clone(), after.build_profile.clone()),
        ("OS", before.os.clone(), after.os.clone()),
    ];
    fields
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(what, a, b)| {
            let shown = |value: String| if value.is_empty() { "(none)".to_owned() } else { value };
            format!("{what} differs: {} before, {} after", shown(a), shown(b))
        })
        .collect()
}

/// How a target fared on one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetOutcome {
    /// Met, by the whole confidence interval where there is one.
    Pass,
    /// Missed, by the whole confidence interval where there is one.
    Fail,
    /// The interval straddles the bound: more steps would tell.
    Undecided,
}

impl std::fmt::Display for TargetOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Undecided => "undecided",
        })
    }
}

/// One target checked on one run.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetCheck {
    /// Index of the target in the suite.
    pub target_index: usize,
    /// `workload/phase@batch`.
    pub run: String,
    /// The run's phase.
    pub phase: String,
    /// The measured value in the target's unit.
    pub value: f64,
    /// Its 95 % confidence interval, when the metric has one.
    pub interval: Option<Interval>,
    /// The verdict.
    pub outcome: TargetOutcome,
    /// 0–100: 100 when the point estimate meets the bound, else bound/value (max) or value/bound (min).
    pub score: f64,
}

impl TargetCheck {
    /// The measured value with its CI when there is one: `12.3456 [12.0000–12.7000]`.
    pub fn measured_text(&self) -> String {
        match self.interval {
            Some(ci) => format!("{:.4} [{:.4}–{:.4}]", self.value, ci.low, ci.high),
            None => format!("{:.4}", self.value),
        }
    }
}

/// The value of `metric` for `run`, with its CI where it has one; `None` when the run does not
/// measure it (e.g. speedup of the baseline, energy without a GPU).
pub fn target_value(metric: TargetMetric, run: &RunResult) -> Option<(f64, Option<Interval>)> {
    let summary = run.summary.as_ref();
    let ms = |interval: Interval| Interval { low: interval.low * 1e3, high: interval.high * 1e3 };
    match metric {
        TargetMetric::P50Ms => summary.map(|s| (s.median * 1e3, Some(ms(s.median_ci)))),
        TargetMetric::P99Ms => summary.map(|s| (s.p99 * 1e3, None)),
        TargetMetric::ThroughputPerSec => summary.map(|s| {
            let items = run.batch_size as f64;
            (items / s.median, Some(Interval { low: items / s.median_ci.high, high: items / s.median_ci.low }))
        }),
        TargetMetric::Speedup => run.speedup.as_ref().map(|s| (s.ratio, Some(s.ratio_ci))),
        TargetMetric::AccuracyMaxAbs => run.accuracy.as_ref().map(|a| (a.max_abs_error, None)),
        TargetMetric::PeakMemoryBytes => run_memory_target_bytes(run).map(|bytes| (bytes as f64, None)),
        TargetMetric::EnergyPerStepJ => run.energy_per_step_joules().map(|joules| (joules, None)),
        TargetMetric::GenerationSecs => {
            let generation = run.generation.as_ref()?;
            stats::median(&generation.generation_secs).ok().map(|median| (median, None))
        }
    }
}

/// The memory a `peak_memory_bytes` target is checked on: the GPU memory a CUDA run took, the
/// host memory of a CPU run (the process's peak RSS for files from before that figure).
fn run_memory_target_bytes(run: &RunResult) -> Option<u64> {
    match run.device {
        crate::suite::DeviceSpec::Cuda(_) => run.gpu_memory_bytes().map(|(bytes, _)| bytes),
        crate::suite::DeviceSpec::Cpu => run.run_memory_bytes.or(run.peak_rss_bytes),
    }
}

/// Checks `value` (with its CI when given) against the target's bounds.
pub fn check_target(target: &Target, value: f64, interval: Option<Interval>) -> (TargetOutcome, f64) {
    let interval = interval.unwrap_or(Interval { low: value, high: value });
    let mut outcome = TargetOutcome::Pass;
    let mut score: f64 = 100.0;
    if let Some(max) = target.max {
        if interval.low > max {
            outcome = TargetOutcome::Fail;
        } else if interval.high > max {
            outcome = TargetOutcome::Undecided;
        }
        if value > max {
            score = score.min(if value > 0.0 { 100.0 * max.max(0.0) / value } else { 0.0 });
        }
    }
    if let Some(min) = target.min {
        if interval.high < min {
            outcome = TargetOutcome::Fail;
        } else if interval.low < min && outcome != TargetOutcome::Fail {
            outcome = TargetOutcome::Undecided;
        }
        if value < min {
            score = score.min(if min > 0.0 { 100.0 * value.max(0.0) / min } else { 0.0 });
        }
    }
    (outcome, score.clamp(0.0, 100.0))
}

/// Every target of `suite` checked on every completed run it applies to, in target order.
pub fn evaluate_targets(suite: &Suite, runs: &[RunResult]) -> Vec<TargetCheck> {
    let mut checks = Vec::new();
    for (target_index, target) in suite.targets.iter().enumerate() {
        for run in runs.iter().filter(|run| matches!(run.status, RunStatus::Completed)) {
            if target.workload.as_ref().is_some_and(|w| w != &run.workload)
                || target.phase.as_ref().is_some_and(|p| p != &run.phase)
            {
                continue;
            }
            let Some((value, interval)) = target_value(target.metric, run) else { continue };
            let (outcome, score) = check_target(target, value, interval);
            checks.push(TargetCheck {
                target_index,
                run: run.label(),
                phase: run.phase.clone(),
                value,
                interval,
                outcome,
                score,
            });
        }
    }
    checks
}

/// The performance score of each phase with checked targets: the mean of its checks' scores
/// (100 = every target met), in suite phase order.
pub fn phase_scores(suite: &Suite, checks: &[TargetCheck]) -> Vec<(String, f64)> {
    suite
        .phases
        .iter()
        .filter_map(|phase| {
            let scores: Vec<f64> = checks.iter().filter(|c| c.phase == phase.name).map(|c| c.score).collect();
            (!scores.is_empty()).then(|| (phase.name.clone(), scores.iter().sum::<f64>() / scores.len() as f64))
        })
        .collect()
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
    fn twice_as_slow_is_a_regression_and_the_same_distribution_is_unchanged() -> Result<(), StatsError> {
        let before: Vec<f64> = (0..100).map(|i| 1e-3 * (1.0 + (i % 7) as f64 * 0.01)).collect();
        let slower: Vec<f64> = before.iter().map(|s| s * 2.0).collect();
        let reshuffled: Vec<f64> = before.iter().rev().copied().collect();
        assert_eq!(Change::from(speedup(&before, &slower, 0.05, 2000, 1)?.verdict), Change::Regressed);
        assert_eq!(Change::from(speedup(&before, &reshuffled, 0.05, 2000, 1)?.verdict), Change::Unchanged);
        assert_eq!(Change::from(speedup(&slower, &before, 0.05, 2000, 1)?.verdict), Change::Improved);
        Ok(())
    }

    fn target(min: Option<f64>, max: Option<f64>) -> Target {
        Target { metric: TargetMetric::P50Ms, min, max, workload: None, phase: None }
    }

    #[test]
    fn a_target_passes_fails_or_is_undecided_by_its_whole_interval() {
        let at_most_20 = target(None, Some(20.0));
        let ci = |low, high| Some(Interval { low, high });
        assert_eq!(check_target(&at_most_20, 15.0, ci(14.0, 16.0)), (TargetOutcome::Pass, 100.0));
        assert_eq!(check_target(&at_most_20, 25.0, ci(24.0, 26.0)), (TargetOutcome::Fail, 80.0));
        assert_eq!(check_target(&at_most_20, 19.5, ci(19.0, 21.0)).0, TargetOutcome::Undecided);
        assert_eq!(check_target(&at_most_20, 19.5, None), (TargetOutcome::Pass, 100.0));

        let at_least_1_5 = target(Some(1.5), None);
        assert_eq!(check_target(&at_least_1_5, 1.6, ci(1.55, 1.7)).0, TargetOutcome::Pass);
        assert_eq!(check_target(&at_least_1_5, 0.75, ci(0.7, 0.8)), (TargetOutcome::Fail, 50.0));
        assert_eq!(check_target(&at_least_1_5, 1.52, ci(1.45, 1.6)).0, TargetOutcome::Undecided);
        let band = target(Some(1.0), Some(2.0));
        assert_eq!(check_target(&band, 3.0, None).0, TargetOutcome::Fail);
    }

    #[test]
    fn accuracy_passes_only_when_close_and_finite() {
        let close = Accuracy {
            elements: 4,
            nonfinite_values: 0,
            max_abs_error: 1e-3,
            max_rel_error: 1e-3,
            mean_abs_error: 1e-4,
            mean_squared_error: 1e-8,
            cosine_similarity: Some(0.99999),
            psnr_db: Some(60.0),
            relative_error: Some(1e-3),
            tokens: None,
            image: None,
        };
        let (bounds, mode) = (AccuracyBounds::default(), ModeKind::Inference);
        let passes = |accuracy: &Accuracy| accuracy_passes(accuracy, &bounds, mode);
        assert!(passes(&close));
        assert!(!passes(&Accuracy { cosine_similarity: Some(0.99), ..close.clone() }));
        assert!(!passes(&Accuracy { nonfinite_values: 1, ..close.clone() }));
        assert!(!passes(&Accuracy { cosine_similarity: None, ..close.clone() }));
        assert!(passes(&Accuracy { relative_error: None, ..close.clone() }), "older results: cosine alone");
        let generation_bounds = AccuracyBounds { min_psnr_db: Some(70.0), ..bounds };
        assert!(!accuracy_passes(&close, &generation_bounds, ModeKind::Generation));
        assert!(accuracy_passes(&close, &generation_bounds, ModeKind::Inference), "PSNR bounds generation only");
    }

    /// Issue 18, defect 7: an output scaled by 2 points the same way (cosine 1) but is wrong; a
    /// loss curve whose second half drifts 10 % keeps a cosine above 0.999. Both fail now.
    #[test]
    fn a_rescaled_output_and_a_drifting_loss_curve_fail_the_accuracy_check()
    -> Result<(), crate::accuracy::AccuracyError> {
        let bounds = AccuracyBounds::default();
        let reference: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() + 0.1).collect();
        let doubled: Vec<f32> = reference.iter().map(|v| v * 2.0).collect();
        let scaled = crate::accuracy::compare_outputs(&reference, &doubled)?;
        assert!(scaled.cosine_similarity.is_some_and(|c| c > 0.999_999), "{scaled:?}");
        assert!(!accuracy_passes(&scaled, &bounds, ModeKind::Inference), "{scaled:?}");
        let losses: Vec<f32> = (0..40).map(|i| 2.0 / (1.0 + i as f32 * 0.1)).collect();
        let drifting: Vec<f32> =
            losses.iter().enumerate().map(|(i, loss)| if i < 20 { *loss } else { loss * 1.1 }).collect();
        let drift = crate::accuracy::compare_outputs(&losses, &drifting)?;
        assert!(drift.cosine_similarity.is_some_and(|c| c > 0.999), "{drift:?}");
        assert!(!accuracy_passes(&drift, &bounds, ModeKind::Training), "{drift:?}");
        Ok(())
    }

    #[test]
    fn a_change_inside_the_noise_threshold_is_no_change() -> Result<(), StatsError> {
        let baseline: Vec<f64> = (0..200).map(|i| 1.0 + (i % 10) as f64 * 1e-3).collect();
        let candidate: Vec<f64> = baseline.iter().map(|s| s / 1.01).collect();
        assert_eq!(speedup(&baseline, &candidate, 0.02, 2000, 9)?.verdict, Verdict::NoChange);
        Ok(())
    }
}
