//! The compare view: per workload a table of every phase × batch against the baseline (latency
//! percentiles with CIs, throughput, speedup with CI and verdict, accuracy, memory, energy,
//! warnings), a chart of speedups with CI whiskers, the step-time distributions, and a diff of
//! any two runs or result files.

use egui::RichText;
use egui_plot::{Bar, BarChart, BoxPlot, Line, Plot, PlotPoint, PlotPoints, Polygon, Text, VLine};

use crate::app::{BoxStats, DiffState, PhasebenchApp, UiCommand};
use crate::compare::{self, Analysis, Speedup};
use crate::report::RunCells;
use crate::results::{RunResult, RunStatus};
use crate::suite::Suite;

use super::widgets::{ERROR_COLOR, box_element, category_formatter, metric_hint, phase_color, verdict_color};

/// Columns of the compare table, in order; the first [`PINNED_COLUMNS`] stay in view when the
/// rest scroll sideways.
pub const COLUMNS: [&str; 18] = [
    "Diff",
    "Phase",
    "Batch",
    "Status",
    "p50",
    "p90",
    "p99",
    "Throughput",
    "Speedup",
    "Verdict",
    "Max abs err",
    "Cosine",
    "Accuracy",
    "Run memory",
    "GPU memory",
    "Energy/step",
    "Setup",
    "Warnings",
];

/// How many of [`COLUMNS`] (Diff, Phase, Batch) stay in view when the table scrolls sideways.
pub const PINNED_COLUMNS: usize = 3;

/// Space between the table's columns and rows.
const TABLE_SPACING: [f32; 2] = [10.0, 4.0];

/// The compare view of the shown result (an opened file, or this session's runs so far).
pub fn compare_ui(ui: &mut egui::Ui, app: &PhasebenchApp, commands: &mut Vec<UiCommand>) {
    // Wrapped, so a narrow window shows every button.
    ui.horizontal_wrapped(|ui| {
        if app.opened_result.is_some() && ui.button("Back to this session").clicked() {
            commands.push(UiCommand::CloseOpenedResult);
        }
        if ui.button("Open result…").on_hover_text("show a saved result.json").clicked() {
            commands.push(UiCommand::OpenResultDialog);
        }
        let exportable = app.can_export();
        for format in crate::app::ExportFormat::ALL {
            if ui
                .add_enabled(exportable, egui::Button::new(format!("Export {}…", format.describe())))
                .on_hover_text(super::export_hint(format))
                .on_disabled_hover_text("available once the suite has finished")
                .clicked()
            {
                commands.push(UiCommand::ExportDialog(format));
            }
        }
    });
    super::diff::pick_bar_ui(ui, &app.diff, commands);
    match (app.shown_comparison(), &app.analysis) {
        (Some((label, suite, runs)), Some(analysis)) => {
            analyzed_comparison_ui(ui, &label, suite, runs, analysis, &app.diff, commands)
        }
        (Some((label, suite, runs)), None) => {
            let analysis = Analysis::of(suite, runs, &[]);
            analyzed_comparison_ui(ui, &label, suite, runs, &analysis, &app.diff, commands)
        }
        (None, _) => {
            ui.label("Nothing to compare yet: run the suite (Ctrl+R) or open a result from History.");
        }
    }
}

/// The comparison of `runs` of `suite`, titled `label`: one table per workload, the speedup
/// chart and the distributions. Derives the [`Analysis`] on the spot; the app keeps one instead.
pub fn comparison_ui(ui: &mut egui::Ui, label: &str, suite: &Suite, runs: &[RunResult], commands: &mut Vec<UiCommand>) {
    let analysis = Analysis::of(suite, runs, &[]);
    analyzed_comparison_ui(ui, label, suite, runs, &analysis, &DiffState::default(), commands);
}

/// [`comparison_ui`] with the targets, recommendations and boxes derived already.
pub fn analyzed_comparison_ui(
    ui: &mut egui::Ui,
    label: &str,
    suite: &Suite,
    runs: &[RunResult],
    analysis: &Analysis,
    diff: &DiffState,
    commands: &mut Vec<UiCommand>,
) {
    ui.heading(format!("{} — compared with “{}”", suite.name, suite.baseline));
    ui.label(RichText::new(label).weak());
    if runs.is_empty() {
        ui.label("No run has finished yet.");
        return;
    }
    for (workload_index, workload) in suite.workloads.iter().enumerate() {
        let rows: Vec<(usize, &RunResult)> =
            runs.iter().enumerate().filter(|(_, run)| run.workload == workload.name).collect();
        if rows.is_empty() {
            continue;
        }
        ui.add_space(6.0);
        ui.strong(format!("{} — {} {}", workload.name, workload.model.kind_name(), workload.mode.kind().words()));
        table_ui(ui, (label, workload_index), suite, &rows, diff, commands);
        // Text generation: prefill, TTFT, decode rate, KV cache and token agreement per run; image
        // generation: stages, seconds per image, PSNR/SSIM.
        for (_, run) in &rows {
            if let Some(text) =
                crate::report::text_generation_text(run).or_else(|| crate::report::image_generation_text(run))
            {
                ui.label(RichText::new(format!("{}: {text}", run.label())).small());
            }
        }
        let workload_runs: Vec<&RunResult> = rows.iter().map(|(_, run)| *run).collect();
        super::images::image_runs_ui(ui, &workload_runs);
    }
    targets_ui(ui, suite, analysis);
    recommendations_ui(ui, analysis);
    ui.add_space(8.0);
    // Full width each: the bars' labels and one box plot per batch size need the room.
    speedup_chart_ui(ui, suite, runs);
    ui.add_space(8.0);
    distributions_ui(ui, suite, runs, analysis);
}

/// One workload's table: the Diff picks, Phase and Batch pinned on the left, the other columns
/// scrolling sideways beside them. Both halves share one row height (the tallest row's, measured
/// the frame before; a taller one redraws the frame at once), so their rows stay aligned.
fn table_ui(
    ui: &mut egui::Ui,
    (label, workload_index): (&str, usize),
    suite: &Suite,
    rows: &[(usize, &RunResult)],
    diff: &DiffState,
    commands: &mut Vec<UiCommand>,
) {
    let height_id = egui::Id::unique(("compare-row-height", label, workload_index));
    let row_height = ui.ctx().data(|data| data.get_temp::<f32>(height_id)).unwrap_or(ui.spacing().interact_size.y);
    let (pinned, scrolled) = COLUMNS.split_at(PINNED_COLUMNS);
    let header = |ui: &mut egui::Ui, columns: &[&str]| {
        for &column in columns {
            ui.label(RichText::new(column).strong()).on_hover_text(metric_hint(column));
        }
        ui.end_row();
    };
    let mut tallest = 0.0_f32;
    ui.horizontal_top(|ui| {
        let grid = |salt: &str| {
            egui::Grid::new((salt, label, workload_index))
                .striped(true)
                .spacing(TABLE_SPACING)
                .min_row_height(row_height)
        };
        grid("compare-pinned").show(ui, |ui| {
            header(ui, pinned);
            for &(run_index, run) in rows {
                let picked = diff.picked(&crate::app::run_side_label(run, label));
                super::diff::diff_buttons_ui(ui, run, run_index, picked, commands);
                pinned_cells_ui(ui, suite, run);
                ui.end_row();
            }
        });
        // One scroll position per shown result: a newly shown result starts at its left edge.
        egui::ScrollArea::horizontal().id_salt(("compare-scroll", label, workload_index)).show(ui, |ui| {
            grid("compare").show(ui, |ui| {
                header(ui, scrolled);
                for &(_, run) in rows {
                    let top = ui.cursor().top();
                    row_ui(ui, suite, run);
                    ui.end_row();
                    tallest = tallest.max(ui.cursor().top() - top - TABLE_SPACING[1]);
                }
            });
            // Room for the floating scroll bar, so it does not cover the last row.
            ui.add_space(ui.spacing().scroll.bar_width + 4.0);
        });
    });
    if tallest > row_height + 0.5 {
        ui.ctx().data_mut(|data| data.insert_temp(height_id, tallest));
        ui.ctx().request_discard("the compare table's rows grew");
    }
}

/// The rule set's advice, each piece with its evidence on the line below.
fn recommendations_ui(ui: &mut egui::Ui, analysis: &Analysis) {
    if analysis.recommendations.is_empty() {
        return;
    }
    ui.add_space(6.0);
    ui.strong("Recommendations")
        .on_hover_text("each from a rule of the README's table, with the figures that triggered it");
    for recommendation in &analysis.recommendations {
        ui.label(format!("• {}", recommendation.advice));
        ui.label(RichText::new(format!("   Evidence: {}", recommendation.evidence)).small().weak());
    }
}

fn targets_ui(ui: &mut egui::Ui, suite: &Suite, analysis: &Analysis) {
    if suite.targets.is_empty() {
        return;
    }
    let scores: Vec<String> =
        analysis.phase_scores.iter().map(|(phase, score)| format!("{phase} {score:.0}")).collect();
    ui.add_space(6.0);
    ui.strong("Targets").on_hover_text(
        "pass or fail only when the whole 95 % CI is on one side of the bound; undecided otherwise (more steps would tell)",
    );
    egui::Grid::new("targets").striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
        for header in ["Target", "Run", "Measured [95 % CI]", "Outcome"] {
            ui.strong(header);
        }
        ui.end_row();
        for check in &analysis.target_checks {
            let Some(target) = suite.targets.get(check.target_index) else { continue };
            ui.label(target.to_string());
            ui.label(&check.run);
            ui.label(check.measured_text());
            let color = match check.outcome {
                compare::TargetOutcome::Pass => verdict_color(compare::Verdict::Faster),
                compare::TargetOutcome::Fail => ERROR_COLOR,
                compare::TargetOutcome::Undecided => egui::Color32::GRAY,
            };
            ui.label(RichText::new(check.outcome.to_string()).color(color).strong());
            ui.end_row();
        }
    });
    if !scores.is_empty() {
        ui.label(format!("Score (0–100, 100 = every target met): {}", scores.join(", ")))
            .on_hover_text("per phase, the mean over its checks: 100 when met, else bound/value for a maximum or value/bound for a minimum");
    }
}

fn phase_index(suite: &Suite, run: &RunResult) -> usize {
    suite.phases.iter().position(|phase| phase.name == run.phase).unwrap_or(0)
}

/// The cells of a run right of the pinned ones: status, timings, speedup, accuracy and the rest.
fn row_ui(ui: &mut egui::Ui, suite: &Suite, run: &RunResult) {
    status_cell_ui(ui, run);
    let cells = RunCells::of(run, &suite.settings.accuracy);
    match &run.summary {
        Some(summary) => {
            ui.label(cells.p50.as_str()).on_hover_text(format!(
                "{} steps, {} outliers (kept)",
                summary.count,
                summary.outliers.total()
            ));
            ui.label(cells.p90.as_str());
            ui.label(cells.p99.as_str());
        }
        None => {
            let why = match &run.status {
                RunStatus::Failed { reason } => reason.clone(),
                _ => run.notes.first().map_or_else(|| "no measured steps".into(), ToString::to_string),
            };
            ui.label("—").on_hover_text(why);
            ui.label("—");
            ui.label("—");
        }
    }
    ui.label(cells.throughput.as_str());
    speedup_and_accuracy_cells_ui(ui, run, &cells);
    ui.label(cells.run_memory);
    ui.label(cells.gpu_memory).on_hover_text(
        "GPU memory of this process: NVML's peak, or (\"at load\") the CUDA driver's view once the model was built",
    );
    ui.label(cells.energy);
    ui.label(cells.setup).on_hover_text("model build, and the host→device copy of weights and inputs (GPU runs)");
    if run.warnings.is_empty() {
        ui.label("");
    } else {
        let text: Vec<String> = run.warnings.iter().map(ToString::to_string).collect();
        ui.colored_label(
            egui::Color32::from_rgb(0xe0, 0xa0, 0x20),
            match run.warnings.len() {
                1 => "1 warning".to_owned(),
                count => format!("{count} warnings"),
            },
        )
        .on_hover_text(text.join("\n"));
    }
}

/// Phase (coloured, the baseline marked) and batch: the cells that stay in view.
fn pinned_cells_ui(ui: &mut egui::Ui, suite: &Suite, run: &RunResult) {
    let phase_text = if run.is_baseline && !run.phase.contains("baseline") {
        format!("{} (baseline)", run.phase)
    } else {
        run.phase.clone()
    };
    let phase_text = RichText::new(phase_text).color(phase_color(phase_index(suite, run)));
    ui.label(if run.is_baseline { phase_text.strong() } else { phase_text });
    ui.label(run.batch_size.to_string());
}

/// The run's status with its reason on hover.
fn status_cell_ui(ui: &mut egui::Ui, run: &RunResult) {
    match &run.status {
        RunStatus::Completed => ui.label("completed"),
        RunStatus::Failed { reason } => ui.colored_label(ERROR_COLOR, "failed").on_hover_text(reason.as_str()),
        RunStatus::Cancelled => ui.label("cancelled"),
        RunStatus::Skipped { reason } => ui.label("skipped").on_hover_text(reason.as_str()),
    };
}

/// Speedup with its verdict, then the accuracy against the baseline.
fn speedup_and_accuracy_cells_ui(ui: &mut egui::Ui, run: &RunResult, cells: &RunCells) {
    match (&run.speedup, run.is_baseline) {
        (_, true) => {
            ui.label(format!("{} (baseline)", cells.speedup));
            ui.label("");
        }
        (Some(speedup), false) => {
            speedup_cells_ui(ui, speedup, cells.speedup.clone());
        }
        (None, false) => {
            let why = run.notes.iter().find_map(|note| note.no_speedup_reason().map(|_| note.to_string()));
            ui.label("—").on_hover_text(why.unwrap_or_default());
            ui.label("");
        }
    }
    match cells.accuracy_pass {
        Some(passes) => {
            ui.label(cells.max_abs_error.as_str());
            ui.label(cells.cosine.as_str());
            if passes {
                ui.colored_label(verdict_color(compare::Verdict::Faster), "pass");
            } else {
                ui.colored_label(ERROR_COLOR, "fail");
            }
        }
        None => {
            let text = if run.is_baseline { "reference" } else { "—" };
            ui.label(text);
            ui.label("");
            ui.label("");
        }
    }
}

pub(super) fn speedup_cells_ui(ui: &mut egui::Ui, speedup: &Speedup, ratio_text: String) {
    // Hover texts are made only while hovered, not every frame.
    ui.label(ratio_text).on_hover_ui(|ui| {
        let test = if speedup.rounds.is_some() { "Wilcoxon signed-rank over rounds" } else { "Mann-Whitney U" };
        let confidence = speedup.rounds.as_ref().map_or(95.0, |rounds| rounds.confidence * 100.0);
        ui.label(format!(
            "{confidence:.1} % CI; {test} p = {:.3}; noise threshold ±{:.1} %",
            speedup.p_value,
            speedup.noise_threshold * 100.0
        ));
    });
    ui.label(RichText::new(speedup.verdict.to_string()).color(verdict_color(speedup.verdict)).strong()).on_hover_ui(
        |ui| {
            ui.label(speedup.basis_text());
        },
    );
}

/// Per-item speedups as horizontal bars, one row per run, each labelled beside its bar with its
/// CI (so no label is skipped or cut); behind them the ±noise band and each comparison's A/A
/// interval, and a line at 1 (no change).
fn speedup_chart_ui(ui: &mut egui::Ui, suite: &Suite, runs: &[RunResult]) {
    ui.strong("Speedup vs baseline")
        .on_hover_text("bars: speedup per item (Hodges–Lehmann estimate over rounds when interleaved); whiskers: its CI (over rounds, or the 95 % bootstrap CI of the steps); line: no change; grey band: ±noise threshold (a CI inside is equivalent); amber box: the A/A control's interval from the same rounds");
    let with_speedup: Vec<&RunResult> = runs.iter().filter(|run| run.speedup.is_some()).collect();
    if with_speedup.is_empty() {
        ui.label(RichText::new("No phase has a speedup yet.").weak());
        return;
    }
    let rows = with_speedup.len() as f64;
    // The top row is the first run: rows count down from rows − 1.
    let row_y = |position: usize| rows - 1.0 - position as f64;
    let right = with_speedup
        .iter()
        .filter_map(|run| run.speedup.as_ref())
        .map(|speedup| speedup.ratio_ci.high.max(speedup.ratio))
        .fold(1.0, f64::max);
    Plot::new("speedups")
        .height((28.0 * rows as f32 + 50.0).clamp(120.0, 520.0))
        .x_axis_label("× baseline (per item; right of the line is faster)")
        .show_y(false)
        .y_axis_formatter(|_, _| String::new())
        // Room at the right for the labels beside the longest bar.
        .include_x(right * 1.6)
        .include_x(0.0)
        .include_y(-0.6)
        .include_y(rows - 0.4)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            let threshold = compare::shown_threshold(
                suite.settings.noise_threshold,
                with_speedup.iter().filter_map(|run| run.speedup.as_ref()),
            );
            let (bottom, top) = (-0.5, rows - 0.5);
            plot_ui.polygon(
                Polygon::new(
                    "± noise threshold",
                    PlotPoints::from(vec![
                        [1.0 - threshold, bottom],
                        [1.0 + threshold, bottom],
                        [1.0 + threshold, top],
                        [1.0 - threshold, top],
                    ]),
                )
                .fill_color(egui::Color32::from_white_alpha(18))
                .stroke(egui::Stroke::NONE),
            );
            plot_ui.vline(VLine::new("no change", 1.0).color(egui::Color32::GRAY));
            for (position, run) in with_speedup.iter().enumerate() {
                let Some(speedup) = &run.speedup else { continue };
                let y = row_y(position);
                if let Some((_, control)) = speedup.rounds.as_ref().and_then(|rounds| rounds.control) {
                    let corners = vec![
                        [control.low, y - 0.42],
                        [control.high, y - 0.42],
                        [control.high, y + 0.42],
                        [control.low, y + 0.42],
                    ];
                    plot_ui.polygon(
                        Polygon::new(format!("{} A/A", run.label()), PlotPoints::from(corners))
                            .fill_color(egui::Color32::from_rgba_unmultiplied(0xc8, 0xa0, 0x3c, 60))
                            .stroke(egui::Stroke::NONE),
                    );
                }
                let color = phase_color(phase_index(suite, run));
                let name = run.label();
                let hover = format!("{name}: {}, {}", speedup.ratio_text(), speedup.verdict);
                plot_ui.bar_chart(
                    BarChart::new(name.clone(), vec![Bar::new(y, speedup.ratio).width(0.6).name(&hover)])
                        .horizontal()
                        .color(color),
                );
                let whisker = vec![[speedup.ratio_ci.low, y], [speedup.ratio_ci.high, y]];
                plot_ui.line(
                    Line::new(format!("{name} CI"), PlotPoints::from(whisker))
                        .color(verdict_color(speedup.verdict))
                        .width(2.5),
                );
                let label = RichText::new(format!("  {name}  {} {}", speedup.ratio_text(), speedup.verdict))
                    .size(13.0)
                    .color(color);
                let at = PlotPoint::new(speedup.ratio_ci.high.max(speedup.ratio), y);
                plot_ui.text(Text::new(format!("{name} label"), at, label).anchor(egui::Align2::LEFT_CENTER));
            }
        });
}

fn distributions_ui(ui: &mut egui::Ui, suite: &Suite, runs: &[RunResult], analysis: &Analysis) {
    ui.strong("Step-time distributions")
        .on_hover_text("per run: quartiles, median, fastest and slowest measured step (ms)");
    // One plot per workload and batch size, each on its own scale (batch 1 is not squashed flat
    // by batch 32).
    let mut groups: Vec<(&str, usize)> = Vec::new();
    for workload in &suite.workloads {
        for run in runs.iter().filter(|run| run.workload == workload.name && !run.step_secs.is_empty()) {
            if !groups.contains(&(workload.name.as_str(), run.batch_size)) {
                groups.push((workload.name.as_str(), run.batch_size));
            }
        }
    }
    let width = (ui.available_width() / groups.len().clamp(1, 3) as f32 - 8.0).max(160.0);
    ui.horizontal_wrapped(|ui| {
        for (workload, batch_size) in groups {
            ui.vertical(|ui| {
                ui.label(format!("{workload} @ batch {batch_size}"));
                let shown: Vec<(usize, &RunResult)> = runs
                    .iter()
                    .enumerate()
                    .filter(|(_, run)| {
                        run.workload == workload && run.batch_size == batch_size && !run.step_secs.is_empty()
                    })
                    .collect();
                let names: Vec<String> = shown.iter().map(|(_, run)| run.phase.clone()).collect();
                Plot::new(("compare-distributions", workload, batch_size))
                    .width(width)
                    .height(200.0)
                    .y_axis_label("ms")
                    .show_x(false)
                    .x_axis_formatter(category_formatter(names))
                    .show(ui, |plot_ui| {
                        for (position, (run_index, run)) in shown.iter().enumerate() {
                            let Some(Some(stats)) = analysis.step_boxes.get(*run_index) else { continue };
                            let stats = BoxStats::from_secs(stats);
                            let color = phase_color(phase_index(suite, run));
                            let name = run.label();
                            let element = box_element(position, stats, &name, color);
                            plot_ui.box_plot(BoxPlot::new(name, vec![element]).color(color));
                        }
                    });
            });
        }
    });
}
