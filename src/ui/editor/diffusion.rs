//! The editor's form for a diffusion pipeline: seeded weights at the tiny preset, or the user's
//! diffusers folder (typed, or picked with "From folder…") with what phasebench reads there; and
//! the pipeline's family and version.

use std::path::Path;

use crate::app::UiCommand;
use crate::models::diffusion;
use crate::suite::{
    DiffusionPreset, DiffusionSpec, FluxVariant, ModelPath, Pipeline, Sd3Variant, StableDiffusionVersion,
};
use crate::ui::widgets::ERROR_COLOR;

/// The pipelines offered, with the published model each one's layout comes from.
const PIPELINES: [(Pipeline, &str); 7] = [
    (
        Pipeline::StableDiffusion(StableDiffusionVersion::V1_5),
        "runwayml/stable-diffusion-v1-5: CLIP ViT-L, ε-prediction, 512 px",
    ),
    (
        Pipeline::StableDiffusion(StableDiffusionVersion::V2_1),
        "stabilityai/stable-diffusion-2-1: OpenCLIP ViT-H, v-prediction, 768 px",
    ),
    (
        Pipeline::StableDiffusion(StableDiffusionVersion::Sdxl),
        "stabilityai/stable-diffusion-xl-base-1.0: two text encoders, 1024 px",
    ),
    (
        Pipeline::StableDiffusion(StableDiffusionVersion::SdxlTurbo),
        "stabilityai/sdxl-turbo: SDXL distilled for 1–4 steps, 512 px",
    ),
    (Pipeline::Sd3(Sd3Variant::Medium), "stabilityai/stable-diffusion-3-medium-diffusers: MMDiT, flow matching"),
    (Pipeline::Flux(FluxVariant::Schnell), "black-forest-labs/FLUX.1-schnell: 1–4 steps, no guidance"),
    (Pipeline::Flux(FluxVariant::Dev), "black-forest-labs/FLUX.1-dev: guidance as an input"),
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
        if ui.radio(from_folder, "Diffusers folder").clicked() && !from_folder {
            commands.push(UiCommand::PickDiffusionFolder(index));
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Pipeline");
        egui::ComboBox::from_id_salt(("pipeline", index))
            .selected_text(spec.pipeline.to_string())
            .width(260.0)
            .show_ui(ui, |ui| {
                for (choice, published) in PIPELINES {
                    let text = format!("{choice} — {published}");
                    changed |= ui.selectable_value(&mut spec.pipeline, choice, text).changed();
                }
            })
            .response
            .labelled_by(label.id);
    });
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
        if ui
            .button("From folder…")
            .on_hover_text("pick a diffusers folder (unet/ or transformer/, vae/, text_encoder/)")
            .clicked()
        {
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
