//! The suite editor: name and description, the workloads and phases as lists (add, copy,
//! remove, reorder), and a form for the selected workload, phase or the settings.

use crate::app::{DeviceChoice, Selection, SuiteDocument, UiCommand, catalog_entry};
use crate::models;
use crate::suite::{
    BatchSweep, DTypeSpec, GenerationSpec, LearningRate, Mode, ModelSpec, OptimizerSpec, Quantization, TrainingSpec,
};
use crate::suite::{MAX_DIMENSION, MAX_LAYERS};

use super::widgets::{ERROR_COLOR, number_field, text_field};

/// The editor panel. Forms edit `document` in place; list actions go through `commands`.
pub fn editor_ui(
    ui: &mut egui::Ui,
    document: &mut SuiteDocument,
    selection: Selection,
    running: bool,
    devices: &[DeviceChoice],
    commands: &mut Vec<UiCommand>,
) {
    ui.heading("Suite");
    let mut changed =
        text_field(ui, "Name", "short name, used for result folders and reports", &mut document.suite.name, 220.0);
    changed |=
        text_field(ui, "Description", "what the suite shows, for people", &mut document.suite.description, 220.0);

    let blockers = document.run_blockers();
    if !blockers.is_empty() {
        egui::Frame::group(ui.style()).stroke(egui::Stroke::new(1.0, ERROR_COLOR)).show(ui, |ui| {
            ui.colored_label(ERROR_COLOR, format!("Run is disabled: {} problem(s)", blockers.len()));
            for problem in &blockers {
                ui.colored_label(ERROR_COLOR, format!("• {problem}"));
            }
        });
    }
    if running {
        ui.label("A suite is running; edits apply to the next run.");
    }

    ui.separator();
    if ui.selectable_label(selection == Selection::Settings, "Settings").clicked() {
        commands.push(UiCommand::Select(Selection::Settings));
    }

    ui.separator();
    ui.horizontal(|ui| {
        ui.strong("Workloads");
        if ui.button("Add workload").on_hover_text("add an MLP workload to edit").clicked() {
            commands.push(UiCommand::AddWorkload);
        }
    });
    let count = document.suite.workloads.len();
    for (index, workload) in document.suite.workloads.iter().enumerate() {
        let text =
            format!("{} — {} {}", workload.name, workload.model.kind_name(), workload.mode.name().to_lowercase());
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

    ui.separator();
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
        let text = format!("{}{baseline} — {} {}{quantization}", phase.name, phase.dtype, phase.device);
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

    ui.separator();
    changed |= match selection {
        Selection::Settings => settings_form_ui(ui, document),
        Selection::Workload(index) if index < document.suite.workloads.len() => {
            workload_form_ui(ui, document, index, commands)
        }
        Selection::Phase(index) if index < document.suite.phases.len() => {
            phase_form_ui(ui, document, index, devices, commands)
        }
        _ => false,
    };
    if changed {
        document.revalidate();
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

fn settings_form_ui(ui: &mut egui::Ui, document: &mut SuiteDocument) -> bool {
    ui.strong("Settings");
    let settings = &mut document.suite.settings;
    let fields = &mut document.fields;
    let mut changed = false;
    macro_rules! field {
        ($value:expr, $key:literal, $label:literal, $unit:literal, $hint:literal, $range:expr) => {
            if let Some(value) = number_field(ui, fields, $key, $label, $unit, $hint, $range, $value) {
                $value = value;
                changed = true;
            }
        };
    }
    field!(
        settings.warmup_steps,
        "settings.warmup_steps",
        "Warm-up",
        "steps",
        "steps run before measuring; kept apart, never in statistics",
        0..=100_000
    );
    field!(
        settings.min_steps,
        "settings.min_steps",
        "Min steps",
        "steps",
        "a run measures at least this many steps (unless max seconds runs out)",
        1..=10_000_000
    );
    field!(
        settings.max_steps,
        "settings.max_steps",
        "Max steps",
        "steps",
        "a run stops after this many measured steps",
        2..=10_000_000
    );
    field!(
        settings.min_secs,
        "settings.min_secs",
        "Min time",
        "s",
        "a run measures at least this long (unless max steps is reached)",
        0.0..=86_400.0
    );
    field!(
        settings.max_secs,
        "settings.max_secs",
        "Max time",
        "s",
        "a run stops measuring after this long",
        0.001..=86_400.0
    );
    field!(
        settings.seed,
        "settings.seed",
        "Seed",
        "",
        "seed of weights, inputs and bootstrap resampling",
        0..=u64::MAX
    );
    field!(
        settings.noise_threshold,
        "settings.noise_threshold",
        "Noise threshold",
        "(0.02 = 2 %)",
        "changes between phases smaller than this count as no change",
        0.0..=1.0
    );
    field!(
        settings.regression_threshold,
        "settings.regression_threshold",
        "Regression threshold",
        "(0.10 = 10 %)",
        "against a saved result (compare, run --baseline), changes smaller than this count as unchanged: separate runs also differ by the machine's state",
        0.0..=1.0
    );
    field!(
        settings.run_timeout_secs,
        "settings.run_timeout_secs",
        "Run timeout",
        "s",
        "a run still going after this long (a hung step) is abandoned as timed out; the suite goes on",
        0.001..=1e7
    );
    field!(
        settings.telemetry_interval_ms,
        "settings.telemetry_interval_ms",
        "Telemetry every",
        "ms",
        "how often GPU and host figures are sampled during a run",
        10..=60_000
    );
    changed |= ui
        .checkbox(&mut settings.flush_cache_between_steps, "Cold caches (flush between steps)")
        .on_hover_text(
            "overwrite a buffer larger than the GPU's L2 / the CPU's last-level cache before every step, outside the timed region",
        )
        .changed();
    changed
}

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

fn workload_form_ui(
    ui: &mut egui::Ui,
    document: &mut SuiteDocument,
    index: usize,
    commands: &mut Vec<UiCommand>,
) -> bool {
    let key = |name: &str| format!("w{index}.{name}");
    let fields = &mut document.fields;
    let workload = &mut document.suite.workloads[index];
    let mut changed = false;
    ui.strong(format!("Workload “{}”", workload.name));
    changed |= text_field(ui, "Workload name", "unique within the suite", &mut workload.name, 200.0);

    // The model, picked from the catalog.
    let kind = workload.model.kind_name();
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
    if let Some(model) = new_model {
        workload.model = model;
        document.fields.text.retain(|field, _| !field.starts_with(&key("model.")));
        document.fields.errors.retain(|field, _| !field.starts_with(&key("model.")));
        return true;
    }
    let entry = catalog_entry(kind);
    if let Some(entry) = &entry {
        ui.label(egui::RichText::new(entry.summary).small().weak());
    }
    changed |= model_fields_ui(ui, fields, &key("model."), &mut workload.model, entry.as_ref());

    // Mode.
    ui.horizontal(|ui| {
        let label = ui.label("Mode").on_hover_text("what one measured step does");
        let modes = entry.as_ref().map_or(&["Inference"][..], |entry| entry.modes);
        egui::ComboBox::from_id_salt(("mode", index))
            .selected_text(workload.mode.name())
            .show_ui(ui, |ui| {
                for &mode_name in modes {
                    if ui.selectable_label(workload.mode.name() == mode_name, mode_name).clicked()
                        && workload.mode.name() != mode_name
                    {
                        workload.mode = match mode_name {
                            "Training" => Mode::Training(TrainingSpec {
                                optimizer: OptimizerSpec::AdamW(LearningRate { lr: 1e-3 }),
                            }),
                            "Generation" => Mode::Generation(GenerationSpec { steps: 20 }),
                            _ => Mode::Inference,
                        };
                        changed = true;
                    }
                }
            })
            .response
            .labelled_by(label.id);
    });
    match &mut workload.mode {
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
            let lr = number_field(
                ui,
                fields,
                &key("lr"),
                "Learning rate",
                "",
                "step size of the optimizer",
                1e-12..=10.0,
                lr,
            )
            .inspect(|_| changed = true)
            .unwrap_or(lr);
            training.optimizer =
                if adamw { OptimizerSpec::AdamW(LearningRate { lr }) } else { OptimizerSpec::Sgd(LearningRate { lr }) };
        }
        Mode::Generation(generation) => {
            if let Some(steps) = number_field(
                ui,
                fields,
                &key("steps"),
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
    }

    // Batch sizes or a sweep.
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
        None => {
            let field_key = key("batch_sizes");
            let current = workload.batch_sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            ui.horizontal(|ui| {
                let label = ui.label("Batch sizes").on_hover_text("comma-separated, e.g. 1, 8, 32");
                let text = fields.text.entry(field_key.clone()).or_insert(current);
                let response = ui.add(egui::TextEdit::singleline(text).desired_width(140.0)).labelled_by(label.id);
                if response.changed() {
                    let parsed: Result<Vec<usize>, _> = text
                        .split(',')
                        .map(str::trim)
                        .filter(|part| !part.is_empty())
                        .map(str::parse::<usize>)
                        .collect();
                    match parsed {
                        Ok(sizes)
                            if !sizes.is_empty() && sizes.iter().all(|&size| (1..=MAX_DIMENSION).contains(&size)) =>
                        {
                            fields.errors.remove(&field_key);
                            workload.batch_sizes = sizes;
                            changed = true;
                        }
                        _ => {
                            fields.errors.insert(
                                field_key.clone(),
                                format!(
                                    "batch sizes: “{}” is not a list of whole numbers from 1 to {MAX_DIMENSION}",
                                    text.trim()
                                ),
                            );
                        }
                    }
                }
            });
            if let Some(error) = fields.errors.get(&field_key) {
                ui.colored_label(ERROR_COLOR, error);
            }
        }
        Some(batch_sweep) => {
            if let Some(from) = number_field(
                ui,
                fields,
                &key("sweep.from"),
                "Sweep from",
                "items",
                "first batch size",
                1..=MAX_DIMENSION,
                batch_sweep.from,
            ) {
                batch_sweep.from = from;
                changed = true;
            }
            if let Some(to) = number_field(
                ui,
                fields,
                &key("sweep.to"),
                "Sweep to",
                "items",
                "largest batch size tried",
                1..=MAX_DIMENSION,
                batch_sweep.to,
            ) {
                batch_sweep.to = to;
                changed = true;
            }
            if let Some(factor) = number_field(
                ui,
                fields,
                &key("sweep.factor"),
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

    // Weights from a file.
    let mut weights = workload.weights.clone().unwrap_or_default();
    ui.horizontal(|ui| {
        let label = ui.label("Weights file").on_hover_text(
            "a safetensors file with the model's weights (relative to the suite's folder); empty: weights from the seed",
        );
        if ui.add(egui::TextEdit::singleline(&mut weights).desired_width(170.0).hint_text("from the seed")).labelled_by(label.id).changed() {
            workload.weights = if weights.trim().is_empty() { None } else { Some(weights.clone()) };
            changed = true;
        }
        if ui.button("Browse…").on_hover_text("pick a .safetensors file").clicked() {
            commands.push(UiCommand::PickWeights(index));
        }
    });
    changed
}

/// The size parameters of a model as typed fields, read and written through the model's serde
/// form so every catalog model gets a form without code of its own.
fn model_fields_ui(
    ui: &mut egui::Ui,
    fields: &mut crate::app::FieldState,
    key_prefix: &str,
    model: &mut ModelSpec,
    entry: Option<&models::CatalogEntry>,
) -> bool {
    let Ok(serde_json::Value::Object(mut outer)) = serde_json::to_value(&*model) else { return false };
    let Some((kind, serde_json::Value::Object(params))) = outer.iter_mut().next() else { return false };
    let kind = kind.clone();
    let mut changed = false;
    // In the catalog's order (m, n, k …), then anything the catalog does not list.
    let mut names: Vec<String> = entry
        .map(|entry| {
            entry
                .parameters
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .filter(|name| params.contains_key(name))
                .collect()
        })
        .unwrap_or_default();
    names.extend(params.keys().filter(|key| !names.contains(key)).cloned().collect::<Vec<_>>());
    for name in names {
        let hint = entry
            .and_then(|entry| entry.parameters.iter().find(|(parameter, _)| *parameter == name))
            .map_or("", |(_, meaning)| *meaning);
        let key = format!("{key_prefix}{name}");
        match params.get(&name) {
            Some(serde_json::Value::Bool(value)) => {
                let mut value = *value;
                if ui.checkbox(&mut value, name.as_str()).on_hover_text(hint).changed() {
                    params.insert(name.clone(), serde_json::Value::Bool(value));
                    changed = true;
                }
            }
            Some(serde_json::Value::Number(number)) => {
                let current = number.as_u64().unwrap_or(0) as usize;
                let max = if matches!(name.as_str(), "layers" | "blocks") { MAX_LAYERS } else { MAX_DIMENSION };
                if let Some(value) = number_field(ui, fields, &key, &name, model_units(&name), hint, 1..=max, current) {
                    params.insert(name.clone(), serde_json::Value::from(value));
                    changed = true;
                }
            }
            _ => {}
        }
    }
    if changed {
        let mut rebuilt = serde_json::Map::new();
        rebuilt.insert(kind, serde_json::Value::Object(params.clone()));
        match serde_json::from_value::<ModelSpec>(serde_json::Value::Object(rebuilt)) {
            Ok(spec) => *model = spec,
            Err(_) => return false,
        }
    }
    changed
}

fn phase_form_ui(
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
    if text_field(ui, "Phase name", "unique within the suite", &mut phase.name, 200.0) {
        changed = true;
        if is_baseline {
            document.suite.baseline = phase.name.clone();
        }
    }
    let phase = &mut document.suite.phases[index];

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
            &format!("p{index}.batch_size"),
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

    if is_baseline {
        ui.label("This is the baseline: every other phase is compared with it.");
    } else if ui.button("Make baseline").on_hover_text("compare every other phase with this one").clicked() {
        commands.push(UiCommand::SetBaseline(index));
    }
    changed
}
