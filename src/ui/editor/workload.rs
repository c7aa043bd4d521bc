//! The workload form: name, model from the catalog and its sizes, mode, batch sizes or a sweep,
//! the weights file, or the user's own model folder or GGUF file.

use std::path::Path;

use crate::app::{Field, FieldKey, FieldState, SuiteDocument, UiCommand, WorkloadField};
use crate::models::llm::{self, ModelFormat};
use crate::models::{self, catalog_entry};
use crate::suite::{
    BatchSweep, LearningRate, LlmFamily, LlmPreset, LlmSpec, MAX_DIMENSION, MAX_LAYERS, Mode, ModeKind, ModelParameter,
    ModelPath, ModelSpec, OptimizerSpec, VisionFamily, VisionPreset, VisionSpec, Workload,
};

use super::super::widgets::{ERROR_COLOR, field_id, number_field, outline_problem, text_field};

fn model_units(parameter: &str) -> &'static str {
    match parameter {
        "image_size" => "px",
        "seq_len" => "tokens",
        "ffn_mult" => "× hidden",
        "layers" | "blocks" => "layers",
        "heads" => "heads",
        "channels" | "in_channels" => "channels",
        "classes" => "classes",
        "patch" => "px",
        _ => "features",
    }
}

pub(super) fn workload_form_ui(
    ui: &mut egui::Ui,
    document: &mut SuiteDocument,
    index: usize,
    commands: &mut Vec<UiCommand>,
) -> bool {
    let name_problem = document.fields.problems.get(&format!("w{index}.name")).cloned();
    let workload = &mut document.suite.workloads[index];
    ui.strong(format!("Workload “{}”", workload.name));
    let mut changed =
        text_field(ui, "Workload name", "unique within the suite", &mut workload.name, 200.0, name_problem.as_deref());
    if let Some(model) = model_picker_ui(ui, index, &workload.model) {
        let old_kind = workload.model.kind_name();
        // The user's own model: the dialog (or the typed path) asks for it at once.
        if let ModelSpec::HfFolder(_) | ModelSpec::Gguf(_) = model {
            commands.push(UiCommand::PickModelFile { index, folder: matches!(model, ModelSpec::HfFolder(_)) });
        }
        workload.model = model;
        // A model that cannot run in the current mode starts in its first one.
        if let Some(entry) = catalog_entry(workload.model.kind_name())
            && !entry.modes.contains(&workload.mode.kind())
            && let Some(&kind) = entry.modes.first()
        {
            workload.mode = kind.default_mode();
        }
        document.fields.forget_model_parameters(index);
        document.rename_workload_after_model(index, old_kind);
        return true;
    }
    let base_dir = document.base_dir();
    let workload = &mut document.suite.workloads[index];
    let fields = &mut document.fields;
    let entry = catalog_entry(workload.model.kind_name());
    if let Some(entry) = &entry {
        ui.label(egui::RichText::new(entry.summary).small().weak());
    }
    changed |= match workload.model {
        ModelSpec::HfFolder(_) | ModelSpec::Gguf(_) => {
            model_file_ui(ui, index, &mut workload.model, &base_dir, commands)
        }
        ModelSpec::Diffusion(ref mut spec) => {
            super::diffusion::diffusion_model_ui(ui, index, spec, &base_dir, commands)
        }
        _ => model_fields_ui(ui, fields, index, &mut workload.model, entry.as_ref()),
    };
    let modes = entry.as_ref().map_or(&[ModeKind::Inference][..], |entry| entry.modes);
    // Flow-matching pipelines (SD3, Flux) have their own sampler: no scheduler to pick.
    let flow = matches!(&workload.model, ModelSpec::Diffusion(spec) if spec.pipeline.flow_matching());
    changed |= mode_ui(ui, fields, (index, flow), &mut workload.mode, modes);
    changed |= batch_ui(ui, fields, index, workload);
    // A pipeline's weights come from its folder or the seed, never one safetensors file.
    if workload.model.model_path().is_none() && !matches!(workload.model, ModelSpec::Diffusion(_)) {
        changed |= weights_ui(ui, index, workload, commands);
    }
    changed
}

/// The folder or GGUF file of the user's own model: typed (relative to the suite's folder) or
/// picked with the dialog, with what phasebench reads there or why it cannot.
fn model_file_ui(
    ui: &mut egui::Ui,
    index: usize,
    model: &mut ModelSpec,
    base_dir: &Path,
    commands: &mut Vec<UiCommand>,
) -> bool {
    let (spec, format) = match model {
        ModelSpec::HfFolder(spec) => (spec, ModelFormat::HfFolder),
        ModelSpec::Gguf(spec) => (spec, ModelFormat::Gguf),
        _ => return false,
    };
    let folder = format == ModelFormat::HfFolder;
    let mut changed = false;
    let mut path = spec.path.written().to_owned();
    ui.horizontal(|ui| {
        let label = ui
            .label(if folder { "Model folder" } else { "GGUF file" })
            .on_hover_text("relative to the suite file's folder");
        let field = egui::TextEdit::singleline(&mut path)
            .id(egui::Id::unique(("model path", index)))
            .desired_width(220.0)
            .hint_text(if folder { "models/Qwen3-0.6B" } else { "models/model-q4_k_m.gguf" });
        if ui.add(field).labelled_by(label.id).changed() {
            spec.path = ModelPath::new(path.clone());
            changed = true;
        }
        let hint = if folder { "pick a Hugging Face model folder" } else { "pick a .gguf file" };
        if ui.button("From file…").on_hover_text(hint).clicked() {
            commands.push(UiCommand::PickModelFile { index, folder });
        }
    });
    if !spec.path.written().trim().is_empty() {
        match &llm::file_model(&base_dir.join(spec.path.written()), format).file {
            Ok(file) => {
                ui.label(egui::RichText::new(format!("Detected: {}", file.summary())).small());
            }
            Err(error) => {
                ui.colored_label(ERROR_COLOR, error);
            }
        }
    }
    changed
}

/// The model picked from the catalog; returns the new model's default spec when another was picked.
fn model_picker_ui(ui: &mut egui::Ui, index: usize, model: &ModelSpec) -> Option<ModelSpec> {
    let kind = model.kind_name();
    let mut new_model = None;
    ui.horizontal(|ui| {
        let label = ui.label("Model");
        egui::ComboBox::from_id_salt(("model", index))
            .selected_text(kind)
            .width(200.0)
            .show_ui(ui, |ui| {
                for entry in models::catalog() {
                    let name = entry.default_spec.kind_name();
                    let text = format!("{name} — {}", entry.summary);
                    if ui.selectable_label(name == kind, text).clicked() && name != kind {
                        new_model = Some(entry.default_spec.clone());
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
    new_model
}

/// The mode (among those the model supports) and its settings.
fn mode_ui(
    ui: &mut egui::Ui,
    fields: &mut FieldState,
    (index, flow): (usize, bool),
    mode: &mut Mode,
    modes: &[ModeKind],
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("Mode").on_hover_text("what one measured step does");
        egui::ComboBox::from_id_salt(("mode", index))
            .selected_text(mode.name())
            .show_ui(ui, |ui| {
                for &kind in modes {
                    if ui.selectable_label(mode.kind() == kind, kind.name()).clicked() && mode.kind() != kind {
                        *mode = kind.default_mode();
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
    match mode {
        Mode::Inference => {}
        Mode::Training(training) => {
            let (is_adamw, lr) = match training.optimizer {
                OptimizerSpec::AdamW(rate) => (true, rate.lr),
                OptimizerSpec::Sgd(rate) => (false, rate.lr),
            };
            let mut adamw = is_adamw;
            ui.horizontal(|ui| {
                ui.label("Optimizer");
                changed |= ui.radio_value(&mut adamw, true, "AdamW").changed();
                changed |= ui.radio_value(&mut adamw, false, "SGD").changed();
            });
            let field = Field::Workload(index, WorkloadField::LearningRate);
            let lr =
                number_field(ui, fields, field, "Learning rate", "", "step size of the optimizer", 1e-12..=10.0, lr)
                    .inspect(|_| changed = true)
                    .unwrap_or(lr);
            training.optimizer =
                if adamw { OptimizerSpec::AdamW(LearningRate { lr }) } else { OptimizerSpec::Sgd(LearningRate { lr }) };
        }
        Mode::TextGeneration(text) => {
            if let Some(tokens) = number_field(
                ui,
                fields,
                Field::Workload(index, WorkloadField::PromptTokens),
                "Prompt tokens",
                "per sequence",
                "seeded token ids processed at once (prefill); the first new token ends it",
                1..=MAX_DIMENSION,
                text.prompt_tokens,
            ) {
                text.prompt_tokens = tokens;
                changed = true;
            }
            if let Some(tokens) = number_field(
                ui,
                fields,
                Field::Workload(index, WorkloadField::NewTokens),
                "New tokens",
                "per generation",
                "tokens generated greedily per generation; each after the first is a measured decode step",
                2..=MAX_DIMENSION,
                text.new_tokens,
            ) {
                text.new_tokens = tokens;
                changed = true;
            }
        }
        Mode::Generation(generation) => {
            if let Some(steps) = number_field(
                ui,
                fields,
                Field::Workload(index, WorkloadField::GenerationSteps),
                "Denoising steps",
                "per image",
                "steps of one generation; each is measured",
                1..=10_000,
                generation.steps,
            ) {
                generation.steps = steps;
                changed = true;
            }
        }
        Mode::ImageGeneration(generation) => changed |= image_generation_ui(ui, fields, (index, flow), generation),
    }
    changed
}

/// The settings of an image generation: steps, size, guidance and scheduler.
fn image_generation_ui(
    ui: &mut egui::Ui,
    fields: &mut FieldState,
    (index, flow): (usize, bool),
    generation: &mut crate::suite::ImageGenerationSpec,
) -> bool {
    let mut changed = false;
    let counts = [
        (
            WorkloadField::GenerationSteps,
            "Denoising steps",
            "per image",
            "each is a measured step",
            1..=1000,
            &mut generation.steps,
        ),
        (WorkloadField::ImageWidth, "Width", "pixels", "a multiple of 8", 8..=4096, &mut generation.width),
        (WorkloadField::ImageHeight, "Height", "pixels", "a multiple of 8", 8..=4096, &mut generation.height),
    ];
    for (field, label, unit, hint, range, value) in counts {
        if let Some(new) = number_field(ui, fields, Field::Workload(index, field), label, unit, hint, range, *value) {
            *value = new;
            changed = true;
        }
    }
    let field = Field::Workload(index, WorkloadField::Guidance);
    let hint = "classifier-free guidance scale; above 1 each step runs the UNet on a doubled batch";
    if let Some(guidance) = number_field(ui, fields, field, "Guidance", "", hint, 0.0..=100.0, generation.guidance) {
        generation.guidance = guidance;
        changed = true;
    }
    if flow {
        ui.label("Scheduler: flow-matching Euler (the pipeline's own)");
    } else {
        ui.horizontal(|ui| {
            ui.label("Scheduler");
            for scheduler in [crate::suite::SchedulerKind::Ddim, crate::suite::SchedulerKind::UniPc] {
                changed |= ui.radio_value(&mut generation.scheduler, scheduler, scheduler.to_string()).changed();
            }
        });
    }
    changed
}

/// Batch sizes as a list, or a sweep.
fn batch_ui(ui: &mut egui::Ui, fields: &mut FieldState, index: usize, workload: &mut Workload) -> bool {
    let mut changed = false;
    let mut sweep = workload.batch_sweep.is_some();
    ui.horizontal(|ui| {
        ui.label("Batch").on_hover_text("items per step");
        if ui.radio_value(&mut sweep, false, "Sizes").changed() {
            workload.batch_sweep = None;
            changed = true;
        }
        if ui
            .radio_value(&mut sweep, true, "Sweep")
            .on_hover_text("double the batch until it fails or hits the time or memory budget")
            .changed()
        {
            workload.batch_sweep = Some(BatchSweep { from: 1, to: 256, factor: 2 });
            workload.batch_sizes = vec![1];
            changed = true;
        }
    });
    match &mut workload.batch_sweep {
        None => changed |= batch_sizes_ui(ui, fields, index, &mut workload.batch_sizes),
        Some(batch_sweep) => {
            let key = |field| Field::Workload(index, field);
            let max = MAX_DIMENSION;
            if let Some(from) = number_field(
                ui,
                fields,
                key(WorkloadField::SweepFrom),
                "Sweep from",
                "items",
                "first batch size",
                1..=max,
                batch_sweep.from,
            ) {
                batch_sweep.from = from;
                changed = true;
            }
            if let Some(to) = number_field(
                ui,
                fields,
                key(WorkloadField::SweepTo),
                "Sweep to",
                "items",
                "largest batch size tried",
                1..=max,
                batch_sweep.to,
            ) {
                batch_sweep.to = to;
                changed = true;
            }
            if let Some(factor) = number_field(
                ui,
                fields,
                key(WorkloadField::SweepFactor),
                "Growth",
                "×",
                "each batch size is the last times this",
                2..=64,
                batch_sweep.factor,
            ) {
                batch_sweep.factor = factor;
                changed = true;
            }
        }
    }
    changed
}

/// The comma-separated batch sizes; text that is not such a list stays, with its error.
fn batch_sizes_ui(ui: &mut egui::Ui, fields: &mut FieldState, index: usize, batch_sizes: &mut Vec<usize>) -> bool {
    let mut changed = false;
    let field_key = FieldKey::new(Field::Workload(index, WorkloadField::BatchSizes));
    let current = batch_sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    ui.horizontal(|ui| {
        let label = ui.label("Batch sizes").on_hover_text("comma-separated, e.g. 1, 8, 32");
        let text = fields.text.entry(field_key.clone()).or_insert(current);
        let edit = egui::TextEdit::singleline(text).id(field_id(&field_key)).desired_width(140.0);
        let response = ui.add(edit).labelled_by(label.id);
        if response.changed() {
            let parsed: Result<Vec<usize>, _> =
                text.split(',').map(str::trim).filter(|part| !part.is_empty()).map(str::parse::<usize>).collect();
            match parsed {
                Ok(sizes) if !sizes.is_empty() && sizes.iter().all(|&size| (1..=MAX_DIMENSION).contains(&size)) => {
                    fields.errors.remove(&field_key);
                    *batch_sizes = sizes;
                    changed = true;
                }
                _ => {
                    let error = format!(
                        "batch sizes: “{}” is not a list of whole numbers from 1 to {MAX_DIMENSION}",
                        text.trim()
                    );
                    fields.errors.insert(field_key.clone(), error);
                }
            }
        }
        if fields.errors.contains_key(&field_key) || fields.problems.contains_key(field_key.path()) {
            outline_problem(ui, response.rect);
        }
    });
    if let Some(error) = fields.errors.get(&field_key).or_else(|| fields.problems.get(field_key.path())) {
        ui.colored_label(ERROR_COLOR, error);
    }
    changed
}

/// The weights file: typed, or picked with the dialog.
fn weights_ui(ui: &mut egui::Ui, index: usize, workload: &mut Workload, commands: &mut Vec<UiCommand>) -> bool {
    let mut changed = false;
    let mut weights = workload.weights.clone().unwrap_or_default();
    ui.horizontal(|ui| {
        let label = ui.label("Weights file").on_hover_text(
            "a safetensors file with the model's weights (relative to the suite's folder); empty: weights from the seed",
        );
        let field = egui::TextEdit::singleline(&mut weights)
            .id(egui::Id::unique(("weights file", index)))
            .desired_width(170.0)
            .hint_text("from the seed");
        if ui.add(field).labelled_by(label.id).changed() {
            workload.weights = if weights.trim().is_empty() { None } else { Some(weights.clone()) };
            changed = true;
        }
        if ui.button("Browse…").on_hover_text("pick a .safetensors file").clicked() {
            commands.push(UiCommand::PickWeights(index));
        }
    });
    changed
}

/// The size parameters of a model as typed fields, in the catalog's order (m, n, k …) and then
/// any the catalog does not list, so every catalog model gets a form without code of its own.
fn model_fields_ui(
    ui: &mut egui::Ui,
    fields: &mut FieldState,
    index: usize,
    model: &mut ModelSpec,
    entry: Option<&models::CatalogEntry>,
) -> bool {
    if let ModelSpec::Llm(spec) = model {
        return language_model_ui(ui, index, spec);
    }
    let mut changed = false;
    if let ModelSpec::Vision(spec) = model {
        changed |= vision_model_ui(ui, index, spec);
    }
    let mut parameters = model.parameters();
    if let Some(entry) = entry {
        let rank = |name: &str| entry.parameters.iter().position(|(listed, _)| *listed == name).unwrap_or(usize::MAX);
        parameters.sort_by_key(|(name, _)| rank(name));
    }
    for (name, value) in parameters {
        let hint = entry
            .and_then(|entry| entry.parameters.iter().find(|(parameter, _)| *parameter == name))
            .map_or("", |(_, meaning)| *meaning);
        let new_value = match value {
            ModelParameter::Flag(mut flag) => {
                ui.checkbox(&mut flag, name).on_hover_text(hint).changed().then_some(ModelParameter::Flag(flag))
            }
            ModelParameter::Count(count) => {
                let max = if matches!(name, "layers" | "blocks") { MAX_LAYERS } else { MAX_DIMENSION };
                let field = Field::Workload(index, WorkloadField::ModelParameter(name));
                number_field(ui, fields, field, name, model_units(name), hint, 1..=max, count)
                    .map(ModelParameter::Count)
            }
        };
        if let Some(new_value) = new_value {
            changed |= model.set_parameter(name, new_value);
        }
    }
    changed
}

/// A language model's family and size preset, each picked from its list (a `Custom` shape is
/// kept as the suite file gives it).
fn language_model_ui(ui: &mut egui::Ui, index: usize, spec: &mut LlmSpec) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("Family");
        egui::ComboBox::from_id_salt(("llm family", index))
            .selected_text(format!("{:?}", spec.family))
            .show_ui(ui, |ui| {
                for family in LlmFamily::ALL {
                    changed |= ui.selectable_value(&mut spec.family, family, format!("{family:?}")).changed();
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("the architecture, as candle-transformers builds it");
    });
    ui.horizontal(|ui| {
        let label = ui.label("Size");
        egui::ComboBox::from_id_salt(("llm preset", index))
            .selected_text(spec.preset.name())
            .show_ui(ui, |ui| {
                let presets = [LlmPreset::Tiny, LlmPreset::Small, LlmPreset::Medium, LlmPreset::Large];
                for preset in presets {
                    let shape = preset.shape();
                    let text = format!(
                        "{} — hidden {}, {} layers, vocabulary {}",
                        preset.name(),
                        shape.hidden,
                        shape.layers,
                        shape.vocab
                    );
                    changed |= ui.selectable_value(&mut spec.preset, preset, text).changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
    changed
}

/// A vision encoder's family and preset, each picked from its list; the image size and classes
/// follow as typed fields.
fn vision_model_ui(ui: &mut egui::Ui, index: usize, spec: &mut VisionSpec) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let label = ui.label("Family");
        egui::ComboBox::from_id_salt(("vision family", index))
            .selected_text(spec.family.name())
            .show_ui(ui, |ui| {
                for family in VisionFamily::ALL {
                    changed |= ui.selectable_value(&mut spec.family, family, family.name()).changed();
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("the architecture, as candle-transformers builds it");
    });
    // DINOv2's head has 1 000 classes and CLIP's and SigLIP's towers none: their `classes` stays
    // the default.
    if changed && (spec.family == VisionFamily::Dinov2 || spec.family.embeds()) {
        spec.classes = 1000;
    }
    ui.horizontal(|ui| {
        let label = ui.label("Size");
        egui::ComboBox::from_id_salt(("vision preset", index))
            .selected_text(format!("{} — {}", spec.preset.name(), spec.family.preset_summary(spec.preset)))
            .show_ui(ui, |ui| {
                for preset in VisionPreset::ALL {
                    let text = format!("{} — {}", preset.name(), spec.family.preset_summary(preset));
                    changed |= ui.selectable_value(&mut spec.preset, preset, text).changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
    changed
}
