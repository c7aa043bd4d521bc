//! The Decide view: per workload, the phase to ship in one sentence; speed against accuracy drift
//! as a scatter with the Pareto front, the accuracy bound and any speedup target; and each phase's
//! figures, with the evidence behind them one click away.

use egui::RichText;
use egui_plot::{HLine, Line, LineStyle, Plot, PlotPoint, PlotPoints, Points, Text, VLine};

use super::widgets::{ERROR_COLOR, phase_color, verdict_color};
use crate::app::{PhasebenchApp, UiCommand, View};
use crate::compare::{Analysis, Decision, PhasePoint, TargetOutcome};
use crate::report::RunCells;
use crate::report::labels::{LabelAnchor, place_labels};
use crate::results::RunResult;
use crate::suite::Suite;
use crate::units::format_bytes;

/// Colour of the sentence of a workload that has a phase to ship.
const SHIP_COLOR: egui::Color32 = egui::Color32::from_rgb(0x3c, 0xb3, 0x71);
/// Colour of the sentence of a workload that keeps its baseline.
const KEEP_COLOR: egui::Color32 = egui::Color32::from_rgb(0xc8, 0xa0, 0x3c);

/// The Decide view of the shown result (the session's, or one opened from History).
pub fn decide_ui(ui: &mut egui::Ui, app: &PhasebenchApp, commands: &mut Vec<UiCommand>) {
    let (Some((label, suite, runs)), Some(analysis)) = (app.shown_comparison(), &app.analysis) else {
        ui.label("Nothing to decide yet: run the suite (Ctrl+R) or open a result from History.");
        return;
    };
    egui::ScrollArea::vertical().id_salt("decide-scroll").show(ui, |ui| {
        ui.heading(format!("Which phase to ship — {}", suite.name));
        ui.label(RichText::new(label).weak());
        ui.label(format!(
            "Per workload: the fastest phase that is faster than “{}” beyond noise, stays within the accuracy bounds (cosine ≥ {}, relative error ≤ {}) and misses no target.",
            suite.baseline, suite.settings.accuracy.min_cosine, suite.settings.accuracy.max_relative_error
        ));
        if analysis.decisions.is_empty() {
            ui.label("No run has finished yet.");
            return;
        }
        for (index, decision) in analysis.decisions.iter().enumerate() {
            ui.add_space(10.0);
            ui.separator();
            decision_ui(ui, index, suite, runs, analysis, decision, commands);
        }
    });
}

fn decision_ui(
    ui: &mut egui::Ui,
    index: usize,
    suite: &Suite,
    runs: &[RunResult],
    analysis: &Analysis,
    decision: &Decision,
    commands: &mut Vec<UiCommand>,
) {
    ui.heading(&decision.workload);
    let color = if decision.ship.is_some() { SHIP_COLOR } else { KEEP_COLOR };
    ui.label(RichText::new(&decision.sentence).size(16.0).strong().color(color));
    ui.add_space(4.0);
    tradeoff_plot_ui(ui, index, suite, decision);
    ui.label(
        RichText::new(
            "Up is faster, left is closer to the baseline's output; whiskers: the speedup's CI; a larger dot needs more memory; \
             dashed grey: the Pareto front; grey: the baseline's speed; dashed red: the accuracy bound and any speedup target.",
        )
        .small()
        .weak(),
    );
    // Scrolls sideways in a narrow window instead of cutting the last columns.
    egui::ScrollArea::horizontal().id_salt(("decide-table", index)).show(ui, |ui| {
        egui::Grid::new(("decide-points", index)).striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
            for header in [
                "Phase",
                "Batch",
                "Speedup [CI]",
                "Verdict",
                "Drift",
                "Accuracy",
                "Memory",
                "Energy/item",
                "Targets",
                "",
            ] {
                ui.strong(header);
            }
            ui.end_row();
            for point in &decision.points {
                point_row_ui(ui, suite, decision, point);
                if ui.small_button("Show in Compare").on_hover_text("the run's row among all the figures").clicked() {
                    commands.push(UiCommand::ShowView(View::Compare));
                }
                ui.end_row();
            }
        });
        ui.add_space(ui.spacing().scroll.bar_width + 4.0);
    });
    for point in &decision.points {
        if let Some(run) = runs.get(point.run_index) {
            evidence_ui(ui, suite, run, analysis, point);
        }
    }
}

fn phase_index(suite: &Suite, phase: &str) -> usize {
    suite.phases.iter().position(|known| known.name == phase).unwrap_or(0)
}

fn point_row_ui(ui: &mut egui::Ui, suite: &Suite, decision: &Decision, point: &PhasePoint) {
    let mut name = RichText::new(&point.phase).color(phase_color(phase_index(suite, &point.phase)));
    if decision.ship.as_ref() == Some(&point.phase) {
        name = name.strong();
    }
    let mut marks = Vec::new();
    if point.is_baseline {
        marks.push("baseline");
    }
    if decision.ship.as_ref() == Some(&point.phase) {
        marks.push("ship");
    }
    if point.on_front {
        marks.push("front");
    }
    ui.horizontal(|ui| {
        ui.label(name);
        if !marks.is_empty() {
            ui.label(RichText::new(marks.join(" · ")).small().weak()).on_hover_text(
                "front: on the Pareto front — no other phase is both faster and closer to the baseline's output",
            );
        }
    });
    ui.label(point.batch_size.to_string());
    match (&point.failed, &point.speedup) {
        (Some(reason), _) => {
            ui.colored_label(ERROR_COLOR, "failed").on_hover_text(reason);
            ui.label("");
        }
        (None, Some(speedup)) => {
            ui.label(format!("{:.2}× [{:.2}–{:.2}]", speedup.ratio, speedup.ratio_ci.low, speedup.ratio_ci.high));
            ui.colored_label(verdict_color(speedup.verdict), speedup.verdict.to_string());
        }
        (None, None) => {
            ui.label(if point.is_baseline { "1× (reference)" } else { "—" });
            ui.label("");
        }
    }
    ui.label(point.drift_text());
    match point.accurate {
        Some(true) => ui.colored_label(SHIP_COLOR, "pass"),
        Some(false) => ui.colored_label(ERROR_COLOR, "fail"),
        None => ui.label(if point.is_baseline { "reference" } else { "—" }),
    };
    ui.label(point.memory_bytes.map_or_else(|| "—".to_owned(), |bytes| format_bytes(bytes as f64)));
    ui.label(point.energy_per_item_joules.map_or_else(|| "—".to_owned(), |joules| format!("{joules:.3} J")));
    if !point.failed_targets.is_empty() {
        ui.colored_label(ERROR_COLOR, format!("missed: {}", point.failed_targets.join(", ")));
    } else if !point.undecided_targets.is_empty() {
        ui.colored_label(KEEP_COLOR, format!("undecided: {}", point.undecided_targets.join(", ")));
    } else if point.has_targets {
        ui.colored_label(SHIP_COLOR, "met");
    } else {
        ui.label("—");
    }
}

/// What stands behind a point's row: the comparison's basis, the step times, the accuracy figures
/// and every target checked on the run, folded until asked for.
fn evidence_ui(ui: &mut egui::Ui, suite: &Suite, run: &RunResult, analysis: &Analysis, point: &PhasePoint) {
    egui::CollapsingHeader::new(format!("Evidence for {}", point.label)).id_salt(("evidence", point.run_index)).show(
        ui,
        |ui| {
            let cells = RunCells::of(run, &suite.settings.accuracy);
            ui.label(format!("status: {}", run.status));
            ui.label(format!("p50 {} · p90 {} · p99 {} · {}", cells.p50, cells.p90, cells.p99, cells.throughput));
            if let Some(speedup) = &run.speedup {
                ui.label(format!("speedup {} — {}: {}", speedup.ratio_text(), speedup.verdict, cells.basis));
            }
            if let Some(accuracy) = &run.accuracy {
                ui.label(format!(
                    "accuracy against the baseline: cosine {}, relative error {}, max abs error {:.3e}, non-finite values {}",
                    accuracy.cosine_similarity.map_or_else(|| "—".to_owned(), |cosine| format!("{cosine:.6}")),
                    accuracy.relative_error.map_or_else(|| "—".to_owned(), |error| format!("{error:.3e}")),
                    accuracy.max_abs_error,
                    accuracy.nonfinite_values
                ));
            }
            for check in analysis.target_checks.iter().filter(|check| check.run == point.label) {
                let Some(target) = suite.targets.get(check.target_index) else { continue };
                let color = match check.outcome {
                    TargetOutcome::Pass => SHIP_COLOR,
                    TargetOutcome::Fail => ERROR_COLOR,
                    TargetOutcome::Undecided => KEEP_COLOR,
                };
                ui.colored_label(color, format!("target {target}: {}, {}", check.measured_text(), check.outcome));
            }
            for warning in &run.warnings {
                ui.colored_label(KEEP_COLOR, format!("warning: {warning}"));
            }
        },
    );
}

/// Speedup against drift (log10) per point: whiskers for the speedup's CI, dot size for memory,
/// the Pareto front dashed, the baseline's speed, the accuracy bound and any speedup target. Each
/// dot is labelled beside it (no legend box to cover the points).
/// Height of a dot's label in the plot (the body font's row).
const LABEL_HEIGHT: f32 = 16.0;
/// Width of a label's character, roughly, in the body font.
const LABEL_CHAR_WIDTH: f32 = 7.0;

fn tradeoff_plot_ui(ui: &mut egui::Ui, index: usize, suite: &Suite, decision: &Decision) {
    let largest = decision.points.iter().filter_map(|point| point.memory_bytes).max().unwrap_or(0).max(1) as f64;
    let located: Vec<(&PhasePoint, [f64; 2])> = decision
        .points
        .iter()
        .filter(|point| point.failed.is_none())
        .filter_map(|point| Some((point, [point.shown_drift()?.log10(), point.ratio()?])))
        .collect();
    Plot::new(("decide-plot", index))
        .height(260.0)
        .x_axis_label("drift from the baseline's output (log10; the baseline at the left edge)")
        .y_axis_label("speedup (×)")
        .x_axis_formatter(|mark, _| format!("1e{}", mark.value.round()))
        .show(ui, |plot_ui| {
            plot_ui.hline(HLine::new("baseline speed", 1.0).color(egui::Color32::GRAY));
            if let Some(target) = decision.min_speedup_target {
                plot_ui.hline(HLine::new("speedup target", target).color(ERROR_COLOR).style(LineStyle::dashed_dense()));
            }
            plot_ui.vline(
                VLine::new("accuracy bound", decision.max_drift.log10())
                    .color(ERROR_COLOR)
                    .style(LineStyle::dashed_dense()),
            );
            let mut front: Vec<[f64; 2]> =
                located.iter().filter(|(point, _)| point.on_front).map(|(_, at)| *at).collect();
            front.sort_by(|a, b| a[0].total_cmp(&b[0]));
            if front.len() > 1 {
                plot_ui.line(
                    Line::new("Pareto front", PlotPoints::from(front))
                        .color(egui::Color32::LIGHT_GRAY)
                        .style(LineStyle::dashed_loose()),
                );
            }
            // Labels go where no other label is (dots of one phase at two batch sizes often meet).
            let transform = *plot_ui.transform();
            let radius_of = |point: &PhasePoint| {
                let size = point.memory_bytes.map_or(0.0, |bytes| bytes as f64 / largest);
                4.0 + 6.0 * size as f32
            };
            let name_of =
                |point: &PhasePoint| if point.is_baseline { point.phase.clone() } else { point.label.clone() };
            // The baseline sits at one place for every batch size: one label says it, and only
            // that one takes a place.
            let first_baseline = located.iter().position(|(point, _)| point.is_baseline);
            let labelled: Vec<bool> = (0..located.len())
                .map(|index| !located[index].0.is_baseline || Some(index) == first_baseline)
                .collect();
            let anchors: Vec<LabelAnchor> = located
                .iter()
                .zip(&labelled)
                .filter(|(_, labelled)| **labelled)
                .map(|((point, at), _)| {
                    let screen = transform.position_from_point(&PlotPoint::new(at[0], at[1]));
                    let width = LABEL_CHAR_WIDTH * (name_of(point).chars().count() + 2) as f32;
                    LabelAnchor { x: screen.x, y: screen.y, radius: radius_of(point), width }
                })
                .collect();
            let mut label_tops = place_labels(&anchors, LABEL_HEIGHT).into_iter();
            for ((point, at), labelled) in located.iter().zip(labelled) {
                let color = phase_color(phase_index(suite, &point.phase));
                let name = name_of(point);
                if let Some(speedup) = &point.speedup {
                    let whisker = vec![[at[0], speedup.ratio_ci.low], [at[0], speedup.ratio_ci.high]];
                    plot_ui.line(Line::new(name.clone(), PlotPoints::from(whisker)).color(color).width(2.0));
                }
                plot_ui.points(Points::new(name.clone(), vec![*at]).radius(radius_of(point)).color(color).filled(true));
                if !labelled {
                    continue;
                }
                let Some(label_top) = label_tops.next() else { continue };
                let label = RichText::new(format!("  {name}")).color(color);
                let screen = transform.position_from_point(&PlotPoint::new(at[0], at[1]));
                let place = transform.value_from_position(egui::pos2(screen.x + radius_of(point), label_top));
                plot_ui.text(Text::new(name, place, label).anchor(egui::Align2::LEFT_TOP));
            }
        });
}
