//! The HTML report: one self-contained page (inline CSS, inline SVG charts, no script, no
//! network) rendered from a built-in `minijinja` template with every user string escaped, and
//! the full result JSON embedded so `phasebench show report.html` reads it back.

use serde::Serialize;

use crate::compare::{self, Change, TargetOutcome, Verdict};
use crate::results::{EMBEDDED_RESULT_ID, RunResult, SuiteResult};
use crate::suite::AccuracyBounds;
use crate::units::format_secs;

use super::{BaselineComparison, ReportError, RunCells};

/// The page template; its `.html` name turns on HTML auto-escaping.
mod charts;
mod images;
mod summary;

use charts::workload_charts;
use summary::{DecisionView, decision_views};

const TEMPLATE: &str = include_str!("../report.html");

#[derive(Serialize)]
struct Page {
    /// More than one machine measured these runs (a merged result): tables show and group by host.
    multi_host: bool,
    title: String,
    description: String,
    status_line: String,
    baseline: String,
    origin: String,
    phasebench_version: String,
    decisions: Vec<DecisionView>,
    workloads: Vec<WorkloadView>,
    scores: Vec<ScoreView>,
    targets: Vec<TargetView>,
    regression: Option<RegressionView>,
    recommendations: Vec<RecommendationView>,
    problems: Vec<ProblemView>,
    warnings: Vec<WarningView>,
    sweeps: Vec<SweepView>,
    environment: Vec<(String, String)>,
    /// The result as JSON with `<`, `>` and `&` written as `\u` escapes, safe inside `<script>`.
    result_json: String,
    result_id: &'static str,
}

#[derive(Serialize)]
struct WorkloadView {
    name: String,
    model: String,
    mode: String,
    rows: Vec<RowView>,
    /// Text generation: each run's prefill, TTFT, decode rate, KV cache and token agreement.
    text_lines: Vec<(String, String)>,
    /// Image generation: each run's image, stacked stage bar and PSNR/SSIM.
    images: Vec<images::ImageView>,
    /// Whether any image run encoded its text (not where seeded embeddings stand for it).
    text_stage: bool,
    charts: Vec<ChartView>,
}

#[derive(Serialize)]
struct RowView {
    anchor: String,
    host: String,
    phase: String,
    baseline: bool,
    batch: usize,
    status: String,
    p50: String,
    /// The p50's interval, shown under it so the table fits a page.
    p50_ci: String,
    p90: String,
    p99: String,
    throughput: String,
    speedup: String,
    speedup_ci: String,
    verdict: String,
    verdict_class: &'static str,
    basis: String,
    accuracy: &'static str,
    accuracy_class: &'static str,
    max_abs_error: String,
    cosine: String,
    run_memory: String,
    gpu_memory: String,
    setup: String,
    energy: String,
    warnings: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct ChartView {
    title: String,
    caption: String,
    /// Markup built by [`svg`], which escapes every label itself.
    svg: String,
}

#[derive(Serialize)]
struct ScoreView {
    phase: String,
    score: String,
}

#[derive(Serialize)]
struct TargetView {
    target: String,
    run: String,
    measured: String,
    outcome: String,
    class: &'static str,
}

#[derive(Serialize)]
struct RegressionView {
    source: String,
    threshold: String,
    regressions: usize,
    rows: Vec<DiffRowView>,
    only_before: Vec<String>,
    only_after: Vec<String>,
    environment_differences: Vec<String>,
}

#[derive(Serialize)]
struct DiffRowView {
    run: String,
    before: String,
    after: String,
    speedup: String,
    change: String,
    class: &'static str,
}

#[derive(Serialize)]
struct RecommendationView {
    scope: String,
    advice: String,
    evidence: String,
}

#[derive(Serialize)]
struct ProblemView {
    run: String,
    status: String,
    reason: String,
}

#[derive(Serialize)]
struct WarningView {
    run: String,
    text: String,
}

#[derive(Serialize)]
struct SweepView {
    workload: String,
    phase: String,
    largest: String,
    stop: String,
}

/// Index of `phase` in the suite, for its colour.
fn phase_color(result: &SuiteResult, phase: &str) -> usize {
    result.suite.phases.iter().position(|p| p.name == phase).unwrap_or(0)
}

fn verdict_class(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::Faster) => "good",
        Some(Verdict::Slower) => "bad",
        Some(Verdict::NoChange | Verdict::Equivalent) => "neutral",
        Some(Verdict::Inconclusive) => "unknown",
        None => "",
    }
}

/// The value of a `value [low–high]` cell.
fn value_part(cell: &str) -> String {
    cell.split_once(" [").map_or(cell, |(value, _)| value).to_owned()
}

/// The `[low–high]` of a `value [low–high]` cell, a unit both ends share written once
/// (`[1.02–1.05 ms]`); empty when it has none.
fn interval_part(cell: &str) -> String {
    let Some((_, interval)) = cell.split_once(" [") else { return String::new() };
    let ends = interval.trim_end_matches(']').split_once('–');
    match ends.and_then(|(low, high)| Some((low.split_once(' ')?, high.split_once(' ')?))) {
        Some(((low, low_unit), (high, high_unit))) if low_unit == high_unit => format!("[{low}–{high} {high_unit}]"),
        _ => format!("[{interval}"),
    }
}

fn row_view(run: &RunResult, bounds: &AccuracyBounds) -> RowView {
    let cells = RunCells::of(run, bounds);
    let (accuracy, accuracy_class) = match cells.accuracy_pass {
        Some(true) => ("pass", "good"),
        Some(false) => ("fail", "bad"),
        None if run.is_baseline => ("reference", ""),
        None => ("—", ""),
    };
    RowView {
        anchor: format!("run-{}", run.index),
        host: run.host.clone().unwrap_or_default(),
        phase: run.phase.clone(),
        baseline: run.is_baseline,
        batch: run.batch_size,
        status: run.status.to_string(),
        verdict_class: verdict_class(run.speedup.as_ref().map(|s| s.verdict)),
        p50_ci: interval_part(&cells.p50),
        p50: value_part(&cells.p50),
        p90: cells.p90,
        p99: cells.p99,
        throughput: cells.throughput,
        speedup_ci: interval_part(&cells.speedup),
        speedup: value_part(&cells.speedup),
        verdict: cells.verdict,
        basis: cells.basis,
        accuracy,
        accuracy_class,
        max_abs_error: cells.max_abs_error,
        cosine: cells.cosine,
        run_memory: cells.run_memory,
        energy: cells.energy,
        gpu_memory: cells.gpu_memory,
        setup: cells.setup,
        warnings: run.warnings.iter().map(ToString::to_string).collect(),
    }
}

fn regression_view(comparison: &BaselineComparison) -> RegressionView {
    let diff = &comparison.diff;
    let rows = diff
        .runs
        .iter()
        .map(|run| {
            let median = |secs: Option<f64>| secs.map_or_else(|| "—".to_owned(), format_secs);
            let (speedup, change, class) = match &run.speedup {
                Ok(s) => {
                    let change = Change::from(s.verdict);
                    let class = match change {
                        Change::Improved => "good",
                        Change::Regressed => "bad",
                        Change::Unchanged => "neutral",
                    };
                    (s.ratio_text(), change.to_string(), class)
                }
                Err(reason) => ("—".to_owned(), reason.clone(), ""),
            };
            DiffRowView {
                run: run.label.clone(),
                before: median(run.before_median_secs),
                after: median(run.after_median_secs),
                speedup,
                change,
                class,
            }
        })
        .collect();
    RegressionView {
        source: comparison.source.clone(),
        threshold: format!("{:.1} %", comparison.threshold * 100.0),
        regressions: diff.regressions(),
        rows,
        only_before: diff.only_before.clone(),
        only_after: diff.only_after.clone(),
        environment_differences: diff.environment_differences.clone(),
    }
}

fn environment_rows(result: &SuiteResult) -> Vec<(String, String)> {
    let env = &result.environment;
    let gpus = if env.gpu.gpus.is_empty() {
        env.gpu.unavailable_reason.clone().unwrap_or_else(|| "none".to_owned())
    } else {
        env.gpu.gpus.iter().map(|gpu| format!("{}: {}", gpu.index, gpu.name)).collect::<Vec<_>>().join(", ")
    };
    vec![
        ("Host".into(), env.hostname.clone().unwrap_or_else(|| "—".into())),
        ("OS".into(), env.os.clone()),
        ("CPU".into(), format!("{} ({}, {} logical cores)", env.cpu_model, env.cpu_arch, env.cpu_logical_cores)),
        ("Compute threads".into(), env.compute_threads.to_string()),
        ("GPU".into(), gpus),
        ("NVIDIA driver".into(), env.gpu.driver_version.clone().unwrap_or_else(|| "—".into())),
        ("CUDA".into(), env.gpu.cuda_driver_version.clone().unwrap_or_else(|| "—".into())),
        ("phasebench".into(), env.phasebench_version.clone()),
        ("candle".into(), env.candle_version.clone()),
        ("Build profile".into(), env.build_profile.clone()),
    ]
}

/// `value` as JSON that cannot end the `<script>` element holding it (`<`, `>` and `&` are
/// written as `\u` escapes, which JSON readers decode back).
pub fn embeddable_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string(value)?.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026"))
}

/// The HTML report of `result`, compared with a saved result when `baseline` is given.
pub fn render(result: &SuiteResult, baseline: Option<&BaselineComparison>) -> Result<String, ReportError> {
    let hosts: std::collections::BTreeSet<&str> = result.runs.iter().filter_map(|run| run.host.as_deref()).collect();
    let multi_host = hosts.len() > 1;
    let analysis = compare::Analysis::of(&result.suite, &result.runs, &result.sweeps);
    let page = Page {
        multi_host,
        title: result.suite.name.clone(),
        description: result.suite.description.clone(),
        status_line: format!(
            "{} of {} runs, {}; started {}{}.",
            result.runs.len(),
            result.planned_runs,
            result.status,
            result.started_at,
            result.finished_at.as_ref().map_or_else(String::new, |end| format!(", finished {end}"))
        ),
        baseline: result.suite.baseline.clone(),
        origin: result.suite_origin.clone(),
        phasebench_version: result.environment.phasebench_version.clone(),
        decisions: decision_views(result, &analysis),
        workloads: workload_views(result, multi_host),
        scores: score_views(&analysis),
        targets: target_views(result, &analysis),
        regression: baseline.map(regression_view),
        recommendations: recommendation_views(analysis.recommendations),
        problems: problem_views(result),
        warnings: warning_views(result),
        sweeps: sweep_views(result),
        environment: environment_rows(result),
        result_json: embeddable_json(result)?,
        result_id: EMBEDDED_RESULT_ID,
    };
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    Ok(env.get_template("report.html")?.render(minijinja::Value::from(minijinja::value::Serde(&page)))?)
}

/// One section per workload that has runs: its table rows and charts (grouped by machine when the
/// result merges several).
fn workload_views(result: &SuiteResult, multi_host: bool) -> Vec<WorkloadView> {
    result
        .suite
        .workloads
        .iter()
        .filter_map(|workload| {
            let mut runs: Vec<&RunResult> = result.runs.iter().filter(|run| run.workload == workload.name).collect();
            if multi_host {
                // Group the rows by machine; the order within a machine stays the plan's.
                runs.sort_by(|a, b| a.host.cmp(&b.host).then(a.index.cmp(&b.index)));
            }
            (!runs.is_empty()).then(|| WorkloadView {
                name: workload.name.clone(),
                model: workload.model.kind_name().to_owned(),
                mode: workload.mode.kind().words().to_owned(),
                rows: runs.iter().map(|run| row_view(run, &result.suite.settings.accuracy)).collect(),
                text_lines: runs
                    .iter()
                    .filter_map(|run| {
                        let text = super::text_generation_text(run).or_else(|| super::image_generation_text(run))?;
                        Some((run.label(), text))
                    })
                    .collect(),
                images: images::image_views(&runs),
                text_stage: runs.iter().any(|run| {
                    run.generation.as_ref().is_some_and(|g| g.image.is_some() && !g.text_encoder_secs.is_empty())
                }),
                charts: workload_charts(result, &workload.name, &runs),
            })
        })
        .collect()
}

fn target_views(result: &SuiteResult, analysis: &compare::Analysis) -> Vec<TargetView> {
    analysis
        .target_checks
        .iter()
        .map(|check| TargetView {
            target: result.suite.targets[check.target_index].to_string(),
            run: check.run.clone(),
            measured: check.measured_text(),
            outcome: check.outcome.to_string(),
            class: match check.outcome {
                TargetOutcome::Pass => "good",
                TargetOutcome::Fail => "bad",
                TargetOutcome::Undecided => "neutral",
            },
        })
        .collect()
}

fn score_views(analysis: &compare::Analysis) -> Vec<ScoreView> {
    analysis
        .phase_scores
        .iter()
        .map(|(phase, score)| ScoreView { phase: phase.clone(), score: format!("{score:.0}") })
        .collect()
}

fn recommendation_views(recommendations: Vec<compare::Recommendation>) -> Vec<RecommendationView> {
    recommendations
        .into_iter()
        .map(|rec| RecommendationView {
            scope: match &rec.phase {
                Some(phase) => format!("{} / {phase}", rec.workload),
                None if rec.workload.is_empty() => "whole suite".to_owned(),
                None => rec.workload.clone(),
            },
            advice: rec.advice,
            evidence: rec.evidence,
        })
        .collect()
}

fn problem_views(result: &SuiteResult) -> Vec<ProblemView> {
    result
        .runs
        .iter()
        .filter(|run| !run.status.reason().is_empty())
        .map(|run| ProblemView {
            run: run.label(),
            status: run.status.to_string(),
            reason: run.status.reason().to_owned(),
        })
        .collect()
}

fn warning_views(result: &SuiteResult) -> Vec<WarningView> {
    result
        .runs
        .iter()
        .flat_map(|run| {
            run.warnings.iter().map(move |warning| WarningView { run: run.label(), text: warning.to_string() })
        })
        .collect()
}

fn sweep_views(result: &SuiteResult) -> Vec<SweepView> {
    result
        .sweeps
        .iter()
        .map(|sweep| SweepView {
            workload: sweep.workload.clone(),
            phase: sweep.phase.clone(),
            largest: sweep.largest_working_batch.map_or_else(|| "—".to_owned(), |batch| batch.to_string()),
            stop: sweep.stop.describe(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_its_script_element() -> Result<(), serde_json::Error> {
        let text = r#"{"name":"</script><script>alert(1)</script>&"}"#;
        let value: serde_json::Value = serde_json::from_str(text)?;
        let escaped = embeddable_json(&value)?;
        assert!(!escaped.contains("</script"));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&escaped)?, value);
        Ok(())
    }
}
