//! The HTML report: one self-contained page (inline CSS, inline SVG charts, no script, no
//! network) rendered from a built-in `minijinja` template with every user string escaped, and
//! the full result JSON embedded so `phasebench show report.html` reads it back.

use serde::Serialize;

use crate::compare::{self, Change, TargetOutcome, Verdict};
use crate::results::{EMBEDDED_RESULT_ID, RunResult, SuiteResult};
use crate::stats;
use crate::units::format_secs;

use super::svg::{self, Axes, Bar, BoxItem, Series};
use super::{BaselineComparison, ReportError, RunCells, status_reason, status_text, suite_status_text};

/// The page template; its `.html` name turns on HTML auto-escaping.
const TEMPLATE: &str = include_str!("report.html");

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
    charts: Vec<ChartView>,
}

#[derive(Serialize)]
struct RowView {
    host: String,
    phase: String,
    baseline: bool,
    batch: usize,
    status: String,
    p50: String,
    p90: String,
    p99: String,
    throughput: String,
    speedup: String,
    verdict: String,
    verdict_class: &'static str,
    accuracy: &'static str,
    accuracy_class: &'static str,
    max_abs_error: String,
    cosine: String,
    peak_rss: String,
    gpu_memory: String,
    setup: String,
    energy: String,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct ChartView {
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

fn run_name(run: &RunResult) -> String {
    format!("{}/{}@{}", run.workload, run.phase, run.batch_size)
}

/// Index of `phase` in the suite, for its colour.
fn phase_color(result: &SuiteResult, phase: &str) -> usize {
    result.suite.phases.iter().position(|p| p.name == phase).unwrap_or(0)
}

fn verdict_class(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::Faster) => "good",
        Some(Verdict::Slower) => "bad",
        Some(Verdict::NoChange) => "neutral",
        None => "",
    }
}

fn row_view(run: &RunResult) -> RowView {
    let cells = RunCells::of(run);
    let (accuracy, accuracy_class) = match cells.accuracy_pass {
        Some(true) => ("pass", "good"),
        Some(false) => ("fail", "bad"),
        None if run.is_baseline => ("reference", ""),
        None => ("—", ""),
    };
    RowView {
        host: run.host.clone().unwrap_or_default(),
        phase: run.phase.clone(),
        baseline: run.is_baseline,
        batch: run.batch_size,
        status: status_text(&run.status).to_owned(),
        verdict_class: verdict_class(run.speedup.as_ref().map(|s| s.verdict)),
        p50: cells.p50,
        p90: cells.p90,
        p99: cells.p99,
        throughput: cells.throughput,
        speedup: cells.speedup,
        verdict: cells.verdict,
        accuracy,
        accuracy_class,
        max_abs_error: cells.max_abs_error,
        cosine: cells.cosine,
        peak_rss: cells.peak_rss,
        energy: cells.energy,
        gpu_memory: cells.gpu_memory,
        setup: cells.setup,
        warnings: run.warnings.iter().map(ToString::to_string).collect(),
    }
}

fn chart(title: String, caption: &str, svg: String) -> ChartView {
    ChartView { title, caption: caption.to_owned(), svg }
}

/// The charts of one workload's runs, each only where its data exists.
fn workload_charts(result: &SuiteResult, workload: &str, runs: &[&RunResult]) -> Vec<ChartView> {
    let mut charts = Vec::new();
    let measured: Vec<&RunResult> = runs.iter().copied().filter(|run| !run.step_secs.is_empty()).collect();
    let color = |run: &RunResult| phase_color(result, &run.phase);

    let bars: Vec<Bar> = measured
        .iter()
        .filter_map(|run| {
            let speedup = run.speedup.as_ref()?;
            Some(Bar {
                label: format!("{}@{}", run.phase, run.batch_size),
                color: color(run),
                value: speedup.ratio,
                interval: Some((speedup.ratio_ci.low, speedup.ratio_ci.high)),
            })
        })
        .collect();
    if !bars.is_empty() {
        let title = format!("{workload}: speedup against {}", result.suite.baseline);
        let axes = Axes { title: &title, x_label: "phase @ batch", y_label: "speedup (×)" };
        let svg = svg::bar_chart(&axes, &bars, Some(1.0));
        charts.push(chart(title, "Per-item speedup with its 95 % bootstrap CI; above the dashed line is faster.", svg));
    }

    let boxes: Vec<BoxItem> = measured
        .iter()
        .filter_map(|run| {
            Some(BoxItem {
                label: format!("{}@{}", run.phase, run.batch_size),
                color: color(run),
                five: box_five(&run.step_secs)?.map(|secs| secs * 1e3),
            })
        })
        .collect();
    if !boxes.is_empty() {
        let title = format!("{workload}: step-time distribution");
        let axes = Axes { title: &title, x_label: "phase @ batch", y_label: "step time (ms)" };
        let svg = svg::box_chart(&axes, &boxes);
        charts.push(chart(title, "Quartiles, median and whiskers to 1.5 IQR of the measured steps.", svg));
    }

    if !measured.is_empty() {
        let series: Vec<Series> = measured
            .iter()
            .map(|run| {
                let warmup = run.warmup_step_secs.len() as f64;
                let points = run
                    .warmup_step_secs
                    .iter()
                    .chain(&run.step_secs)
                    .enumerate()
                    .map(|(i, secs)| (i as f64 - warmup, secs * 1e3))
                    .collect();
                Series { name: format!("{}@{}", run.phase, run.batch_size), color: color(run), points }
            })
            .collect();
        let any_warmup = measured.iter().any(|run| !run.warmup_step_secs.is_empty());
        let title = format!("{workload}: step times");
        let axes = Axes { title: &title, x_label: "step (warm-up below 0)", y_label: "step time (ms)" };
        let svg = svg::line_chart(&axes, &series, any_warmup.then_some(0.0));
        charts.push(chart(title, "Every step in order; the shaded warm-up steps are not measured.", svg));
    }

    if let Some(view) = telemetry_chart(result, workload, runs) {
        charts.push(view);
    }

    let mut batches: Vec<usize> = measured.iter().map(|run| run.batch_size).collect();
    batches.sort_unstable();
    batches.dedup();
    if batches.len() > 1 {
        let series: Vec<Series> = result
            .suite
            .phases
            .iter()
            .enumerate()
            .filter_map(|(index, phase)| {
                let mut points: Vec<(f64, f64)> = measured
                    .iter()
                    .filter(|run| run.phase == phase.name)
                    .filter_map(|run| Some((run.batch_size as f64, run.throughput_items_per_sec?)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (!points.is_empty()).then(|| Series { name: phase.name.clone(), color: index, points })
            })
            .collect();
        let title = format!("{workload}: throughput by batch size");
        let axes = Axes { title: &title, x_label: "batch size", y_label: "items / s" };
        let svg = svg::line_chart(&axes, &series, None);
        charts.push(chart(title, "Items per second at the median step time, per phase.", svg));
    }

    let generations: Vec<Series> = measured
        .iter()
        .filter_map(|run| {
            let record = run.generation.as_ref().filter(|record| !record.generation_secs.is_empty())?;
            let per_image = record.generation_secs.iter().enumerate();
            let points = per_image.map(|(i, secs)| (i as f64 + 1.0, secs / run.batch_size.max(1) as f64)).collect();
            Some(Series { name: format!("{}@{}", run.phase, run.batch_size), color: color(run), points })
        })
        .collect();
    if !generations.is_empty() {
        let title = format!("{workload}: generation time per image");
        let axes = Axes { title: &title, x_label: "generation", y_label: "seconds per image" };
        let svg = svg::line_chart(&axes, &generations, None);
        charts.push(chart(title, "Each whole generation's wall time divided by its batch size.", svg));
    }
    charts
}

/// One series per run of `value` over its telemetry samples, for the runs where it has any.
fn telemetry_series(
    result: &SuiteResult,
    runs: &[&RunResult],
    value: impl Fn(&RunResult, &crate::telemetry::TelemetrySample) -> Option<f64>,
) -> Vec<Series> {
    runs.iter()
        .filter_map(|run| {
            let telemetry = run.telemetry.as_ref()?;
            let points: Vec<(f64, f64)> =
                telemetry.samples.iter().filter_map(|sample| Some((sample.t_secs, value(run, sample)?))).collect();
            (!points.is_empty()).then(|| Series {
                name: format!("{}@{}", run.phase, run.batch_size),
                color: phase_color(result, &run.phase),
                points,
            })
        })
        .collect()
}

/// GPU utilization of the GPU each run used when NVML sampled it, else the process's CPU use.
fn telemetry_chart(result: &SuiteResult, workload: &str, runs: &[&RunResult]) -> Option<ChartView> {
    let gpu_series = telemetry_series(result, runs, |run, sample| {
        let index = run.gpu_index?;
        sample.gpus.iter().find(|gpu| gpu.index == index)?.utilization_gpu_percent
    });
    let (series, what) = if gpu_series.is_empty() {
        (telemetry_series(result, runs, |_, sample| sample.host.process_cpu_percent), "process CPU (%)")
    } else {
        (gpu_series, "GPU utilization (%)")
    };
    if series.is_empty() {
        return None;
    }
    let title = format!("{workload}: {what}");
    let axes = Axes { title: &title, x_label: "seconds since the run started", y_label: what };
    let svg = svg::line_chart(&axes, &series, None);
    Some(chart(title, "Telemetry sampled during each run (CPU use of this process when no NVIDIA GPU was used).", svg))
}

/// Whisker ends (most extreme values within 1.5 IQR of the quartiles), quartiles and median.
fn box_five(values: &[f64]) -> Option<[f64; 5]> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let q1 = stats::quantile_sorted(&sorted, 0.25);
    let median = stats::quantile_sorted(&sorted, 0.5);
    let q3 = stats::quantile_sorted(&sorted, 0.75);
    let fence = 1.5 * (q3 - q1);
    let low = sorted.iter().copied().find(|v| *v >= q1 - fence).unwrap_or(q1);
    let high = sorted.iter().rev().copied().find(|v| *v <= q3 + fence).unwrap_or(q3);
    Some([low, q1, median, q3, high])
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
    let workloads = result
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
                mode: workload.mode.name().to_lowercase(),
                rows: runs.iter().map(|run| row_view(run)).collect(),
                charts: workload_charts(result, &workload.name, &runs),
            })
        })
        .collect();
    let checks = compare::evaluate_targets(&result.suite, &result.runs);
    let targets = checks
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
        .collect();
    let scores = compare::phase_scores(&result.suite, &checks)
        .into_iter()
        .map(|(phase, score)| ScoreView { phase, score: format!("{score:.0}") })
        .collect();
    let recommendations = compare::recommendations(result)
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
        .collect();
    let problems = result
        .runs
        .iter()
        .filter(|run| !status_reason(&run.status).is_empty())
        .map(|run| ProblemView {
            run: run_name(run),
            status: status_text(&run.status).to_owned(),
            reason: status_reason(&run.status).to_owned(),
        })
        .collect();
    let warnings = result
        .runs
        .iter()
        .flat_map(|run| {
            run.warnings.iter().map(move |warning| WarningView { run: run_name(run), text: warning.to_string() })
        })
        .collect();
    let sweeps = result
        .sweeps
        .iter()
        .map(|sweep| SweepView {
            workload: sweep.workload.clone(),
            phase: sweep.phase.clone(),
            largest: sweep.largest_working_batch.map_or_else(|| "—".to_owned(), |batch| batch.to_string()),
            stop: crate::runner::describe_stop(&sweep.stop),
        })
        .collect();
    let page = Page {
        multi_host,
        title: result.suite.name.clone(),
        description: result.suite.description.clone(),
        status_line: format!(
            "{} of {} runs, {}; started {}{}.",
            result.runs.len(),
            result.planned_runs,
            suite_status_text(result.status),
            result.started_at,
            result.finished_at.as_ref().map_or_else(String::new, |end| format!(", finished {end}"))
        ),
        baseline: result.suite.baseline.clone(),
        origin: result.suite_origin.clone(),
        phasebench_version: result.environment.phasebench_version.clone(),
        workloads,
        scores,
        targets,
        regression: baseline.map(regression_view),
        recommendations,
        problems,
        warnings,
        sweeps,
        environment: environment_rows(result),
        result_json: embeddable_json(result)?,
        result_id: EMBEDDED_RESULT_ID,
    };
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    Ok(env.get_template("report.html")?.render(minijinja::Value::from(minijinja::value::Serde(&page)))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_whiskers_stop_at_the_last_value_inside_the_fences() {
        let five = box_five(&[1.0, 2.0, 3.0, 4.0, 5.0, 100.0]);
        let Some([low, q1, median, q3, high]) = five else { panic!("no box for a sample") };
        assert_eq!((low, median), (1.0, 3.5));
        assert!(q1 < median && median < q3);
        assert_eq!(high, 5.0, "100 is an outlier beyond the upper fence");
        assert_eq!(box_five(&[]), None);
    }

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
