//! The HTML report's charts per workload, as inline SVG: speedups with their CIs, step-time
//! distributions, every step in order, telemetry, throughput by batch size and generations.

use crate::results::{RunResult, SuiteResult};
use crate::stats;

use super::{ChartView, phase_color};
use crate::report::svg::{self, Axes, Bar, BoxItem, Series};

fn chart(title: String, caption: &str, svg: String) -> ChartView {
    ChartView { title, caption: caption.to_owned(), svg }
}

/// The charts of one workload's runs, each only where its data exists.
pub(super) fn workload_charts(result: &SuiteResult, workload: &str, runs: &[&RunResult]) -> Vec<ChartView> {
    let measured: Vec<&RunResult> = runs.iter().copied().filter(|run| !run.step_secs.is_empty()).collect();
    [
        speedup_chart(result, workload, &measured),
        distribution_chart(result, workload, &measured),
        step_chart(result, workload, &measured),
        telemetry_chart(result, workload, runs),
        throughput_chart(result, workload, &measured),
        generation_chart(result, workload, &measured),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Per-item speedups with their CIs against the baseline.
fn speedup_chart(result: &SuiteResult, workload: &str, measured: &[&RunResult]) -> Option<ChartView> {
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
                band: speedup.rounds.as_ref().and_then(|rounds| rounds.control).map(|(_, ci)| (ci.low, ci.high)),
            })
        })
        .collect();
    if !bars.is_empty() {
        let title = format!("{workload}: speedup against {}", result.suite.baseline);
        let axes = Axes { title: &title, x_label: "phase @ batch", y_label: "speedup (×)" };
        let threshold = crate::compare::shown_threshold(
            result.suite.settings.noise_threshold,
            measured.iter().filter_map(|run| run.speedup.as_ref()),
        );
        let svg = svg::bar_chart(&axes, &bars, Some(1.0), Some((1.0 - threshold, 1.0 + threshold)));
        return Some(chart(
            title,
            "Per-item speedup with its CI (over rounds when interleaved: see the Basis column; else the 95 % bootstrap CI of the steps); above the dashed line is faster. The grey band is ±noise_threshold (a CI inside it is equivalent, one beyond it faster or slower; with `Auto` each batch size measures its own, the widest is drawn); the shaded box behind a bar is the A/A control's interval from the same rounds — the machine's own noise.",
            svg,
        ));
    }
    None
}

/// Box plots of the measured step times.
fn distribution_chart(result: &SuiteResult, workload: &str, measured: &[&RunResult]) -> Option<ChartView> {
    let color = |run: &RunResult| phase_color(result, &run.phase);
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
        return Some(chart(title, "Quartiles, median and whiskers to 1.5 IQR of the measured steps.", svg));
    }
    None
}

/// Every step in order, the warm-up shaded.
fn step_chart(result: &SuiteResult, workload: &str, measured: &[&RunResult]) -> Option<ChartView> {
    let color = |run: &RunResult| phase_color(result, &run.phase);
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
        return Some(chart(title, "Every step in order; the shaded warm-up steps are not measured.", svg));
    }
    None
}

/// Items per second by batch size, per phase, when the workload ran at several.
fn throughput_chart(result: &SuiteResult, workload: &str, measured: &[&RunResult]) -> Option<ChartView> {
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
        return Some(chart(title, "Items per second at the median step time, per phase.", svg));
    }
    None
}

/// Whole generations, per image.
fn generation_chart(result: &SuiteResult, workload: &str, measured: &[&RunResult]) -> Option<ChartView> {
    let color = |run: &RunResult| phase_color(result, &run.phase);
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
        return Some(chart(title, "Each whole generation's wall time divided by its batch size.", svg));
    }
    None
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
    let b = stats::box_stats(values)?;
    Some([b.low_whisker, b.q1, b.median, b.q3, b.high_whisker])
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
}
