//! The phase form: name, data type, quantization, device, its own batch size, baseline.

use crate::app::{DeviceChoice, Field, FieldState, SuiteDocument, UiCommand};
use crate::suite::{DTypeSpec, MAX_DIMENSION, Phase, Quantization};

use super::super::widgets::{ERROR_COLOR, number_field, text_field};

pub(super) fn phase_form_ui(
    ui: &mut egui::Ui,
    document: &mut SuiteDocument,
    index: usize,
    devices: &[DeviceChoice],
    commands: &mut Vec<UiCommand>,
) -> bool {
    let is_baseline = document.suite.phases[index].name == document.suite.baseline;
    let fields = &mut document.fields;
    let phase = &mut document.suite.phases[index];
    let mut changed = false;
    ui.strong(format!("Phase “{}”", phase.name));
    let name_problem = fields.problems.get(&format!("p{index}.name")).cloned();
    if text_field(ui, "Phase name", "unique within the suite", &mut phase.name, 200.0, name_problem.as_deref()) {
        changed = true;
        if is_baseline {
            document.suite.baseline = phase.name.clone();
        }
    }
    let phase = &mut document.suite.phases[index];
    changed |= precision_ui(ui, index, phase);
    changed |= device_ui(ui, index, phase, devices);
    changed |= phase_batch_ui(ui, fields, index, phase);
    if is_baseline {
        ui.label("This is the baseline: every other phase is compared with it.");
    } else if ui.button("Make baseline").on_hover_text("compare every other phase with this one").clicked() {
        commands.push(UiCommand::SetBaseline(index));
    }
    changed
}

/// Data type and quantization.
fn precision_ui(ui: &mut egui::Ui, index: usize, phase: &mut Phase) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("Data type").on_hover_text("numeric type of weights and activations");
        egui::ComboBox::from_id_salt(("dtype", index))
            .selected_text(phase.dtype.to_string())
            .show_ui(ui, |ui| {
                for dtype in [DTypeSpec::F32, DTypeSpec::F16, DTypeSpec::BF16] {
                    changed |= ui.selectable_value(&mut phase.dtype, dtype, dtype.to_string()).changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
    ui.horizontal(|ui| {
        let label = ui
            .label("Quantization")
            .on_hover_text("weights of linear layers in a GGML block format (inference and generation)");
        let shown = phase.quantization.map_or_else(|| "none".to_owned(), |q| q.to_string());
        egui::ComboBox::from_id_salt(("quantization", index))
            .selected_text(shown)
            .show_ui(ui, |ui| {
                changed |= ui.selectable_value(&mut phase.quantization, None, "none").changed();
                for quantization in [Quantization::Q8_0, Quantization::Q4_0, Quantization::Q4K] {
                    changed |= ui
                        .selectable_value(&mut phase.quantization, Some(quantization), quantization.to_string())
                        .changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
    changed
}

/// The device picker: the CPU and every GPU, with why one cannot run here.
fn device_ui(ui: &mut egui::Ui, index: usize, phase: &mut Phase, devices: &[DeviceChoice]) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("Device").on_hover_text("where the phase runs");
        egui::ComboBox::from_id_salt(("device", index))
            .selected_text(phase.device.to_string())
            .show_ui(ui, |ui| {
                for choice in devices {
                    let response = ui
                        .add_enabled(
                            choice.problem.is_none() || cfg!(feature = "cuda"),
                            egui::Button::selectable(phase.device == choice.device, &choice.label),
                        )
                        .on_disabled_hover_text(choice.problem.as_deref().unwrap_or_default());
                    let response = match &choice.problem {
                        Some(problem) if cfg!(feature = "cuda") => response.on_hover_text(problem),
                        _ => response,
                    };
                    if response.clicked() {
                        phase.device = choice.device;
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
    let problem = match devices.iter().find(|choice| choice.device == phase.device) {
        Some(choice) => choice.problem.clone(),
        None => Some(format!("{} is not on this machine: this phase's runs will fail here", phase.device)),
    };
    if let Some(problem) = problem {
        ui.colored_label(ERROR_COLOR, format!("{}: {problem}", phase.device));
    }

    changed
}

/// The phase's own batch size, when it overrides the workloads'.
fn phase_batch_ui(ui: &mut egui::Ui, fields: &mut FieldState, index: usize, phase: &mut Phase) -> bool {
    let mut changed = false;
    let mut override_batch = phase.batch_size.is_some();
    if ui
        .checkbox(&mut override_batch, "Own batch size")
        .on_hover_text("run this phase at one batch size instead of the workloads'")
        .changed()
    {
        phase.batch_size = if override_batch { Some(1) } else { None };
        changed = true;
    }
    if let Some(batch) = phase.batch_size
        && let Some(value) = number_field(
            ui,
            fields,
            Field::PhaseBatch(index),
            "Phase batch",
            "items",
            "items per step in this phase",
            1..=MAX_DIMENSION,
            batch,
        )
    {
        phase.batch_size = Some(value);
        changed = true;
    }

    changed
}
