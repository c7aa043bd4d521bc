//! The diff in the compare view: the picks (a bar at the top, the Before/After cells of each row)
//! and the comparison of the two picked runs or result files, after against before.

use egui::RichText;

use super::compare::speedup_cells_ui;
use super::widgets::{ERROR_COLOR, metric_hint, verdict_color};
use crate::app::{DiffOutcome, DiffSide, DiffState, Side, UiCommand};
use crate::compare::Speedup;
use crate::results::RunResult;
use crate::units::format_secs;

/// The picks of the diff, always in sight at the top of Compare: what is picked as before and
/// after, "Compare these" once both are, and "Clear".
pub(super) fn pick_bar_ui(ui: &mut egui::Ui, diff: &DiffState, commands: &mut Vec<UiCommand>) {
    if diff.before.is_none() && diff.after.is_none() {
        return;
    }
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            let side_text = |side: &Option<DiffSide>| side.as_ref().map_or("— (pick one)", DiffSide::label).to_owned();
            ui.strong("Diff picks:");
            ui.label(format!("before {}", side_text(&diff.before)));
            ui.label("·");
            ui.label(format!("after {}", side_text(&diff.after)));
            let both = diff.before.is_some() && diff.after.is_some();
            if ui
                .add_enabled(both, egui::Button::new("Compare these"))
                .on_disabled_hover_text("pick the other side first")
                .clicked()
            {
                commands.push(UiCommand::RevealDiff);
            }
            if ui.button("Clear").clicked() {
                commands.push(UiCommand::ClearDiff);
            }
        });
    });
}

/// The row's picks for the diff, first in the row; a picked side is drawn selected.
pub(super) fn diff_buttons_ui(
    ui: &mut egui::Ui,
    run: &RunResult,
    run_index: usize,
    (before, after): (bool, bool),
    commands: &mut Vec<UiCommand>,
) {
    ui.horizontal(|ui| {
        let enabled = !run.step_secs.is_empty();
        if ui
            .add_enabled(enabled, egui::Button::new(RichText::new("Before").small()).selected(before))
            .on_hover_text("use this run as the before side of the diff")
            .clicked()
        {
            commands.push(UiCommand::DiffRun { side: Side::Before, run_index });
        }
        if ui
            .add_enabled(enabled, egui::Button::new(RichText::new("After").small()).selected(after))
            .on_hover_text("use this run as the after side of the diff")
            .clicked()
        {
            commands.push(UiCommand::DiffRun { side: Side::After, run_index });
        }
    });
}

/// The diff of two runs or two result files, after against before.
pub fn diff_ui(ui: &mut egui::Ui, diff: &DiffState, reveal: bool, commands: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        let heading = ui.heading("Diff: after against before");
        if reveal {
            heading.scroll_to_me(Some(egui::Align::TOP));
            commands.push(UiCommand::DiffRevealed);
        }
        if (diff.before.is_some() || diff.after.is_some()) && ui.button("Clear diff").clicked() {
            commands.push(UiCommand::ClearDiff);
        }
    });
    let side_text = |side: &Option<DiffSide>| side.as_ref().map_or("— (not picked)", DiffSide::label).to_owned();
    ui.label(format!("Before: {}", side_text(&diff.before)));
    ui.label(format!("After: {}", side_text(&diff.after)));
    match &diff.outcome {
        None if diff.comparing => {
            ui.label("Comparing…");
        }
        None => {
            ui.label(
                RichText::new(
                    "Pick two runs with the Before/After buttons of the table, or two result files in History.",
                )
                .weak(),
            );
        }
        Some(DiffOutcome::Mismatch) => {
            ui.colored_label(
                ERROR_COLOR,
                "One side is a run and the other a whole result: pick two runs or two result files.",
            );
        }
        Some(DiffOutcome::Runs(outcome)) => {
            if let (Some(DiffSide::Run { run: before, .. }), Some(DiffSide::Run { run: after, .. })) =
                (&diff.before, &diff.after)
            {
                run_diff_ui(ui, before, after, outcome);
            }
        }
        Some(DiffOutcome::Results(result_diff)) => {
            let rows = &result_diff.runs;
            if rows.is_empty() {
                ui.label("The two results have no run in common (same workload, phase and batch size).");
            }
            for warning in &result_diff.environment_differences {
                ui.colored_label(egui::Color32::from_rgb(0xe0, 0xa0, 0x20), warning);
            }
            if !result_diff.only_before.is_empty() {
                ui.label(format!("Only before: {}", result_diff.only_before.join(", ")));
            }
            if !result_diff.only_after.is_empty() {
                ui.label(format!("Only after: {}", result_diff.only_after.join(", ")));
            }
            if result_diff.one_result_per_side() {
                ui.label(RichText::new(crate::compare::ONE_RESULT_PER_SIDE_NOTE).weak());
            }
            egui::Grid::new("diff-results").striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
                for header in ["Run", "Before p50", "After p50", "After vs before", "Change"] {
                    ui.strong(header);
                }
                ui.end_row();
                for row in rows {
                    ui.label(&row.label);
                    ui.label(row.before_median_secs.map_or_else(|| "—".into(), format_secs));
                    ui.label(row.after_median_secs.map_or_else(|| "—".into(), format_secs));
                    match &row.speedup {
                        Ok(speedup) => {
                            ui.label(after_relation(speedup)).on_hover_text(format!(
                                "before ÷ after time per item: {} (> 1: after is faster)",
                                speedup.ratio_text()
                            ));
                            let change = crate::compare::Change::from(speedup.verdict);
                            ui.label(RichText::new(change.to_string()).color(verdict_color(speedup.verdict)).strong());
                        }
                        Err(reason) => {
                            ui.label("—").on_hover_text(reason.as_str());
                            ui.label("");
                        }
                    }
                    ui.end_row();
                }
            });
        }
    }
}

fn run_diff_ui(ui: &mut egui::Ui, before: &RunResult, after: &RunResult, outcome: &Result<Speedup, String>) {
    egui::Grid::new("diff-runs").striped(true).spacing([12.0, 4.0]).show(ui, |ui| {
        ui.strong("");
        ui.strong("Before");
        ui.strong("After");
        ui.end_row();
        let identity = |run: &RunResult| format!("{} ({} {})", run.label(), run.dtype, run.device);
        ui.label("Run");
        ui.label(identity(before));
        ui.label(identity(after));
        ui.end_row();
        let stat = |run: &RunResult, pick: fn(&crate::stats::Summary) -> f64| {
            run.summary.as_ref().map_or_else(|| "—".into(), |s| format_secs(pick(s)))
        };
        for (name, pick) in [
            ("p50", (|s: &crate::stats::Summary| s.median) as fn(&crate::stats::Summary) -> f64),
            ("p90", |s| s.p90),
            ("p99", |s| s.p99),
        ] {
            ui.label(name).on_hover_text(metric_hint(name));
            ui.label(stat(before, pick));
            ui.label(stat(after, pick));
            ui.end_row();
        }
        ui.label("Throughput");
        for run in [before, after] {
            ui.label(run.throughput_items_per_sec.map_or_else(|| "—".into(), |t| format!("{t:.1}/s")));
        }
        ui.end_row();
        ui.label("Measured steps");
        ui.label(before.step_secs.len().to_string());
        ui.label(after.step_secs.len().to_string());
        ui.end_row();
    });
    match outcome {
        Ok(speedup) => {
            ui.horizontal(|ui| {
                ui.label(format!("{}:", after_relation(speedup)));
                speedup_cells_ui(ui, speedup, speedup.ratio_text());
            });
        }
        Err(reason) => {
            ui.colored_label(ERROR_COLOR, format!("cannot compare: {reason}"));
        }
    }
}

/// What a diff's ratio (before ÷ after time per item) says, in words: `after is 3.50× slower per
/// item`.
fn after_relation(speedup: &Speedup) -> String {
    if speedup.ratio >= 1.0 {
        format!("after is {:.2}× faster per item", speedup.ratio)
    } else {
        format!("after is {:.2}× slower per item", 1.0 / speedup.ratio.max(f64::MIN_POSITIVE))
    }
}
