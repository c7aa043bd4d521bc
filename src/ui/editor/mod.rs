//! The suite editor: name and description, the workloads and phases as lists (add, copy,
//! remove, reorder), and a form for the selected workload, phase or the settings.

mod diffusion;
mod phase;
mod settings;
mod workload;

use crate::app::{DeviceChoice, Selection, SuiteDocument, UiCommand};

use super::widgets::{ERROR_COLOR, text_field};

/// The editor panel. Forms edit `document` in place; list actions go through `commands`.
pub fn editor_ui(
    ui: &mut egui::Ui,
    document: &mut SuiteDocument,
    selection: Selection,
    running: bool,
    devices: &[DeviceChoice],
    commands: &mut Vec<UiCommand>,
) {
    let mut changed = header_ui(ui, document, running);
    ui.separator();
    if ui.selectable_label(selection == Selection::Settings, "Settings").clicked() {
        commands.push(UiCommand::Select(Selection::Settings));
    }
    ui.separator();
    workload_list_ui(ui, document, selection, commands);
    ui.separator();
    phase_list_ui(ui, document, selection, commands);
    ui.separator();
    changed |= match selection {
        Selection::Settings => settings::settings_form_ui(ui, document),
        Selection::Workload(index) if index < document.suite.workloads.len() => {
            workload::workload_form_ui(ui, document, index, commands)
        }
        Selection::Phase(index) if index < document.suite.phases.len() => {
            phase::phase_form_ui(ui, document, index, devices, commands)
        }
        _ => false,
    };
    if changed {
        document.revalidate();
    }
    problems_ui(ui, document);
}

/// Everything that blocks a run, below the forms: it grows and shrinks there without moving a
/// field the user is typing in or about to click.
fn problems_ui(ui: &mut egui::Ui, document: &SuiteDocument) {
    let blockers = document.run_blockers();
    if blockers.is_empty() {
        return;
    }
    ui.separator();
    egui::Frame::group(ui.style()).stroke(egui::Stroke::new(1.0, ERROR_COLOR)).show(ui, |ui| {
        ui.colored_label(ERROR_COLOR, format!("Run is disabled: {} problem(s)", blockers.len()));
        for problem in &blockers {
            ui.colored_label(ERROR_COLOR, format!("• {problem}"));
        }
    });
}

/// Name, description and what blocks a run; returns whether a text changed.
fn header_ui(ui: &mut egui::Ui, document: &mut SuiteDocument, running: bool) -> bool {
    ui.heading("Suite");
    let name_problem = document.fields.problems.get("suite.name").cloned();
    let suite = &mut document.suite;
    let mut changed = text_field(
        ui,
        "Name",
        "short name, used for result folders and reports",
        &mut suite.name,
        220.0,
        name_problem.as_deref(),
    );
    changed |= text_field(ui, "Description", "what the suite shows, for people", &mut suite.description, 220.0, None);

    // One line whatever the state, so nothing below it moves when a problem appears or goes.
    let problems = document.run_blockers().len();
    let status = if running {
        egui::RichText::new("A suite is running; edits apply to the next run.")
    } else if problems == 0 {
        egui::RichText::new("Ready to run").weak()
    } else {
        egui::RichText::new(format!("Run is disabled: {problems} problem(s), listed below the form")).color(ERROR_COLOR)
    };
    ui.add(egui::Label::new(status).truncate());
    changed
}

/// The workloads, one row each with its actions.
fn workload_list_ui(ui: &mut egui::Ui, document: &SuiteDocument, selection: Selection, commands: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.strong("Workloads");
        if ui.button("Add workload").on_hover_text("add an MLP workload to edit").clicked() {
            commands.push(UiCommand::AddWorkload);
        }
    });
    let count = document.suite.workloads.len();
    for (index, workload) in document.suite.workloads.iter().enumerate() {
        let text = format!("{} — {} {}", workload.name, workload.model.kind_name(), workload.mode.kind().words());
        list_row_ui(
            ui,
            &text,
            selection == Selection::Workload(index),
            index,
            count,
            "workload",
            commands,
            |index, action| match action {
                RowAction::Select => UiCommand::Select(Selection::Workload(index)),
                RowAction::Up => UiCommand::MoveWorkload { index, up: true },
                RowAction::Down => UiCommand::MoveWorkload { index, up: false },
                RowAction::Copy => UiCommand::DuplicateWorkload(index),
                RowAction::Remove => UiCommand::RemoveWorkload(index),
            },
        );
    }
}

/// The phases, one row each with its actions; the baseline is marked.
fn phase_list_ui(ui: &mut egui::Ui, document: &SuiteDocument, selection: Selection, commands: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.strong("Phases");
        if ui.button("Add phase").on_hover_text("add an f32 CPU phase to edit").clicked() {
            commands.push(UiCommand::AddPhase);
        }
    });
    let count = document.suite.phases.len();
    for (index, phase) in document.suite.phases.iter().enumerate() {
        let baseline =
            if phase.name == document.suite.baseline && !phase.name.contains("baseline") { " (baseline)" } else { "" };
        let quantization = phase.quantization.map(|q| format!(" {q}")).unwrap_or_default();
        let gguf = if phase.gguf.is_some() { " GGUF" } else { "" };
        let kv_cache = if phase.uses_kv_cache() { "" } else { " no KV cache" };
        let text = format!("{}{baseline} — {} {}{quantization}{gguf}{kv_cache}", phase.name, phase.dtype, phase.device);
        list_row_ui(
            ui,
            &text,
            selection == Selection::Phase(index),
            index,
            count,
            "phase",
            commands,
            |index, action| match action {
                RowAction::Select => UiCommand::Select(Selection::Phase(index)),
                RowAction::Up => UiCommand::MovePhase { index, up: true },
                RowAction::Down => UiCommand::MovePhase { index, up: false },
                RowAction::Copy => UiCommand::DuplicatePhase(index),
                RowAction::Remove => UiCommand::RemovePhase(index),
            },
        );
    }
}

#[derive(Clone, Copy)]
enum RowAction {
    Select,
    Up,
    Down,
    Copy,
    Remove,
}

#[allow(clippy::too_many_arguments)]
fn list_row_ui(
    ui: &mut egui::Ui,
    text: &str,
    selected: bool,
    index: usize,
    count: usize,
    kind: &str,
    commands: &mut Vec<UiCommand>,
    command: impl Fn(usize, RowAction) -> UiCommand,
) {
    ui.horizontal(|ui| {
        // The buttons first, from the right; the name gets what is left and is cut with "…"
        // (hover shows it whole) instead of running under the buttons in a narrow panel.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let small = |label: &str| egui::Button::new(egui::RichText::new(label).small());
            if ui.add_enabled(count > 1, small("Remove")).on_hover_text(format!("remove this {kind}")).clicked() {
                commands.push(command(index, RowAction::Remove));
            }
            if ui.add(small("Copy")).on_hover_text(format!("duplicate this {kind}")).clicked() {
                commands.push(command(index, RowAction::Copy));
            }
            if ui.add_enabled(index + 1 < count, small("Down")).on_hover_text("move down").clicked() {
                commands.push(command(index, RowAction::Down));
            }
            if ui.add_enabled(index > 0, small("Up")).on_hover_text("move up").clicked() {
                commands.push(command(index, RowAction::Up));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                let label = egui::Button::selectable(selected, text).truncate();
                if ui.add(label).on_hover_text(format!("{text}: edit this {kind}")).clicked() {
                    commands.push(command(index, RowAction::Select));
                }
            });
        });
    });
}
