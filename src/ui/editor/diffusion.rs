//! The editor's form for a diffusion pipeline: seeded weights at the tiny preset, or the user's
//! diffusers folder (typed, or picked with "From folder…") with what phasebench reads there; and
//! the pipeline's family and version.

use std::path::Path;

use crate::app::UiCommand;
use crate::models::diffusion;
use crate::suite::{DiffusionPreset, DiffusionSpec, ModelPath, Pipeline, StableDiffusionVersion};
use crate::ui::widgets::ERROR_COLOR;

/// The versions offered, with the published model each one's sizes come from.
const VERSIONS: [(StableDiffusionVersion, &str); 4] = [
    (StableDiffusionVersion::V1_5, "runwayml/stable-diffusion-v1-5: CLIP ViT-L, ε-prediction, 512 px"),
    (StableDiffusionVersion::V2_1, "stabilityai/stable-diffusion-2-1: OpenCLIP ViT-H, v-prediction, 768 px"),
    (StableDiffusionVersion::Sdxl, "stabilityai/stable-diffusion-xl-base-1.0: two text encoders, 1024 px"),
    (StableDiffusionVersion::SdxlTurbo, "stabilityai/sdxl-turbo: SDXL distilled for 1–4 steps, 512 px"),
];

/// The pipeline's source and version; returns whether the spec changed.
pub(super) fn diffusion_model_ui(
    ui: &mut egui::Ui,
    index: usize,
    spec: &mut DiffusionSpec,
    base_dir: &Path,
    commands: &mut Vec<UiCommand>,
) -> bool {
    let mut changed = false;
    let mut from_folder = spec.path.is_some();
    ui.horizontal(|ui| {
        ui.label("Weights").on_hover_text("seeded at test sizes, or your diffusers folder");
        if ui.radio_value(&mut from_folder, false, "Seeded (TinyRandom)").changed() {
            spec.path = None;
            spec.preset = Some(DiffusionPreset::TinyRandom);
            changed = true;
        }
        if ui.radio_value(&mut from_folder, true, "Diffusers folder").changed() {
            commands.push(UiCommand::PickDiffusionFolder(index));
        }
    });
    let Pipeline::StableDiffusion(mut version) = spec.pipeline;
    ui.horizontal(|ui| {
        let label = ui.label("Pipeline");
        egui::ComboBox::from_id_salt(("pipeline", index))
            .selected_text(format!("Stable Diffusion {version}"))
            .width(260.0)
            .show_ui(ui, |ui| {
                for (choice, published) in VERSIONS {
                    let text = format!("Stable Diffusion {choice} — {published}");
                    changed |= ui.selectable_value(&mut version, choice, text).changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
    spec.pipeline = Pipeline::StableDiffusion(version);
    if let Some(path) = &mut spec.path {
        changed |= folder_ui(ui, index, path, base_dir, commands);
    }
    changed
}

/// The folder's path, its picker, and what phasebench reads there or why it cannot.
fn folder_ui(
    ui: &mut egui::Ui,
    index: usize,
    path: &mut ModelPath,
    base_dir: &Path,
    commands: &mut Vec<UiCommand>,
) -> bool {
    let mut changed = false;
    let mut text = path.written().to_owned();
    ui.horizontal(|ui| {
        let label = ui.label("Pipeline folder").on_hover_text("relative to the suite file's folder");
        let field = egui::TextEdit::singleline(&mut text)
            .id(egui::Id::unique(("pipeline folder", index)))
            .desired_width(220.0)
            .hint_text("models/stable-diffusion-v1-5");
        if ui.add(field).labelled_by(label.id).changed() {
            *path = ModelPath::new(text.clone());
            changed = true;
        }
        if ui.button("From folder…").on_hover_text("pick a diffusers folder (unet/, vae/, text_encoder/)").clicked() {
            commands.push(UiCommand::PickDiffusionFolder(index));
        }
    });
    if !path.written().trim().is_empty() {
        match diffusion::inspect_folder(&base_dir.join(path.written())) {
            Ok(folder) => {
                ui.label(egui::RichText::new(format!("Detected: {}", folder.summary())).small());
            }
            Err(error) => {
                ui.colored_label(ERROR_COLOR, error);
            }
        }
    }
    changed
}
