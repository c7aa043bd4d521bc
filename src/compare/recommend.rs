//! A small rule set that turns a result into advice, each piece of advice with the measured
//! evidence behind it: low GPU utilization, a faster reduced precision that stays accurate, a
//! quantization that does not, a batch sweep stopped by its budget, and noisy timings.

use serde::{Deserialize, Serialize};

use crate::results::{RunResult, RunStatus, SuiteResult, SweepResult, SweepStop};
use crate::suite::{DTypeSpec, Suite};

use super::{Verdict, accuracy_passes};

/// Mean GPU utilization (percent) below which a larger batch is advised.
pub const LOW_GPU_UTILIZATION_PERCENT: f64 = 50.0;
/// Step-time IQR over median above which a run's timings count as noisy.
pub const NOISY_IQR_FRACTION: f64 = 0.10;
/// Growth of throughput between the last two sweep points that counts as "still rising".
pub const STILL_RISING_FRACTION: f64 = 0.05;

/// Which rule produced a recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// The GPU was idle much of the time at the largest batch measured.
    LargerBatch,
    /// A bf16/f16 phase was faster and stayed accurate.
    AdoptReducedPrecision,
    /// A quantized phase's output drifted beyond tolerance.
    KeepUnquantized,
    /// A batch sweep ended on its time or memory budget while throughput was still rising.
    SweepLimitedByBudget,
    /// Step times varied too much to trust small differences.
    NoisyTimings,
}

/// One piece of advice with the measurements that support it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The rule that fired.
    pub rule: Rule,
    /// The workload it is about (empty when it is about the whole suite).
    pub workload: String,
    /// The phase it is about, if one.
    pub phase: Option<String>,
    /// What to do, in one sentence.
    pub advice: String,
    /// The measured figures that led to it.
    pub evidence: String,
}

/// Every recommendation the rules find in `result`, in rule order.
pub fn recommendations(result: &SuiteResult) -> Vec<Recommendation> {
    recommendations_for(&result.suite, &result.runs, &result.sweeps)
}

/// The runs (and sweeps) of a suite, as far as they got; what the rules read.
struct Evidence<'a> {
    suite: &'a Suite,
    runs: &'a [RunResult],
    sweeps: &'a [SweepResult],
}

/// Every recommendation the rules find in `runs` and `sweeps` of `suite` (e.g. a session still
/// running, or without sweeps), in rule order.
pub fn recommendations_for(suite: &Suite, runs: &[RunResult], sweeps: &[SweepResult]) -> Vec<Recommendation> {
    let result = Evidence { suite, runs, sweeps };
    let mut found = Vec::new();
    larger_batch(&result, &mut found);
    adopt_reduced_precision(&result, &mut found);
    keep_unquantized(&result, &mut found);
    sweep_limited_by_budget(&result, &mut found);
    noisy_timings(&result, &mut found);
    found
}

fn completed<'a>(result: &Evidence<'a>) -> impl Iterator<Item = &'a RunResult> + use<'a> {
    result.runs.iter().filter(|run| matches!(run.status, RunStatus::Completed))
}

/// The (workload, phase) pairs of `result` in plan order, each once.
fn pairs<'a>(result: &Evidence<'a>) -> Vec<(&'a str, &'a str)> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for run in result.runs {
        let pair = (run.workload.as_str(), run.phase.as_str());
        if !seen.contains(&pair) {
            seen.push(pair);
        }
    }
    seen
}

fn runs_of<'a>(result: &Evidence<'a>, workload: &str, phase: &str) -> Vec<&'a RunResult> {
    completed(result).filter(|run| run.workload == workload && run.phase == phase).collect()
}

fn larger_batch(result: &Evidence<'_>, found: &mut Vec<Recommendation>) {
    for (workload, phase) in pairs(result) {
        let runs = runs_of(result, workload, phase);
        let Some(largest) = runs.iter().max_by_key(|run| run.batch_size) else { continue };
        let Some(utilization) = largest.used_gpu().and_then(|gpu| gpu.mean_utilization_percent) else { continue };
        if utilization < LOW_GPU_UTILIZATION_PERCENT {
            found.push(Recommendation {
                rule: Rule::LargerBatch,
                workload: workload.to_owned(),
                phase: Some(phase.to_owned()),
                advice: format!("Try a larger batch than {} for `{workload}` in `{phase}`.", largest.batch_size),
                evidence: format!(
                    "The GPU was busy {utilization:.0} % of the measured time at batch {} (below {LOW_GPU_UTILIZATION_PERCENT:.0} %).",
                    largest.batch_size
                ),
            });
        }
    }
}

fn accuracy_words(run: &RunResult) -> String {
    run.accuracy.as_ref().map_or_else(
        || "no accuracy measured".to_owned(),
        |accuracy| {
            let cosine = accuracy.cosine_similarity.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.6}"));
            let relative = accuracy.relative_error.map_or_else(String::new, |e| format!(", relative error {e:.2e}"));
            format!("max abs error {:.3e}, cosine {cosine}{relative}", accuracy.max_abs_error)
        },
    )
}

/// The accuracy tolerance of `suite` in words.
fn tolerance_words(suite: &Suite) -> String {
    let bounds = &suite.settings.accuracy;
    format!("cosine ≥ {}, relative error ≤ {}", bounds.min_cosine, bounds.max_relative_error)
}

/// Whether `run`'s output passed the accuracy check of `suite` (false when not compared).
fn passed(suite: &Suite, run: &RunResult) -> bool {
    run.accuracy.as_ref().is_some_and(|a| accuracy_passes(a, &suite.settings.accuracy, run.mode.kind()))
}

/// Whether `run`'s output was compared and failed the accuracy check of `suite`.
fn failed_accuracy(suite: &Suite, run: &RunResult) -> bool {
    run.accuracy.as_ref().is_some_and(|a| !accuracy_passes(a, &suite.settings.accuracy, run.mode.kind()))
}

fn adopt_reduced_precision(result: &Evidence<'_>, found: &mut Vec<Recommendation>) {
    for (workload, phase) in pairs(result) {
        let runs = runs_of(result, workload, phase);
        let Some(first) = runs.first() else { continue };
        if first.is_baseline || first.dtype == DTypeSpec::F32 || first.quantization.is_some() {
            continue;
        }
        let all_faster = runs.iter().all(|run| run.speedup.as_ref().is_some_and(|s| s.verdict == Verdict::Faster));
        let all_accurate = runs.iter().all(|run| passed(result.suite, run));
        if !all_faster || !all_accurate {
            continue;
        }
        let speedups: Vec<String> = runs
            .iter()
            .filter_map(|run| {
                let speedup = run.speedup.as_ref()?;
                Some(format!(
                    "{:.2}× [{:.2}, {:.2}] at batch {}",
                    speedup.ratio, speedup.ratio_ci.low, speedup.ratio_ci.high, run.batch_size
                ))
            })
            .collect();
        found.push(Recommendation {
            rule: Rule::AdoptReducedPrecision,
            workload: workload.to_owned(),
            phase: Some(phase.to_owned()),
            advice: format!("Adopt `{phase}` ({}) for `{workload}`.", first.dtype),
            evidence: format!(
                "Faster than `{}` beyond noise: {}; output within tolerance ({}; {}).",
                result.suite.baseline,
                speedups.join(", "),
                accuracy_words(first),
                tolerance_words(result.suite)
            ),
        });
    }
}

fn keep_unquantized(result: &Evidence<'_>, found: &mut Vec<Recommendation>) {
    for (workload, phase) in pairs(result) {
        let runs = runs_of(result, workload, phase);
        let Some(drifted) = runs.iter().find(|run| failed_accuracy(result.suite, run)) else {
            continue;
        };
        let Some(quantization) = drifted.quantization else { continue };
        found.push(Recommendation {
            rule: Rule::KeepUnquantized,
            workload: workload.to_owned(),
            phase: Some(phase.to_owned()),
            advice: format!(
                "Keep the linear layers of `{workload}` in {} (or try a finer quantization than {quantization}).",
                drifted.dtype
            ),
            evidence: format!(
                "With {quantization} linear weights the output drifts beyond tolerance: {} (tolerance: finite, {}).",
                accuracy_words(drifted),
                tolerance_words(result.suite)
            ),
        });
    }
}

fn sweep_limited_by_budget(result: &Evidence<'_>, found: &mut Vec<Recommendation>) {
    for sweep in result.sweeps {
        if !matches!(sweep.stop, SweepStop::TimeBudget { .. } | SweepStop::MemoryBudget { .. }) {
            continue;
        }
        let budget = sweep.stop.describe();
        let [.., previous, last] = sweep.throughput_curve.as_slice() else { continue };
        if last.items_per_sec <= previous.items_per_sec * (1.0 + STILL_RISING_FRACTION) {
            continue;
        }
        found.push(Recommendation {
            rule: Rule::SweepLimitedByBudget,
            workload: sweep.workload.clone(),
            phase: Some(sweep.phase.clone()),
            advice: format!(
                "The best batch for `{}` in `{}` is above {}: raise max_secs or max_memory to sweep further.",
                sweep.workload, sweep.phase, last.batch_size
            ),
            evidence: format!(
                "Throughput was still rising ({:.1} items/s at batch {}, {:.1} at {}) when the sweep stopped: {budget}.",
                previous.items_per_sec, previous.batch_size, last.items_per_sec, last.batch_size
            ),
        });
    }
}

fn noisy_timings(result: &Evidence<'_>, found: &mut Vec<Recommendation>) {
    let noisy: Vec<(String, f64)> = completed(result)
        .filter_map(|run| {
            let summary = run.summary.as_ref()?;
            let spread = summary.iqr / summary.median;
            (summary.median > 0.0 && spread > NOISY_IQR_FRACTION).then(|| (run.label(), spread))
        })
        .collect();
    if noisy.is_empty() {
        return;
    }
    let listed: Vec<String> =
        noisy.iter().take(5).map(|(label, spread)| format!("{label} {:.0} %", spread * 100.0)).collect();
    let more = if noisy.len() > 5 { format!(" and {} more", noisy.len() - 5) } else { String::new() };
    found.push(Recommendation {
        rule: Rule::NoisyTimings,
        workload: String::new(),
        phase: None,
        advice: "The machine was noisy: close other programs, fix the CPU/GPU clocks, or raise min_steps and min_secs before trusting small differences.".to_owned(),
        evidence: format!(
            "{} of {} completed runs have a step-time IQR above {:.0} % of the median: {}{more}.",
            noisy.len(),
            completed(result).count(),
            NOISY_IQR_FRACTION * 100.0,
            listed.join(", ")
        ),
    });
}
