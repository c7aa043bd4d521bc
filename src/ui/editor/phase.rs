//! The phase form: name, data type, quantization, the KV cache and a GGUF for text generation,
//! what it changes of an image generation, device, its own batch size, baseline.

use crate::app::{DeviceChoice, Field, FieldState, SuiteDocument, UiCommand};
use crate::suite::{DTypeSpec, MAX_DIMENSION, ModelPath, Phase, Quantization};

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
    let generates_text = document.suite.workloads.iter().any(|workload| workload.model.is_language_model());
    let reads_files = document.suite.workloads.iter().any(|workload| workload.model.model_path().is_some());
    let generates_images =
        document.suite.workloads.iter().any(|workload| matches!(workload.mode, crate::suite::Mode::ImageGeneration(_)));
    let phase = &mut document.suite.phases[index];
    changed |= precision_ui(ui, index, phase);
    if generates_text {
        changed |= text_generation_ui(ui, index, phase, reads_files, commands);
    }
    if generates_images {
        changed |= image_generation_ui(ui, index, phase);
    }
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

/// Text generation's switches: the KV cache, and for models read from files a GGUF to run
/// instead of the workload's weights.
fn text_generation_ui(
    ui: &mut egui::Ui,
    index: usize,
    phase: &mut Phase,
    reads_files: bool,
    commands: &mut Vec<UiCommand>,
) -> bool {
    let mut changed = false;
    let mut kv_cache = phase.uses_kv_cache();
    if ui
        .checkbox(&mut kv_cache, "KV cache")
        .on_hover_text("keep the attention keys and values; off: every new token recomputes the whole context")
        .changed()
    {
        phase.kv_cache = if kv_cache { None } else { Some(false) };
        changed = true;
    }
    if !reads_files && phase.gguf.is_none() {
        return changed;
    }
    let mut path = phase.gguf.as_ref().map(|path| path.written().to_owned()).unwrap_or_default();
    ui.horizontal(|ui| {
        let label = ui.label("GGUF file").on_hover_text(
            "run this GGUF instead of the workload's files (relative to the suite's folder; {workload} stands for each workload's name); empty: the workload's own",
        );
        let field = egui::TextEdit::singleline(&mut path)
            .id(egui::Id::unique(("phase gguf", index)))
            .desired_width(200.0)
            .hint_text("the workload's own");
        if ui.add(field).labelled_by(label.id).changed() {
            phase.gguf = if path.trim().is_empty() { None } else { Some(ModelPath::new(path.clone())) };
            changed = true;
        }
        if ui.button("From file…").on_hover_text("pick a .gguf file").clicked() {
            commands.push(UiCommand::PickPhaseGguf(index));
        }
    });
    changed
}

/// What the phase changes of each image generation; an option left unchecked keeps the workload's.
fn image_generation_ui(ui: &mut egui::Ui, index: usize, phase: &mut Phase) -> bool {
    let mut image = phase.image.unwrap_or_default();
    let mut changed = false;
    ui.label("Image generation (checked: this phase's own; unchecked: the workload's)");
    let counts = [
        ("Steps", "denoising steps per image", &mut image.steps, 1..=1000, 10, 1.0),
        ("Width", "image width in pixels (a multiple of 8)", &mut image.width, 8..=4096, 512, 8.0),
        ("Height", "image height in pixels (a multiple of 8)", &mut image.height, 8..=4096, 512, 8.0),
    ];
    for (label, hint, value, range, default, speed) in counts {
        ui.horizontal(|ui| {
            let mut own = value.is_some();
            if ui.checkbox(&mut own, label).on_hover_text(hint).changed() {
                *value = own.then_some(default);
                changed = true;
            }
            if let Some(value) = value {
                let drag = egui::DragValue::new(value).range(range).speed(speed);
                changed |= ui.add(drag).on_hover_text(hint).changed();
            }
        });
    }
    ui.horizontal(|ui| {
        let mut own = image.guidance.is_some();
        let hint = "classifier-free guidance scale; 1 turns guidance off (the UNet runs on half the batch)";
        if ui.checkbox(&mut own, "Guidance").on_hover_text(hint).changed() {
            image.guidance = own.then_some(1.0);
            changed = true;
        }
        if let Some(guidance) = &mut image.guidance {
            changed |=
                ui.add(egui::DragValue::new(guidance).range(0.0..=100.0).speed(0.1)).on_hover_text(hint).changed();
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Scheduler");
        let shown = image.scheduler.map_or_else(|| "the workload's".to_owned(), |scheduler| scheduler.to_string());
        egui::ComboBox::from_id_salt(("phase scheduler", index))
            .selected_text(shown)
            .show_ui(ui, |ui| {
                changed |= ui.selectable_value(&mut image.scheduler, None, "the workload's").changed();
                for scheduler in [crate::suite::SchedulerKind::Ddim, crate::suite::SchedulerKind::UniPc] {
                    changed |=
                        ui.selectable_value(&mut image.scheduler, Some(scheduler), scheduler.to_string()).changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
    if changed {
        phase.image = (image != crate::suite::ImagePhase::default()).then_some(image);
    }
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
