//! The live view: which run is measuring, its step times as they arrive (warm-up shaded apart)
//! over the earlier runs of the same workload, the distribution per phase, and telemetry.

use egui_plot::{Axis, BoxPlot, FilledArea, GridMark, Line, LineStyle, Plot, PlotPoint, PlotPoints, Span, Text, VLine};

use crate::app::{LiveRun, LiveSession, PhasebenchApp, SessionState, UiCommand};
use crate::results::RunStatus;
use crate::runner::image::ImageStage;
use crate::units::format_secs;

use super::widgets::{ERROR_COLOR, box_element, category_formatter, phase_color};

/// The live view of the running (or last) suite.
pub fn live_ui(ui: &mut egui::Ui, app: &PhasebenchApp, pane_height: f32, commands: &mut Vec<UiCommand>) {
    let Some(session) = &app.session else {
        ui.heading("Ready");
        let suite = &app.document.suite;
        let batches: usize = suite.workloads.iter().map(|workload| workload.batch_sizes.len()).sum();
        ui.label(format!(
            "“{}”: {} runs ({} workloads at {batches} batch sizes in all × {} phases). Press Run (Ctrl+R) to measure; step times and telemetry draw here as they arrive.",
            suite.name,
            app.document.planned_runs,
            suite.workloads.len(),
            suite.phases.len(),
        ));
        return;
    };
    status_ui(ui, session, commands);
    let Some(focus) = session.focus_run() else {
        ui.label("Planning…");
        return;
    };

    let width = ui.available_width();
    let plot_height = (pane_height * 0.42).max(180.0);
    ui.horizontal(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width * 0.64);
            step_plot_ui(ui, session, focus, plot_height);
        });
        ui.vertical(|ui| {
            distribution_ui(ui, session, focus, plot_height);
        });
    });
    rounds_ui(ui, session, focus);
    telemetry_ui(ui, app, focus);
    runs_list_ui(ui, session);
}

/// The comparisons of the focused workload's phases over interleaved rounds, as they come: each
/// phase's speedup and interval against the rounds measured (narrowing as rounds add up), the
/// ±noise-threshold band, and where the group was decided.
fn rounds_ui(ui: &mut egui::Ui, session: &LiveSession, focus: &LiveRun) {
    let runs: Vec<&LiveRun> = session
        .runs
        .iter()
        .filter(|run| run.planned.workload_index == focus.planned.workload_index && !run.rounds.is_empty())
        .collect();
    if runs.is_empty() {
        return;
    }
    ui.strong("Comparison over rounds").on_hover_text(
        "each phase against the baseline over the interleaved rounds so far: speedup (line) and its interval (band) at the error rate of one look; grey band: ±noise threshold; a vertical line marks where the group was decided",
    );
    for run in &runs {
        let Some(last) = run.rounds.last() else { continue };
        let status = if last.decided {
            format!("decided at round {}: {}", last.rounds, last.speedup.verdict)
        } else {
            format!("round {}: {}", last.rounds, last.speedup.verdict)
        };
        ui.label(
            egui::RichText::new(format!(
                "{} — {status} · {} · {}",
                run.planned.label(),
                last.speedup.ratio_text(),
                last.speedup.basis_text()
            ))
            .color(phase_color(run.planned.phase_index)),
        );
    }
    let threshold = crate::compare::shown_threshold(
        session.suite.settings.noise_threshold,
        runs.iter().filter_map(|run| run.rounds.last()).map(|look| &look.speedup),
    );
    // The coloured lines above name the series: no legend box over the plot.
    Plot::new("rounds").height(140.0).x_axis_label("rounds").y_axis_label("× baseline").show(ui, |plot_ui| {
        plot_ui.span(
            Span::new("±noise threshold", (1.0 - threshold)..=(1.0 + threshold))
                .axis(Axis::Y)
                .fill(egui::Color32::from_gray(128).gamma_multiply(0.15)),
        );
        for run in &runs {
            let color = phase_color(run.planned.phase_index);
            let xs: Vec<f64> = run.rounds.iter().map(|look| look.rounds as f64).collect();
            let lows: Vec<f64> = run.rounds.iter().map(|look| look.speedup.ratio_ci.low).collect();
            let highs: Vec<f64> = run.rounds.iter().map(|look| look.speedup.ratio_ci.high).collect();
            let label = run.planned.label();
            plot_ui.add(
                FilledArea::new(format!("{label} interval"), &xs, &lows, &highs).fill_color(color.gamma_multiply(0.25)),
            );
            let ratios: Vec<[f64; 2]> =
                run.rounds.iter().map(|look| [look.rounds as f64, look.speedup.ratio]).collect();
            plot_ui.line(Line::new(label.clone(), PlotPoints::from(ratios)).color(color).width(2.0));
            if let Some(decided) = run.rounds.iter().find(|look| look.decided) {
                plot_ui.vline(VLine::new(format!("{label} decided"), decided.rounds as f64).color(color));
            }
        }
    });
}

fn status_ui(ui: &mut egui::Ui, session: &LiveSession, commands: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        let state = match &session.state {
            SessionState::Running => "Running".to_owned(),
            SessionState::Cancelling => "Cancelling after the current step…".to_owned(),
            SessionState::Finished(status) => {
                format!("Finished ({status})")
            }
            SessionState::WorkerDied(reason) => format!("The worker stopped: {reason}"),
        };
        ui.strong(state);
        if let Some(run) = session.current.and_then(|index| session.runs.get(index)) {
            let phase = &session.suite.phases[run.planned.phase_index];
            let quantization = phase.quantization.map(|q| format!(", {q}")).unwrap_or_default();
            ui.label(format!(
                "run {}/{}: {} ({} on {}{quantization})",
                run.planned.index + 1,
                session.runs.len(),
                run.planned.label(),
                phase.dtype,
                phase.device
            ));
        }
        if !session.is_active() && ui.button("Show comparison").clicked() {
            commands.push(UiCommand::ShowView(crate::app::View::Compare));
        }
    });
    ui.label(egui::RichText::new(format!("results: {}", session.result_dir.display())).weak());
    for message in &session.messages {
        ui.colored_label(ERROR_COLOR, message);
    }
}

fn step_plot_ui(ui: &mut egui::Ui, session: &LiveSession, focus: &LiveRun, height: f32) {
    ui.strong(format!("Step time — {}", focus.planned.workload)).on_hover_text(
        "milliseconds per step; warm-up steps (shaded) are left of 0 and never enter the statistics; earlier runs of this workload are drawn thin in their phase colour",
    );
    let warmup_steps = session.suite.settings.warmup_steps as f64;
    // The legend sits above the plot, never over the steps: the run measuring now in bold.
    ui.horizontal_wrapped(|ui| {
        for run in session.runs.iter().filter(|run| {
            run.planned.workload_index == focus.planned.workload_index
                && (run.planned.index == focus.planned.index || !run.measured.is_empty())
        }) {
            let mut text = egui::RichText::new(run.planned.label()).color(phase_color(run.planned.phase_index));
            if run.planned.index == focus.planned.index {
                text = text.strong();
            }
            ui.label(text);
        }
    });
    Plot::new("step-times").height(height).x_axis_label("step").y_axis_label("ms").show(ui, |plot_ui| {
        if warmup_steps > 0.0 {
            plot_ui.span(
                Span::new("warm-up", -warmup_steps..=0.0).fill(egui::Color32::from_gray(128).gamma_multiply(0.15)),
            );
        }
        for run in session.runs.iter().filter(|run| {
            run.planned.workload_index == focus.planned.workload_index && run.planned.index != focus.planned.index
        }) {
            if run.measured.is_empty() {
                continue;
            }
            plot_ui.line(
                Line::new(run.planned.label(), PlotPoints::Borrowed(run.measured.display()))
                    .color(phase_color(run.planned.phase_index).gamma_multiply(0.6))
                    .width(1.0),
            );
        }
        let color = phase_color(focus.planned.phase_index);
        if !focus.warmup.is_empty() {
            plot_ui.line(
                Line::new(format!("{} warm-up", focus.planned.label()), PlotPoints::Borrowed(focus.warmup.display()))
                    .color(egui::Color32::GRAY)
                    .width(1.5),
            );
        }
        plot_ui.line(
            Line::new(focus.planned.label(), PlotPoints::Borrowed(focus.measured.display())).color(color).width(2.0),
        );
        // Text generation: each generation's prefill (time to first token) as a dashed line
        // before the decode steps that follow it; the latest ones when there are many.
        let shown = focus.prefills.len().saturating_sub(MAX_PREFILL_MARKS);
        for prefill in &focus.prefills[shown..] {
            let name = format!("prefill: TTFT {:.2} ms", prefill.y);
            plot_ui
                .vline(VLine::new(name, prefill.x).color(color.gamma_multiply(0.5)).style(LineStyle::dashed_dense()));
        }
        // Image generation: each generation's text encoding (dashed) and decode (dotted) where
        // they ran between the denoising steps.
        let shown = focus.stages.len().saturating_sub(MAX_PREFILL_MARKS);
        for (mark, stage) in &focus.stages[shown..] {
            let style = match stage {
                ImageStage::TextEncoder => LineStyle::dashed_dense(),
                ImageStage::Decode => LineStyle::dotted_dense(),
            };
            let name = format!("{stage}: {:.2} ms", mark.y);
            plot_ui.vline(VLine::new(name, mark.x).color(color.gamma_multiply(0.5)).style(style));
        }
    });
    if let (Some(text), Some(decode)) = (
        focus.stages.iter().rev().find(|(_, stage)| *stage == ImageStage::TextEncoder),
        focus.stages.iter().rev().find(|(_, stage)| *stage == ImageStage::Decode),
    ) {
        ui.label(
            egui::RichText::new(format!(
                "each image: text encoder (dashed, last {:.2} ms), the denoising steps plotted, then the decode (dotted, last {:.2} ms)",
                text.0.y, decode.0.y
            ))
            .small()
            .weak(),
        );
    }
    if let Some(last) = focus.prefills.last() {
        ui.label(
            egui::RichText::new(format!(
                "dashed: a prefill (the whole prompt, ending with the first token) before the decode steps; last time to first token {:.2} ms",
                last.y
            ))
            .small()
            .weak(),
        );
    }
}

/// Most prefill marks drawn in the step plot (the latest).
const MAX_PREFILL_MARKS: usize = 200;

fn distribution_ui(ui: &mut egui::Ui, session: &LiveSession, focus: &LiveRun, height: f32) {
    ui.strong("Distribution per phase")
        .on_hover_text("box: quartiles and median of the measured steps; whiskers: fastest and slowest step");
    let runs: Vec<&LiveRun> = session
        .runs
        .iter()
        .filter(|run| run.planned.workload_index == focus.planned.workload_index && run.box_stats.is_some())
        .collect();
    // Two short lines a box, a mark at every box; egui_plot leaves out names that do not fit.
    let names: Vec<String> =
        runs.iter().map(|run| format!("{}\n@{}", run.planned.phase, run.planned.batch_size)).collect();
    let boxes = runs.len();
    // Room above the tallest whisker for the names drawn over the boxes.
    let highest = runs.iter().filter_map(|run| run.box_stats.map(|stats| stats.max_ms)).fold(0.0, f64::max);
    let headroom = if boxes > CRAMPED_BOXES { 1.15 } else { 1.0 };
    Plot::new("distributions")
        .height(height)
        .include_y(highest * headroom)
        .y_axis_label("ms")
        .show_x(false)
        .x_grid_spacer(move |_| (0..boxes).map(|value| GridMark { value: value as f64, step_size: 1.0 }).collect())
        .x_axis_formatter(category_formatter(names))
        .show(ui, |plot_ui| {
            for (position, run) in runs.iter().enumerate() {
                let Some(stats) = run.box_stats else { continue };
                let color = phase_color(run.planned.phase_index);
                let element = box_element(position, stats, &run.planned.label(), color);
                plot_ui.box_plot(BoxPlot::new(run.planned.label(), vec![element]).color(color));
                // Where the axis has no room for a name under every box, each box names itself.
                if boxes > CRAMPED_BOXES {
                    let name = format!("{}\n@{}", run.planned.phase, run.planned.batch_size);
                    let text = egui::RichText::new(name.clone()).small().color(color);
                    let top = PlotPoint::new(position as f64, stats.max_ms);
                    plot_ui.text(Text::new(name, top, text).anchor(egui::Align2::CENTER_BOTTOM));
                }
            }
        });
}

/// More boxes than this share the live view's narrow box plot too tightly for names under them.
const CRAMPED_BOXES: usize = 3;

fn telemetry_ui(ui: &mut egui::Ui, app: &PhasebenchApp, focus: &LiveRun) {
    let telemetry = &focus.telemetry;
    let link = egui::Id::unique("telemetry-time");
    let mut plots: Vec<(&str, &str, &crate::app::Series, &str)> = Vec::new();
    if telemetry.has_gpu() {
        plots.push(("GPU utilization", "%", &telemetry.gpu_utilization_percent, "percent of time a kernel ran"));
        plots.push(("GPU memory", "MiB", &telemetry.gpu_memory_mib, "device memory in use by every process"));
        plots.push(("Power", "W", &telemetry.gpu_power_watts, "board power draw"));
        plots.push(("Temperature", "°C", &telemetry.gpu_temperature_celsius, "GPU temperature"));
        plots.push((
            "SM clock",
            "MHz",
            &telemetry.gpu_sm_clock_mhz,
            "streaming-multiprocessor clock; drops mean throttling",
        ));
    }
    plots.push(("Process CPU", "% of a core", &telemetry.process_cpu_percent, "CPU time of phasebench (all threads)"));
    plots.push(("Process memory", "MiB", &telemetry.rss_mib, "resident memory of phasebench"));

    // Wrapped: the reason can be long, and a narrow window must not widen the view past its edge.
    ui.horizontal_wrapped(|ui| {
        ui.strong("Telemetry").on_hover_text("sampled on the run's clock (seconds since the run started)");
        if !telemetry.has_gpu() {
            let session = app.session.as_ref();
            let reason = session
                .and_then(|session| session.result_of(focus))
                .and_then(|result| result.telemetry.as_ref())
                .and_then(|telemetry| telemetry.gpu_unavailable_reason.clone())
                .or_else(|| app.environment.as_ref().and_then(|env| env.gpu.unavailable_reason.clone()))
                .unwrap_or_else(|| "no GPU samples yet".into());
            ui.label(
                egui::RichText::new(format!("No GPU telemetry: {reason}. Showing the CPU and memory of this process."))
                    .weak(),
            );
        }
    });
    let window = app
        .session
        .as_ref()
        .and_then(|session| session.result_of(focus))
        .and_then(|result| result.measured_window_secs);
    let columns = plots.len().min(if telemetry.has_gpu() { 4 } else { 2 });
    let width = (ui.available_width() / columns as f32 - 8.0).max(120.0);
    let height = 120.0;
    for row in plots.chunks(columns) {
        ui.horizontal(|ui| {
            for (title, unit, series, hint) in row {
                ui.vertical(|ui| {
                    ui.label(format!("{title} ({unit})")).on_hover_text(*hint);
                    Plot::new(("telemetry", *title))
                        .width(width)
                        .height(height)
                        .link_axis(link, [true, false])
                        .link_cursor(link, [true, false])
                        .show(ui, |plot_ui| {
                            if let Some([start, end]) = window {
                                plot_ui.span(
                                    Span::new("measured", start..=end)
                                        .fill(egui::Color32::from_rgb(0x4c, 0x9b, 0xe8).gamma_multiply(0.08)),
                                );
                            }
                            plot_ui.line(
                                Line::new(*title, PlotPoints::Borrowed(series.display()))
                                    .color(phase_color(focus.planned.phase_index)),
                            );
                        });
                });
            }
        });
    }
}

fn runs_list_ui(ui: &mut egui::Ui, session: &LiveSession) {
    ui.separator();
    egui::CollapsingHeader::new(format!("Runs ({} finished)", session.finished.len())).default_open(true).show(
        ui,
        |ui| {
            // Newest first, in the room the window has left.
            egui::ScrollArea::vertical().max_height(ui.available_height().clamp(160.0, 600.0)).show(ui, |ui| {
                for run in session.finished.iter().rev() {
                    let label = run.label();
                    match &run.status {
                        RunStatus::Completed => {
                            let median =
                                run.summary.as_ref().map_or_else(|| "no statistics".into(), |s| format_secs(s.median));
                            ui.label(format!("{label}: median {median} over {} steps", run.step_secs.len()));
                        }
                        RunStatus::Failed { reason } => {
                            ui.colored_label(ERROR_COLOR, format!("{label} failed: {reason}"));
                        }
                        RunStatus::Cancelled => {
                            ui.label(format!("{label}: cancelled after {} steps", run.step_secs.len()));
                        }
                        RunStatus::Skipped { reason } => {
                            ui.label(format!("{label}: skipped — {reason}"));
                        }
                    }
                }
            });
        },
    );
}
